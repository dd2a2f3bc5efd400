"""The per-minute view of one link over the month that every detector reads."""

from __future__ import annotations

from datetime import timedelta

import numpy as np
import pandas as pd

from syncverify.synclog.timebase import to_datetime


class LinkContext:
    """Dense per-minute arrays of one link over the month; ``end`` is where the analysed window
    ends (minutes from the month's start): the month's end, or earlier for a month in progress."""

    def __init__(self, link: str, minute: pd.DataFrame, m0: int, n_minutes: int, end: int | None = None) -> None:
        self.link, self.m0, self.n = link, m0, n_minutes
        self.end = n_minutes if end is None else max(0, min(end, n_minutes))
        idx = minute["minute"].to_numpy(dtype=np.int64) - m0
        ok = (idx >= 0) & (idx < n_minutes)
        idx = idx[ok]

        def dense(col: str, fill: float) -> np.ndarray:
            arr = np.full(n_minutes, fill, dtype=np.float64)
            arr[idx] = minute[col].to_numpy(dtype=np.float64, na_value=np.nan)[ok]
            return arr

        self.applies = dense("applies", 0)
        self.rows = dense("rows", 0)
        self.errors = dense("errors", 0)
        self.restarts = dense("restarts", 0)
        self.backlog = dense("backlog_max", np.nan)
        # the minute table holds a row for every minute with any line (applies, status, errors)
        self.last_line = int(idx.max()) if len(idx) else -1
        self.days = n_minutes // 1440
        start = to_datetime(m0 * 60_000)
        self.day_dates = [start + timedelta(days=d) for d in range(self.days)]
        self.weekend = np.array([d.weekday() >= 5 for d in self.day_dates])
        seen = np.flatnonzero((self.applies + self.errors + self.restarts) > 0)
        if len(seen) == 0:
            seen = np.flatnonzero(~np.isnan(self.backlog))
        self.first, self.last = (int(seen[0]), int(seen[-1])) if len(seen) else (0, -1)
