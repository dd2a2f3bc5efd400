"""Abnormal behaviour: days whose rows, errors, restarts or latency are far from the link's own
normal (median and MAD over comparable days)."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd

from syncverify.synclog.detectors.context import LinkContext
from syncverify.synclog.detectors.robust import median_mad, percentiles, robust_z
from syncverify.synclog.model import AbnormalDay
from syncverify.synclog.settings import Settings


def abnormal_days(ctx: LinkContext, frame: pd.DataFrame, lag_df: pd.DataFrame, h0: int, s: Settings) -> list[AbnormalDay]:
    days = ctx.days
    metrics: dict[str, np.ndarray] = {
        "rows": ctx.rows.reshape(days, 1440).sum(axis=1),
        "errors": ctx.errors.reshape(days, 1440).sum(axis=1),
        "restarts": ctx.restarts.reshape(days, 1440).sum(axis=1),
    }
    if not lag_df.empty:
        d = lag_df.assign(day=(lag_df["hour"] - h0) // 24)
        q = percentiles(d, "day", [0.95]).set_index("day")
        lag = np.full(days, np.nan)
        ok = (q.index >= 0) & (q.index < days)
        lag[q.index[ok].to_numpy(dtype=np.int64)] = q["q0.95"].to_numpy()[ok]
        metrics["lag_p95_ms"] = lag
    first_day, last_day = ctx.first // 1440, ctx.last // 1440
    covered = np.zeros(days, dtype=bool)
    covered[first_day + 1 : last_day] = True  # partial first / last days are not judged
    out: list[AbnormalDay] = []
    floors = {"rows": 1.0, "errors": 3.0, "restarts": 1.0, "lag_p95_ms": 50.0}
    minimum = {"errors": 10.0, "restarts": 3.0}
    for name, values in metrics.items():
        groups = (
            [ctx.weekend[:days] == wk for wk in (False, True)]
            if name in ("rows", "lag_p95_ms")
            else [np.ones(days, dtype=bool)]
        )
        for sel in groups:
            base = values[sel & covered]
            med, mad = median_mad(base)
            if math.isnan(med):
                continue
            floor = max(floors[name], 0.1 * abs(med))
            for day in np.flatnonzero(sel & covered):
                v = float(values[day])
                if math.isnan(v):
                    continue
                z = robust_z(v, med, mad, floor)
                rel = abs(v - med) / max(abs(med), 1.0)
                if abs(z) >= s.abnormal_score and rel >= s.abnormal_rel and v >= minimum.get(name, 0.0):
                    out.append(
                        AbnormalDay(
                            ctx.day_dates[day].date().isoformat(),
                            name,
                            round(v, 1),
                            round(med, 1),
                            round(mad, 1),
                            round(z, 1),
                        )
                    )
    return sorted(out, key=lambda a: (a.day, a.metric))
