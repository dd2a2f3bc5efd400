"""Key paths, canonical key text and the hash-partitioned diff."""

from __future__ import annotations

from collections import Counter
from datetime import date, datetime
from decimal import Decimal
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from syncverify.kafka.keys import (
    KeyPathError,
    canonical_text,
    decode_key,
    message_key,
    parse_key_paths,
    row_key,
)
from syncverify.kafka.spill import KeySpill, SpillDirectory, buckets_for, diff_spills


def test_key_paths_plain_composite_and_nested() -> None:
    assert parse_key_paths("fphm") == (("fphm",),)
    assert parse_key_paths("fpdm, fphm") == (("fpdm",), ("fphm",))
    assert parse_key_paths(["fpdm", "data.fphm"]) == (("fpdm",), ("data", "fphm"))
    for bad in ("", "a..b", []):
        with pytest.raises(KeyPathError):
            parse_key_paths(bad)


def test_message_key_reads_nested_paths_and_refuses_missing_fields() -> None:
    msg = {"fpdm": "144031900111", "data": {"fphm": "01234567"}}
    paths = parse_key_paths(["fpdm", "data.fphm"])
    assert decode_key(message_key(msg, paths) or "", True) == ("144031900111", "01234567")
    assert message_key({"fpdm": "1"}, paths) is None
    assert message_key({"fpdm": "1", "data": "not an object"}, paths) is None


def test_canonical_text_matches_the_engine_forms() -> None:
    assert canonical_text("0012 ") == "0012 "
    assert canonical_text(2645000000012345678) == "2645000000012345678"
    assert canonical_text(True) == "1"
    assert canonical_text(Decimal("100.50")) == "100.5"
    assert canonical_text(Decimal("100.00")) == "100"
    assert canonical_text(12.0) == "12"
    assert canonical_text(datetime(2026, 3, 1, 8, 5, 9, 123)) == "2026-03-01 08:05:09"
    assert canonical_text(date(2026, 3, 1)) == "2026-03-01"
    assert canonical_text(b"\x01\xab") == "01AB"
    assert canonical_text(None) is None


def test_message_and_row_keys_agree_across_types() -> None:
    # A BIGINT key column against a JSON number or a JSON string of the same digits.
    assert row_key([2645000000012345678]) == message_key({"k": 2645000000012345678}, (("k",),))
    assert row_key([2645000000012345678]) == message_key({"k": "2645000000012345678"}, (("k",),))
    assert row_key(["a", None]) is None


@settings(max_examples=60, deadline=None)
@given(st.lists(st.text(max_size=6), min_size=1, max_size=3))
def test_encoding_is_injective_and_reversible(parts: list[str]) -> None:
    encoded = row_key(parts)
    assert encoded is not None and "\n" not in encoded
    composite = len(parts) > 1
    expected = tuple(parts) if composite else parts[0]
    assert decode_key(encoded, composite) == expected


@settings(max_examples=40, deadline=None)
@given(st.lists(st.integers(0, 60), max_size=80), st.lists(st.integers(0, 60), max_size=80),
       st.integers(1, 7))
def test_bucketed_diff_equals_the_set_difference(left: list[int], right: list[int], buckets: int) -> None:
    with SpillDirectory() as directory:
        a = KeySpill(Path(directory), "a", buckets)
        b = KeySpill(Path(directory), "b", buckets)
        for x in left:
            a.add(f"k{x}")
        for x in right:
            b.add(f"k{x}")
        a.close()
        b.close()
        diff = diff_spills(a, b, cap=5)
    lc, rc = Counter(f"k{x}" for x in left), Counter(f"k{x}" for x in right)
    assert diff.left_only == len(lc.keys() - rc.keys())
    assert diff.right_only == len(rc.keys() - lc.keys())
    assert diff.left_only_sample == sorted(lc.keys() - rc.keys())[:5]
    assert diff.left_duplicate_keys == sum(1 for n in lc.values() if n > 1)
    assert diff.left_duplicate_surplus == sum(n - 1 for n in lc.values())


def test_bucket_count_grows_with_the_expected_keys() -> None:
    assert buckets_for(0) == 1
    assert buckets_for(100_000) == 1
    assert buckets_for(1_000_000) == 10
    assert buckets_for(10**12) == 4096
