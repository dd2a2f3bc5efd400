"""The comparison engine's view of one link check: its two copies and how they are compared.

Every path that compares the copies of a (link, table) — the runner's checks, a ticket's
re-verification, the row-by-row key look-ups behind repair plans — starts from
:func:`check_refs`, so the routing predicate, the target scope, the renamed columns, the
excluded columns and the window are the same wherever the check is re-done.
"""

from __future__ import annotations

from datetime import datetime
from typing import NamedTuple

import sqlalchemy as sa

from syncverify.catalog.loader import LinkCheck
from syncverify.compare import CompareSpec, TableRef
from syncverify.dialects import for_engine

# A Kafka topic kept as a message table (the embedded world) carries the broker's bookkeeping
# beside the record's fields; it is not part of the replicated data.
MESSAGE_COLUMNS = ("_partition", "_offset", "_ts")


class CheckRefs(NamedTuple):
    source: TableRef
    target: TableRef
    spec: CompareSpec


def check_refs(lc: LinkCheck, source_engine: sa.Engine, target_engine: sa.Engine, *,
               window: tuple[datetime, datetime] | None = None, message_tables: bool = False) -> CheckRefs:
    """The two copies of ``lc`` (routing on the source, scope on the target, each compiled in its
    own dialect) and the comparison: key, columns, exclusions, totals, and the window on the
    table's window column when ``window`` is given. ``message_tables``: a side is a Kafka topic
    kept as a table, whose bookkeeping columns are left out."""
    routing = lc.spec.routing.to_sql(for_engine(source_engine).quote) if lc.spec.routing else None
    # Column names in a target scope are the target's own (after any rename).
    scope = lc.spec.target_scope.to_sql(for_engine(target_engine).quote) if lc.spec.target_scope else None
    source = TableRef(source_engine, lc.source_table, schema=lc.source.schema_name, where=routing,
                      label=lc.source.id)
    target = TableRef(target_engine, lc.target_table, schema=lc.target.schema_name, where=scope,
                      columns_map=dict(lc.spec.column_map), label=lc.target.id)
    exclude = list(lc.table.exclude_columns)
    if message_tables:
        exclude += [c for c in MESSAGE_COLUMNS if c not in exclude]
    windowed = window is not None and lc.table.window_column is not None
    spec = CompareSpec(
        key=list(lc.table.key), columns=list(lc.table.columns) if lc.table.columns else None,
        exclude_columns=exclude, totals=list(lc.table.totals),
        window_column=lc.table.window_column if windowed else None,
        window_start=window[0] if windowed and window else None,
        window_end=window[1] if windowed and window else None,
    )
    return CheckRefs(source, target, spec)
