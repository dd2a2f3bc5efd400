"""Failure modes: stalls (and silent logs), error classes, error bursts and retry storms, restart loops."""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import pandas as pd

from syncverify.masking import mask_taxpayer_ids_in_text
from syncverify.synclog.detectors.context import LinkContext
from syncverify.synclog.detectors.robust import episodes, true_runs
from syncverify.synclog.errorcodes import classify
from syncverify.synclog.model import ErrorBurst, ErrorClass, RestartLoop, Stall
from syncverify.synclog.settings import Settings
from syncverify.synclog.timebase import to_datetime


def _masked_text(text: Any) -> str:
    return mask_taxpayer_ids_in_text(str(text)) if text is not None and text == text else ""


def stalls(ctx: LinkContext, s: Settings) -> list[Stall]:
    """Gaps in apply progress that the link's normal pattern makes (very) unlikely, or during
    which the backlog grew."""
    active = (ctx.applies > 0).reshape(ctx.days, 1440)
    frac = active.reshape(ctx.days, 24, 60).mean(axis=2)  # day x hour
    profile = np.zeros((2, 24))
    for wk in (0, 1):
        rows = frac[ctx.weekend == bool(wk)]
        if len(rows):
            profile[wk] = np.median(rows, axis=0)
    p_minute = np.repeat(profile[ctx.weekend.astype(int)], 60, axis=1).reshape(-1)
    p_minute = np.clip(p_minute, 0.0, 0.99)
    surprise = -np.log1p(-p_minute)  # -log P(no apply in this minute)
    typical_backlog = np.nanmedian(ctx.backlog) if np.isfinite(ctx.backlog).any() else 0.0
    growth_needed = max(s.stall_backlog_growth, 20 * (typical_backlog or 0))
    out: list[Stall] = []
    idle = ctx.applies[: ctx.end] == 0
    for a, b in true_runs(idle):
        if a <= ctx.first or b - a < s.stall_min_minutes:
            continue  # before the first line: the log does not cover it
        # A run reaching the window's end is still open: the month ended (or the logs stop)
        # before the link applied again. Such stretches were once skipped, so a consumer that
        # stopped at 18:00 on the last day went unreported; they are judged like any other and
        # marked open. With no line at all after its start the log itself fell silent (a gap).
        still_open = b >= ctx.end
        silent = still_open and ctx.last_line < a
        score = float(surprise[a:b].sum())
        window = ctx.backlog[a:b]
        before = ctx.backlog[max(0, a - 30) : a]
        start_backlog = float(np.nanmax(before)) if np.isfinite(before).any() else None
        peak = float(np.nanmax(window)) if np.isfinite(window).any() else None
        grew = peak is not None and peak - (start_backlog or 0) >= growth_needed
        if score < -math.log(s.stall_max_chance) and not (grew and b - a >= 2 * s.stall_min_minutes):
            continue
        out.append(
            Stall(
                start=to_datetime((ctx.m0 + a) * 60_000),
                end=to_datetime((ctx.m0 + b) * 60_000),
                minutes=b - a,
                expected_active_minutes=round(float(p_minute[a:b].sum()), 1),
                chance=float(math.exp(-score)),
                backlog_start=None if start_backlog is None else int(start_backlog),
                backlog_peak=None if peak is None else int(peak),
                reason=("log_silent" if silent else "no_progress" if score >= -math.log(s.stall_max_chance)
                        else "backlog_growing"),
                open=still_open,
                last_line=to_datetime((ctx.m0 + ctx.last_line) * 60_000) if silent and ctx.last_line >= 0 else None,
            )
        )
    return out


def error_classes(err: pd.DataFrame) -> list[ErrorClass]:
    out: list[ErrorClass] = []
    if err.empty:
        return out
    for code, g in err.groupby("code"):
        category, _ = classify(str(code))
        msg = g.sort_values("first_ts")["msg"].dropna()
        out.append(
            ErrorClass(
                code=str(code),
                category=category,
                count=int(g["count"].sum()),
                first_seen=to_datetime(g["first_ts"].min()),
                last_seen=to_datetime(g["last_ts"].max()),
                tables=sorted({str(t) for t in g["table"] if t}),
                retries=int(g["retries"].sum()),
                retry_max=None if g["retry_max"].isna().all() else int(g["retry_max"].max()),
                rows_in_failed_batches=int(g["batch"].sum()),
                sample_message=_masked_text(msg.iloc[0]) if len(msg) else "",
            )
        )
    return sorted(out, key=lambda e: -e.count)


def error_bursts(ctx: LinkContext, err: pd.DataFrame, s: Settings) -> list[ErrorBurst]:
    out: list[ErrorBurst] = []
    if err.empty:
        return out
    daily = np.bincount(
        ((err["minute"] - ctx.m0) // 1440).clip(0, ctx.days - 1).to_numpy(dtype=np.int64),
        weights=err["count"].to_numpy(dtype=np.float64),
        minlength=ctx.days,
    )
    baseline = float(np.median(daily))
    need = max(s.burst_min_errors, s.burst_baseline_factor * baseline)
    for code, g in err.groupby("code"):
        per_min = (
            g.groupby("minute")
            .agg(
                count=("count", "sum"),
                batch=("batch", "sum"),
                retries=("retries", "sum"),
                retry_max=("retry_max", "max"),
                first_ts=("first_ts", "min"),
                last_ts=("last_ts", "max"),
            )
            .sort_index()
        )
        minutes = per_min.index.to_numpy(dtype=np.int64)
        for a, b in episodes(minutes, s.burst_gap_minutes):
            ep = per_min.iloc[a:b]
            count = int(ep["count"].sum())
            if count < need:
                continue
            lo, hi = int(minutes[a]), int(minutes[b - 1])
            tables = sorted({str(t) for t in g[(g["minute"] >= lo) & (g["minute"] <= hi)]["table"] if t})
            out.append(
                ErrorBurst(
                    code=str(code),
                    category=classify(str(code))[0],
                    start=to_datetime(ep["first_ts"].min()),
                    end=to_datetime(ep["last_ts"].max()),
                    count=count,
                    tables=tables,
                    retries=int(ep["retries"].sum()),
                    retry_max=None if ep["retry_max"].isna().all() else int(ep["retry_max"].max()),
                    rows_in_failed_batches=int(ep["batch"].sum()),
                    per_minute_peak=int(ep["count"].max()),
                    baseline_per_day=baseline,
                    # errors up to the window's end: the episode had not ended when the window closed
                    open=hi - ctx.m0 >= ctx.end - s.burst_gap_minutes,
                )
            )
    return out


def restart_loops(restart: pd.DataFrame, s: Settings) -> list[RestartLoop]:
    out: list[RestartLoop] = []
    if restart.empty:
        return out
    r = restart.groupby("minute").agg(count=("count", "sum"), msg=("msg", "first")).sort_index()
    minutes = np.repeat(r.index.to_numpy(dtype=np.int64), r["count"].to_numpy(dtype=np.int64))
    for a, b in episodes(minutes, s.restart_gap_minutes):
        if b - a < s.restart_loop_min:
            continue
        ep = minutes[a:b]
        reasons = r.loc[np.unique(ep), "msg"].dropna()
        out.append(
            RestartLoop(
                start=to_datetime(ep[0] * 60_000),
                end=to_datetime((ep[-1] + 1) * 60_000),
                restarts=b - a,
                median_gap_minutes=float(np.median(np.diff(ep))) if b - a > 1 else 0.0,
                reason=_masked_text(reasons.iloc[0]) if len(reasons) else "",
            )
        )
    return out
