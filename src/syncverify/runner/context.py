"""What every check of a run shares: the catalog, the run's options and window, the nodes'
connections and engines."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

import sqlalchemy as sa

from syncverify.calendar import cut_off
from syncverify.catalog import Catalog, LinkCheck
from syncverify.connect.resolve import NodeConnection, engine_for_node, resolve_node
from syncverify.runner.options import RunOptions


@dataclass
class CheckContext:
    catalog: Catalog
    options: RunOptions
    window: tuple[datetime, datetime]

    def connection(self, node_id: str) -> NodeConnection:
        return resolve_node(node_id, profile=self.options.profile)

    def window_for(self, lc: LinkCheck) -> tuple[datetime, datetime] | None:
        """The compared window: the run's, cut off at now - grace; None for whole-table checks."""
        if lc.table.window_column is None:
            return None
        start, end = self.window
        return start, cut_off(end, lc.link.grace, self.options.now)

    def engine(self, node_id: str) -> sa.Engine:
        """The node's shared engine, capped by the catalog's max_concurrency and statement timeout
        (and the connection profile's, whichever is stricter)."""
        node = self.catalog.node(node_id)
        return engine_for_node(node_id, profile=self.options.profile, max_concurrency=node.max_concurrency,
                               statement_timeout_s=node.statement_timeout_s)

    def confirm_delay(self, lc: LinkCheck) -> float:
        if self.options.confirm_delay_s is not None:
            return self.options.confirm_delay_s
        return lc.link.confirm_delay_s


def uses_kafka(lc: LinkCheck, ctx: CheckContext) -> bool:
    return any(ctx.connection(n.id).is_kafka_broker for n in (lc.source, lc.target) if n.is_kafka)
