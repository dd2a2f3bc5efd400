"""Files that hold data are created with owner-only modes whatever the umask (reports 0640) and
are never written through a symbolic link put in their place.

A whole verification runs on two SQLite databases (taxpayer ids and names that differ), with the
umask at the usual 022 so that any file created with default permissions would show as 0644:
the results store and its -wal/-shm, a spool, the repair scripts written by ``tickets script``,
a re-publish plan file and every report file are checked; symbolic links planted at a script
path, a report path and a spool path are refused with an error naming the path, and their
targets are left untouched."""

from __future__ import annotations

import os
import sqlite3
import stat
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from rel_helpers import write_world

from syncverify.cli import main
from syncverify.results import CheckKind, CheckResult
from syncverify.runner import jobs
from syncverify.runner.spool import Spool
from syncverify.safefiles import UnsafePathError
from syncverify.store import Store
from syncverify.store.models import RepairScript
from syncverify.tickets.repair import write_script_files
from syncverify.tickets.republish import REPUBLISH_PLAN, RepublishPlan

IDS = [f"91450100MA5K{i:04d}X{i % 10}" for i in range(1, 21)]
NAMES = [f"南宁市文件{i:02d}号科技有限公司" for i in range(1, 21)]


def _mode(path: Path) -> int:
    return stat.S_IMODE(os.lstat(path).st_mode)


@pytest.fixture
def umask_022() -> Iterator[None]:
    """The common default umask: a file created with default permissions would be 0644."""
    old = os.umask(0o022)
    try:
        yield
    finally:
        os.umask(old)


def _sqlite_side(path: Path, rows: list[tuple[str, str]]) -> str:
    with sqlite3.connect(path) as c:
        c.execute("CREATE TABLE nsr (nsrsbh varchar(20) PRIMARY KEY, nsrmc varchar(60), zt varchar(2))")
        c.executemany("INSERT INTO nsr VALUES (?, ?, '03')", rows)
    return f"sqlite:///{path}"


def _planted_link(link: Path, victim: Path) -> bytes:
    victim.write_bytes(b"not yours\n")
    link.symlink_to(victim)
    return victim.read_bytes()


def test_data_files_are_private_and_links_refused(sv_home, tmp_path, capsys, monkeypatch, umask_022):
    rows = list(zip(IDS, NAMES, strict=True))
    src = _sqlite_side(tmp_path / "src.sqlite", rows)
    dst = _sqlite_side(tmp_path / "dst.sqlite", rows[2:])                  # two taxpayers missing
    nodes = {"hq.taxpayer_db": {"kind": "sqlite", "url": src, "tables": {"nsr_jcxx": "nsr"}},
             "gx.taxpayer_db": {"kind": "sqlite", "url": dst, "tables": {"nsr_jcxx": "nsr"}}}
    world = write_world(tmp_path / "w", nodes,
                        [{"name": "nsr_jcxx", "key": ["nsrsbh"], "masked_columns": ["nsrsbh", "nsrmc"]}],
                        [{"id": "ZS-NSR", "kind": "dsg", "source": "hq.taxpayer_db", "target": "gx.taxpayer_db",
                          "tables": [{"table": "nsr_jcxx"}]}])
    db = sv_home / "results.sqlite"
    monkeypatch.setenv("SYNCVERIFY_STORE_URL", f"sqlite:///{db}")
    store = Store(f"sqlite:///{db}")
    params = {"month": "2026-11", "catalog_path": str(world.catalog), "profile": str(world.profile),
              "confirm_delay_s": 0}
    params = jobs.start_run(params, store=store)["params"]
    jobs.run_checks(params, "ZS-NSR", store=store)
    jobs.finish_run(params, store=store)
    (ticket_id,) = jobs.open_tickets(params, store=store)["tickets"]
    reports = [Path(p) for p in jobs.write_reports(params, str(tmp_path / "reports"), store=store)["files"]]

    # --- the results store: the file and, while a connection is open, its WAL sidecars ----------
    with store.engine.connect():
        for suffix in ("", "-wal", "-shm"):
            path = Path(f"{db}{suffix}")
            assert path.is_file(), f"{path} was expected (WAL mode)"
            assert _mode(path) == 0o600, f"{path} is {oct(_mode(path))}"

    # --- repair scripts through the CLI: 0600; a link at a script path is refused ---------------
    cli = ["--catalog", str(world.catalog), "--profile", str(world.profile)]
    scripts = tmp_path / "scripts"
    assert main(["tickets", "script", *cli, str(ticket_id), "--out", str(scripts)]) == 0
    written = sorted(scripts.glob("*.sql"))
    assert len(written) == 3
    for path in written:
        assert _mode(path) == 0o600, f"{path} is {oct(_mode(path))}"
    assert any(IDS[0] in p.read_text(encoding="utf-8") for p in written)   # raw values: why 0600
    capsys.readouterr()
    # the next script of this ticket gets the next id: plant a link where its apply.sql will go
    next_id = max(int(p.name.split("-script-")[1].split("-")[0]) for p in written) + 1
    link = scripts / f"ticket-{ticket_id}-script-{next_id}-apply.sql"
    before = _planted_link(link, tmp_path / "victim.sql")
    assert main(["tickets", "script", *cli, str(ticket_id), "--out", str(scripts)]) == 2
    err = capsys.readouterr().err
    assert "symbolic link" in err and str(link) in err and "Traceback" not in err
    assert (tmp_path / "victim.sql").read_bytes() == before and link.is_symlink()
    assert not list(scripts.glob(f"ticket-{ticket_id}-script-{next_id}-r*.sql"))   # nothing half-written

    # --- a re-publish plan file: 0600, and refused through a link ------------------------------
    plan = RepublishPlan(ticket_id=ticket_id, link_id="K", source_node="hq.taxpayer_db", source_table="nsr",
                         target_node="gx.kafka", topic="nsr", key_fields=["nsrsbh"], timestamp_field=None,
                         messages=[{"key": IDS[0], "value": {"nsrmc": NAMES[0]}, "timestamp_ms": None}])
    row = RepairScript(id=99, ticket_id=ticket_id, dialect="kafka", plan_kind=REPUBLISH_PLAN, plan=plan.to_json(),
                       apply_sql="", rollback_sql="", precheck_sql="", generated_at=datetime.now(UTC))
    (plan_file,) = write_script_files(row, tmp_path / "plans")
    assert plan_file.name.endswith("republish.json") and _mode(plan_file) == 0o600
    plan_file.unlink()
    before = _planted_link(plan_file, tmp_path / "victim.json")
    with pytest.raises(UnsafePathError, match="symbolic link") as refused:
        write_script_files(row, tmp_path / "plans")
    assert str(plan_file) in str(refused.value) and (tmp_path / "victim.json").read_bytes() == before

    # --- a spool file: 0600 in a 0700 folder, opened without following a link ------------------
    result = CheckResult(kind=CheckKind.DIFF, link_id="ZS-NSR", table="nsr_jcxx", missing_keys=[IDS[0]],
                         missing_count=1)
    spool = Spool("files-run")
    spool.append(result)
    assert _mode(spool.path) == 0o600 and _mode(spool.directory) == 0o700
    assert spool.read() == [result]
    before = _planted_link(spool.directory / "linked-run.jsonl", tmp_path / "victim.jsonl")
    with pytest.raises(UnsafePathError, match="symbolic link"):
        Spool("linked-run").append(result)
    assert (tmp_path / "victim.jsonl").read_bytes() == before

    # --- report files: 0640 (HTML, MD, JSON, CSV, Parquet, index); a link at one is refused ---------
    assert {p.suffix for p in reports} >= {".html", ".md", ".json", ".csv", ".parquet"}
    for path in reports:
        assert _mode(path) == 0o640, f"{path} is {oct(_mode(path))}"
    target = reports[0]
    target.unlink()
    before = _planted_link(target, tmp_path / "victim.html")
    with pytest.raises(UnsafePathError, match="symbolic link"):
        jobs.write_reports(params, str(tmp_path / "reports"), store=store)
    assert (tmp_path / "victim.html").read_bytes() == before
    assert not [p for p in (tmp_path / "reports").rglob(".*.tmp")]       # no temporary file left behind
    store.engine.dispose()


def test_a_link_at_the_store_path_is_refused_even_dangling(tmp_path: Path) -> None:
    """SQLite follows a symbolic link, a dangling one too, and would create the file it names."""
    elsewhere = tmp_path / "elsewhere" / "stolen.sqlite"
    link = tmp_path / "home" / "results.sqlite"
    link.parent.mkdir()
    link.symlink_to(elsewhere)
    with pytest.raises(UnsafePathError, match="symbolic link"):
        Store(f"sqlite:///{link}")
    assert not elsewhere.exists() and not elsewhere.parent.exists()


def test_sync_log_analysis_files_are_report_files(tmp_path: Path, umask_022) -> None:
    from syncverify.synclog import analyse, load_formats
    from syncverify.synclog.output import write_analysis

    logs = tmp_path / "logs"
    logs.mkdir()
    (logs / "zz11.log").write_text("", encoding="utf-8")
    written = write_analysis(analyse(logs, "2026-10", load_formats(None)), tmp_path / "out")
    assert written and all(_mode(p) == 0o640 for p in written.values())
