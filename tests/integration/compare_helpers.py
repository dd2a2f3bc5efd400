"""Helpers of the comparison-engine integration tests: tables on real databases, a naive diff."""

from __future__ import annotations

import datetime as dt
import itertools
from collections.abc import Iterable, Mapping, Sequence
from decimal import Decimal
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects import mysql

_counter = itertools.count()


def unique_name(prefix: str) -> str:
    return f"{prefix}_{next(_counter)}"


def ts6() -> sa.types.TypeEngine[Any]:
    """A timestamp with microseconds on every database (MariaDB's DATETIME defaults to seconds)."""
    return sa.DateTime().with_variant(mysql.DATETIME(fsp=6), "mysql", "mariadb")


def create_table(url: str, name: str, columns: Sequence[sa.Column[Any]], rows: Iterable[Mapping[str, Any]]) -> None:
    """Create ``name`` (utf8mb4 on MariaDB) with ``rows`` using a writable engine."""
    engine = sa.create_engine(url)
    md = sa.MetaData()
    table = sa.Table(name, md, *[c.copy() for c in columns], mysql_charset="utf8mb4")
    try:
        md.create_all(engine)
        data = list(rows)
        if data:
            with engine.begin() as conn:
                conn.execute(table.insert(), data)
    finally:
        engine.dispose()


def drop_tables(url: str, *names: str) -> None:
    engine = sa.create_engine(url)
    try:
        with engine.begin() as conn:
            for name in names:
                conn.execute(sa.text(f"DROP TABLE IF EXISTS {name}"))
    finally:
        engine.dispose()


def canon(value: Any, float_digits: int = 12, ts_precision: int = 0) -> Any:
    """The equality rules of docs/compare.md ("Canonical forms and equality") in plain Python, apart
    from the dialect code."""
    if value is None:
        return None
    if isinstance(value, bool):
        return Decimal(int(value))
    if isinstance(value, int | Decimal):
        return Decimal(value).normalize()
    if isinstance(value, float):
        return float(f"{value:.{float_digits}g}")
    if isinstance(value, dt.datetime):
        micro = int(f"{value.microsecond:06d}"[:ts_precision] or 0) if ts_precision else 0
        return value.replace(microsecond=micro * 10 ** (6 - ts_precision) if ts_precision else 0)
    return value


def naive_diff(source: Sequence[Mapping[str, Any]], target: Sequence[Mapping[str, Any]], key: Sequence[str],
               columns: Sequence[str], target_map: Mapping[str, str] | None = None) -> dict[str, set[Any]]:
    """Missing, extra and changed keys by comparing every row in Python (small tables only)."""
    tmap = dict(target_map or {})

    def key_of(row: Mapping[str, Any], mapping: Mapping[str, str]) -> Any:
        parts = tuple(str(row[mapping.get(k, k)]) for k in key)
        return parts[0] if len(parts) == 1 else parts

    src = {key_of(r, {}): tuple(canon(r[c]) for c in columns) for r in source}
    tgt = {key_of(r, tmap): tuple(canon(r[tmap.get(c, c)]) for c in columns) for r in target}
    return {
        "missing": set(src) - set(tgt),
        "extra": set(tgt) - set(src),
        "changed": {k for k in src.keys() & tgt.keys() if src[k] != tgt[k]},
    }


def found(result: Any) -> dict[str, set[Any]]:
    return {"missing": set(result.missing_keys), "extra": set(result.extra_keys),
            "changed": set(result.changed_keys)}
