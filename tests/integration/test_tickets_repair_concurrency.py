"""Applying a repair script from real concurrent processes (`syncverify tickets apply` run as
subprocesses), on an SQLite store file and on a PostgreSQL store, against real PostgreSQL and
MariaDB targets:

* two applies of one approved script at once: exactly one applies, the other is refused (exit 2),
  the script ends ``applied``; the rollback then works and reopens the (verified) ticket;
* a process SIGKILLed while its apply blocks inside the target transaction: the script stays
  ``applying``, a retry is refused while the lease lives, and succeeds after it expired;
* a process killed after the target committed but before the store recorded it: the next attempt
  finds the script applied (the rollback pre-check passes) and records it.

The apply is made to block by holding the target rows locked from the test (SELECT ... FOR UPDATE
in an open transaction): the apply's pre-check reads (MVCC) and its first DELETE waits.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
import sqlalchemy as sa
from test_tickets_repair import snapshot, ticket_for, world

from syncverify.store import Store
from syncverify.tickets import approve_repair_script, generate_repair_script, get_ticket, latest_script
from syncverify.tickets.lease import LEASE_ENV
from syncverify.tickets.repair import CRASH_ENV

SYNCVERIFY = str(Path(sys.executable).with_name("syncverify"))


@dataclass
class Setup:
    store_url: str
    target_url: str
    store: Store
    engine: sa.Engine
    tid: int
    script_id: int
    catalog_dir: Path
    home: Path
    before: list[tuple]

    def cli(self, *args: str, env: dict[str, str] | None = None) -> subprocess.Popen[str]:
        full_env = {**os.environ, "SYNCVERIFY_HOME": str(self.home), "SYNCVERIFY_TICKET_SINKS": "none",
                    **(env or {})}
        return subprocess.Popen([SYNCVERIFY, "tickets", *args, "--store", self.store_url], env=full_env,
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)

    def apply(self, by: str, *extra: str, env: dict[str, str] | None = None) -> subprocess.Popen[str]:
        return self.cli("apply", str(self.tid), "--by", by, "--target-url", self.target_url, "--source-url",
                        self.target_url, "--catalog", str(self.catalog_dir), *extra, env=env)

    def script(self):  # type: ignore[no-untyped-def]
        return latest_script(self.store, self.tid, self.script_id)

    def events(self) -> list[str]:
        return [e.event for e in get_ticket(self.store, self.tid)[1]]


CATALOG = """
nodes:
  - {{id: hq.src_db, side: hq, kind: {kind}, tables: {{fp_fpxx: src_fp}}}}
  - {{id: gx.tgt_db, side: province, kind: {kind}, tables: {{fp_fpxx: tgt_fp}}}}
tables:
  - {{name: fp_fpxx, key: [fpdm, fphm], masked_columns: [gmfmc]}}
links:
  - {{id: L1, kind: dsg, source: hq.src_db, target: gx.tgt_db, tables: [{{table: fp_fpxx}}]}}
"""


@pytest.fixture(params=["sqlite-store/postgres-target", "postgres-store/mariadb-target"])
def setup(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Setup]:
    if request.param.startswith("sqlite"):
        store_url = f"sqlite:///{tmp_path / 'store.sqlite'}"
        target_url = request.getfixturevalue("postgres_url")
    else:
        store_url = request.getfixturevalue("postgres_url")
        target_url = request.getfixturevalue("mariadb_url")
    engine, catalog = world(target_url)
    kind = "postgresql" if engine.dialect.name == "postgresql" else "mysql"
    (tmp_path / "checks").mkdir()
    (tmp_path / "checks" / "catalog.yaml").write_text(CATALOG.format(kind=kind), encoding="utf-8")
    store = Store(store_url)
    tid = ticket_for(store)
    script = generate_repair_script(store, tid, source_engine=engine, target_engine=engine, catalog=catalog,
                                    sinks=[])
    approve_repair_script(store, tid, by="审批人", note="审批单 7", sinks=[])
    yield Setup(store_url, target_url, store, engine, tid, script.id, tmp_path / "checks", tmp_path / "home",
                snapshot(engine, "tgt_fp"))
    store.engine.dispose()
    engine.dispose()


def finish(p: subprocess.Popen[str], timeout: float = 120) -> tuple[int, str, str]:
    out, err = p.communicate(timeout=timeout)
    return p.returncode, out, err


def wait_for(what: Callable[[], bool], timeout: float = 60, step: float = 0.1) -> None:
    end = time.monotonic() + timeout
    while not what():
        if time.monotonic() > end:
            raise AssertionError("timed out waiting")
        time.sleep(step)


def lock_target(engine: sa.Engine) -> sa.Connection:
    """An open transaction holding every target row locked: an apply's DELETE waits for it."""
    conn = engine.connect()
    conn.begin()
    conn.execute(sa.text("SELECT * FROM tgt_fp FOR UPDATE")).fetchall()
    return conn


def wait_lease_expired(s: Setup) -> None:
    from syncverify.tickets.lease import live_until

    assert s.script().lease_until is not None
    wait_for(lambda: live_until(s.script()) is None, timeout=60)


def test_two_concurrent_applies_one_wins(setup: Setup) -> None:
    s = setup
    lock = lock_target(s.engine)
    try:
        procs = [s.apply(f"ops{i}") for i in range(2)]
        # While the winner waits on the locked rows inside its transaction, the loser is refused.
        wait_for(lambda: any(p.poll() is not None for p in procs), timeout=90)
        [loser] = [p for p in procs if p.poll() is not None]
        code, _out, err = finish(loser)
        assert code == 2, err
        assert err.count("\n") == 1 and "being applied by another process" in err, err
        assert s.script().outcome == "applying"
    finally:
        lock.rollback()
        lock.close()
    [winner] = [p for p in procs if p is not loser]
    code, out, err = finish(winner)
    assert code == 0, (out, err)
    assert "applied" in out
    script = s.script()
    assert script.outcome == "applied" and script.lease_owner is None
    assert snapshot(s.engine, "tgt_fp") == snapshot(s.engine, "src_fp")
    events = s.events()
    assert events.count("script_applied") == 1 and events.count("script_apply_approved") == 1
    assert "script_apply_failed" not in events
    assert get_ticket(s.store, s.tid)[0].status == "verified"

    # A third apply is refused: already applied. The rollback works and reopens the closed ticket.
    code, _, err = finish(s.apply("ops3"))
    assert code == 2 and "already applied" in err
    code, out, err = finish(s.apply("ops4", "--rollback"))
    assert code == 0, (out, err)
    assert snapshot(s.engine, "tgt_fp") == s.before
    ticket = get_ticket(s.store, s.tid)[0]
    assert ticket.status == "reopened" and ticket.open_key is not None
    assert s.script().outcome == "rolled_back"


def test_killed_while_blocked_then_retry_after_lease(setup: Setup) -> None:
    s = setup
    lock = lock_target(s.engine)
    try:
        p = s.apply("ops1", env={LEASE_ENV: "6"})
        wait_for(lambda: s.script().outcome == "applying")
        time.sleep(1.0)                                   # now waiting on the locked rows
        assert p.poll() is None
        p.send_signal(signal.SIGKILL)
        p.wait(timeout=30)
        assert p.returncode == -signal.SIGKILL
        assert s.script().outcome == "applying"
        # The lease is alive: a retry is refused, nothing else happens.
        code, _, err = finish(s.apply("ops2"))
        assert code == 2 and "being applied by another process" in err and "lease until" in err, err
    finally:
        lock.rollback()
        lock.close()
    assert snapshot(s.engine, "tgt_fp") == s.before         # the dead transaction never committed
    wait_lease_expired(s)
    code, out, err = finish(s.apply("ops2"))
    assert code == 0, (out, err)
    assert s.script().outcome == "applied"
    assert snapshot(s.engine, "tgt_fp") == snapshot(s.engine, "src_fp")
    _, events = get_ticket(s.store, s.tid)
    [recovered] = [e for e in events if e.event == "script_apply_recovered"]
    assert recovered.detail["found"] == "not_applied" and recovered.detail["now"] == "interrupted"
    assert [e.event for e in events].count("script_applied") == 1


def test_killed_after_target_commit_is_found_applied(setup: Setup) -> None:
    s = setup
    # The lease must outlive the start of the next command (imports take seconds on a loaded machine:
    # a 3 s lease ran out before the rollback below could be refused).
    p = s.apply("ops1", env={LEASE_ENV: "8", CRASH_ENV: "1"})
    p.wait(timeout=120)
    assert p.returncode == -signal.SIGKILL
    assert s.script().outcome == "applying"                 # the store never heard of the commit
    assert snapshot(s.engine, "tgt_fp") == snapshot(s.engine, "src_fp")
    ticket = get_ticket(s.store, s.tid)[0]
    assert ticket.repair_started_at is None

    # Before the lease runs out even a rollback is refused.
    code, _, err = finish(s.apply("ops2", "--rollback"))
    assert code == 2 and "being applied by another process" in err, err
    wait_lease_expired(s)
    # The next attempt runs the pre-checks: the rollback's passes, so the script was applied.
    code, out, err = finish(s.apply("ops2"))
    assert code == 0 and "found after an interrupted run" in out, (out, err)
    script = s.script()
    assert script.outcome == "applied" and script.applied_by == "ops1" and script.lease_owner is None
    _, events = get_ticket(s.store, s.tid)
    [recovered] = [e for e in events if e.event == "script_apply_recovered"]
    assert recovered.detail["found"] == "applied" and recovered.detail["now"] == "applied"
    ticket = get_ticket(s.store, s.tid)[0]
    assert ticket.status == "repaired" and ticket.repair_started_at is not None
    # ... and the rollback is allowed now.
    code, out, err = finish(s.apply("ops3", "--rollback"))
    assert code == 0, (out, err)
    assert snapshot(s.engine, "tgt_fp") == s.before
    assert get_ticket(s.store, s.tid)[0].status == "reopened"


def test_killed_rollback_after_commit_is_found_rolled_back(setup: Setup) -> None:
    s = setup
    code, out, err = finish(s.apply("ops1", "--no-reverify"))
    assert code == 0, (out, err)
    p = s.apply("ops2", "--rollback", env={LEASE_ENV: "2", CRASH_ENV: "1"})
    p.wait(timeout=120)
    assert p.returncode == -signal.SIGKILL and s.script().outcome == "rolling_back"
    assert snapshot(s.engine, "tgt_fp") == s.before
    wait_lease_expired(s)
    code, out, err = finish(s.apply("ops3", "--rollback"))
    assert code == 0 and "found after an interrupted run" in out, (out, err)
    assert s.script().outcome == "rolled_back"
    assert get_ticket(s.store, s.tid)[0].status == "reopened"
    assert "script_rollback_recovered" in s.events()
