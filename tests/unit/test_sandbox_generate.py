"""Origin data of the sandbox: realistic, lawful amounts, reproducible."""

from __future__ import annotations

import random
from collections import Counter
from decimal import ROUND_HALF_UP, Decimal

import pytest

from syncverify.catalog import load_catalog
from syncverify.errors import SyncverifyError
from syncverify.sandbox import generate as g
from syncverify.sandbox.ids import is_valid_credit_code
from syncverify.sandbox.propagate import compile_predicate

CATALOG = load_catalog("checks")


@pytest.fixture(scope="module")
def origins() -> g.Origins:
    return g.generate_origins(CATALOG, rng=random.Random(7), scale=0.05, month="2026-10")


def _invoices(o: g.Origins) -> list[tuple]:
    return [r for (_n, t), rows in o.rows.items() if t == "fp_fpxx" for r in rows]


def test_amounts_are_lawful(origins: g.Origins) -> None:
    rates = set(g.TAX_RATES)
    for r in _invoices(origins):
        je, se, jshj, slv = r[9], r[10], r[11], r[12]
        assert slv in rates
        assert jshj == je + se
        assert abs(se) == (abs(je) * slv).quantize(Decimal("0.01"), rounding=ROUND_HALF_UP)


def test_invoice_numbers_and_parties(origins: g.Origins) -> None:
    invoices = _invoices(origins)
    assert len(invoices) >= 5_000
    for r in invoices:
        if r[3] == "SK":
            assert len(r[0]) == 12 and len(r[1]) == 8 and r[2] in {"01", "04"}
        else:
            assert r[0] == "" and len(r[1]) == 20 and r[2] in {"81", "82"}
        assert is_valid_credit_code(r[5])
        assert r[7] is None or is_valid_credit_code(r[7])
        assert len(r[16]) == 11 and len(r[17]) == 11
        assert r[20] >= r[4]
    keys = [(r[0], r[1]) for r in invoices]
    assert len(keys) == len(set(keys))
    by_node = {n: rows for (n, t), rows in origins.rows.items() if t == "fp_fpxx"}
    assert all(r[16].startswith("145") for r in by_node[g.TAX_CONTROL] + by_node[g.ISSUE])
    assert not any(r[16].startswith("145") for r in by_node[g.DELIVERY_KAFKA])
    other_buyers = Counter(str(r[17]).startswith("145") for r in by_node[g.DELIVERY_KAFKA])
    assert other_buyers[True] > 0 and other_buyers[False] > 0   # clearing routes matter
    assert any(r[7] is None for r in invoices)
    assert any(r[18] == "Y" for r in invoices)
    remarks = Counter("null" if r[19] is None else "empty" if r[19] == "" else
                      "trailing" if r[19] != r[19].rstrip() else "text" for r in invoices)
    assert all(remarks[k] > 0 for k in ("null", "empty", "trailing", "text"))


def test_red_invoices_reference_blue_ones(origins: g.Origins) -> None:
    invoices = {(r[0], r[1]): r for r in _invoices(origins)}
    reds = [r for r in invoices.values() if r[9] < 0]
    assert reds
    for red in reds:
        blue = invoices[(red[14], red[15])]
        assert blue[13] == "3" and blue[9] == -red[9] and blue[4] < red[4]
        assert red[16] == blue[16] and red[17] == blue[17]      # same routing as the blue invoice


def test_time_patterns(origins: g.Origins) -> None:
    times = [r[4] for r in _invoices(origins)]
    start, end = g.month_range("2026-10")
    assert all(start <= t < end for t in times)
    hours = Counter(t.hour for t in times)
    assert hours[9] + hours[10] > 5 * (hours[2] + hours[3] + 1)
    weekday = Counter(t.weekday() < 5 for t in times)
    assert weekday[True] / 23 > 2 * weekday[False] / 8           # Oct 2026: 22-23 weekdays, 8-9 weekend days


def test_use_records_and_notices_reference_invoices(origins: g.Origins) -> None:
    invoices = {(r[0], r[1]): r for r in _invoices(origins)}
    lys = Counter()
    for (node, table), rows in origins.rows.items():
        if table == "yp_ypxx":
            for r in rows:
                inv = invoices[(r[1], r[2])]
                assert r[3] == inv[7] and r[8] == inv[17] and r[6] > inv[4]
                lys[(node, r[5], r[4])] += 1
        if table == "hz_tzd":
            for r in rows:
                assert (r[1], r[2]) in invoices
    assert {k[1] for k in lys} == {"SD", "LQ", "ZF"}
    assert {k[2] for k in lys} == {"GX", "RZ", "ZF"}
    scopes = Counter(r[4] for r in origins.rows[(g.HQ_KB, "zsk_zsxx")])
    assert scopes["00"] and scopes["45"] and set(scopes) - {"00", "45"}


def test_reproducible_and_seeded() -> None:
    a = g.generate_origins(CATALOG, rng=random.Random(1), scale=0.01, month="2026-10")
    b = g.generate_origins(CATALOG, rng=random.Random(1), scale=0.01, month="2026-10")
    c = g.generate_origins(CATALOG, rng=random.Random(2), scale=0.01, month="2026-10")
    assert a.rows == b.rows
    assert a.rows != c.rows


def test_bad_input_is_named() -> None:
    with pytest.raises(SyncverifyError, match="month"):
        g.generate_origins(CATALOG, rng=random.Random(1), scale=0.01, month="2026-13")
    with pytest.raises(SyncverifyError, match="scale"):
        g.generate_origins(CATALOG, rng=random.Random(1), scale=0, month="2026-10")


def test_compiled_predicates_agree_with_the_catalog(origins: g.Origins) -> None:
    rows = _invoices(origins)[:3000]
    cols = g.columns("fp_fpxx")
    for lc in CATALOG.link_checks(tables=["fp_fpxx"]):
        for pred in (lc.spec.routing, lc.spec.target_scope):
            if pred is None:
                continue
            test = compile_predicate(pred, "fp_fpxx")
            for r in rows:
                assert test(r) == pred.matches(dict(zip(cols, r, strict=True))), lc.id
