"""The Great Expectations side: one ephemeral context, data sources, expectation objects.

GX is imported here only, and only when a suite is loaded or run, so that ``syncverify --help``
stays fast (importing GX takes seconds). The context is in-memory (nothing is written to the
repository or the working directory) with usage statistics and progress bars off.
"""

from __future__ import annotations

import os
import threading
import uuid
import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any, ClassVar

os.environ.setdefault("GX_ANALYTICS_ENABLED", "false")

import great_expectations as gx
from great_expectations.core.result_format import ResultFormat
from great_expectations.data_context.types.base import (
    DataContextConfig,
    InMemoryStoreBackendDefaults,
    ProgressBarsConfig,
)
from great_expectations.expectations import UnexpectedRowsExpectation
from great_expectations.expectations.registry import get_expectation_impl

from syncverify.quality.expectation import ExpectationSpec

if TYPE_CHECKING:
    from great_expectations.data_context import AbstractDataContext
    from great_expectations.expectations.expectation import Expectation

_context: AbstractDataContext | None = None
_lock = threading.Lock()


class ExpectQueryToReturnNoRows(UnexpectedRowsExpectation):
    """An unexpected-rows expectation that only counts the rows, inside the database.

    GX's own UnexpectedRowsExpectation also fetches the rows (client-side drivers buffer the
    whole result before GX keeps 200), which would pull every violating key of a large table
    into memory. syncverify fetches its few sample keys separately, with a LIMIT.
    """

    metric_dependencies: ClassVar[tuple[str, ...]] = ("unexpected_rows_query.row_count",)

    def _validate(self, metrics: dict, runtime_configuration: dict | None = None,
                  execution_engine: Any = None) -> dict[str, Any]:
        count = int(metrics["unexpected_rows_query.row_count"])
        return {"success": count == 0, "result": {"observed_value": count}}


def context() -> AbstractDataContext:
    """The process-wide ephemeral GX context."""
    global _context
    with _lock:
        if _context is None:
            config = DataContextConfig(store_backend_defaults=InMemoryStoreBackendDefaults(),
                                       analytics_enabled=False,
                                       progress_bars=ProgressBarsConfig(globally=False))
            _context = gx.get_context(mode="ephemeral", project_config=config)
        return _context


def build_gx_expectation(spec: ExpectationSpec, row_condition: Any = None) -> Expectation:
    """A GX core expectation object from a suite entry (raises on unknown type or bad kwargs)."""
    from great_expectations.exceptions import ExpectationNotFoundError

    try:
        impl = get_expectation_impl(spec.type)
    except ExpectationNotFoundError:
        raise ValueError(f"unknown expectation type {spec.type!r}") from None
    try:
        kwargs = dict(spec.kwargs)
        if row_condition is not None:
            kwargs["row_condition"] = row_condition
        return impl(**kwargs, meta=spec.meta or None)
    except Exception as exc:  # pydantic validation errors: keep only the useful first lines
        text = " ".join(line.strip() for line in str(exc).splitlines()[:3])
        raise ValueError(f"bad kwargs: {text}") from None


def query_expectation(query: str, spec: ExpectationSpec) -> Expectation:
    return ExpectQueryToReturnNoRows(unexpected_rows_query=query, description=spec.rule, meta=spec.meta or None)


def new_suite(name: str) -> gx.ExpectationSuite:
    context()   # GX needs an active context to build a suite
    return gx.ExpectationSuite(name=f"{name}-{uuid.uuid4().hex[:8]}")


@contextmanager
def table_batch(url: str, engine_kwargs: dict[str, Any], table: str, schema: str | None) -> Iterator[Any]:
    """A GX batch over the whole ``table`` on a temporary data source (the window is applied per
    expectation as a row condition).

    A table asset, not a query asset: GX reflects a query asset's columns by executing the query
    without a limit, and the drivers buffer the whole result (1M rows = 0.5-1.5 GB). A table
    asset reflects its columns through the inspector and sends only aggregates.
    """
    ctx = context()
    name = f"sv-{uuid.uuid4().hex[:12]}"
    with warnings.catch_warnings():
        # The generic SQL source is deliberate: one code path for SQLite, MariaDB and PostgreSQL.
        warnings.filterwarnings("ignore", message="You are using a generic SQLDatasource")
        source = ctx.data_sources.add_sql(  # type: ignore[call-arg]  # kwargs is a field of the model
            name=name, connection_string=url, kwargs=engine_kwargs)
    try:
        asset = source.add_table_asset(name="table", table_name=table, schema_name=schema)
        batch_definition = asset.add_batch_definition_whole_table("all")
        yield batch_definition.get_batch()
    finally:
        try:
            source.get_execution_engine().engine.dispose()
        finally:
            ctx.data_sources.delete(name)


def window_condition(column: str, start: str, end: str) -> Any:
    """GX row condition ``start <= column < end`` (text literals in the stored form)."""
    from great_expectations.expectations.row_conditions import Column

    return (Column(column) >= start) & (Column(column) < end)


def result_format(key: list[str], samples: int) -> dict[str, Any]:
    return {"result_format": ResultFormat.SUMMARY, "unexpected_index_column_names": key,
            "partial_unexpected_count": max(samples, 1), "exclude_unexpected_values": True}
