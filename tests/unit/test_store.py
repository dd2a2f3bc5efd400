"""The results store: runs, results round trip, resume bookkeeping (its migrations: test_store_migrations)."""

from __future__ import annotations

import subprocess
import sys
from datetime import datetime

import pytest
import sqlalchemy as sa
from hypothesis import given, settings
from hypothesis import strategies as st

from syncverify.errors import UnreachableError
from syncverify.results import CheckKind, CheckResult, Outcome
from syncverify.store import Store
from syncverify.store.migrations import current_revision, head


def _result(link: str, missing: int = 0, outcome: Outcome | None = None) -> CheckResult:
    r = CheckResult(kind=CheckKind.DIFF, link_id=link, table="fp_fpxx", source_node="hq.query_db",
                    target_node="hq.ledger_db", window_start=datetime(2026, 10, 1), window_end=datetime(2026, 11, 1),
                    source_rows=100, target_rows=100 - missing, missing_count=missing,
                    missing_keys=[("", f"{i:020d}") for i in range(missing)])
    r.finish()
    if outcome is Outcome.NOT_RUN:
        return CheckResult.not_run(CheckKind.DIFF, link, "fp_fpxx", "node hq.ledger_db unreachable")
    return r


def _exercise(store: Store) -> None:
    run = store.start_run("monthly", month="2026-10", params={"depth": "diff"})
    store.record(run, _result("zz11", missing=3))
    store.record(run, _result("ZS01"))
    store.record(run, _result("SS22", outcome=Outcome.NOT_RUN))
    assert store.finished_check_ids(run) == {"diff/zz11/fp_fpxx", "diff/ZS01/fp_fpxx"}
    assert store.finish_run(run) == "partial"
    got = {r.check_id: r for r in store.results(run)}
    assert got["diff/zz11/fp_fpxx"].missing_keys == [("", f"{i:020d}") for i in range(3)]
    assert got["diff/zz11/fp_fpxx"].outcome is Outcome.INCONSISTENT
    assert got["diff/SS22/fp_fpxx"].error == "node hq.ledger_db unreachable"
    # a resumed run overwrites the result of a check that is run again
    store.start_run("monthly", month="2026-10", run_id=run)
    store.record(run, _result("SS22"))
    assert store.finish_run(run) == "completed"
    assert len(store.results(run)) == 3
    assert store.latest_run(month="2026-10").id == run  # type: ignore[union-attr]
    assert next(r.check_id for r in store.results(month="2026-10")) == "diff/zz11/fp_fpxx"
    store.save_synclog_analysis("2026-10", {"links": {"zz11": {"events": 5}}}, run_id=run)
    assert store.synclog_analysis("2026-10") == {"links": {"zz11": {"events": 5}}}


def test_store_on_sqlite(tmp_path) -> None:
    url = f"sqlite:///{tmp_path / 'r.sqlite'}"
    _exercise(Store(url))
    again = Store(url)   # a store at head is left as it is
    with again.engine.connect() as conn:
        assert current_revision(conn) == head()


@pytest.mark.postgres
def test_store_on_postgresql(postgres_url: str) -> None:
    _exercise(Store(postgres_url))


@pytest.mark.mariadb
def test_store_on_mariadb(mariadb_url: str) -> None:
    _exercise(Store(mariadb_url))


def test_unreachable_store_names_it_without_password() -> None:
    with pytest.raises(UnreachableError) as err:
        Store("postgresql+psycopg2://sv:S3cretPw@127.0.0.1:1/results")
    assert "S3cretPw" not in str(err.value) and "127.0.0.1:1" in str(err.value)


keys = st.one_of(st.text(min_size=1, max_size=20), st.tuples(st.text(max_size=12), st.text(min_size=1, max_size=20)))


@settings(max_examples=60, deadline=None)
@given(st.lists(keys, max_size=5), st.integers(0, 10**12), st.dictionaries(st.text(max_size=5), st.integers()))
def test_result_dict_round_trip(ks, count, details) -> None:
    r = CheckResult(kind=CheckKind.KAFKA_KEYS, link_id="GXJF-QUERY", table="fp_fpxx", missing_keys=list(ks),
                    missing_count=count, details=details)
    assert CheckResult.from_dict(r.to_dict()) == r


def test_schema_matches_models(tmp_path) -> None:
    store = Store(f"sqlite:///{tmp_path / 'r.sqlite'}")
    names = set(sa.inspect(store.engine).get_table_names())
    assert {"sv_runs", "sv_check_results", "sv_tickets", "sv_ticket_events", "sv_deliveries",
            "sv_repair_scripts", "sv_synclog_analyses", "alembic_version"} <= names


def test_head_is_the_newest_revision_and_a_store_at_head_opens_without_alembic(tmp_path) -> None:
    from alembic.script import ScriptDirectory

    from syncverify.store.migrations import ALEMBIC_DIR, HEAD

    assert ScriptDirectory(str(ALEMBIC_DIR)).get_current_head() == HEAD
    url = f"sqlite:///{tmp_path / 'r.sqlite'}"
    Store(url).engine.dispose()
    probe = ("import sys; from syncverify.store import Store; Store(sys.argv[1]).engine.dispose(); "
             "print(sorted(m for m in sys.modules if m.split('.')[0] == 'alembic'))")
    done = subprocess.run([sys.executable, "-c", probe, url], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "[]"
