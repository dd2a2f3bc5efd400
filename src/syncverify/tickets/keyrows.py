"""Rows of one link's table on both sides, read by key: only the ticket's keys ever travel.

Used by re-verification and by repair-script generation. Keys are looked up in chunks with
``key IN (...)`` (row values for composite keys); the source side applies the link's routing
predicate and the re-verification applies the target scope, as the check did.

Value equality follows the comparison engine's (:mod:`syncverify.compare`): NULL equals only NULL,
exact numerics by value, floats at 12 significant digits, timestamps at whole seconds, text
exactly.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from typing import Any

import sqlalchemy as sa

from syncverify.catalog import Catalog, LinkCheck
from syncverify.catalog.table_refs import CheckRefs, check_refs
from syncverify.errors import SchemaError
from syncverify.results import Key

CHUNK = 500
FLOAT_DIGITS = 12


def canon(value: Any) -> Any:
    """A value in the form used to decide equality across dialects."""
    if value is None:
        return None
    if isinstance(value, bool):
        return Decimal(int(value))
    if isinstance(value, int | Decimal):
        return Decimal(value)
    if isinstance(value, float):
        return Decimal(f"{value:.{FLOAT_DIGITS}g}")
    if isinstance(value, dt.datetime):
        if value.tzinfo is not None:
            value = value.astimezone(dt.UTC).replace(tzinfo=None)
        return value.replace(microsecond=0)
    if isinstance(value, memoryview):
        return bytes(value)
    return value


def canon_key(values: Iterable[Any]) -> tuple[Any, ...]:
    return tuple(canon(v) for v in values)


def find_link_check(catalog: Catalog, link_id: str | None, table: str, source_node: str | None) -> LinkCheck:
    """The catalog's (link, table) pair a ticket is about."""
    if not link_id:
        raise SchemaError(f"ticket for table {table!r} names no link: keys cannot be compared")
    checks = [c for c in catalog.link_checks(links=[link_id], tables=[table])
              if source_node is None or c.source.id == source_node]
    if not checks:
        raise SchemaError(f"link {link_id!r} carries no enabled table {table!r} "
                          f"from {source_node or 'its source'}")
    return checks[0]


def reflect(engine: sa.Engine, name: str, schema: str | None, where: str) -> sa.Table:
    try:
        return sa.Table(name, sa.MetaData(), autoload_with=engine, schema=schema)
    except sa.exc.NoSuchTableError:
        qualified = f"{schema}.{name}" if schema else name
        raise SchemaError(f"table {qualified!r} does not exist on {where}") from None


def column(table: sa.Table, name: str, where: str) -> sa.Column[Any]:
    """A column by its catalog name (case-insensitive: PostgreSQL folds, MySQL keeps case)."""
    for c in table.columns:
        if c.name.lower() == name.lower():
            return c
    raise SchemaError(f"column {name!r} does not exist in table {table.name!r} on {where}")


@dataclass
class Sides:
    """One (link, table) pair, reflected on both sides, with its column correspondence."""

    check: LinkCheck
    refs: CheckRefs                                         # the copies as every check names them
    source: sa.Table
    target: sa.Table
    source_key: list[sa.Column[Any]]
    target_key: list[sa.Column[Any]]
    common: list[tuple[sa.Column[Any], sa.Column[Any]]]     # (source, target), key columns included
    compared: list[tuple[sa.Column[Any], sa.Column[Any]]]   # non-key columns whose values must match

    @property
    def routing(self) -> str | None:
        """The link's routing predicate, compiled for the source."""
        return self.refs.source.where

    @property
    def scope(self) -> str | None:
        """The link's target scope, compiled for the target."""
        return self.refs.target.where


def sides(check: LinkCheck, source_engine: sa.Engine, target_engine: sa.Engine) -> Sides:
    refs = check_refs(check, source_engine, target_engine)
    src_where, tgt_where = f"node {check.source.id}", f"node {check.target.id}"
    src = reflect(source_engine, refs.source.table, refs.source.schema, src_where)
    tgt = reflect(target_engine, refs.target.table, refs.target.schema, tgt_where)
    cmap = {k.lower(): v for k, v in refs.target.columns_map.items()}
    spec = refs.spec
    skey = [column(src, k, src_where) for k in spec.key]
    tkey = [column(tgt, cmap.get(k.lower(), k), tgt_where) for k in spec.key]
    tgt_by_name = {c.name.lower(): c for c in tgt.columns}
    wanted = [c.lower() for c in spec.columns] if spec.columns is not None else None
    excluded = {c.lower() for c in spec.exclude_columns}
    common, compared = [], []
    key_names = {k.lower() for k in spec.key}
    for sc in src.columns:
        name = sc.name.lower()
        tc = tgt_by_name.get(cmap.get(name, name).lower())
        if tc is None:
            if wanted is not None and name in wanted:
                raise SchemaError(f"column {sc.name!r} of table {check.table.name!r} "
                                  f"has no counterpart on {tgt_where}")
            continue
        common.append((sc, tc))
        if name in key_names or name in excluded or (wanted is not None and name not in wanted):
            continue
        compared.append((sc, tc))
    return Sides(check, refs, src, tgt, skey, tkey, common, compared)


def typed_key(key: Key, columns: Sequence[sa.Column[Any]]) -> tuple[Any, ...]:
    """A key as stored in the results (text) converted to the key columns' Python types."""
    parts = list(key) if isinstance(key, tuple | list) else [key]
    if len(parts) != len(columns):
        raise SchemaError(f"key {key!r} has {len(parts)} parts but table {columns[0].table.name!r} "
                          f"has {len(columns)} key columns")
    out: list[Any] = []
    for part, col in zip(parts, columns, strict=True):
        try:
            pytype = col.type.python_type
        except NotImplementedError:
            pytype = str
        text = str(part)
        try:
            if pytype is bool:
                out.append(text.lower() in {"1", "true", "t", "y"})
            elif pytype is int:
                out.append(int(Decimal(text)))
            elif pytype is Decimal:
                out.append(Decimal(text))
            elif pytype is float:
                out.append(float(text))
            elif pytype is dt.datetime:
                out.append(dt.datetime.fromisoformat(text))
            elif pytype is dt.date:
                out.append(dt.date.fromisoformat(text[:10]))
            else:
                out.append(text)
        except (ValueError, InvalidOperation):
            raise SchemaError(f"key value {text!r} does not fit key column {col.name!r} "
                              f"({col.type})") from None
    return tuple(out)


class StoredRow(dict[str, Any]):
    """A row read by key: its values as the column types give them, and ``stored``: the text the
    database holds for the columns whose type turns stored text into another value.

    SQLite keeps a DATETIME as whatever text the writing application chose ('2026-10-19 09:21:10'),
    while SQLAlchemy reads it into a datetime and renders it back as '2026-10-19 09:21:10.000000':
    an equality on the rendered value finds no row. A statement that must find the row as it is
    (a pre-check, the WHERE of an UPDATE or DELETE) compares such a column with its stored text.
    """

    stored: dict[str, str]

    def __init__(self, values: Mapping[str, Any], stored: Mapping[str, str] | None = None) -> None:
        super().__init__(values)
        self.stored = dict(stored or {})


def fetch_by_keys(engine: sa.Engine, table: sa.Table, key_cols: Sequence[sa.Column[Any]],
                  keys: Sequence[tuple[Any, ...]], columns: Sequence[sa.Column[Any]],
                  where_sql: str | None = None) -> dict[tuple[Any, ...], StoredRow]:
    """Rows of ``table`` whose key is in ``keys`` (chunked), by canonical key; ``columns`` only."""
    return {k: copies[-1] for k, copies in
            fetch_copies(engine, table, key_cols, keys, columns, where_sql, stable=False).items()}


def _stored_label(i: int) -> str:
    return f"sv_stored_{i}"


def fetch_copies(engine: sa.Engine, table: sa.Table, key_cols: Sequence[sa.Column[Any]],
                 keys: Sequence[tuple[Any, ...]], columns: Sequence[sa.Column[Any]],
                 where_sql: str | None = None, *, stable: bool = True) -> dict[tuple[Any, ...], list[StoredRow]]:
    """Every copy of the rows whose key is in ``keys`` (chunked), by canonical key.

    Repeated keys keep all their copies; with ``stable`` in an order by value text, so that a
    repair plan comes out the same when it is generated again. Each column is also read as the
    driver hands it over, untyped: where that is text and the typed value is not, the text is kept
    in :attr:`StoredRow.stored`.
    """
    out: dict[tuple[Any, ...], list[StoredRow]] = {}
    names = [c.name for c in columns]
    key_names = [c.name for c in key_cols]
    select_cols = list(dict.fromkeys([*key_cols, *columns]))
    untyped = [sa.type_coerce(c, sa.types.NullType()).label(_stored_label(i)) for i, c in enumerate(columns)]
    with engine.connect() as conn:
        for i in range(0, len(keys), CHUNK):
            chunk = keys[i:i + CHUNK]
            cond = (key_cols[0].in_([k[0] for k in chunk]) if len(key_cols) == 1
                    else sa.tuple_(*key_cols).in_(chunk))
            q = sa.select(*select_cols, *untyped).where(cond)
            if where_sql:
                q = q.where(sa.text(f"({where_sql})"))
            for row in conn.execute(q).mappings():
                stored = {n: raw for j, n in enumerate(names)
                          if isinstance(raw := row[_stored_label(j)], str) and not isinstance(row[n], str)}
                out.setdefault(canon_key(row[k] for k in key_names), []).append(
                    StoredRow({n: row[n] for n in names}, stored))
    if stable:
        for copies in out.values():
            copies.sort(key=lambda r: json.dumps(r, sort_keys=True, default=str))
    return out


def rows_equal(src: Mapping[str, Any], tgt: Mapping[str, Any],
               pairs: Sequence[tuple[sa.Column[Any], sa.Column[Any]]]) -> bool:
    return all(canon(src[s.name]) == canon(tgt[t.name]) for s, t in pairs)
