"""Predicate validation and the in-Python half of the diff (classification of fetched rows)."""

from __future__ import annotations

import pytest

from syncverify.compare.bucketdiff import Findings, _batches, classify
from syncverify.compare.engine import key_out
from syncverify.compare.predicate import validate_predicate
from syncverify.compare.spec import CompareSpec
from syncverify.errors import PredicateError


@pytest.mark.parametrize("sql", [
    "gmf_swjg_dm LIKE '145%'", "kprq >= '2024-01-01' AND (fpzt = '0' OR fpzt IS NULL)",
    "bz = 'it''s; fine -- inside a literal'",
])
def test_valid_predicates_pass(sql: str) -> None:
    assert validate_predicate(sql, "p") == sql


@pytest.mark.parametrize("sql,reason", [
    ("1=1; DROP TABLE inv", "';'"), ("a = 1 -- rest", "comments"), ("a = 1 /* x */", "comments"),
    ("a = 1) OR (1 = 1", "parentheses"), ("a = 'open", "unbalanced"), ("a IN (DELETE FROM t)", "DELETE"),
    ("sleep(10) = 0", "SLEEP"), ("a = 'x\\' OR 1=1 --'", "backslash"),
    ("x IN (SELECT y FROM t WHERE z = 1)", "subqueries"),
])
def test_unsafe_predicates_are_refused_by_name(sql: str, reason: str) -> None:
    with pytest.raises(PredicateError, match="routing") as info:
        validate_predicate(sql, "routing")
    assert reason in str(info.value)


def test_empty_predicate_is_none() -> None:
    assert validate_predicate("  ", "p") is None and validate_predicate(None) is None


def test_classify_kinds_and_duplicates() -> None:
    f = Findings(cap=10)
    src = {("a",): [(1, 1)], ("b",): [(2, 2)], ("c",): [(3, 3)], ("d",): [(4, 4), (4, 4)], ("e",): [(5, 5)]}
    tgt = {("b",): [(2, 2)], ("c",): [(9, 9)], ("d",): [(4, 4)], ("x",): [(7, 7)], ("e",): [(5, 5), (6, 6)]}
    agree = classify(src, tgt, f)
    assert f.held("missing") == [("a",)] and f.held("extra") == [("x",)]
    assert sorted(f.held("changed")) == [("c",), ("e",)]
    assert sorted(f.held("duplicate")) == [("d",), ("e",)]
    assert agree == {("b",)}


def test_findings_cap_keeps_counts_exact() -> None:
    f = Findings(cap=2)
    for i in range(5):
        f.add("missing", (str(i),))
    f.add("missing", ("0",))
    assert f.counts["missing"] == 5 and len(f.held("missing")) == 2


def test_batches_bound_rows() -> None:
    assert _batches({1: 30, 2: 30, 3: 50, 4: 5}, 60) == [[1, 2], [3, 4]]


def test_key_out_forms() -> None:
    assert key_out(("F1",)) == "F1"
    assert key_out(("1450", "0001")) == ("1450", "0001")
    assert key_out((None,)) == "<NULL>"


def test_spec_accepts_comma_separated_key() -> None:
    assert CompareSpec(key="fpdm, fphm").key == ["fpdm", "fphm"]  # type: ignore[arg-type]
    with pytest.raises(ValueError):
        CompareSpec(key=[])


def test_spec_names_a_bad_row_hash_or_slice_count() -> None:
    assert CompareSpec(key=["id"]).row_hash == "auto"
    with pytest.raises(ValueError, match="row_hash must be one of auto, sha256, not 'md5'"):
        CompareSpec(key=["id"], row_hash="md5")
    with pytest.raises(ValueError, match="hash_slices"):
        CompareSpec(key=["id"], hash_slices=3)
