"""Run suites against SQL tables through GX's SQL data source, inside the database.

The batch is the table; the window (``start <= window_column < end``) is a GX row condition on
every core expectation, so GX computes each metric with SQL over the window; the custom rules
(:mod:`syncverify.quality.rules`) run as counted unexpected-rows queries with the same predicate.
No table is ever loaded into pandas. Only failing expectations fetch a few keys (LIMIT n).

A suite that cannot run (bad file, missing table or column, unreachable database) comes back as a
:class:`SuiteResult` with status ``not_run`` and an error naming the file/table/column; it never
raises, so :func:`run_suites` always runs every suite it is given.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Iterable, Sequence
from datetime import datetime
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Dialect

from syncverify.dialects import for_engine, for_sa_dialect
from syncverify.errors import SyncverifyError
from syncverify.masking import mask_name, mask_taxpayer_id, mask_text, mask_url
from syncverify.quality import rules
from syncverify.quality.model import ExpectationResult, ExpectationStatus, SuiteResult, SuiteStatus
from syncverify.quality.suites import ExpectationSpec, SuiteSpec, load_suite, suite_path
from syncverify.quality.taxpayer_columns import TAXPAYER_ID_COLUMNS, TAXPAYER_NAME_COLUMNS
from syncverify.results import Key

DEFAULT_STATEMENT_TIMEOUT_S = 300.0
Window = tuple[datetime, datetime]
_STAMP = "%Y-%m-%d %H:%M:%S"


# --- connections --------------------------------------------------------------------------------

def _connect_args(dialect: Dialect, timeout_s: float, server_version: str) -> dict[str, Any]:
    """connect_args giving every session of an engine built from a URL (ours, and the one GX
    builds for its data source) the dialect's session settings, as every other session gets
    them (connect.engine): read-only, a statement timeout, and the bureau's time zone, without
    which a window on a TIMESTAMP column would be read in the server's zone."""
    return for_sa_dialect(dialect).session_connect_args(True, int(timeout_s * 1000), server_version)


def read_only_engine(url: str, timeout_s: float = DEFAULT_STATEMENT_TIMEOUT_S) -> sa.Engine:
    """An engine whose sessions are read-only with a statement timeout, in the bureau's time zone."""
    probe = sa.create_engine(url, poolclass=sa.pool.NullPool)
    try:
        with probe.connect() as conn:   # sets dialect.is_mariadb for MySQL-protocol servers
            ours = for_engine(probe)
            version = ours.server_version(conn.connection.dbapi_connection)
        connect_args = _connect_args(probe.dialect, timeout_s, version)
        pooled = not ours.in_memory(probe.url)
    finally:
        probe.dispose()
    return sa.create_engine(url, connect_args=connect_args, **({"pool_size": 1, "max_overflow": 1} if pooled else {}))


def _url_of(engine: sa.Engine) -> str:
    return engine.url.render_as_string(hide_password=False)


# --- masking ------------------------------------------------------------------------------------

def _masker(spec: SuiteSpec) -> dict[str, Any]:
    ids = TAXPAYER_ID_COLUMNS | spec.masked_columns
    return {c: (mask_taxpayer_id if c in ids else mask_name if c in TAXPAYER_NAME_COLUMNS else None)
            for c in spec.key}


def _key(values: Sequence[Any], spec: SuiteSpec) -> Key:
    masks = _masker(spec)
    parts = []
    for col, value in zip(spec.key, values, strict=True):
        text = "" if value is None else str(value)
        fn = masks.get(col)
        parts.append(fn(text) if fn and value is not None else text)
    return parts[0] if len(parts) == 1 else tuple(parts)


# --- one suite ----------------------------------------------------------------------------------

def _resolve_spec(suite: SuiteSpec | str | Path, directory: str | Path) -> SuiteSpec:
    if isinstance(suite, SuiteSpec):
        return suite
    return load_suite(suite_path(suite, directory))


def _window_select(table: sa.TableClause, window_column: str | None, window: Window | None) -> sa.Select[Any]:
    select = sa.select(*table.c).select_from(table)
    if window is not None and window_column is not None:
        start, end = window
        col = table.c[window_column]
        # Text literals in the stored form: the same comparison on every dialect, no tz shift.
        select = select.where(col >= sa.literal(start.strftime(_STAMP)), col < sa.literal(end.strftime(_STAMP)))
    return select


def quiet_gx() -> None:
    """Great Expectations logs every metric it computes at INFO (about 390 lines for the suites
    of one link): an operator reading a task log wants the one summary line per suite the caller
    writes. Its own warnings and errors stay."""
    for name in ("great_expectations", "great_expectations.core", "great_expectations.data_context"):
        logging.getLogger(name).setLevel(logging.WARNING)


def run_suite(url_or_engine: str | sa.Engine, table: str | None, suite: SuiteSpec | str | Path, *,
              window_column: str | None = None, window: Window | None = None, sample_keys: int = 5,
              schema: str | None = None, suites_dir: str | Path = "expectations",
              now: datetime | None = None,
              statement_timeout_s: float = DEFAULT_STATEMENT_TIMEOUT_S) -> SuiteResult:
    """Validate ``table`` (default: the suite's table) for ``window`` with ``suite``.

    ``suite`` is a :class:`SuiteSpec`, a suite name (``"invoice"`` -> ``expectations/invoice.json``)
    or a path. ``window`` is ``(start, end)``, end exclusive, on ``window_column`` (default: the
    suite's); ``None`` validates the whole table. ``now`` is the clock for "not in the future"
    (default: the local time of this process). Returns a :class:`SuiteResult`; never raises for
    a problem of this suite (it is then ``not_run`` with ``error``).
    """
    quiet_gx()
    started = time.monotonic()
    name = str(suite.name if isinstance(suite, SuiteSpec) else Path(str(suite)).stem)
    try:
        spec = _resolve_spec(suite, suites_dir)
    except SyncverifyError as exc:
        return SuiteResult(suite=name, table=table or "?", status=SuiteStatus.NOT_RUN, error=str(exc),
                           file=str(getattr(exc, "file", None) or suite), seconds=time.monotonic() - started)
    table_name = table or spec.table
    wcol = window_column or spec.window_column
    result = SuiteResult(suite=spec.name, table=table_name, status=SuiteStatus.NOT_RUN, file=spec.file,
                         window_column=wcol if window else None,
                         window_start=window[0] if window else None, window_end=window[1] if window else None)
    owned = isinstance(url_or_engine, str)
    engine: sa.Engine | None = None
    try:
        engine = read_only_engine(url_or_engine, statement_timeout_s) if isinstance(url_or_engine, str) else url_or_engine
        _run(engine, spec, table_name, wcol, window, sample_keys, schema, now or datetime.now(),
             statement_timeout_s, result)
    except SyncverifyError as exc:
        result.status, result.error = SuiteStatus.NOT_RUN, str(exc)
    except Exception as exc:
        where = mask_url(url_or_engine) if isinstance(url_or_engine, str) else mask_url(_url_of(url_or_engine))
        first = str(exc).splitlines()[0] if str(exc) else ""
        result.status = SuiteStatus.NOT_RUN
        result.error = mask_text(f"suite {spec.name} on {table_name} at {where}: {exc.__class__.__name__}: {first}")
    finally:
        if owned and engine is not None:
            engine.dispose()
        result.seconds = time.monotonic() - started
    return result


def _check_columns(spec: SuiteSpec, table_name: str, present: set[str], wcol: str | None,
                   window: Window | None) -> None:
    for exp in spec.expectations:
        for col in exp.columns:
            if col not in present:
                raise SyncverifyError(
                    f"suite file {spec.file or spec.name}: expectation #{exp.index + 1} ({exp.type}) names "
                    f"column {col!r} that table {table_name} lacks")
    for col in [*spec.key, *([wcol] if window and wcol else [])]:
        if col not in present:
            raise SyncverifyError(
                f"suite file {spec.file or spec.name}: key/window column {col!r} is not in table {table_name}")


def _run(engine: sa.Engine, spec: SuiteSpec, table_name: str, wcol: str | None, window: Window | None,
         sample_keys: int, schema: str | None, now: datetime, timeout_s: float, result: SuiteResult) -> None:
    from syncverify.quality import gx

    inspector = sa.inspect(engine)
    if not inspector.has_table(table_name, schema=schema):
        raise SyncverifyError(f"table {table_name!r} does not exist on {mask_url(_url_of(engine))}")
    columns = [c["name"] for c in inspector.get_columns(table_name, schema=schema)]
    _check_columns(spec, table_name, set(columns), wcol, window)

    table = sa.table(table_name, *(sa.column(c) for c in columns), schema=schema)
    window_select = _window_select(table, wcol, window)
    with engine.connect() as conn:
        result.row_count = int(conn.execute(
            sa.select(sa.func.count()).select_from(window_select.subquery())).scalar_one())
        server_version = for_engine(engine).server_version(conn.connection.dbapi_connection)
    if result.row_count == 0:
        # GX's monthly batches raise NoAvailableBatchesError here; an empty window is recorded.
        result.status = SuiteStatus.EMPTY
        return

    dialect = engine.dialect
    bounds = None
    row_condition = None
    if window is not None and wcol is not None:
        bounds = (wcol, window[0].strftime(_STAMP), window[1].strftime(_STAMP))
        row_condition = gx.window_condition(*bounds)
    gx_suite = gx.new_suite(spec.name)
    by_index: dict[int, ExpectationSpec] = {}
    for exp in spec.expectations:
        absent = [t for t in rules.referenced_tables(exp, table_name) if not inspector.has_table(t, schema=schema)]
        if absent:
            result.expectations.append(ExpectationResult(
                exp.index, exp.type, exp.rule, exp.columns, ExpectationStatus.SKIPPED,
                reason=f"referenced table {', '.join(absent)} is not on this node"))
            continue
        meta = {**exp.meta, "syncverify_index": exp.index}
        tagged = ExpectationSpec(exp.index, exp.type, exp.kwargs, meta)
        if exp.type in rules.RULES:
            try:
                query = rules.gx_query(exp, dialect=dialect, key=spec.key, table=table_name, columns=columns,
                                       now=now, schema=schema, window=bounds)
            except ValueError as exc:
                result.expectations.append(ExpectationResult(
                    exp.index, exp.type, exp.rule, exp.columns, ExpectationStatus.ERROR, reason=str(exc)))
                continue
            gx_suite.add_expectation(gx.query_expectation(query, tagged))
        else:
            gx_suite.add_expectation(gx.build_gx_expectation(tagged, row_condition))
        by_index[exp.index] = exp

    engine_kwargs = {"connect_args": _connect_args(dialect, timeout_s, server_version)}
    with gx.table_batch(_url_of(engine), engine_kwargs, table_name, schema) as batch:
        validation = batch.validate(gx_suite, result_format=gx.result_format(spec.key, sample_keys))

    window_sub = window_select.subquery("r")
    for res in validation.results:
        index = int(res.expectation_config.meta["syncverify_index"])
        exp = by_index[index]
        result.expectations.append(_expectation_result(res, exp, spec, result.row_count, engine, window_sub,
                                                       table_name, now, sample_keys, schema))
    result.expectations.sort(key=lambda e: e.index)
    if any(e.status is ExpectationStatus.FAILED for e in result.expectations):
        result.status = SuiteStatus.FAILED
    elif any(e.status is ExpectationStatus.ERROR for e in result.expectations):
        result.status = SuiteStatus.INCOMPLETE
    else:
        result.status = SuiteStatus.PASSED


def _exception_message(info: dict[str, Any]) -> str | None:
    """The first line of what GX caught, at the top level or per metric (GX nests it there)."""
    entries = [info, *(v for v in info.values() if isinstance(v, dict))]
    for entry in entries:
        if entry.get("raised_exception"):
            text = str(entry.get("exception_message") or "GX raised an exception").strip()
            return text.splitlines()[0] if text else "GX raised an exception"
    return None


def _expectation_result(res: Any, exp: ExpectationSpec, spec: SuiteSpec, row_count: int, engine: sa.Engine,
                        window_sub: sa.Subquery, table_name: str, now: datetime, sample_keys: int,
                        schema: str | None) -> ExpectationResult:
    out = ExpectationResult(exp.index, exp.type, exp.rule, exp.columns, ExpectationStatus.PASSED,
                            element_count=row_count)
    message = _exception_message(res.exception_info or {})
    if message is not None:
        out.status = ExpectationStatus.ERROR
        out.reason = mask_text(message)[:500]
        return out
    body = res.result or {}
    if exp.type in rules.RULES:
        out.unexpected_count = int(body.get("observed_value") or 0)
    else:
        count = body.get("unexpected_count")
        out.unexpected_count = int(count) if count is not None else None
        if "element_count" in body:
            out.element_count = int(body["element_count"])
    if res.success:
        return out
    out.status = ExpectationStatus.FAILED
    if sample_keys <= 0:
        return out
    if exp.type in rules.RULES:
        select = rules.sample_select(exp, window=window_sub, dialect=engine.dialect, key=spec.key,
                                     table=table_name, now=now, limit=sample_keys, schema=schema)
        if select is not None:
            with engine.connect() as conn:
                out.sample_keys = [_key(tuple(row), spec) for row in conn.execute(select)]
    else:
        out.sample_keys = _index_keys(body.get("partial_unexpected_index_list") or [], spec)[:sample_keys]
        if not out.sample_keys and exp.type in _UNIQUENESS:
            # GX gives no row index for multicolumn uniqueness: find the duplicates ourselves.
            with engine.connect() as conn:
                out.sample_keys = [_key(tuple(row), spec)
                                   for row in conn.execute(_duplicates(window_sub, exp.columns, spec.key, sample_keys))]
    return out


def _nth(value: Any, i: int) -> Any:
    return value[i] if isinstance(value, list) else value


def _index_keys(rows: list[Any], spec: SuiteSpec) -> list[Key]:
    """Keys from GX's ``partial_unexpected_index_list``.

    GX gives one dict per row, except when the index column is also the checked column: then
    one dict holds a list of values per column.
    """
    keys: list[Key] = []
    for r in rows:
        if not isinstance(r, dict):
            continue
        lists = [v for v in r.values() if isinstance(v, list)]
        width = max((len(v) for v in lists), default=1) if lists else 1
        for i in range(width):
            values = [_nth(r.get(k), i) for k in spec.key]
            keys.append(_key(values, spec))
    return keys


_UNIQUENESS = {"expect_compound_columns_to_be_unique", "expect_column_values_to_be_unique",
               "expect_select_column_values_to_be_unique_within_record"}


def _duplicates(window: sa.Subquery, columns: list[str], key: list[str], limit: int) -> sa.Select[Any]:
    """Keys of rows whose ``columns`` values occur more than once in the window (LIMIT n)."""
    dup = (sa.select(*(window.c[c] for c in columns)).group_by(*(window.c[c] for c in columns))
           .having(sa.func.count() > 1).subquery("d"))
    on = sa.and_(*(window.c[c] == dup.c[c] for c in columns))
    return sa.select(*(window.c[k] for k in key)).select_from(window.join(dup, on)).limit(limit)


# --- several suites -----------------------------------------------------------------------------

def run_suites(url_or_engine: str | sa.Engine, suites: Iterable[SuiteSpec | str | Path], *,
               tables: dict[str, str] | None = None, window: Window | None = None,
               sample_keys: int = 5, schema: str | None = None, suites_dir: str | Path = "expectations",
               now: datetime | None = None,
               statement_timeout_s: float = DEFAULT_STATEMENT_TIMEOUT_S) -> list[SuiteResult]:
    """Run every suite (on its own table, or ``tables[suite name]``); never stops at a failure.

    One engine is shared when a URL is given. A suite that cannot run is returned ``not_run``
    with its error; the others still run.
    """
    engine = url_or_engine
    owned = False
    results: list[SuiteResult] = []
    try:
        if isinstance(url_or_engine, str):
            try:
                engine = read_only_engine(url_or_engine, statement_timeout_s)
                owned = True
            except Exception:
                engine = url_or_engine
        for suite in suites:
            name = suite.name if isinstance(suite, SuiteSpec) else Path(str(suite)).stem
            results.append(run_suite(engine, (tables or {}).get(name), suite, window=window,
                                     sample_keys=sample_keys, schema=schema, suites_dir=suites_dir, now=now,
                                     statement_timeout_s=statement_timeout_s))
    finally:
        if owned and isinstance(engine, sa.Engine):
            engine.dispose()
    return results
