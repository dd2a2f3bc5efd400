"""Suite files: the shipped suites load; broken ones fail naming the file and the expectation;
custom rules compile to dialect-correct SQL in GX's query form."""

from __future__ import annotations

import json
from datetime import datetime
from pathlib import Path

import pytest
from sqlalchemy.dialects import mysql, postgresql, sqlite

from syncverify.errors import SyncverifyError
from syncverify.quality import SuiteFileError, available_suites, load_suite, rules
from syncverify.quality.suites import ExpectationSpec, parse_suite, suite_path
from syncverify.sandbox.schema import TABLES

NOW = datetime(2026, 11, 29, 12, 0)


def test_every_shipped_suite_loads_and_names_real_columns() -> None:
    names = available_suites("expectations")
    assert names == sorted(["invoice", "use_record", "red_notice", "taxpayer", "taxpayer_ext", "code_param",
                            "province_param", "knowledge"])
    for name in names:
        spec = load_suite(suite_path(name))
        assert spec.name == name and spec.table in TABLES
        columns = set(TABLES[spec.table].c.keys())
        assert set(spec.all_columns()) <= columns, (name, set(spec.all_columns()) - columns)
        rules_in_file = [e.rule for e in spec.expectations]
        assert len(rules_in_file) == len(set(rules_in_file)), f"{name}: rule names must be unique"


def _write(tmp_path: Path, doc: object) -> Path:
    path = tmp_path / "s.json"
    path.write_text(doc if isinstance(doc, str) else json.dumps(doc), "utf-8")
    return path


BASE = {"suite": "s", "table": "t", "key": ["k"],
        "expectations": [{"type": "expect_column_values_to_not_be_null", "kwargs": {"column": "k"}}]}


@pytest.mark.parametrize("doc, message", [
    ("{not json", "is not valid JSON"),
    ([], "expected a JSON object"),
    ({**BASE, "table": ""}, "'table' must be a non-empty string"),
    ({**BASE, "expectations": []}, "'expectations' must be a non-empty list"),
    ({**BASE, "expectations": [{"kwargs": {}}]}, "expectation #1: 'type' is missing"),
    ({**BASE, "expectations": [{"type": "expect_column_values_to_be_purple", "kwargs": {"column": "k"}}]},
     "unknown expectation type 'expect_column_values_to_be_purple'"),
    ({**BASE, "expectations": [{"type": "expect_column_values_to_be_in_set", "kwargs": {"column": "k"}}]},
     "expectation #1 (expect_column_values_to_be_in_set): bad kwargs"),
    ({**BASE, "expectations": [{"type": "expect_column_sum_to_equal_column", "kwargs": {"addends": ["a"]}}]},
     "missing kwargs total"),
    ({**BASE, "expectations": [{"type": "expect_column_values_to_match_regex_when",
                                "kwargs": {"column": "a", "regex": "^x", "when": [{"column": "b", "op": "~"}]}}]},
     "bad 'when' entry"),
    ({**BASE, "expectations": [{"type": "unexpected_rows", "kwargs": {"query": "SELECT 1"}}]},
     "must read from {batch}"),
])
def test_broken_files_name_the_file_and_the_problem(tmp_path: Path, doc: object, message: str) -> None:
    path = _write(tmp_path, doc)
    with pytest.raises(SuiteFileError) as err:
        load_suite(path)
    assert isinstance(err.value, SyncverifyError)
    assert str(path) in str(err.value) and message in str(err.value)


def test_missing_file() -> None:
    with pytest.raises(SuiteFileError, match=r"nosuch\.json: does not exist"):
        load_suite("expectations/nosuch.json")


def _spec(etype: str, **kwargs: object) -> ExpectationSpec:
    return parse_suite({**BASE, "expectations": [{"type": etype, "kwargs": kwargs}]}).expectations[0]


COLUMNS = ["fpdm", "fphm", "je", "se", "jshj", "fplx", "lzfpdm", "lzfphm", "xsfnsrsbh", "kprq", "select"]


def _sql(spec: ExpectationSpec, dialect: object) -> str:
    return rules.gx_query(spec, dialect=dialect, key=["fpdm", "fphm"], table="fp_fpxx",  # type: ignore[arg-type]
                          columns=COLUMNS, now=NOW)


def test_taxpayer_id_rule_per_dialect() -> None:
    spec = _spec("expect_column_values_to_be_valid_taxpayer_id", column="xsfnsrsbh")
    my, pg, lite = (_sql(spec, d.dialect()) for d in (mysql, postgresql, sqlite))
    assert "binary(xsfnsrsbh) REGEXP" in my and "instr(" in my
    assert "strpos(" in pg and "xsfnsrsbh !~" in pg
    assert "instr(" in lite and "REGEXP" in lite
    for sql in (my, pg, lite):
        assert sql.startswith("SELECT fpdm, fphm \nFROM {batch}")
        assert "{{2}}" in sql        # regex braces escaped for GX's str.format
        assert "%%" not in sql


def test_reference_rule_aliases_the_batch_and_quotes_identifiers() -> None:
    spec = _spec("expect_column_values_to_reference", columns=["lzfpdm", "select"], ref_table="Fp Blue",
                 ref_columns=["fpdm", "order"], when=[{"column": "je", "op": "<", "value": 0}], nullable=False)
    sql = _sql(spec, postgresql.dialect())
    assert 'FROM {batch} r LEFT OUTER JOIN "Fp Blue" AS p ON p.fpdm = r.lzfpdm AND p."order" = r."select"' in sql
    assert "r.je < 0" in sql
    assert rules.referenced_tables(spec, "fp_fpxx") == ["Fp Blue"]
    assert "`Fp Blue`" in _sql(spec, mysql.dialect())


def test_sum_rule_and_future_rule() -> None:
    sql = _sql(_spec("expect_column_sum_to_equal_column", addends=["je", "se"], total="jshj"), sqlite.dialect())
    assert "abs((0 + je + se) - jshj) >= 0.005" in sql
    sql = _sql(_spec("expect_column_values_to_not_be_in_future", column="kprq", tolerance_seconds=60),
               mysql.dialect())
    assert "kprq > '2026-11-29 12:01:00'" in sql


def test_raw_query_placeholders_are_quoted() -> None:
    spec = _spec("unexpected_rows", query="SELECT {key} FROM {batch} WHERE {col[select]} IS NULL "
                                          "AND NOT EXISTS (SELECT 1 FROM {table[dm csb]})")
    sql = _sql(spec, postgresql.dialect())
    assert sql == 'SELECT fpdm, fphm FROM {batch} WHERE "select" IS NULL AND NOT EXISTS (SELECT 1 FROM "dm csb")'
