"""Descriptive per-link figures: the hourly series (which the bottleneck and abnormal-day detectors
also read), latency percentiles, per-table summaries and the error heat map."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from syncverify.synclog.detectors.context import LinkContext
from syncverify.synclog.detectors.robust import percentiles
from syncverify.synclog.model import HourPoint, LatencyStats, TableSummary
from syncverify.synclog.timebase import to_datetime


def hourly_series(
    ctx: LinkContext,
    hour_df: pd.DataFrame,
    lag_df: pd.DataFrame,
    minute: pd.DataFrame,
    h0: int,
    n_hours: int,
) -> tuple[list[HourPoint], pd.DataFrame]:
    per_hour = hour_df.groupby("hour").agg(
        applies=("applies", "sum"),
        ins=("ins", "sum"),
        upd=("upd", "sum"),
        dele=("del", "sum"),
        errors=("errors", "sum"),
    )
    per_hour["rows"] = per_hour["ins"] + per_hour["upd"] + per_hour["dele"]
    q = percentiles(lag_df, "hour", [0.95]).set_index("hour") if not lag_df.empty else pd.DataFrame()
    mh = (
        minute.assign(hour=minute["minute"] // 60)
        .groupby("hour")
        .agg(lag_max=("lag_max", "max"), backlog_max=("backlog_max", "max"))
    )
    frame = pd.DataFrame(index=pd.RangeIndex(h0, h0 + n_hours, name="hour"))
    frame = frame.join(per_hour[["applies", "rows", "errors"]]).join(mh)
    if not q.empty:
        frame = frame.join(q[["q0.95", "samples"]])
    else:
        frame["q0.95"], frame["samples"] = np.nan, 0
    frame[["applies", "rows", "errors", "samples"]] = frame[["applies", "rows", "errors", "samples"]].fillna(0)
    points = [
        HourPoint(
            hour=to_datetime(int(h) * 3_600_000),
            applies=int(ap),
            rows=int(rw),
            errors=int(er),
            lag_p95_ms=None if pd.isna(p95) else round(float(p95), 1),
            lag_max_ms=None if pd.isna(lmax) else float(lmax),
            backlog_max=None if pd.isna(bmax) else int(bmax),
        )
        for h, ap, rw, er, p95, lmax, bmax in zip(
            frame.index,
            frame["applies"],
            frame["rows"],
            frame["errors"],
            frame["q0.95"],
            frame["lag_max"],
            frame["backlog_max"],
            strict=True,
        )
    ]
    return points, frame


def latency_stats(lag_df: pd.DataFrame, lag_max: float | None) -> LatencyStats:
    if lag_df.empty:
        return LatencyStats()
    q = percentiles(lag_df.assign(_all=0), "_all", [0.5, 0.95, 0.99]).iloc[0]
    return LatencyStats(
        samples=int(q["samples"]),
        p50_ms=round(float(q["q0.5"]), 1),
        p95_ms=round(float(q["q0.95"]), 1),
        p99_ms=round(float(q["q0.99"]), 1),
        max_ms=lag_max,
    )


def table_summaries(hour_df: pd.DataFrame, lag_df: pd.DataFrame) -> list[TableSummary]:
    out = []
    q = percentiles(lag_df, "table", [0.5, 0.95, 0.99]).set_index("table") if not lag_df.empty else None
    for table, g in hour_df.groupby("table"):
        lat = LatencyStats()
        if q is not None and table in q.index:
            r = q.loc[table]
            lat = LatencyStats(
                int(r["samples"]),
                round(float(r["q0.5"]), 1),
                round(float(r["q0.95"]), 1),
                round(float(r["q0.99"]), 1),
                None,
            )
        ins, upd, dele = int(g["ins"].sum()), int(g["upd"].sum()), int(g["del"].sum())
        out.append(
            TableSummary(
                table=str(table) or "-",
                applies=int(g["applies"].sum()),
                rows=ins + upd + dele,
                ins=ins,
                upd=upd,
                dele=dele,
                errors=int(g["errors"].sum()),
                latency=lat,
            )
        )
    return sorted(out, key=lambda t: -t.rows)


def error_matrix(ctx: LinkContext) -> dict[str, Any]:
    grid = ctx.errors.reshape(ctx.days, 24, 60).sum(axis=2).astype(int)
    return {
        "days": [d.date().isoformat() for d in ctx.day_dates],
        "hours": list(range(24)),
        "counts": grid.tolist(),
    }
