"""Runner behaviour on SQLite (plus one real-server check): windows, empty months, skipped
cross-table rules, broken suite files, unreachable databases, results and the CLI."""

from __future__ import annotations

import json
from datetime import datetime
from decimal import Decimal
from pathlib import Path

import pytest
import sqlalchemy as sa

from syncverify.cli import main
from syncverify.quality import (
    ExpectationStatus,
    SuiteStatus,
    load_suite,
    run_suite,
    run_suites,
    to_check_results,
)
from syncverify.results import CheckKind, Outcome
from syncverify.sandbox import quality_samples as samples
from syncverify.sandbox.schema import metadata

OCTOBER = (datetime(2026, 10, 1), datetime(2026, 11, 1))
NOW = datetime(2026, 11, 29, 12, 0, 0)


@pytest.fixture(scope="module")
def world_url(tmp_path_factory: pytest.TempPathFactory) -> str:
    """Clean world plus one November invoice with an illegal tax rate."""
    url = f"sqlite:///{tmp_path_factory.mktemp('qrunner') / 'w.sqlite'}"
    engine = sa.create_engine(url)
    world = samples.clean_world()
    november = dict(samples.template_row("fp_fpxx", world["fp_fpxx"]), fphm="26459999999999999999",
                    kprq=datetime(2026, 11, 3, 9), gxsj=datetime(2026, 11, 3, 9), slv=Decimal("0.17"))
    november["se"] = (november["je"] * Decimal("0.17")).quantize(Decimal("0.01"))
    november["jshj"] = november["je"] + november["se"]
    metadata.create_all(engine)
    with engine.begin() as conn:
        for table in (t for t in metadata.sorted_tables if t.name in world):   # the tables the samples cover
            conn.execute(table.insert(), world[table.name] + ([november] if table.name == "fp_fpxx" else []))
    engine.dispose()
    return url


def test_window_limits_the_batch_and_an_empty_month_is_recorded(world_url: str) -> None:
    october = run_suite(world_url, None, "invoice", window=OCTOBER, now=NOW)
    november = run_suite(world_url, None, "invoice", window=(datetime(2026, 11, 1), datetime(2026, 12, 1)), now=NOW)
    august = run_suite(world_url, None, "invoice", window=(datetime(2026, 8, 1), datetime(2026, 9, 1)), now=NOW)

    assert october.status is SuiteStatus.PASSED
    assert november.status is SuiteStatus.FAILED and november.row_count == 1
    assert [(e.rule, e.sample_keys) for e in november.failed] == [
        ("tax rate in the legal set", [("", "26459999999999999999")])]
    assert august.status is SuiteStatus.EMPTY and august.row_count == 0 and not august.expectations
    [check] = to_check_results(august, "gx.query_db")
    assert check.outcome is Outcome.CONSISTENT and check.details["empty_window"] is True
    assert check.source_rows == 0


def test_failures_become_quality_anomalies_with_masked_keys(world_url: str, tmp_path: Path) -> None:
    engine = sa.create_engine(world_url)
    with engine.begin() as conn:
        conn.execute(sa.text("UPDATE nsr_jcxx SET nsrsbh = '91350100M000100Y44' WHERE nsrsbh = "
                             "(SELECT MIN(nsrsbh) FROM nsr_jcxx WHERE LENGTH(nsrsbh) = 18)"))
    try:
        result = run_suite(world_url, None, "taxpayer", now=NOW)
    finally:
        with engine.begin() as conn:
            conn.execute(sa.text("DELETE FROM nsr_jcxx WHERE nsrsbh = '91350100M000100Y44'"))
        engine.dispose()
    [check] = to_check_results(result, "gx.taxpayer_db", link_id="SS31")
    assert check.kind is CheckKind.QUALITY and check.outcome is Outcome.INCONSISTENT and check.is_anomaly
    assert check.source_node == "gx.taxpayer_db" and check.link_id == "SS31" and check.table == "nsr_jcxx"
    assert check.check_id == "quality/SS31/nsr_jcxx/taxpayer"
    failed = [e for e in check.details["expectations"] if not e["success"]]
    assert [e["rule"] for e in failed] == ["taxpayer id well-formed"]
    assert failed[0]["unexpected_count"] == 1 and failed[0]["sample_keys"] == ["913501**********44"]
    assert "91350100M000100Y44" not in json.dumps(check.to_dict(), default=str)
    assert check.details["failed"] == 1 and check.details["passed"] == check.details["evaluated"] - 1


def test_cross_table_rules_skip_with_a_reason_when_the_table_is_absent(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'taxpayer_only.sqlite'}"
    engine = sa.create_engine(url)
    metadata.tables["nsr_jcxx"].create(engine)
    with engine.begin() as conn:
        conn.execute(metadata.tables["nsr_jcxx"].insert(), samples.clean_world()["nsr_jcxx"])
    engine.dispose()
    result = run_suite(url, None, "taxpayer", window=OCTOBER, now=NOW)
    skipped = [e for e in result.expectations if e.status is ExpectationStatus.SKIPPED]
    assert result.status is SuiteStatus.PASSED
    assert [e.rule for e in skipped] == ["industry code resolvable in dm_csb (HY)",
                                         "tax office code resolvable in dm_csb (SWJG)"]
    assert all(e.reason == "referenced table dm_csb is not on this node" for e in skipped)
    [check] = to_check_results(result, "gx.taxpayer_db")
    assert check.outcome is Outcome.CONSISTENT and len(check.details["not_evaluated"]) == 2


def test_broken_suites_are_not_run_and_the_others_still_run(world_url: str, tmp_path: Path) -> None:
    (tmp_path / "broken.json").write_text('{"suite": "broken", "table": "fp_fpxx", "expectations": [', "utf-8")
    doc = json.loads(Path("expectations/invoice.json").read_text("utf-8"))
    doc["suite"] = "typo"
    doc["expectations"][3]["kwargs"]["column"] = "fplx_typo"
    (tmp_path / "typo.json").write_text(json.dumps(doc, ensure_ascii=False), "utf-8")
    results = run_suites(world_url, [tmp_path / "broken.json", "invoice", tmp_path / "typo.json",
                                     tmp_path / "absent.json", "knowledge"], window=OCTOBER, now=NOW)
    by = {r.suite: r for r in results}
    assert [r.status for r in results] == [SuiteStatus.NOT_RUN, SuiteStatus.PASSED, SuiteStatus.NOT_RUN,
                                           SuiteStatus.NOT_RUN, SuiteStatus.PASSED]
    assert "broken.json" in (by["broken"].error or "") and "not valid JSON" in (by["broken"].error or "")
    assert "typo.json" in (by["typo"].error or "") and "'fplx_typo'" in (by["typo"].error or "")
    assert "expectation #4" in (by["typo"].error or "")
    assert "absent.json" in (by["absent"].error or "") and "does not exist" in (by["absent"].error or "")
    [check] = to_check_results(by["typo"], "gx.query_db")
    assert check.outcome is Outcome.NOT_RUN and check.error == by["typo"].error


def test_missing_table_and_unreachable_database_are_not_run_without_secrets(tmp_path: Path) -> None:
    empty = run_suite(f"sqlite:///{tmp_path / 'empty.sqlite'}", None, "invoice")
    assert empty.status is SuiteStatus.NOT_RUN and "table 'fp_fpxx' does not exist" in (empty.error or "")
    gone = run_suite("mysql+pymysql://u:sekret99@127.0.0.1:1/nodb", None, "invoice")
    assert gone.status is SuiteStatus.NOT_RUN and gone.error
    assert "sekret99" not in gone.error and "127.0.0.1" in gone.error


def test_cli_json_and_exit_codes(world_url: str, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["quality", "--url", world_url, "--suite", "invoice", "--month", "2026-10", "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["suites"][0]["status"] == "passed" and out["suites"][0]["row_count"] == 45
    assert out["check_results"][0]["kind"] == "quality"
    assert main(["quality", "--url", world_url, "--suite", "invoice", "--month", "2026-11"]) == 1
    text = capsys.readouterr().out
    assert "FAILED" in text and "tax rate in the legal set: 1 of 1 rows" in text
    assert main(["quality", "--url", world_url, "--suite", "invoice", "--month", "2026-13"]) == 2
    assert "--month must be YYYY-MM" in capsys.readouterr().err
    assert main(["quality", "--url", world_url, "--suite", "nosuch"]) == 2
    assert "expectations/nosuch.json" in capsys.readouterr().out


@pytest.mark.mariadb
def test_mariadb_sessions_are_read_only(mariadb_module_url: str) -> None:
    from syncverify.quality.runner import read_only_engine

    engine = read_only_engine(mariadb_module_url, 30)
    try:
        with engine.connect() as conn:
            assert conn.execute(sa.text("SELECT @@session.tx_read_only")).scalar() == 1
            assert float(conn.execute(sa.text("SELECT @@session.max_statement_time")).scalar()) == 30
    finally:
        engine.dispose()


@pytest.mark.postgres
def test_postgres_sessions_are_read_only(postgres_module_url: str) -> None:
    from syncverify.quality.runner import read_only_engine

    engine = read_only_engine(postgres_module_url, 30)
    try:
        with engine.connect() as conn:
            assert conn.execute(sa.text("SHOW default_transaction_read_only")).scalar() == "on"
            assert conn.execute(sa.text("SHOW statement_timeout")).scalar() == "30s"
    finally:
        engine.dispose()


def test_suite_table_defaults_come_from_the_file() -> None:
    spec = load_suite("expectations/invoice.json")
    assert (spec.table, spec.window_column, spec.key) == ("fp_fpxx", "kprq", ["fpdm", "fphm"])
