"""Progress is drawn on stderr for a person at a terminal, and never under --json or when stderr
is a pipe; every time the CLI prints for people is Beijing time with its offset."""

from __future__ import annotations

import io
import json
import os
import pty
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path

import pytest
import sqlalchemy as sa

from syncverify.cli import main
from syncverify.progress import progress, wanted
from syncverify.timefmt import iso_time, local_time

SYNCVERIFY = str(Path(sys.executable).parent / "syncverify")


class Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def _tables(tmp_path: Path) -> tuple[str, str]:
    urls = []
    for name, rows in (("a", range(1, 201)), ("b", range(1, 198))):
        url = f"sqlite:///{tmp_path / name}.sqlite"
        engine = sa.create_engine(url)
        with engine.begin() as c:
            c.execute(sa.text("CREATE TABLE fp (id INTEGER PRIMARY KEY, note TEXT)"))
            c.execute(sa.text("INSERT INTO fp VALUES (:i, :n)"), [{"i": i, "n": f"n{i}"} for i in rows])
        engine.dispose()
        urls.append(url)
    return urls[0], urls[1]


def test_wanted_only_for_a_terminal_without_json() -> None:
    assert wanted(False, Terminal()) and not wanted(True, Terminal())
    assert not wanted(False, io.StringIO())


def test_diff_draws_progress_on_a_terminal_only(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                capsys: pytest.CaptureFixture[str]) -> None:
    source, target = _tables(tmp_path)
    args = ["diff", source, target, "--table", "fp", "--key", "id"]
    terminal = Terminal()
    monkeypatch.setattr(sys, "stderr", terminal)
    assert main(args) == 1
    assert "comparing fp" in terminal.getvalue()                    # the step, on stderr
    assert "comparing" not in capsys.readouterr().out               # never on stdout

    quiet = Terminal()
    monkeypatch.setattr(sys, "stderr", quiet)
    assert main([*args, "--json"]) == 1
    assert quiet.getvalue() == ""                                   # --json: nothing drawn
    assert json.loads(capsys.readouterr().out)["counts"]["missing_in_target"] == 3


def test_diff_through_a_pipe_and_through_a_real_terminal(tmp_path: Path) -> None:
    source, target = _tables(tmp_path)
    args = [SYNCVERIFY, "diff", source, target, "--table", "fp", "--key", "id"]
    piped = subprocess.run(args, capture_output=True, text=True, timeout=120)
    assert piped.returncode == 1 and piped.stderr == ""              # stderr is a pipe: silent
    leader, follower = pty.openpty()
    try:
        done = subprocess.run(args, stdout=subprocess.PIPE, stderr=follower, timeout=120)
        os.close(follower)
        drawn = b""
        while True:
            try:
                chunk = os.read(leader, 65536)
            except OSError:
                break
            if not chunk:
                break
            drawn += chunk
    finally:
        os.close(leader)
    assert done.returncode == 1 and b"comparing fp" in drawn and b"comparing" not in done.stdout


def test_progress_disabled_draws_nothing() -> None:
    stream = Terminal()
    with progress(False, stream) as bar:
        bar.step("checks", 3)
        bar.advance(3)
    assert stream.getvalue() == ""


def test_times_for_people_carry_the_zone_and_json_keeps_iso() -> None:
    moment = datetime(2026, 12, 7, 13, 15, tzinfo=UTC)
    assert local_time(moment) == "2026-12-07 21:15 +08:00"
    assert local_time("2026-12-07T13:15:00+00:00") == "2026-12-07 21:15 +08:00"
    assert local_time(None) == "-"
    assert iso_time(datetime(2026, 12, 7, 13, 15)) == "2026-12-07T13:15:00+00:00"


def test_tickets_list_and_show_print_beijing_time_with_its_offset(tmp_path: Path,
                                                                  capsys: pytest.CaptureFixture[str]) -> None:
    from syncverify.results import CheckKind, CheckResult
    from syncverify.store import Store
    from syncverify.tickets import lifecycle

    store = Store(f"sqlite:///{tmp_path / 'r.sqlite'}")
    run = store.start_run("adhoc", month="2026-12")
    r = CheckResult(kind=CheckKind.DIFF, link_id="zz11", table="fp_fpxx", source_node="a", target_node="b",
                    source_rows=10, target_rows=9, check_id="diff/zz11/fp_fpxx")
    r.missing_count, r.missing_keys = 1, [("1", "2")]
    store.record(run, r.finish())
    [tid] = lifecycle.open_or_update(store, [r], run_id=run, now=datetime(2026, 12, 7, 13, 15, tzinfo=UTC), sinks=[])
    assert main(["tickets", "list", "--store", store.url]) == 0
    listed = capsys.readouterr().out
    assert "2026-12-07 21:15 +08:00" in listed and "2026-12-08 05:15 +08:00" in listed   # detected, +8 h
    assert main(["tickets", "show", str(tid), "--store", store.url]) == 0
    shown = capsys.readouterr().out
    assert "detected          2026-12-07 21:15 +08:00" in shown and "T13:15" not in shown
    assert main(["tickets", "list", "--store", store.url, "--json"]) == 0
    assert json.loads(capsys.readouterr().out)[0]["detected_at"] == "2026-12-07T13:15:00+00:00"
