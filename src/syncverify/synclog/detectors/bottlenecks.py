"""Performance bottlenecks: latency spikes (hours far above the same hour on comparable days) and
recurring slow periods (hours of day or weekdays slow on most days)."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd

from syncverify.synclog.aggregate import lag_bin_value
from syncverify.synclog.detectors.context import LinkContext
from syncverify.synclog.detectors.robust import median_mad, true_runs
from syncverify.synclog.model import LatencySpike, SlowPeriod
from syncverify.synclog.settings import Settings
from syncverify.synclog.timebase import to_datetime

PEAK_HOURS = frozenset({9, 10, 11, 14, 15, 16, 17})


def _slow_applies(lag_df: pd.DataFrame, hours: tuple[int, int], above_ms: float) -> int:
    """Apply events in [first hour, last hour) whose latency bin is above ``above_ms``."""
    if lag_df.empty:
        return 0
    sel = lag_df[(lag_df["hour"] >= hours[0]) & (lag_df["hour"] < hours[1])]
    slow = lag_bin_value(sel["bin"].to_numpy(dtype=np.int64)) >= above_ms
    return int(sel["count"].to_numpy(dtype=np.int64)[slow].sum())


def latency_spikes(ctx: LinkContext, frame: pd.DataFrame, h0: int, s: Settings,
                    lag_df: pd.DataFrame | None = None) -> list[LatencySpike]:
    p95 = frame["q0.95"].to_numpy(dtype=np.float64)
    samples = frame["samples"].to_numpy(dtype=np.float64)
    p95 = np.where(samples >= s.spike_min_samples, p95, np.nan)
    days = len(p95) // 24
    grid = p95[: days * 24].reshape(days, 24)
    normal = np.full_like(grid, np.nan)
    score = np.full_like(grid, np.nan)
    for wk in (False, True):
        sel = ctx.weekend[:days] == wk
        if not sel.any():
            continue
        sub = grid[sel]
        for h in range(24):
            med, mad = median_mad(sub[:, h])
            if math.isnan(med):
                continue
            normal[sel, h] = med
            score[sel, h] = (sub[:, h] - med) / max(1.4826 * mad, 0.05 * med, 1.0)
    flag = (score >= s.spike_score) & (grid >= s.spike_ratio * normal)
    flat = np.nan_to_num(flag.reshape(-1), nan=0).astype(bool)
    out = []
    for a, b in true_runs(flat):
        peak = float(np.nanmax(grid.reshape(-1)[a:b]))
        base = float(np.nanmedian(normal.reshape(-1)[a:b]))
        # A p95 of a handful of samples is their maximum: on a quiet link one slow batch made an
        # "hour 3x slower". A spike needs several slow applies, not one.
        if lag_df is not None and _slow_applies(lag_df, (h0 + a, h0 + b), s.spike_ratio * base) < s.spike_min_slow:
            continue
        hours = {(a + k) % 24 for k in range(b - a)}
        out.append(
            LatencySpike(
                start=to_datetime((h0 + a) * 3_600_000),
                end=to_datetime((h0 + b) * 3_600_000),
                hours=b - a,
                peak_p95_ms=round(peak, 1),
                normal_p95_ms=round(base, 1),
                ratio=round(peak / base, 1) if base else math.inf,
                in_peak_hours=bool(hours & PEAK_HOURS),
            )
        )
    return out


def slow_periods(ctx: LinkContext, frame: pd.DataFrame, s: Settings) -> tuple[list[SlowPeriod], list[int]]:
    p95 = frame["q0.95"].to_numpy(dtype=np.float64)
    rows = frame["rows"].to_numpy(dtype=np.float64)
    days = len(p95) // 24
    grid = p95[: days * 24].reshape(days, 24)
    rgrid = rows[: days * 24].reshape(days, 24)
    overall, _ = median_mad(grid.reshape(-1))
    total_rows = float(np.nansum(rows)) or 1.0
    out: list[SlowPeriod] = []
    flagged: list[int] = []
    if math.isnan(overall) or overall <= 0:
        return out, flagged
    weekday = ~ctx.weekend[:days]
    for h in range(24):
        med, _ = median_mad(grid[weekday, h] if weekday.any() else grid[:, h])
        if math.isnan(med):
            continue
        ratio = med / overall
        out.append(
            SlowPeriod(
                "hour",
                h,
                round(med, 1),
                round(overall, 1),
                round(ratio, 2),
                round(float(np.nansum(rgrid[:, h])) / total_rows, 4),
            )
        )
        # recurring: slow on most weekdays, not one bad day
        slow_days = np.nanmean(grid[weekday, h] >= s.slow_ratio * overall) if weekday.any() else 0.0
        if ratio >= s.slow_ratio and slow_days >= 0.5:
            flagged.append(h)
    dows = np.array([d.weekday() for d in ctx.day_dates[:days]])
    for dow in range(7):
        sel = dows == dow
        if not sel.any():
            continue
        med, _ = median_mad(grid[sel].reshape(-1))
        if math.isnan(med):
            continue
        out.append(
            SlowPeriod(
                "weekday",
                dow,
                round(med, 1),
                round(overall, 1),
                round(med / overall, 2),
                round(float(np.nansum(rgrid[sel])) / total_rows, 4),
            )
        )
    return out, flagged
