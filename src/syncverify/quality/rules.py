"""syncverify's own expectation types: rules GX has no expectation for, written as SQL.

Each rule is a condition over the rows of the batch (the table restricted to the window). It is
compiled for the database's dialect into one ``SELECT <key> FROM {batch} WHERE <violation>``
query that GX runs as an unexpected-rows expectation (counted in the database), and, when it
fails, into the same query with ``LIMIT n`` over the real window to fetch a few sample keys.

Rules (kwargs in brackets):

``expect_column_values_to_be_valid_taxpayer_id`` [column, legacy_lengths=[15, 17, 20]]
    18 characters: a unified social credit code with a correct check character (GB 32100-2015);
    other lengths: a legacy id of an allowed length, upper-case letters and digits. NULL passes.
``expect_column_sum_to_equal_column`` [addends, total, decimals=2]
    SUM(addends) = total on every row to ``decimals`` places (金额 + 税额 = 价税合计 to the cent):
    a row fails when |sum - total| >= half a unit of the last place. NULL in any of them fails.
``expect_column_values_to_match_regex_when`` [column, regex, when]
    The column matches ``regex`` (case-sensitive on every dialect) on rows matching ``when``.
``expect_column_values_to_reference`` [columns, ref_columns, ref_table=None, ref_where={},
    when=[], nullable=True]
    The columns resolve to a row of ``ref_table`` (the suite's own table when None) whose
    ``ref_columns`` equal them and that matches ``ref_where`` (column -> literal). With
    ``nullable`` false a NULL in the columns is a violation. Skipped, with the reason, when
    ``ref_table`` does not exist on the node.
``expect_column_values_to_not_be_in_future`` [column, tolerance_seconds=300]
    No value later than the run's clock (+ tolerance for clock skew between servers).
``unexpected_rows`` [query, description, uses_columns=[], requires_tables=[]]
    A hand-written query in GX's form with ``{batch}``; ``{col[x]}`` and ``{table[x]}`` are
    replaced by quoted identifiers, ``{key}`` by the quoted key column list.

``when`` is a list of ``{"column", "op", "value"}`` (AND-ed); ``op`` is one of ``=``, ``!=``,
``<``, ``<=``, ``>``, ``>=``, ``in``, ``not_in``, ``is_null``, ``not_null``.
"""

from __future__ import annotations

import re
import string
from collections.abc import Callable, Mapping, Sequence
from datetime import datetime, timedelta
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Dialect

from syncverify.dialects import for_sa_dialect
from syncverify.quality.credit_code import LEGACY_LENGTHS, invalid_taxpayer_id_condition
from syncverify.quality.expectation import ExpectationSpec

BATCH_MARKER = "syncverify_batch_marker"
_OPS: dict[str, Callable[[Any, Any], Any]] = {
    "=": lambda c, v: c == v, "!=": lambda c, v: c != v, "<": lambda c, v: c < v,
    "<=": lambda c, v: c <= v, ">": lambda c, v: c > v, ">=": lambda c, v: c >= v,
    "in": lambda c, v: c.in_(list(v)), "not_in": lambda c, v: c.not_in(list(v)),
    "is_null": lambda c, v: c.is_(None), "not_null": lambda c, v: c.is_not(None),
}


class RuleContext:
    """What a rule needs to build its query: the batch, the dialect, the key, the clock."""

    def __init__(self, batch: sa.FromClause, dialect: Dialect, key: Sequence[str], table: str,
                 now: datetime, schema: str | None = None, qualified: bool = True) -> None:
        self.batch, self.dialect, self.key, self.table = batch, dialect, list(key), table
        self.now, self.schema, self.qualified = now, schema, qualified

    def col(self, name: str) -> sa.ColumnElement[Any]:
        # GX substitutes {batch} with "(subquery) AS subselect" when the query has no JOIN, so
        # such queries must name the columns bare.
        return self.batch.c[name] if self.qualified else sa.column(name)

    def key_columns(self) -> list[sa.ColumnElement[Any]]:
        return [self.col(k) for k in self.key]

    def select(self) -> sa.Select[Any]:
        return sa.select(*self.key_columns()).select_from(self.batch)


def _when(ctx: RuleContext, when: Sequence[Mapping[str, Any]]) -> sa.ColumnElement[bool]:
    parts = [_OPS[c["op"]](ctx.col(c["column"]), c.get("value")) for c in when]
    return sa.and_(sa.true(), *parts)


def _case_sensitive(ctx: RuleContext, expr: sa.ColumnElement[Any]) -> sa.ColumnElement[Any]:
    # A REGEXP may follow a case-insensitive collation: the rules match exactly.
    return for_sa_dialect(ctx.dialect).case_sensitive(expr)


def _taxpayer_id(spec: ExpectationSpec, ctx: RuleContext) -> sa.Select[Any]:
    cond = invalid_taxpayer_id_condition(ctx.col(spec.kwargs["column"]), ctx.dialect,
                                         spec.kwargs.get("legacy_lengths", LEGACY_LENGTHS))
    return ctx.select().where(cond)


def _sum_equals(spec: ExpectationSpec, ctx: RuleContext) -> sa.Select[Any]:
    total = sum((ctx.col(c) for c in spec.kwargs["addends"]), start=sa.literal(0))
    diff = sa.func.abs(total - ctx.col(spec.kwargs["total"]))
    # "Equal to the cent" = the difference rounds to 0.00: a half-cent threshold, which also
    # absorbs binary float noise where a copy stores amounts as floats (SQLite REAL).
    threshold = 0.5 * 10 ** -int(spec.kwargs.get("decimals", 2))
    null_in_any = sa.or_(*(ctx.col(c).is_(None) for c in [*spec.kwargs["addends"], spec.kwargs["total"]]))
    return ctx.select().where(sa.or_(diff >= sa.literal(threshold, sa.Float), null_in_any))


def _regex_when(spec: ExpectationSpec, ctx: RuleContext) -> sa.Select[Any]:
    column = ctx.col(spec.kwargs["column"])
    matches = _case_sensitive(ctx, column).regexp_match(spec.kwargs["regex"])
    return ctx.select().where(
        _when(ctx, spec.kwargs.get("when", [])), sa.or_(column.is_(None), sa.not_(matches)))


def _reference(spec: ExpectationSpec, ctx: RuleContext) -> sa.Select[Any]:
    kw = spec.kwargs
    ref_name = kw.get("ref_table") or ctx.table
    ref_cols = list(kw["ref_columns"])
    filters = dict(kw.get("ref_where") or {})
    ref = sa.table(ref_name, *(sa.column(c) for c in dict.fromkeys([*ref_cols, *filters])),
                   schema=ctx.schema).alias("p")
    on = sa.and_(*(ref.c[rc] == ctx.col(c) for rc, c in zip(ref_cols, kw["columns"], strict=True)),
                 *(ref.c[c] == v for c, v in filters.items()))
    nulls = [ctx.col(c).is_(None) for c in kw["columns"]]
    if kw.get("nullable", True):
        violation = sa.and_(*(sa.not_(n) for n in nulls), ref.c[ref_cols[0]].is_(None))
    else:
        violation = sa.or_(*nulls, ref.c[ref_cols[0]].is_(None))
    return (sa.select(*ctx.key_columns())
            .select_from(ctx.batch.outerjoin(ref, on))
            .where(_when(ctx, kw.get("when", [])), violation))


def _not_in_future(spec: ExpectationSpec, ctx: RuleContext) -> sa.Select[Any]:
    limit = ctx.now + timedelta(seconds=float(spec.kwargs.get("tolerance_seconds", 300)))
    # A text literal in the stored form: naive local time, compared by the database.
    return ctx.select().where(
        ctx.col(spec.kwargs["column"]) > sa.literal(limit.strftime("%Y-%m-%d %H:%M:%S")))


BUILDERS: dict[str, Callable[[ExpectationSpec, RuleContext], sa.Select[Any]]] = {
    "expect_column_values_to_be_valid_taxpayer_id": _taxpayer_id,
    "expect_column_sum_to_equal_column": _sum_equals,
    "expect_column_values_to_match_regex_when": _regex_when,
    "expect_column_values_to_reference": _reference,
    "expect_column_values_to_not_be_in_future": _not_in_future,
}
RAW_QUERY = "unexpected_rows"
RULES = frozenset({*BUILDERS, RAW_QUERY})

_REQUIRED: dict[str, tuple[str, ...]] = {
    "expect_column_values_to_be_valid_taxpayer_id": ("column",),
    "expect_column_sum_to_equal_column": ("addends", "total"),
    "expect_column_values_to_match_regex_when": ("column", "regex"),
    "expect_column_values_to_reference": ("columns", "ref_columns"),
    "expect_column_values_to_not_be_in_future": ("column",),
    RAW_QUERY: ("query",),
}


def validate(spec: ExpectationSpec) -> None:
    """Check a rule's kwargs (raises ValueError with the reason)."""
    kw = spec.kwargs
    missing = [k for k in _REQUIRED[spec.type] if k not in kw]
    if missing:
        raise ValueError(f"missing kwargs {', '.join(missing)}")
    for cond in kw.get("when") or []:
        if not isinstance(cond, dict) or not isinstance(cond.get("column"), str) or cond.get("op") not in _OPS:
            raise ValueError(f"bad 'when' entry {cond!r}: needs column and op in {sorted(_OPS)}")
        if cond["op"] in {"in", "not_in"} and not isinstance(cond.get("value"), list):
            raise ValueError(f"'when' entry {cond!r}: op {cond['op']} needs a list value")
    if spec.type == "expect_column_values_to_reference" and (
            len(kw["columns"]) != len(kw["ref_columns"]) or not kw["columns"]):
        raise ValueError("'columns' and 'ref_columns' must be non-empty lists of the same length")
    if spec.type == "expect_column_values_to_match_regex_when":
        re.compile(kw["regex"])
    if spec.type == RAW_QUERY:
        fields = {f[1] for f in string.Formatter().parse(kw["query"]) if f[1]}
        if "batch" not in fields:
            raise ValueError("the query must read from {batch}")


def referenced_tables(spec: ExpectationSpec, own_table: str) -> list[str]:
    """Other tables a rule reads (it is skipped when one of them is absent on the node)."""
    if spec.type == "expect_column_values_to_reference":
        ref = spec.kwargs.get("ref_table")
        return [ref] if ref and ref != own_table else []
    if spec.type == RAW_QUERY:
        return [t for t in spec.kwargs.get("requires_tables", []) if t != own_table]
    return []


def _finish_sql(select: sa.Select[Any], dialect: Dialect) -> str:
    sql = str(select.compile(dialect=dialect, compile_kwargs={"literal_binds": True}))
    # Drivers with the pyformat/format paramstyle get '%' doubled by the compiler; GX runs the
    # query through sa.text(), which doubles it again, so undo the first doubling here.
    if getattr(dialect.identifier_preparer, "_double_percents", False):
        sql = sql.replace("%%", "%")
    return sql


def gx_query(spec: ExpectationSpec, *, dialect: Dialect, key: Sequence[str], table: str,
             columns: Sequence[str], now: datetime, schema: str | None = None,
             window: tuple[str, str, str] | None = None) -> str:
    """The rule as a GX ``unexpected_rows_query`` over ``{batch}`` (the table).

    ``window`` = (column, start, end) restricts the rows checked to ``start <= column < end``;
    GX's unexpected-rows expectation takes no row condition, so the window goes into the SQL.
    """
    if spec.type == RAW_QUERY:
        if window is not None:
            raise ValueError("a hand-written unexpected_rows query cannot be windowed; run it without a window")
        return render_raw_query(spec.kwargs["query"], dialect=dialect, key=key, schema=schema)
    needs_alias = spec.type == "expect_column_values_to_reference"
    marker = sa.table(BATCH_MARKER, *(sa.column(c) for c in columns))
    batch: sa.FromClause = marker.alias("r") if needs_alias else marker
    ctx = RuleContext(batch, dialect, key, table, now, schema, qualified=needs_alias)
    select = BUILDERS[spec.type](spec, ctx)
    if window is not None:
        column, start, end = window
        select = select.where(ctx.col(column) >= sa.literal(start), ctx.col(column) < sa.literal(end))
    sql = _finish_sql(select, dialect)
    sql = sql.replace("{", "{{").replace("}", "}}")       # GX formats the query with str.format
    quoted_marker = dialect.identifier_preparer.quote(BATCH_MARKER)
    if needs_alias:
        # GX leaves the alias to the query when it contains a JOIN: "{batch} r" -> "(...) r".
        sql = re.sub(rf"{re.escape(quoted_marker)} AS r\b", "{batch} r", sql)
    return sql.replace(quoted_marker, "{batch}")


def sample_select(spec: ExpectationSpec, *, window: sa.Subquery, dialect: Dialect, key: Sequence[str],
                  table: str, now: datetime, limit: int, schema: str | None = None) -> sa.Select[Any] | None:
    """The same rule over the real window with a LIMIT: a few violating keys (None for raw queries)."""
    if spec.type == RAW_QUERY:
        return None
    ctx = RuleContext(window, dialect, key, table, now, schema)
    return BUILDERS[spec.type](spec, ctx).limit(limit)


class _Quoting(dict[str, str]):
    def __init__(self, quote: Callable[[str], str]) -> None:
        super().__init__()
        self._quote = quote

    def __missing__(self, name: str) -> str:
        return self._quote(name)


def render_raw_query(query: str, *, dialect: Dialect, key: Sequence[str], schema: str | None = None) -> str:
    """Replace ``{col[x]}``, ``{table[x]}`` and ``{key}`` with quoted identifiers; keep ``{batch}``."""
    prep = dialect.identifier_preparer
    tables = _Quoting(lambda t: prep.format_table(sa.table(t, schema=schema)))
    return query.format_map({
        "batch": "{batch}", "col": _Quoting(prep.quote), "table": tables,
        "key": ", ".join(prep.quote(k) for k in key),
    })
