"""Every shipped suite against real databases: clean data passes, each planted violation is caught.

One database per module and dialect (GX setup is slow): clean tables built from the sandbox
schema with realistic rows, plus constraint-free ``*_dirty`` copies holding the clean rows and
one planted row per rule (``syncverify.sandbox.quality_samples.VIOLATIONS``). Each suite runs once on the
clean tables for October 2026 and once on the dirty copies; the tests read those results.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

import pytest
import sqlalchemy as sa

from syncverify.masking import mask_taxpayer_id
from syncverify.quality import ExpectationStatus, SuiteStatus, load_suite, run_suite
from syncverify.sandbox import quality_samples as samples
from syncverify.sandbox.schema import TAXPAYER_ID_COLUMNS, metadata

SUITES = ["invoice", "use_record", "red_notice", "taxpayer", "taxpayer_ext", "code_param", "province_param",
          "knowledge"]
OCTOBER = (datetime(2026, 10, 1), datetime(2026, 11, 1))
NOW = datetime(2026, 11, 29, 12, 0, 0)


def _dirty_copy(table: sa.Table, md: sa.MetaData) -> sa.Table:
    # No key and no NOT NULL: a replica without constraints, so duplicates can be planted.
    return sa.Table(f"{table.name}_dirty", md, *(sa.Column(c.name, c.type, nullable=True) for c in table.columns))


def build_world(url: str) -> None:
    engine = sa.create_engine(url)
    world = samples.clean_world()
    dirty_md = sa.MetaData()
    try:
        metadata.create_all(engine)
        with engine.begin() as conn:
            # The sandbox schema also holds tables without a suite of their own (the interaction
            # platform's): the suites are tested on the tables the samples cover.
            for table in (t for t in metadata.sorted_tables if t.name in world):
                conn.execute(table.insert(), world[table.name])
                dirty = _dirty_copy(table, dirty_md)
                dirty.create(conn)
                suite = next(v.suite for v in samples.VIOLATIONS if v.table == table.name)
                planted = [row for _, row in samples.violating_rows(suite, world)]
                conn.execute(dirty.insert(), world[table.name] + planted)
    finally:
        engine.dispose()


@pytest.fixture(scope="module", params=[
    "sqlite",
    pytest.param("mariadb", marks=pytest.mark.mariadb),
    pytest.param("postgres", marks=pytest.mark.postgres),
])
def runs(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path_factory.mktemp('quality') / 'world.sqlite'}"
    else:
        url = request.getfixturevalue(f"{request.param}_module_url")
    build_world(url)
    engine = sa.create_engine(url)
    try:
        clean = {s: run_suite(engine, None, s, window=OCTOBER, now=NOW) for s in SUITES}
        dirty = {s: run_suite(engine, f"{load_suite(f'expectations/{s}.json').table}_dirty", s, now=NOW,
                              sample_keys=5) for s in SUITES}
    finally:
        engine.dispose()
    return {"db": request.param, "clean": clean, "dirty": dirty}


@pytest.mark.parametrize("suite", SUITES)
def test_clean_data_passes_every_rule(runs: dict[str, Any], suite: str) -> None:
    result = runs["clean"][suite]
    assert result.status is SuiteStatus.PASSED, (result.error, [(e.rule, e.reason) for e in result.failed])
    assert result.row_count and result.row_count > 0
    assert all(e.status is ExpectationStatus.PASSED for e in result.expectations), \
        [(e.rule, e.status, e.reason) for e in result.expectations if e.status is not ExpectationStatus.PASSED]
    assert len(result.expectations) == len(load_suite(f"expectations/{suite}.json").expectations)


def _expected_key(suite: str, row: dict[str, Any]) -> str | tuple[str, ...]:
    spec = load_suite(f"expectations/{suite}.json")
    parts = [mask_taxpayer_id(str(row[k])) if k in TAXPAYER_ID_COLUMNS else str(row[k]) for k in spec.key]
    return parts[0] if len(parts) == 1 else tuple(str(p) for p in parts)


@pytest.mark.parametrize("violation", samples.VIOLATIONS, ids=lambda v: f"{v.suite}:{v.rule}")
def test_each_rule_catches_its_planted_row(runs: dict[str, Any], violation: samples.Violation) -> None:
    result = runs["dirty"][violation.suite]
    assert result.ran, result.error
    by_rule = {e.rule: e for e in result.expectations}
    assert violation.rule in by_rule, f"suite {violation.suite} has no rule {violation.rule!r}"
    outcome = by_rule[violation.rule]
    assert outcome.status is ExpectationStatus.FAILED, (outcome.status, outcome.reason)
    world = samples.clean_world()
    template = samples.template_row(violation.table, world[violation.table])
    row = violation.make(template)
    duplicate = row == template      # a duplicate key: both copies are unexpected
    collateral = sum(violation.rule in v.also for v in samples.VIOLATIONS if v.suite == violation.suite)
    assert outcome.unexpected_count == (2 if duplicate else 1) + collateral
    assert _expected_key(violation.suite, row) in outcome.sample_keys


@pytest.mark.parametrize("suite", SUITES)
def test_only_planted_rules_fail(runs: dict[str, Any], suite: str) -> None:
    planted = {rule for v in samples.VIOLATIONS if v.suite == suite for rule in (v.rule, *v.also)}
    result = runs["dirty"][suite]
    failed = {e.rule for e in result.failed}
    errors = [(e.rule, e.reason) for e in result.expectations if e.status is ExpectationStatus.ERROR]
    assert not errors
    assert failed == planted
    assert result.status is SuiteStatus.FAILED
