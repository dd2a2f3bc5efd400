"""What the origin generators share: the row type, the origin rows of a month and the issue clock.

Apart from :mod:`.generate` (the e-invoice origins) and :mod:`.interaction` (the interaction
platform's), which both fill an :class:`Origins` and draw times from one :class:`Clock`.
"""

from __future__ import annotations

import random
from bisect import bisect_right
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from itertools import accumulate
from typing import Any

Row = tuple[Any, ...]


@dataclass
class Taxpayer:
    nsrsbh: str
    nsrmc: str
    swjg_dm: str
    hy_dm: str
    djrq: date
    nsrzt: str


@dataclass
class Origins:
    """Origin rows per (node, table), plus what the fault planner must leave alone."""

    rows: dict[tuple[str, str], list[Row]] = field(default_factory=dict)
    # Keys other rows refer to (blue invoices of red ones, invoices with use records or notices):
    # losing them in one copy would also break a reference, so faults avoid them.
    protected: dict[str, set[tuple[str, ...]]] = field(default_factory=dict)
    late_keys: set[tuple[str, ...]] = field(default_factory=set)   # the month-end batch

    def add(self, node: str, table: str, row: Row) -> None:
        self.rows.setdefault((node, table), []).append(row)


class Clock:
    """Issue times over the month: weekdays busier than weekends, a 09:00-11:00 peak, a
    smaller afternoon peak, quiet nights, and a month-end surge (invoicing before closing)."""

    _HOURS = (0.03, 0.02, 0.02, 0.02, 0.02, 0.03, 0.05, 0.2, 0.6, 1.6, 1.6, 1.1, 0.5, 0.5, 1.0, 1.0,
              1.0, 0.9, 0.4, 0.3, 0.15, 0.12, 0.08, 0.05)

    def __init__(self, start: datetime, end: datetime) -> None:
        self.start = start
        minutes = int((end - start).total_seconds() // 60)
        weights = []
        for m in range(minutes):
            t = start + timedelta(minutes=m)
            day = 1.0 if t.weekday() < 5 else 0.35 if t.weekday() == 5 else 0.25
            if (end - t).days < 3:
                day *= 1.3
            weights.append(day * self._HOURS[t.hour])
        self.cum = list(accumulate(weights))

    def sample(self, rng: random.Random) -> datetime:
        m = bisect_right(self.cum, rng.random() * self.cum[-1])
        return self.start + timedelta(minutes=m, seconds=rng.randrange(60))
