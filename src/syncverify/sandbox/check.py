"""A plain reference diff of a *small* sandbox world, hop by hop, for tests and debugging.

This reads whole tables into Python on purpose: it is the independent yardstick the sandbox's
tests hold the world against (``routing`` and ``target_scope`` evaluated with the catalog's own
``Predicate.matches``), never part of the verifier, which compares inside the databases.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal, InvalidOperation
from typing import Any

import sqlalchemy as sa

from syncverify.catalog import Catalog, LinkCheck
from syncverify.catalog.table_refs import MESSAGE_COLUMNS

Norm = str | None


def normalise(value: Any) -> Norm:
    """One canonical text per value: numbers by value (100.50 = 100.5), times to the second."""
    if value is None:
        return None
    if isinstance(value, bool):
        return "1" if value else "0"
    if isinstance(value, int | float | Decimal):
        try:
            d = Decimal(repr(value)) if isinstance(value, float) else Decimal(value)
        except InvalidOperation:
            return str(value)
        return "0" if d == 0 else format(d.normalize(), "f")
    if isinstance(value, datetime):
        return value.strftime("%Y-%m-%d %H:%M:%S")
    if isinstance(value, date):
        return value.isoformat()
    return str(value)


@dataclass
class HopDiff:
    check_id: str
    link: str
    table: str
    missing: set[tuple[Norm, ...]] = field(default_factory=set)
    extra: set[tuple[Norm, ...]] = field(default_factory=set)
    changed: set[tuple[Norm, ...]] = field(default_factory=set)
    duplicate: set[tuple[Norm, ...]] = field(default_factory=set)

    @property
    def clean(self) -> bool:
        return not (self.missing or self.extra or self.changed or self.duplicate)


def read_table(url: str, table: str, columns: list[str] | None = None) -> tuple[list[str], list[dict[str, Norm]]]:
    engine = sa.create_engine(url)
    try:
        with engine.connect() as conn:
            q = conn.dialect.identifier_preparer.quote
            cols = columns or [c["name"] for c in sa.inspect(conn).get_columns(table)]
            result = conn.execute(sa.text(f"SELECT {', '.join(q(c) for c in cols)} FROM {q(table)}"))
            rows = [dict(zip(cols, (normalise(v) for v in r), strict=True)) for r in result]
    finally:
        engine.dispose()
    return cols, rows


def hop_diff(catalog: Catalog, lc: LinkCheck, urls: dict[str, str]) -> HopDiff:
    """Source rows matching routing vs target rows in scope, on the columns both sides share."""
    scols, srows = read_table(urls[lc.source.id], lc.source_table)
    tcols, trows = read_table(urls[lc.target.id], lc.target_table)
    skip = set(MESSAGE_COLUMNS) | set(lc.table.exclude_columns)
    common = [c for c in scols if c in tcols and c not in skip]
    key = lc.table.key
    if lc.spec.routing is not None:
        srows = [r for r in srows if lc.spec.routing.matches(r)]
    if lc.spec.target_scope is not None:
        trows = [r for r in trows if lc.spec.target_scope.matches(r)]
    out = HopDiff(lc.id, lc.link.id, lc.table.name)

    def index(rows: list[dict[str, Norm]]) -> dict[tuple[Norm, ...], tuple[Norm, ...]]:
        counts = Counter(tuple(r[k] for k in key) for r in rows)
        out.duplicate |= {k for k, n in counts.items() if n > 1}
        return {tuple(r[k] for k in key): tuple(r[c] for c in common) for r in rows}

    s, t = index(srows), index(trows)
    out.missing = set(s) - set(t)
    out.extra = set(t) - set(s)
    out.changed = {k for k in set(s) & set(t) if s[k] != t[k]}
    return out


def world_differences(catalog: Catalog, urls: dict[str, str]) -> list[HopDiff]:
    """Every hop's differences (empty sets where a hop is consistent)."""
    return [hop_diff(catalog, lc, urls) for lc in catalog.link_checks()]


# Which difference each fault kind shows on its hop (quality faults show on no hop).
FAULT_CATEGORY = {"missing": "missing", "lagging_consumer": "missing", "duplicate": "duplicate",
                  "changed_amount": "changed", "changed_date": "changed", "extra": "extra",
                  "misrouted": "extra"}
Expected = dict[tuple[str, str, str], set[tuple[str, ...]]]


def _key(k: str | list[str]) -> tuple[str, ...]:
    return (k,) if isinstance(k, str) else tuple(k)


def expected_differences(manifest: dict[str, Any], *, landed: bool) -> Expected:
    """(link, table, category) -> keys the hop must show, from a manifest (in-flight rows count
    as missing until they have landed)."""
    out: Expected = {}
    for f in manifest["faults"]:
        if f["kind"] in FAULT_CATEGORY:
            out.setdefault((f["link"], f["table"], FAULT_CATEGORY[f["kind"]]), set()).update(
                _key(k) for k in f["keys"])
    if not landed:
        for item in manifest["in_flight"]:
            out.setdefault((item["link"], item["table"], "missing"), set()).update(_key(k) for k in item["keys"])
    return out


def observed_differences(diffs: list[HopDiff]) -> Expected:
    """The same shape from :func:`world_differences` (NULL key parts as '')."""
    out: Expected = {}
    for d in diffs:
        for cat in ("missing", "extra", "changed", "duplicate"):
            keys = getattr(d, cat)
            if keys:
                out.setdefault((d.link, d.table, cat), set()).update(
                    tuple("" if v is None else v for v in k) for k in keys)
    return out
