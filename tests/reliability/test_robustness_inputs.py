"""The CLI on hostile or mistaken input: broken and linked log files are named and skipped, loose
months and missing stores are one-line errors that create nothing, a closed pipe ends quietly,
and a resumed run reports the whole run."""

from __future__ import annotations

import contextlib
import io
import os
import subprocess
import sys
from datetime import datetime
from pathlib import Path

import pytest

from helpers import ROOT
from syncverify.catalog import load_catalog
from syncverify.cli import main
from syncverify.exitcodes import ExitCode
from syncverify.results import CheckResult
from syncverify.runner import jobs
from syncverify.runner.checks import CheckContext, primary_kind
from syncverify.runner.verify import plan, window_of
from syncverify.store import Store

GOOD = (b"2026-10-09 09:31:02.117 [zz11] INFO APPLY table=FP_FPXX ins=120 upd=3 del=0 batch=123 "
        b"lag_ms=850 backlog=42\n")


def cli(*args: str) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        code = main(list(args))
    return code, out.getvalue(), err.getvalue()


def _one_error_line(err: str, *needles: str) -> None:
    lines = err.strip().splitlines()
    assert len(lines) == 1, err
    assert lines[0].startswith("syncverify: error:"), err
    assert "Traceback" not in err
    for needle in needles:
        assert needle in lines[0], (needle, err)


# ---- sync logs --------------------------------------------------------------------------------------
def test_synclog_cli_names_bad_and_linked_files_and_analyses_the_rest(tmp_path: Path) -> None:
    logs = tmp_path / "logs"
    logs.mkdir()
    (logs / "dsg-zz11.log").write_bytes(GOOD * 40)
    bad = logs / "dsg-zz11.log.2.gz"
    bad.write_bytes(b"\x1f\x8b\x08\x00\x00\x00\x00\x00\x00\x03" + b"\xff" * 64)
    secret = tmp_path / "shadow"
    secret.write_text("root:$6$SECRETHASH:19000:0:99999:7:::\n")
    link = logs / "dsg-zz04.log"
    link.symlink_to(secret)
    code, out, err = cli("synclog", "analyse", "--logs", str(logs), "--month", "2026-10", "--json")
    assert code in (ExitCode.OK, ExitCode.DIFFERENCES), err
    assert '"events": 40' in out
    assert f"warning: {bad}: error: Error -3" in err
    assert f"warning: {link}: symbolic link" in err
    assert "SECRETHASH" not in out + err and "Traceback" not in err


def test_synclog_cli_loose_month_is_one_line(tmp_path: Path) -> None:
    (tmp_path / "dsg-zz11.log").write_bytes(GOOD)
    code, out, err = cli("synclog", "analyse", "--logs", str(tmp_path), "--month", "2026-1")
    assert code == ExitCode.ERROR and out == ""
    _one_error_line(err, "'2026-1'")


# ---- strict months everywhere ---------------------------------------------------------------------------
@pytest.mark.parametrize("argv", [
    ["run", "--month", "2026-1"],
    ["report", "--month", "2026-1"],
    ["quality", "--url", "sqlite://", "--month", "2026-1"],
    ["sandbox", "build", "--month", "2026-1"],
    ["demo", "--month", "2026-1"],
])
def test_every_month_option_refuses_2026_1_creating_nothing(argv: list[str], sv_home: Path) -> None:
    before = sorted(sv_home.rglob("*"))
    code, _out, err = cli(*argv)
    assert code == ExitCode.ERROR
    _one_error_line(err, "'2026-1'")
    assert sorted(sv_home.rglob("*")) == before


def test_airflow_params_path_is_strict() -> None:
    with pytest.raises(Exception, match="'2026-1'"):
        jobs.start_run({"month": "2026-1"})


# ---- reads create nothing ------------------------------------------------------------------------------
def test_diff_on_a_missing_sqlite_file_creates_nothing(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.chdir(tmp_path)
    real = tmp_path / "real.sqlite"
    import sqlite3

    sqlite3.connect(real).close()
    code, _out, err = cli("diff", "sqlite:///nope.sqlite", f"sqlite:///{real}", "--table", "t", "--key", "id")
    assert code == ExitCode.ERROR
    _one_error_line(err, "nope.sqlite")
    assert not (tmp_path / "nope.sqlite").exists()


@pytest.mark.parametrize("argv", [["tickets", "list"], ["tickets", "show", "1"], ["report", "--month", "2026-10"]])
def test_read_commands_on_a_mistyped_store_create_nothing(argv: list[str], tmp_path: Path, sv_home: Path) -> None:
    typo = tmp_path / "typo-dir" / "resutls.sqlite"
    code, _out, err = cli(*argv, "--store", f"sqlite:///{typo}")
    assert code == ExitCode.ERROR
    _one_error_line(err, str(typo))
    assert not typo.parent.exists()
    # the default store too
    code, _out, err = cli(*argv)
    assert code == ExitCode.ERROR and "results.sqlite" in err
    assert not (sv_home / "results.sqlite").exists()


# ---- a closed pipe -------------------------------------------------------------------------------------
def test_closed_pipe_ends_quietly(tmp_path: Path) -> None:
    env = {**os.environ, "SYNCVERIFY_HOME": str(tmp_path)}
    proc = subprocess.Popen([sys.executable, "-c", "import sys; from syncverify.cli import main; sys.exit(main())",
                             "topology", "--catalog", str(ROOT / "checks"), "--format", "json"],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env)
    assert proc.stdout is not None and proc.stderr is not None
    proc.stdout.close()                  # the reader is gone before the command writes (head -1 after its line)
    err = proc.stderr.read().decode()
    code = proc.wait(timeout=120)
    assert err == "", err
    assert code == ExitCode.CLOSED_PIPE == 141


def test_head_dash_one_through_a_shell(tmp_path: Path) -> None:
    env = {**os.environ, "SYNCVERIFY_HOME": str(tmp_path)}
    cmd = (f"'{sys.executable}' -c 'import sys; from syncverify.cli import main; sys.exit(main())' "
           f"topology --catalog '{ROOT / 'checks'}' --format dot | head -1")
    done = subprocess.run(["bash", "-c", cmd], capture_output=True, text=True, env=env, timeout=120)
    assert done.returncode == 0 and done.stdout.startswith("digraph")
    assert "BrokenPipe" not in done.stderr and "Traceback" not in done.stderr


# ---- run --resume reports the whole run --------------------------------------------------------------------
def test_resume_counts_the_anomalies_already_in_the_store(sv_home: Path) -> None:
    """Every planned check already finished (one with an anomaly): the resume redoes nothing, and
    its summary and exit status are those of the whole run."""
    store = Store()
    params = {"month": "2026-10", "links": ["zz11"], "depth": "count", "catalog_path": str(ROOT / "checks"),
              "kind": "adhoc"}
    options = jobs.options_from(params)
    catalog = load_catalog(options.catalog_path)
    checks = plan(catalog, options)
    assert checks
    window = window_of(options)
    context = CheckContext(catalog=catalog, options=options, window=window)
    run_id = store.start_run("adhoc", month="2026-10", window_start=window[0], window_end=window[1])
    for i, lc in enumerate(checks):
        kind = primary_kind(lc, context)
        r = CheckResult(kind=kind, link_id=lc.link.id, table=lc.table.name, source_node=lc.source.id,
                        target_node=lc.target.id, window_start=datetime(2026, 10, 1), window_end=datetime(2026, 11, 1),
                        source_rows=100, target_rows=100 - (i == 0) * 7, check_id=f"{kind.value}/{lc.id}")
        if i == 0:
            r.missing_count = 7
        store.record(run_id, r.finish())
    store.finish_run(run_id)
    assert store.results(run_id)[0].is_anomaly

    code, out, err = cli("run", "--month", "2026-10", "--links", "zz11", "--depth", "count",
                         "--catalog", str(ROOT / "checks"), "--resume", run_id, "--checks-only")
    assert code == ExitCode.DIFFERENCES, (out, err)
    assert "1 anomalies" in out and f"{len(checks)} checks ({len(checks)} finished earlier, 0 run now)" in out
    assert f"count/{checks[0].id}" in out
