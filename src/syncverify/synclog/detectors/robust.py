"""Robust statistics of the detectors: normal is learnt from the month itself (median and MAD),
so a busy link and a quiet one are each judged against their own pattern."""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np
import pandas as pd

from syncverify.synclog.aggregate import lag_bin_value


def percentiles(df: pd.DataFrame, by: str, qs: Sequence[float]) -> pd.DataFrame:
    """Percentiles from histogram rows (``bin``, ``count``) per value of column ``by``: for each
    group, the upper edge of the first bin whose cumulated count reaches q x the group's total.
    Columns: ``by`` (sorted), ``samples``, ``q<q>``. Plain numpy: it runs a few times per link."""
    if df.empty:
        return pd.DataFrame(columns=[by, *(f"q{q}" for q in qs), "samples"])
    group, groups = pd.factorize(df[by], sort=True)  # hashing: text keys are not sorted row by row
    bins = df["bin"].to_numpy(dtype=np.int64)
    counts = df["count"].to_numpy(dtype=np.int64)
    order = np.lexsort((bins, group))
    group, bins, counts = group[order], bins[order], counts[order]
    # one row per (group, bin)
    new = np.ones(len(group), dtype=bool)
    new[1:] = (group[1:] != group[:-1]) | (bins[1:] != bins[:-1])
    rows = np.flatnonzero(new)
    group, bins, counts = group[rows], bins[rows], np.add.reduceat(counts, rows)
    first = np.flatnonzero(np.concatenate([[True], group[1:] != group[:-1]]))  # each group's first row
    total = np.add.reduceat(counts, first)
    running = np.cumsum(counts)
    cum = running - (running[first] - counts[first])[group]
    out = pd.DataFrame({by: groups, "samples": total})
    for q in qs:
        # cum grows within a group: the rows below q x total come first, count them
        below = np.bincount(group, weights=cum < q * total[group], minlength=len(groups)).astype(np.int64)
        out[f"q{q}"] = lag_bin_value(bins[first + below])
    return out


def median_mad(values: np.ndarray) -> tuple[float, float]:
    values = values[~np.isnan(values)]
    if len(values) == 0:
        return math.nan, math.nan
    med = float(np.median(values))
    return med, float(np.median(np.abs(values - med)))


def robust_z(value: float, med: float, mad: float, floor: float) -> float:
    return (value - med) / max(1.4826 * mad, floor)


def true_runs(mask: np.ndarray) -> list[tuple[int, int]]:
    """[start, end) index pairs of the runs of True in ``mask``."""
    if not mask.any():
        return []
    d = np.diff(np.concatenate([[0], mask.astype(np.int8), [0]]))
    return list(zip(np.flatnonzero(d == 1).tolist(), np.flatnonzero(d == -1).tolist(), strict=True))


def episodes(minutes: np.ndarray, gap: int) -> list[tuple[int, int]]:
    """Group sorted event minutes into (first index, last index + 1) episodes."""
    if len(minutes) == 0:
        return []
    cuts = np.flatnonzero(np.diff(minutes) > gap) + 1
    bounds = np.concatenate([[0], cuts, [len(minutes)]])
    return list(zip(bounds[:-1].tolist(), bounds[1:].tolist(), strict=True))
