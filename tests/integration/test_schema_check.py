"""The schema check on real MariaDB and PostgreSQL: each drift reported with its severity, a
ticket per fault carrying the DDL that aligns the target (and applying it makes the check
consistent), the pre-release gate over DDL files and a candidate database, and snapshots that
report a change between two runs with when it was first seen."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
import yaml

from syncverify.catalog import load_catalog
from syncverify.cli import main
from syncverify.connect.resolve import dispose_engines
from syncverify.results import CheckKind, Outcome
from syncverify.runner.options import Depth, RunOptions
from syncverify.runner.verify import verify
from syncverify.schema.snapshots import snapshots
from syncverify.store import Store
from syncverify.store.models import Ticket
from syncverify.tickets import open_or_update

MONTH = "2026-11"
TABLE = {"name": "fp", "key": ["id"]}
MY_BASE = ("id BIGINT PRIMARY KEY, fphm VARCHAR(20), je DECIMAL(18,2), kprq DATETIME, bz VARCHAR(50) NOT NULL, "
           "zt VARCHAR(10)")
PG_BASE = ("id BIGINT PRIMARY KEY, fphm VARCHAR(20), je NUMERIC(18,2), kprq TIMESTAMP(0), bz VARCHAR(50) NOT NULL, "
           "zt VARCHAR(10)")
# target variant -> (PostgreSQL columns, MariaDB columns)
VARIANTS = {
    "ok": (PG_BASE, MY_BASE),
    "short": (PG_BASE.replace("fphm VARCHAR(20)", "fphm VARCHAR(10)"),
              MY_BASE.replace("fphm VARCHAR(20)", "fphm VARCHAR(10)")),
    "scale": (PG_BASE.replace("NUMERIC(18,2)", "NUMERIC(18,1)"), MY_BASE.replace("DECIMAL(18,2)", "DECIMAL(18,1)")),
    "added": (PG_BASE + ", extra_col VARCHAR(5)", MY_BASE + ", extra_col VARCHAR(5)"),
    "dropped": (PG_BASE.replace(", zt VARCHAR(10)", ""), MY_BASE.replace(", zt VARCHAR(10)", "")),
    "family": (PG_BASE.replace("je NUMERIC(18,2)", "je TEXT"), MY_BASE.replace("je DECIMAL(18,2)", "je TEXT")),
    "looser": (PG_BASE.replace("bz VARCHAR(50) NOT NULL", "bz VARCHAR(50)"),
               MY_BASE.replace("bz VARCHAR(50) NOT NULL", "bz VARCHAR(50)")),
    "stricter": (PG_BASE.replace("zt VARCHAR(10)", "zt VARCHAR(10) NOT NULL"),
                 MY_BASE.replace("zt VARCHAR(10)", "zt VARCHAR(10) NOT NULL")),
}
EXPECTED = {   # variant -> (outcome, (column, what, severity))
    "ok": (Outcome.CONSISTENT, None),
    "short": (Outcome.INCONSISTENT, ("fphm", "length", "error")),
    "scale": (Outcome.INCONSISTENT, ("je", "scale", "error")),
    "added": (Outcome.CONSISTENT, ("extra_col", "extra", "warning")),
    "dropped": (Outcome.INCONSISTENT, ("zt", "missing", "error")),
    "family": (Outcome.INCONSISTENT, ("je", "family", "error")),
    "looser": (Outcome.CONSISTENT, ("bz", "nullable", "info")),
    "stricter": (Outcome.INCONSISTENT, ("zt", "nullable", "error")),
}


@pytest.fixture
def home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    monkeypatch.setenv("SYNCVERIFY_HOME", str(tmp_path / "home"))
    monkeypatch.delenv("SYNCVERIFY_STORE_URL", raising=False)
    dispose_engines()
    yield tmp_path / "home"
    dispose_engines()


def _admin(url: str) -> sa.Engine:
    return sa.create_engine(url, isolation_level="AUTOCOMMIT")


def _execute(url: str, *statements: str) -> None:
    engine = _admin(url)
    with engine.connect() as c:
        for s in statements:
            c.execute(sa.text(s))
    engine.dispose()


def _create(url: str, table: str, columns: str) -> None:
    suffix = " DEFAULT CHARSET=utf8mb4" if url.startswith("mysql") else ""
    _execute(url, f"CREATE TABLE {table} ({columns}){suffix}")


def _world(root: Path, nodes: dict[str, dict[str, Any]], links: list[dict[str, Any]],
           tables: list[dict[str, Any]] | None = None) -> tuple[Path, Path]:
    catalog = root / "checks"
    catalog.mkdir(parents=True, exist_ok=True)
    cat_nodes, prof = [], {}
    for node_id, spec in nodes.items():
        spec = dict(spec)
        url = spec.pop("url", None)
        cat_nodes.append({"id": node_id, "side": "hq" if node_id.startswith("hq.") else "province", **spec})
        if url:
            prof[node_id] = {"url": url}
    (catalog / "topology.yaml").write_text(yaml.safe_dump(
        {"nodes": cat_nodes, "tables": tables or [TABLE], "links": links}), encoding="utf-8")
    profile = root / "profile.yaml"
    profile.write_text(yaml.safe_dump({"profile": "schema-test", "nodes": prof}), encoding="utf-8")
    return catalog, profile


def _options(catalog: Path, profile: Path, **kw: Any) -> RunOptions:
    return RunOptions(month=MONTH, kind="adhoc", depth=Depth.SCHEMA, catalog_path=str(catalog),
                      profile=str(profile), **kw)


def _variant_world(root: Path, source_url: str, target_url: str) -> tuple[Path, Path]:
    """One source copy of fp, one target node per variant (all on ``target_url``)."""
    source_cols = MY_BASE if source_url.startswith("mysql") else PG_BASE
    _create(source_url, "fp_src", source_cols)
    nodes: dict[str, dict[str, Any]] = {"hq.src": {"kind": _kind(source_url), "url": source_url,
                                                   "tables": {"fp": "fp_src"}}}
    links = []
    for name, (pg_cols, my_cols) in VARIANTS.items():
        _create(target_url, f"fp_{name}", my_cols if target_url.startswith("mysql") else pg_cols)
        nodes[f"gx.{name}"] = {"kind": _kind(target_url), "url": target_url, "tables": {"fp": f"fp_{name}"}}
        links.append({"id": f"L-{name}", "kind": "dsg", "source": "hq.src", "target": f"gx.{name}",
                      "tables": [{"table": "fp"}]})
    return _world(root, nodes, links)


def _kind(url: str) -> str:
    return "mysql" if url.startswith("mysql") else "postgresql"


def _by_link(results: list[Any]) -> dict[str, Any]:
    return {r.link_id: r for r in results}


def _assert_expected(results: dict[str, Any]) -> None:
    for name, (outcome, finding) in EXPECTED.items():
        r = results[f"L-{name}"]
        assert r.kind is CheckKind.SCHEMA and r.error is None, (name, r.error)
        assert r.outcome is outcome, (name, r.details["findings"])
        got = {(f["column"], f["what"], f["severity"]) for f in r.details["findings"]}
        if finding is None:
            assert not got, (name, got)
        else:
            assert finding in got, (name, got)
        # warnings and info never make a check inconsistent; one error does
        errors = [f for f in r.details["findings"] if f["severity"] == "error"]
        assert bool(errors) == (outcome is Outcome.INCONSISTENT)
        assert bool(r.details["align_ddl"]) == bool(errors)


def _fix_and_recheck(root: Path, catalog: Path, profile: Path, target_url: str, store: Store,
                     results: dict[str, Any], run_id: str) -> None:
    """Tickets for the errors, carrying the aligning DDL; the DDL applied on the target makes
    every check consistent and the next run marks the tickets repaired."""
    cat = load_catalog(catalog)
    ids = open_or_update(store, list(results.values()), run_id=run_id, catalog=cat, now=datetime.now(UTC),
                         sinks=[])
    errors = [k for k, (o, _) in EXPECTED.items() if o is Outcome.INCONSISTENT]
    assert len(ids) == len(errors)
    with store.session() as s:
        tickets = {t.link_id: t for t in s.scalars(sa.select(Ticket))}
    assert set(tickets) == {f"L-{k}" for k in errors}
    for name in errors:
        t = tickets[f"L-{name}"]
        assert t.kind == "schema" and t.open_key == f"L-{name}/fp/schema"
        ddl = t.evidence["align_ddl"]
        assert ddl and all(f"fp_{name}" in stmt for stmt in ddl), ddl
        assert t.evidence["checks"][f"schema/L-{name}/fp"]["align_ddl"] == ddl
        _execute(target_url, *ddl)
    again = verify(_options(catalog, profile), store)
    rerun = _by_link(again.results)
    for name in errors:
        assert rerun[f"L-{name}"].outcome is Outcome.CONSISTENT, rerun[f"L-{name}"].details["findings"]
    open_or_update(store, again.results, run_id=again.run_id, catalog=cat, now=datetime.now(UTC), sinks=[])
    with store.session() as s:
        statuses = {t.link_id: t.status for t in s.scalars(sa.select(Ticket))}
    assert all(statuses[f"L-{k}"] == "repaired" for k in errors), statuses


@pytest.mark.mariadb
@pytest.mark.postgres
def test_mariadb_source_postgresql_target(mariadb_url: str, postgres_url: str, home: Path, tmp_path: Path) -> None:
    catalog, profile = _variant_world(tmp_path, mariadb_url, postgres_url)
    store = Store(f"sqlite:///{tmp_path / 'results.sqlite'}")
    summary = verify(_options(catalog, profile), store)
    results = _by_link(summary.results)
    _assert_expected(results)
    # the numbers compare by capacity across the servers: DECIMAL(18,2) = NUMERIC(18,2)
    assert not results["L-ok"].details["findings"]
    _fix_and_recheck(tmp_path, catalog, profile, postgres_url, store, results, summary.run_id)


@pytest.mark.mariadb
def test_mariadb_same_server(mariadb_url: str, home: Path, tmp_path: Path) -> None:
    catalog, profile = _variant_world(tmp_path, mariadb_url, mariadb_url)
    store = Store(f"sqlite:///{tmp_path / 'results.sqlite'}")
    summary = verify(_options(catalog, profile), store)
    results = _by_link(summary.results)
    _assert_expected(results)
    ddl = results["L-short"].details["align_ddl"]
    assert ddl == ["ALTER TABLE `fp_short` MODIFY COLUMN `fphm` VARCHAR(20) CHARACTER SET utf8mb4 NULL"]
    _fix_and_recheck(tmp_path, catalog, profile, mariadb_url, store, results, summary.run_id)


@pytest.mark.postgres
def test_postgresql_same_server(postgres_url: str, home: Path, tmp_path: Path) -> None:
    catalog, profile = _variant_world(tmp_path, postgres_url, postgres_url)
    store = Store(f"sqlite:///{tmp_path / 'results.sqlite'}")
    summary = verify(_options(catalog, profile), store)
    results = _by_link(summary.results)
    _assert_expected(results)
    assert results["L-family"].details["align_ddl"] == [
        'ALTER TABLE "fp_family" ALTER COLUMN "je" TYPE NUMERIC(18,2) USING "je"::NUMERIC(18,2)']
    _fix_and_recheck(tmp_path, catalog, profile, postgres_url, store, results, summary.run_id)


@pytest.mark.mariadb
@pytest.mark.postgres
def test_postgresql_source_mariadb_target_timestamps_and_charset(mariadb_url: str, postgres_url: str, home: Path,
                                                                  tmp_path: Path) -> None:
    _create(postgres_url, "fp_src", "id BIGINT PRIMARY KEY, kprq TIMESTAMP(6), mc VARCHAR(40)")
    _execute(mariadb_url, "CREATE TABLE fp_dst (id BIGINT PRIMARY KEY, kprq DATETIME, mc VARCHAR(40)) "
                          "DEFAULT CHARSET=latin1")
    catalog, profile = _world(tmp_path, {
        "hq.src": {"kind": "postgresql", "url": postgres_url, "tables": {"fp": "fp_src"}},
        "gx.dst": {"kind": "mysql", "url": mariadb_url, "tables": {"fp": "fp_dst"}}},
        [{"id": "L1", "kind": "dsg", "source": "hq.src", "target": "gx.dst", "tables": [{"table": "fp"}]}])
    summary = verify(_options(catalog, profile), Store(f"sqlite:///{tmp_path / 'results.sqlite'}"))
    r = summary.results[0]
    got = {(f["column"], f["what"], f["severity"]) for f in r.details["findings"]}
    assert ("kprq", "timestamp_precision", "error") in got      # microseconds would be cut
    assert ("mc", "charset", "error") in got                    # latin1 holds no Chinese
    assert r.outcome is Outcome.INCONSISTENT
    _execute(mariadb_url, *r.details["align_ddl"])
    again = verify(_options(catalog, profile), Store(f"sqlite:///{tmp_path / 'results.sqlite'}"))
    assert again.results[0].outcome is Outcome.CONSISTENT, again.results[0].details["findings"]


# ---- snapshots ----------------------------------------------------------------------------------

@pytest.mark.postgres
def test_snapshot_reports_a_change_between_runs(postgres_url: str, home: Path, tmp_path: Path) -> None:
    _create(postgres_url, "fp_src", PG_BASE)
    _create(postgres_url, "fp_dst", PG_BASE)
    catalog, profile = _world(tmp_path, {
        "hq.src": {"kind": "postgresql", "url": postgres_url, "tables": {"fp": "fp_src"}},
        "gx.dst": {"kind": "postgresql", "url": postgres_url, "tables": {"fp": "fp_dst"}}},
        [{"id": "L1", "kind": "dsg", "source": "hq.src", "target": "gx.dst", "tables": [{"table": "fp"}]}])
    store = Store(f"sqlite:///{tmp_path / 'results.sqlite'}")
    first = verify(_options(catalog, profile), store).results[0]
    assert first.outcome is Outcome.CONSISTENT and first.details["changes"] == []
    assert "shapes" not in first.details
    assert len(snapshots(store, month=MONTH)) == 2        # one per copy
    before_change = datetime.now(UTC)
    _execute(postgres_url, "ALTER TABLE fp_dst ALTER COLUMN fphm TYPE VARCHAR(12)",
             "ALTER TABLE fp_dst ADD COLUMN new_col INTEGER")
    second = verify(_options(catalog, profile), store).results[0]
    changes = {(c["node"], c["column"], c["change"]): c for c in second.details["changes"]}
    assert set(changes) == {("gx.dst", "fphm", "retyped"), ("gx.dst", "new_col", "added")}
    retyped = changes[("gx.dst", "fphm", "retyped")]
    assert retyped["before"] == "VARCHAR(20)" and retyped["after"] == "VARCHAR(12)"
    first_seen = datetime.fromisoformat(retyped["first_seen"])
    assert first_seen >= before_change
    assert second.outcome is Outcome.INCONSISTENT      # and the narrowing itself is an error
    # a third run still lists this month's change, first seen at the second run
    third_run = verify(_options(catalog, profile), store)
    third = third_run.results[0]
    assert {c["first_seen"] for c in third.details["changes"]} == {retyped["first_seen"]}
    stored = store.results(third_run.run_id)[0]
    assert stored.details["changes"] == third.details["changes"]
    assert len(snapshots(store, node="gx.dst")) == 2      # the first shape and the changed one


# ---- the pre-release gate -----------------------------------------------------------------------

CHAIN_TABLES = [{"name": "fp", "key": ["id"]}]


def _chain(tmp_path: Path, mariadb_url: str, postgres_url: str) -> tuple[Path, Path]:
    """hq.src (MariaDB) -> gx.mid (PostgreSQL) -> gx.end (MariaDB), plus an Oracle source
    hq.ora -> gx.mid (its schema only ever arrives as a DDL file)."""
    _create(mariadb_url, "fp_src", MY_BASE)
    _create(postgres_url, "fp_mid", PG_BASE)
    _create(mariadb_url, "fp_end", MY_BASE)
    return _world(tmp_path, {
        "hq.src": {"kind": "mysql", "url": mariadb_url, "tables": {"fp": "fp_src"}},
        "hq.ora": {"kind": "oracle", "tables": {"fp": "FP_ORA"}},
        "gx.mid": {"kind": "postgresql", "url": postgres_url, "tables": {"fp": "fp_mid"}},
        "gx.end": {"kind": "mysql", "url": mariadb_url, "tables": {"fp": "fp_end"}}},
        [{"id": "L1", "kind": "dsg", "source": "hq.src", "target": "gx.mid", "tables": [{"table": "fp"}]},
         {"id": "L2", "kind": "dsg", "source": "gx.mid", "target": "gx.end", "tables": [{"table": "fp"}]},
         {"id": "L0", "kind": "dsg", "source": "hq.ora", "target": "gx.mid", "tables": [{"table": "fp"}]}],
        CHAIN_TABLES)


def _gate(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, dict[str, Any]]:
    code = main(["schema", "gate", *args, "--json"])
    out = capsys.readouterr().out
    return code, json.loads(out)


@pytest.mark.mariadb
@pytest.mark.postgres
def test_gate_ddl_files(mariadb_url: str, postgres_url: str, home: Path, tmp_path: Path,
                        capsys: pytest.CaptureFixture[str]) -> None:
    catalog, profile = _chain(tmp_path, mariadb_url, postgres_url)
    common = ["--catalog", str(catalog), "--profile", str(profile)]
    # gx.mid's release narrows fphm, which L1 carries into it from hq.src: breaking
    narrow = tmp_path / "mid_narrow.sql"
    narrow.write_text(f"CREATE TABLE fp_mid ({PG_BASE.replace('fphm VARCHAR(20)', 'fphm VARCHAR(10)')});\n"
                      "CREATE INDEX ix_fp_mid_kprq ON fp_mid (kprq);\n", encoding="utf-8")
    code, report = _gate(capsys, "--candidate", str(narrow), "--node", "gx.mid", *common)
    assert code == 1 and not report["compatible"]
    breaking = {(b["check"], b["column"], b["what"], b["role"]) for b in report["breaking"]}
    assert ("schema/L1/fp", "fphm", "length", "target") in breaking
    assert "schema/L1/fp" in report["align_ddl"]
    # ... and widening bz on gx.mid breaks L2: gx.end keeps VARCHAR(50)
    wide = tmp_path / "mid_wide.sql"
    wide.write_text(f"CREATE TABLE fp_mid ({PG_BASE.replace('bz VARCHAR(50)', 'bz VARCHAR(80)')});",
                    encoding="utf-8")
    code, report = _gate(capsys, "--candidate", str(wide), "--node", "gx.mid", *common)
    assert code == 1
    assert {(b["check"], b["column"], b["role"]) for b in report["breaking"]} == {("schema/L2/fp", "bz", "source")}
    # a wider decimal on a node in the middle breaks the hop after it (gx.end keeps DECIMAL(18,2))
    wider = tmp_path / "mid_wider.sql"
    wider.write_text(f"CREATE TABLE fp_mid ({PG_BASE.replace('NUMERIC(18,2)', 'NUMERIC(20,2)')});", encoding="utf-8")
    code, report = _gate(capsys, "--candidate", str(wider), "--node", "gx.mid", *common)
    assert code == 1 and {b["check"] for b in report["breaking"]} == {"schema/L2/fp"}
    # a compatible release (same columns, a new index, primary key declared afterwards): exit 0
    ok = tmp_path / "mid_ok.sql"
    ok.write_text(f"CREATE TABLE fp_mid ({PG_BASE.replace(' PRIMARY KEY', '')});\n"
                  "ALTER TABLE fp_mid ADD CONSTRAINT pk_fp_mid PRIMARY KEY (id);\n"
                  "CREATE INDEX ix_fp_mid_kprq ON fp_mid (kprq);\nCOMMENT ON TABLE fp_mid IS 'invoices';\n",
                  encoding="utf-8")
    code, report = _gate(capsys, "--candidate", str(ok), "--node", "gx.mid", *common)
    assert code == 0 and report["compatible"] and report["checks"] == 2, report
    assert any(s.startswith("L0/fp: hq.ora") for s in report["skipped"])   # Oracle is gated from its DDL
    # the Oracle source's release, read with Oracle's types: DATE carries a time (fits DATETIME
    # on fp_mid? TIMESTAMP(0): yes), VARCHAR2(80 CHAR) does not fit VARCHAR(20)
    ora = tmp_path / "ora.sql"
    ora.write_text("CREATE TABLE FP_ORA (ID NUMBER(18) NOT NULL, FPHM VARCHAR2(80 CHAR), JE NUMBER(18,2), "
                   "KPRQ DATE, BZ VARCHAR2(50 CHAR) NOT NULL, ZT VARCHAR2(10 CHAR), "
                   "CONSTRAINT PK_FP_ORA PRIMARY KEY (ID));", encoding="utf-8")
    code, report = _gate(capsys, "--candidate", str(ora), *common)       # node inferred: hq.ora
    assert report["node"] == "hq.ora"
    assert code == 1
    assert {(b["check"], b["column"].lower(), b["what"]) for b in report["breaking"]} == {
        ("schema/L0/fp", "fphm", "length")}
    # text output lists the breaking changes
    assert main(["schema", "gate", "--candidate", str(narrow), "--node", "gx.mid", *common]) == 1
    assert "BREAKING" in capsys.readouterr().out


@pytest.mark.mariadb
@pytest.mark.postgres
def test_gate_candidate_database(mariadb_url: str, postgres_url: str, home: Path, tmp_path: Path,
                                 capsys: pytest.CaptureFixture[str]) -> None:
    catalog, profile = _chain(tmp_path, mariadb_url, postgres_url)
    common = ["--catalog", str(catalog), "--profile", str(profile), "--node", "gx.mid"]
    # a pre-production copy of gx.mid's table (here on the MariaDB server) with fphm narrowed
    _create(mariadb_url, "fp_mid", MY_BASE.replace("fphm VARCHAR(20)", "fphm VARCHAR(12)"))
    code, report = _gate(capsys, "--candidate", mariadb_url, *common)
    assert code == 1
    assert ("schema/L1/fp", "fphm", "length") in {(b["check"], b["column"], b["what"]) for b in report["breaking"]}
    assert report["candidate"].startswith("mysql")
    _execute(mariadb_url, "ALTER TABLE fp_mid MODIFY COLUMN fphm VARCHAR(20)")
    code, report = _gate(capsys, "--candidate", mariadb_url, *common)
    assert code == 0, report


@pytest.mark.mariadb
@pytest.mark.postgres
def test_schema_check_cli_and_run_depth(mariadb_url: str, postgres_url: str, home: Path, tmp_path: Path,
                                        capsys: pytest.CaptureFixture[str]) -> None:
    catalog, profile = _variant_world(tmp_path, mariadb_url, postgres_url)
    store_url = f"sqlite:///{tmp_path / 'cli.sqlite'}"
    code = main(["schema", "check", "--month", MONTH, "--catalog", str(catalog), "--profile", str(profile),
                 "--store", store_url, "--links", "L-short,L-added", "--json"])
    out = json.loads(capsys.readouterr().out)
    assert code == 1 and out["checks"] == 2 and len(out["tickets"]) == 1
    by = {r["check_id"]: r for r in out["results"]}
    assert by["schema/L-short/fp"]["outcome"] == "inconsistent" and by["schema/L-short/fp"]["align_ddl"]
    assert by["schema/L-added/fp"]["outcome"] == "consistent" and by["schema/L-added/fp"]["counts"]["warning"] == 1
    code = main(["run", "--month", MONTH, "--depth", "schema", "--catalog", str(catalog), "--profile", str(profile),
                 "--store", store_url, "--links", "L-ok", "--checks-only", "--json"])
    summary = json.loads(capsys.readouterr().out)
    assert code == 0 and summary["checks"] == 1 and summary["consistent"] == 1, summary


@pytest.mark.mariadb
@pytest.mark.postgres
def test_discover_flags_columns_that_cannot_be_compared(mariadb_url: str, postgres_url: str) -> None:
    from syncverify.catalog.discover import discover

    _create(mariadb_url, "fp", MY_BASE)
    _create(postgres_url, "fp", PG_BASE.replace("je NUMERIC(18,2)", "je TEXT").replace("VARCHAR(20)", "VARCHAR(8)"))
    source, target = sa.create_engine(mariadb_url), sa.create_engine(postgres_url)
    try:
        found = discover(source, target)
    finally:
        source.dispose()
        target.dispose()
    assert [c["column"] for c in found.incomparable["fp"]] == ["je"]
    assert any("column je cannot be compared" in w for w in found.warnings)
    assert any("column fphm length" in w for w in found.warnings)
    assert "cannot be compared" in found.to_yaml()
