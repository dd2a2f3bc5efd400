"""What a verification run covers and how deep it looks (the DAG trigger form maps onto this)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import Any


class Depth(StrEnum):
    """How deep each link check goes; each level includes the cheaper ones before it.

    COUNT     row counts per side for the window
    TOTALS    counts plus business totals (count, SUM of amounts) per day
    CHECKSUM  totals plus a full checksum (count + hash sums) of every compared column
    DIFF      totals plus the exact differences down to the keys, confirmed after a delay
    SCHEMA    only the schema check (reflection: types, lengths, nullability, keys; no row read)
    """

    COUNT = "count"
    TOTALS = "totals"
    CHECKSUM = "checksum"
    DIFF = "diff"
    SCHEMA = "schema"


@dataclass
class RunOptions:
    month: str | None = None                    # YYYY-MM; the window unless ``window`` is given
    window: tuple[datetime, datetime] | None = None
    kind: str = "monthly"                       # monthly, incremental, adhoc, demo
    flows: list[str] | None = None
    links: list[str] | None = None
    tables: list[str] | None = None
    depth: Depth = Depth.DIFF
    open_tickets: bool = True
    profile: str | None = None                  # connection profile (default: embedded)
    catalog_path: str = "checks"
    now: datetime | None = None                 # the clock for cut-offs (tests freeze it)
    confirm_delay_s: float | None = None        # overrides the links' confirm delay
    workers: int = 4                            # link checks in flight at once (per-node caps still hold)
    run_id: str | None = None                   # resume this run: finished checks are not redone
    extra: dict[str, Any] = field(default_factory=dict)

    def describe(self) -> dict[str, Any]:
        return {
            "month": self.month, "kind": self.kind, "flows": self.flows, "links": self.links,
            "tables": self.tables, "depth": self.depth.value, "open_tickets": self.open_tickets,
            "profile": self.profile,
            "window": [w.isoformat() for w in self.window] if self.window else None,
        }
