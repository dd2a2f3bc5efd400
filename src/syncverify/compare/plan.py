"""Resolve a comparison against both databases and build each side's SQL.

Resolution reflects both tables once: it checks that every named table and column exists (a
:class:`~syncverify.errors.SchemaError` names the missing one), chooses the compared columns,
settles one value kind per column for both sides, and knows whether a unique index already
guarantees the key. Each :class:`SidePlan` then spells the same canonical expressions in its
own dialect; nothing after this point asks which database it is talking to.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, replace
from datetime import date, datetime
from typing import Any, Protocol

import sqlalchemy as sa

from syncverify.compare.predicate import validate_predicate
from syncverify.compare.spec import CompareSpec, TableRef
from syncverify.connect.engine import check_reachable, engine_name
from syncverify.dialects import Canon, ColumnInfo, Dialect, ValueKind, for_engine, joint_kind, kind_of_type
from syncverify.errors import SchemaError, SyncverifyError
from syncverify.masking import mask_text


class Level(Protocol):
    """One partition of the key space into numbered buckets (the levels of
    :mod:`syncverify.compare.buckets`); a side plan spells its buckets in its dialect."""

    @property
    def buckets(self) -> int:
        """How many buckets the level has (for a range level: over the keys' span)."""
        ...

    def bucket_expr(self, plan: SidePlan) -> str:
        """The bucket number of a row, in the side's dialect."""
        ...

    def within(self, plan: SidePlan, buckets: Sequence[int]) -> str:
        """A predicate true for the rows of the given buckets only."""
        ...

    def finer(self, factor: int) -> Level:
        """A level with about ``factor`` times as many buckets."""
        ...


InternalKey = tuple[str | None, ...]       # canonical text per key column (None: NULL)
# One key range of buckets.KeyRanges: its number, lower bound (inclusive), upper bound (exclusive);
# bounds are raw key values, None for unbounded.
RangeBounds = tuple[int, tuple[Any, ...] | None, tuple[Any, ...] | None]

# Key kinds whose canonical text is also a valid literal for the column: looked up by raw value.
_RAW_LOOKUP_KINDS = {ValueKind.INT, ValueKind.DECIMAL, ValueKind.TEXT, ValueKind.DATE}

# Two databases that agree on the native hash of these (empty, around lookup3's 12-byte blocks,
# non-ASCII: a server encoding other than UTF-8 shows here) hash rows with it. No ':' or '%':
# they would read as bind parameters.
NATIVE_PROBE_TEXTS = ("", "a", "syncverify1", "syncverify12", "syncverify123", "发票 ü ~ 1,a", "0123456789" * 10)


def side_label(ref: TableRef, default: str) -> str:
    return ref.label or default


def reflect_columns(ref: TableRef, label: str) -> tuple[dict[str, ColumnInfo], sa.Inspector]:
    check_reachable(ref.engine)
    try:
        insp = sa.inspect(ref.engine)
        if not insp.has_table(ref.table, schema=ref.schema):
            raise SchemaError(f"table {ref.qualified!r} not found in the {label} database "
                              f"{engine_name(ref.engine)}")
        cols = insp.get_columns(ref.table, schema=ref.schema)
    except sa.exc.DBAPIError as exc:
        raise SyncverifyError(f"cannot read the {label} table {ref.qualified!r}: "
                              f"{mask_text(str(exc.orig).splitlines()[0])}") from None
    default_charset = _table_charset(insp, ref)
    out = {}
    for c in cols:
        out[c["name"]] = ColumnInfo(c["name"], c["type"], kind_of_type(c["type"]), bool(c.get("nullable", True)),
                                    charset=getattr(c["type"], "charset", None) or default_charset)
    return out, insp


def _table_charset(insp: sa.Inspector, ref: TableRef) -> str | None:
    """The table's default character set where the database has one (MySQL): columns declared
    without their own inherit it."""
    try:
        options = insp.get_table_options(ref.table, schema=ref.schema)
    except (NotImplementedError, sa.exc.SQLAlchemyError):
        return None
    value = options.get("mysql_default charset") or options.get("mariadb_default charset")
    return str(value) if value else None


def fix_scales(source: list[ColumnInfo], target: list[ColumnInfo], kinds: list[ValueKind]
               ) -> tuple[list[ColumnInfo], list[ColumnInfo]]:
    """Mark DECIMAL columns declared with the same scale on both sides: their canonical text is
    the databases' own (exactly that many fractional digits), no trimming needed."""
    out_s, out_t = [], []
    for s, t, kind in zip(source, target, kinds, strict=True):
        same = (kind is ValueKind.DECIMAL and s.kind is t.kind is ValueKind.DECIMAL
                and not s.is_boolean and not t.is_boolean and s.scale is not None and s.scale == t.scale)
        out_s.append(replace(s, fixed_scale=s.scale) if same else s)
        out_t.append(replace(t, fixed_scale=t.scale) if same else t)
    return out_s, out_t


def _find(columns: dict[str, ColumnInfo], name: str, ref: TableRef, label: str) -> ColumnInfo:
    if name in columns:
        return columns[name]
    folded = [c for n, c in columns.items() if n.lower() == name.lower()]
    if len(folded) == 1:
        return folded[0]
    raise SchemaError(f"column {name!r} not found in the {label} table {ref.qualified!r}")


def key_is_unique(insp: sa.Inspector, ref: TableRef, key_cols: Sequence[ColumnInfo]) -> bool:
    """True when a primary key, or a unique index on NOT NULL columns, is exactly the key."""
    wanted = {c.name.lower() for c in key_cols}
    try:
        pk = insp.get_pk_constraint(ref.table, schema=ref.schema).get("constrained_columns") or []
        if pk and {c.lower() for c in pk} == wanted:
            return True
        if not all(not c.nullable for c in key_cols):
            return False
        uniques = insp.get_unique_constraints(ref.table, schema=ref.schema)
        indexes = [ix for ix in insp.get_indexes(ref.table, schema=ref.schema) if ix.get("unique")]
        candidates: list[list[Any]] = [list(u.get("column_names") or []) for u in uniques]
        candidates += [list(ix.get("column_names") or []) for ix in indexes]
    except (NotImplementedError, sa.exc.SQLAlchemyError):
        return False
    return any(cols and None not in cols and {str(c).lower() for c in cols} == wanted for cols in candidates)


@dataclass
class SidePlan:
    """One side's resolved columns and the SQL of every query the engine runs on it."""

    ref: TableRef
    label: str
    dialect: Dialect
    key_cols: list[ColumnInfo]
    value_cols: list[ColumnInfo]
    key_kinds: list[ValueKind]
    value_kinds: list[ValueKind]
    window_col: ColumnInfo | None
    predicates: list[str]
    canon: Canon
    window: tuple[datetime | date | None, datetime | date | None]
    key_unique: bool
    int_key: bool = False
    hash_slices: int = 1
    native_hash: bool = False         # both sides hash with the dialects' shared native hash

    # -- SQL fragments ---------------------------------------------------------------------
    @property
    def table_sql(self) -> str:
        return self.dialect.table_name(self.ref.table, self.ref.schema)

    def col(self, info: ColumnInfo) -> str:
        return self.dialect.quote(info.name)

    @property
    def concurrency(self) -> int:
        """Queries this side may run at once: its engine's pool size (the per-database cap of
        ``make_engine(max_concurrency=...)``), or 1 where the dialect cannot scan in parallel."""
        if not self.dialect.parallel_scans:
            return 1
        size = getattr(self.ref.engine.pool, "size", None)
        return max(1, int(size())) if callable(size) else 1

    @property
    def row_hash_name(self) -> str:
        return str(self.dialect.native_hash_name) if self.native_hash else "sha256"

    def key_hash(self) -> str:
        """The integer the buckets are taken from: a cheap arithmetic hash for one integer key
        column (when both sides hold integers), else the row hash of the key's canonical text."""
        if self.int_key:
            return self.dialect.int_key_hash(self.col(self.key_cols[0]))
        if self.native_hash:
            return self.dialect.native_hash(self.key_text(), 0)
        return self.dialect.key_hash(self.key_text())

    def _hash_input(self, text: str) -> str:
        """What a row's hash slices are taken from: its SHA-256 hex, or the text itself for a native hash."""
        return text if self.native_hash else self.dialect.sha256_hex(text)

    def _slices(self, hash_input: str) -> list[str]:
        """The row's integer hash slices, from the value of :meth:`_hash_input`."""
        d = self.dialect
        if self.native_hash:
            return [d.native_hash(hash_input, seed) for seed in range(self.hash_slices)]
        return d.hex_slices(hash_input, self.hash_slices)

    def native_probe(self) -> tuple[int, ...] | None:
        """This side's native hash of :data:`NATIVE_PROBE_TEXTS` (None: it cannot compute it)."""
        d = self.dialect
        if d.native_hash_name is None:
            return None
        values = ", ".join(d.native_hash(d.literal(t), seed) for t in NATIVE_PROBE_TEXTS for seed in (0, 1))
        try:
            return tuple(int(v) for v in self.run(f"SELECT {values}", {})[0])
        except (SyncverifyError, TypeError, ValueError):
            return None

    def key_values(self) -> list[str]:
        """Canonical text of each key column (NULL stays NULL)."""
        pairs = zip(self.key_cols, self.key_kinds, strict=True)
        return [self.dialect.normalize(self.col(c), k, c, self.canon) for c, k in pairs]

    def _fields(self, cols: list[ColumnInfo], kinds: list[ValueKind]) -> list[str]:
        d = self.dialect
        return [part for c, k in zip(cols, kinds, strict=True) for part in d.field_parts(self.col(c), k, c, self.canon)]

    def key_text(self) -> str:
        return self.dialect.row_text(self._fields(self.key_cols, self.key_kinds))

    def row_text(self) -> str:
        return self.dialect.row_text(self._fields(self.key_cols + self.value_cols, self.key_kinds + self.value_kinds))

    def where_sql(self, extra: Sequence[str] = ()) -> tuple[str, dict[str, Any]]:
        parts = [f"({p})" for p in self.predicates]
        params: dict[str, Any] = {}
        if self.window_col is not None:
            start, end = self.window
            if start is not None:
                parts.append(f"{self.col(self.window_col)} >= :w_start")
                params["w_start"] = start
            if end is not None:
                parts.append(f"{self.col(self.window_col)} < :w_end")
                params["w_end"] = end
        parts.extend(extra)
        return (" WHERE " + " AND ".join(parts)) if parts else "", params

    # -- queries ---------------------------------------------------------------------------
    def _hashed(self, select: str, outer: str, where: str, wrap: Callable[[str], str]) -> str:
        """``SELECT select, wrap(slices...)``. With one slice the row's hash is inlined (each row
        hashed once; the database may parallelise); with two, a derived table computes the hash
        input once (``outer`` names its columns) and the dialect keeps the planner from inlining it."""
        d = self.dialect
        text = self.row_text()
        hash_input = self._hash_input(text)
        if self.hash_slices == 1:
            one = d.native_hash(text, 0) if self.native_hash else d.sha256_slice(text)
            return f"SELECT {select}, {wrap(one)} FROM {self.table_sql}{where}"
        inner = f"SELECT {select}, {hash_input} AS h FROM {self.table_sql}{where}{d.subquery_fence}"
        slices = ", ".join(wrap(x) for x in self._slices("h"))
        return f"SELECT {outer}, {slices} FROM ({inner}) x"

    def bucket_sums_sql(self, level: Level, parent: tuple[Level, Sequence[int]] | None
                        ) -> tuple[str, dict[str, Any]]:
        """(bucket, count, sum of each hash slice) per bucket of ``level``, optionally only
        inside the given buckets of a coarser level."""
        d = self.dialect
        where, params = self.where_sql([parent[0].within(self, parent[1])] if parent else [])
        bucket = f"{level.bucket_expr(self)} AS b"
        if self.hash_slices == 1:
            sql = self._hashed(f"{bucket}, COUNT(*)", "", where, d.sum_int) + " GROUP BY b"
        else:
            sql = self._hashed(bucket, "b, COUNT(*)", where, d.sum_int) + " GROUP BY b"
        return d.hashing_query(sql), params

    def _in_range(self, bounds: RangeBounds, params: dict[str, Any]) -> str:
        """One key range as a predicate on the raw key columns (bounds bound as parameters)."""
        i, *limits = bounds
        names: list[list[str] | None] = []
        for side, bound in zip(("lo", "hi"), limits, strict=True):
            if bound is None:
                names.append(None)
                continue
            spelled = [f"{side}{int(i)}_{j}" for j in range(len(bound))]
            params.update(zip(spelled, bound, strict=True))
            names.append(spelled)
        return self.dialect.key_range([self.col(c) for c in self.key_cols], names[0], names[1])

    def range_sums_sql(self, ranges: Sequence[RangeBounds]) -> tuple[str, dict[str, Any]]:
        """(range number, count, sum of each hash slice) of the given key ranges: one
        ``UNION ALL`` branch per range, each read through the key's index; an empty range gives
        no row."""
        d = self.dialect
        params: dict[str, Any] = {}
        branches = []
        for bounds in ranges:
            where, wparams = self.where_sql([self._in_range(bounds, params)])
            params.update(wparams)
            # No GROUP BY: one aggregate row per range (count 0 for an empty one), no grouping work.
            b = f"{int(bounds[0])} AS b"
            if self.hash_slices == 1:
                branches.append(self._hashed(f"{b}, COUNT(*)", "", where, d.sum_int))
            else:
                branches.append(self._hashed(b, "MIN(b), COUNT(*)", where, d.sum_int))
        return d.hashing_query(" UNION ALL ".join(branches)), params

    def range_rows_sql(self, ranges: Sequence[RangeBounds]) -> tuple[str, dict[str, Any]]:
        """Like :meth:`rows_sql` for the rows of the given key ranges (through the index)."""
        params: dict[str, Any] = {}
        branches = []
        for bounds in ranges:
            where, wparams = self.where_sql([self._in_range(bounds, params)])
            params.update(wparams)
            branches.append(self._rows(where))
        return " UNION ALL ".join(branches), params

    def key_sample_sql(self, step: int) -> tuple[str, dict[str, Any]]:
        """Every ``step``-th key (raw values) in the key columns' own order, first to last."""
        where, params = self.where_sql()
        cols = [self.col(c) for c in self.key_cols]
        names = ", ".join(f"k{i}" for i in range(len(cols)))
        inner = (f"SELECT {', '.join(f'{c} AS k{i}' for i, c in enumerate(cols))}, "
                 f"ROW_NUMBER() OVER (ORDER BY {', '.join(cols)}) AS rn FROM {self.table_sql}{where}")
        return f"SELECT {names} FROM ({inner}) s WHERE {self.dialect.mod('rn', step)} = 0 ORDER BY rn", params

    def key_range_sql(self) -> tuple[str, dict[str, Any]]:
        """Smallest and largest value of a single integer key (an index answers it at once)."""
        where, params = self.where_sql()
        col = self.col(self.key_cols[0])
        return f"SELECT MIN({col}), MAX({col}) FROM {self.table_sql}{where}", params

    def _rows(self, where: str) -> str:
        keys = ", ".join(f"{v} AS k{i}" for i, v in enumerate(self.key_values()))
        names = ", ".join(f"k{i}" for i in range(len(self.key_cols)))
        return self._hashed(keys, names, where, lambda x: x)

    def rows_sql(self, level: Level, buckets: Sequence[int]) -> tuple[str, dict[str, Any]]:
        """Key canonical texts and row-hash slices of the rows in the given buckets."""
        where, params = self.where_sql([level.within(self, buckets)])
        return self._rows(where), params

    def rows_by_keys_sql(self, keys: Sequence[InternalKey]) -> tuple[str, dict[str, Any]]:
        """Like :meth:`rows_sql` for a list of keys. Keys of plain kinds are looked up by raw
        value (an index can serve it; collation may return look-alikes, which the caller drops
        by comparing canonical text); other kinds by canonical text."""
        d = self.dialect
        params: dict[str, Any] = {}
        lookups = []
        for c, k in zip(self.key_cols, self.key_kinds, strict=True):
            raw = (k in _RAW_LOOKUP_KINDS and c.kind == k) or (k is ValueKind.DECIMAL and c.kind is ValueKind.INT)
            lookups.append(self.col(c) if raw else d.normalize(self.col(c), k, c, self.canon))
        ors = []
        for n, key in enumerate(keys):
            conds = []
            for i, value in enumerate(key):
                if value is None:
                    conds.append(f"{self.col(self.key_cols[i])} IS NULL")
                else:
                    params[f"p{n}_{i}"] = value
                    conds.append(f"{lookups[i]} = :p{n}_{i}")
            ors.append("(" + " AND ".join(conds) + ")")
        where, wparams = self.where_sql(["(" + " OR ".join(ors) + ")"] if ors else ["1 = 0"])
        params.update(wparams)
        return self._rows(where), params

    def duplicates_sql(self) -> tuple[str, dict[str, Any]]:
        where, params = self.where_sql()
        keys = ", ".join(f"{v} AS k{i}" for i, v in enumerate(self.key_values()))
        names = ", ".join(f"k{i}" for i in range(len(self.key_cols)))
        inner = f"SELECT {keys} FROM {self.table_sql}{where}"
        return f"SELECT {names}, COUNT(*) FROM ({inner}) x GROUP BY {names} HAVING COUNT(*) > 1", params

    def count_sql(self) -> tuple[str, dict[str, Any]]:
        where, params = self.where_sql()
        return f"SELECT COUNT(*) FROM {self.table_sql}{where}", params

    # -- execution -------------------------------------------------------------------------
    @contextmanager
    def connection(self) -> Iterator[sa.Connection]:
        with self.ref.engine.connect() as conn:
            yield conn

    def run(self, sql: str, params: dict[str, Any]) -> list[Sequence[Any]]:
        try:
            with self.connection() as conn:
                return [tuple(r) for r in conn.execute(sa.text(sql), params)]
        except sa.exc.DBAPIError as exc:
            raise query_error(self, exc) from None

    def stream(self, sql: str, params: dict[str, Any], batch: int = 5000) -> Iterator[Sequence[Any]]:
        """Rows of a query without holding the result set in memory (server-side cursor)."""
        try:
            with self.connection() as conn:
                result = conn.execution_options(stream_results=True, yield_per=batch).execute(sa.text(sql), params)
                for row in result:
                    yield tuple(row)
        except sa.exc.DBAPIError as exc:
            raise query_error(self, exc) from None


def query_error(plan: SidePlan, exc: sa.exc.DBAPIError) -> SyncverifyError:
    detail = str(exc.orig if exc.orig is not None else exc).strip().splitlines()
    reason = mask_text(detail[0]) if detail else exc.__class__.__name__
    if any(w in reason.lower() for w in ("timeout", "max_statement_time", "canceling statement", "interrupted")):
        return SyncverifyError(f"statement timeout on the {plan.label} table {plan.ref.qualified!r} "
                               f"({engine_name(plan.ref.engine)}): {reason}")
    return SyncverifyError(f"query on the {plan.label} table {plan.ref.qualified!r} "
                           f"({engine_name(plan.ref.engine)}) failed: {reason}")


@dataclass
class Pair:
    source: SidePlan
    target: SidePlan
    key_names: list[str]
    column_names: list[str]

    @property
    def sides(self) -> tuple[SidePlan, SidePlan]:
        return self.source, self.target


def shares_native_hash(source: SidePlan, target: SidePlan) -> bool:
    """Whether both sides name the same native hash and compute the same values with it."""
    name = source.dialect.native_hash_name
    if name is None or name != target.dialect.native_hash_name:
        return False
    probe = source.native_probe()
    return probe is not None and probe == target.native_probe()


def resolve(source: TableRef, target: TableRef, spec: CompareSpec, *, need_values: bool = True) -> Pair:
    """Reflect both tables and build both side plans (raises SchemaError / PredicateError)."""
    # Each predicate is read and rendered for the database it runs on (compare/predicate.py).
    s_dialect, t_dialect = for_engine(source.engine), for_engine(target.engine)
    preds = {
        "source": [validate_predicate(source.where, "source table predicate", s_dialect),
                   validate_predicate(spec.where, "--where", s_dialect),
                   validate_predicate(spec.source_where, "source predicate (--source-where)", s_dialect)],
        "target": [validate_predicate(target.where, "target table predicate", t_dialect),
                   validate_predicate(spec.where, "--where", t_dialect),
                   validate_predicate(spec.target_where, "target predicate (--target-where)", t_dialect)],
    }
    s_label, t_label = side_label(source, "source"), side_label(target, "target")
    s_cols, s_insp = reflect_columns(source, s_label)
    t_cols, t_insp = reflect_columns(target, t_label)

    s_key = [_find(s_cols, source.column(k), source, s_label) for k in spec.key]
    t_key = [_find(t_cols, target.column(k), target, t_label) for k in spec.key]
    excluded = {c.lower() for c in spec.exclude_columns} | {k.lower() for k in spec.key}
    if spec.columns is not None:
        names = [c for c in spec.columns if c.lower() not in excluded]
    elif need_values:
        # Every source column that exists on the target (under its mapped name), source order.
        t_lower = {n.lower() for n in t_cols}
        names = [n for n in s_cols if n.lower() not in excluded and source.column(n) in s_cols
                 and target.column(n).lower() in t_lower]
    else:
        names = []
    s_vals = [_find(s_cols, source.column(c), source, s_label) for c in names]
    t_vals = [_find(t_cols, target.column(c), target, t_label) for c in names]
    key_kinds = [joint_kind(a.kind, b.kind) for a, b in zip(s_key, t_key, strict=True)]
    value_kinds = [joint_kind(a.kind, b.kind) for a, b in zip(s_vals, t_vals, strict=True)]
    s_key, t_key = fix_scales(s_key, t_key, key_kinds)
    s_vals, t_vals = fix_scales(s_vals, t_vals, value_kinds)
    s_win = t_win = None
    if spec.window_column:
        s_win = _find(s_cols, source.column(spec.window_column), source, s_label)
        t_win = _find(t_cols, target.column(spec.window_column), target, t_label)
    canon = spec.canon
    window = (spec.window_start, spec.window_end)

    # One integer key column on both sides: buckets by arithmetic instead of SHA-256.
    int_key = (len(s_key) == 1 and key_kinds[0] is ValueKind.INT
               and not any(c.is_boolean or c.kind is not ValueKind.INT for c in (s_key[0], t_key[0])))

    def plan(ref: TableRef, label: str, key: list[ColumnInfo], vals: list[ColumnInfo], win: ColumnInfo | None,
             insp: sa.Inspector, side_preds: list[str | None]) -> SidePlan:
        return SidePlan(ref, label, for_engine(ref.engine), key, vals, key_kinds, value_kinds, win,
                        [p for p in side_preds if p], canon, window, key_is_unique(insp, ref, key), int_key,
                        spec.hash_slices)

    pair = Pair(plan(source, s_label, s_key, s_vals, s_win, s_insp, preds["source"]),
                plan(target, t_label, t_key, t_vals, t_win, t_insp, preds["target"]),
                list(spec.key), names)
    if spec.row_hash == "auto" and shares_native_hash(pair.source, pair.target):
        pair.source.native_hash = pair.target.native_hash = True
    return pair
