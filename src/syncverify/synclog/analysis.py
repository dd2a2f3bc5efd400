"""Monthly analysis per link and table, from the aggregated tables (see ``aggregate``).

Normal is learnt from the month itself with robust statistics (median and MAD over comparable
days, i.e. weekdays vs weekends at the same hour), so a busy link and a quiet one are each judged
against their own pattern and no fixed threshold decides alone.
"""

from __future__ import annotations

import contextlib
import math
import multiprocessing
import os
from collections.abc import Callable, Iterable, Sequence
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from queue import Empty
from typing import Any

import numpy as np
import pandas as pd

from syncverify.calendar import month_window
from syncverify.masking import mask_taxpayer_ids_in_text
from syncverify.results import CheckResult
from syncverify.synclog.aggregate import Aggregator, lag_bin_value
from syncverify.synclog.errorcodes import classify
from syncverify.synclog.formats import LogFormats, LogInputError, load_formats
from syncverify.synclog.model import (
    AbnormalDay,
    ErrorBurst,
    ErrorClass,
    HourPoint,
    LatencySpike,
    LatencyStats,
    LinkAnalysis,
    MonthAnalysis,
    RestartLoop,
    SlowPeriod,
    Stall,
    TableSummary,
)
from syncverify.synclog.parsers import SYMLINK_SKIPPED, ParseStats, expand_paths, iter_events

PEAK_HOURS = frozenset({9, 10, 11, 14, 15, 16, 17})
_EPOCH = datetime(1970, 1, 1)


@dataclass(frozen=True)
class Settings:
    """Rule thresholds. The robust rules compare with the link's own normal; these only set how
    unusual is unusual and floors that keep tiny numbers from becoming findings."""

    stall_min_minutes: int = 15
    stall_max_chance: float = 1e-7  # a gap this unlikely under the normal pattern is a stall
    stall_backlog_growth: int = 1000  # ... or the backlog grew this much without progress
    burst_gap_minutes: int = 10  # errors closer than this belong to one episode
    burst_min_errors: int = 10
    burst_baseline_factor: float = 5.0  # an episode above 5x the link's median errors per day
    retry_storm_retries: int = 10
    restart_gap_minutes: int = 20
    restart_loop_min: int = 3
    spike_min_samples: int = 3
    spike_min_slow: int = 3  # samples above spike_ratio x normal: one slow batch is not a spike
    spike_score: float = 6.0
    spike_ratio: float = 3.0
    slow_ratio: float = 2.5  # an hour of day whose typical p95 is 2.5x the link's
    abnormal_score: float = 5.0
    abnormal_rel: float = 0.5
    log_timezone: str = "Asia/Shanghai"  # logs write local time; aware anomaly windows convert to it

    def to_dict(self) -> dict[str, Any]:
        return dict(self.__dict__)


def to_datetime(ms: float | int) -> datetime:
    return _EPOCH + timedelta(milliseconds=int(ms))


def _iso_day(minute: int) -> str:
    return to_datetime(minute * 60_000).date().isoformat()


# ---------------------------------------------------------------------------------------------
# reading (optionally in several processes)

Task = tuple[int, str]  # (position of the file in the input, path)

_TASKS: Any = None  # a worker process's task queue (set by _init_worker)


def _aggregate_file(agg: Aggregator, index: int, path: str, formats: LogFormats, time_range: tuple[int, int]) -> ParseStats:
    stats = ParseStats()
    for batch in iter_events([path], formats, stats, time_range):
        agg.add(batch, index)
    return stats


def _drain(
    next_task: Callable[[], Task | None], formats: LogFormats, time_range: tuple[int, int]
) -> tuple[Aggregator, dict[int, ParseStats]]:
    """Aggregate files until there are no more tasks; parse statistics are kept per file so
    that they merge in input order (the first samples of each reason are those of the first
    files, whichever process read them)."""
    agg = Aggregator(time_range)
    stats: dict[int, ParseStats] = {}
    while (task := next_task()) is not None:
        index, path = task
        stats[index] = _aggregate_file(agg, index, path, formats, time_range)
    agg.trim()
    return agg, stats


def _init_worker(tasks: Any) -> None:
    global _TASKS
    _TASKS = tasks


def _worker(formats: LogFormats, time_range: tuple[int, int]) -> tuple[Aggregator, dict[int, ParseStats]]:
    return _drain(_TASKS.get, formats, time_range)


def _merge_stats(into: ParseStats, other: ParseStats) -> None:
    for name in ("lines", "bytes", "events", "blank", "other_events", "out_of_range"):
        setattr(into, name, getattr(into, name) + getattr(other, name))
    for reason, count in other.malformed.items():
        into.add_malformed(reason, count, other.samples.get(reason, []))
    for enc, count in other.encodings.items():
        into.add_encoding(enc, count)
    into.files.extend(other.files)
    into.warnings.extend(other.warnings)


def _read_size(path: Path) -> int:
    """Bytes to parse: the uncompressed size of a gzip file (its trailer holds it modulo 2**32)."""
    size = path.stat().st_size
    try:
        with open(path, "rb") as fh:
            if fh.read(2) != b"\x1f\x8b" or size < 18:
                return size
            fh.seek(-4, os.SEEK_END)
            isize = int.from_bytes(fh.read(4), "little")
    except OSError:
        return size
    return isize if isize >= size else 4 * size


def read_logs(
    paths: Sequence[Path], formats: LogFormats, time_range: tuple[int, int], workers: int | None = None
) -> tuple[Aggregator, ParseStats]:
    """Parse and aggregate files. With ``workers`` > 1, this process and ``workers - 1`` spawned
    ones take files from a shared queue, largest first, so that they finish together whatever
    the mix of sizes and compression; their partial aggregates merge into exactly the result of
    one process (aggregation does not depend on who read what)."""
    sizes = [_read_size(p) for p in paths]
    if workers is None:
        workers = min(2, os.cpu_count() or 1) if sum(sizes) > (256 << 20) else 1
    workers = max(1, min(workers, len(paths)))
    tasks = [(i, str(p)) for i, p in enumerate(paths)]
    if workers == 1:
        pending = iter(tasks)
        agg, per_file = _drain(lambda: next(pending, None), formats, time_range)
    else:
        agg, per_file = _read_in_parallel(tasks, sizes, workers, formats, time_range)
    stats = ParseStats()
    for index in sorted(per_file):
        _merge_stats(stats, per_file[index])
    return agg, stats


def _cancel(queue: Any, helpers: int) -> None:
    """Drop the files nobody has started, so that the helpers stop after their current one."""
    with contextlib.suppress(Empty):
        while True:
            queue.get_nowait()
    for _ in range(helpers):
        queue.put(None)


def _read_in_parallel(
    tasks: list[Task], sizes: list[int], workers: int, formats: LogFormats, time_range: tuple[int, int]
) -> tuple[Aggregator, dict[int, ParseStats]]:
    ctx = multiprocessing.get_context("spawn")  # no fork: pyarrow's thread pools do not survive it
    queue = ctx.Queue()
    for task in sorted(tasks, key=lambda t: -sizes[t[0]]):
        queue.put(task)
    for _ in range(workers):
        queue.put(None)  # one end mark per reader, this process included
    with ProcessPoolExecutor(workers - 1, mp_context=ctx, initializer=_init_worker, initargs=(queue,)) as pool:
        # the helpers start (import) while this process already reads
        futures = [pool.submit(_worker, formats, time_range) for _ in range(workers - 1)]
        try:
            agg, per_file = _drain(queue.get, formats, time_range)
        except BaseException:
            _cancel(queue, workers - 1)
            raise
        for future in futures:
            part, part_stats = future.result()
            agg.merge(part)
            per_file.update(part_stats)
    return agg, per_file


# ---------------------------------------------------------------------------------------------
# helpers


def _percentiles(df: pd.DataFrame, by: str, qs: Sequence[float]) -> pd.DataFrame:
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


def _robust(values: np.ndarray) -> tuple[float, float]:
    values = values[~np.isnan(values)]
    if len(values) == 0:
        return math.nan, math.nan
    med = float(np.median(values))
    return med, float(np.median(np.abs(values - med)))


def _score(value: float, med: float, mad: float, floor: float) -> float:
    return (value - med) / max(1.4826 * mad, floor)


def _runs(mask: np.ndarray) -> list[tuple[int, int]]:
    """[start, end) index pairs of the runs of True in ``mask``."""
    if not mask.any():
        return []
    d = np.diff(np.concatenate([[0], mask.astype(np.int8), [0]]))
    return list(zip(np.flatnonzero(d == 1).tolist(), np.flatnonzero(d == -1).tolist(), strict=True))


def _episodes(minutes: np.ndarray, gap: int) -> list[tuple[int, int]]:
    """Group sorted event minutes into (first index, last index + 1) episodes."""
    if len(minutes) == 0:
        return []
    cuts = np.flatnonzero(np.diff(minutes) > gap) + 1
    bounds = np.concatenate([[0], cuts, [len(minutes)]])
    return list(zip(bounds[:-1].tolist(), bounds[1:].tolist(), strict=True))


def _mask(text: Any) -> str:
    return mask_taxpayer_ids_in_text(str(text)) if text is not None and text == text else ""


# ---------------------------------------------------------------------------------------------
# per link


class _LinkContext:
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


def _stalls(ctx: _LinkContext, s: Settings) -> list[Stall]:
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
    for a, b in _runs(idle):
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


def _hourly(
    ctx: _LinkContext,
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
    q = _percentiles(lag_df, "hour", [0.95]).set_index("hour") if not lag_df.empty else pd.DataFrame()
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


def _latency_stats(lag_df: pd.DataFrame, lag_max: float | None) -> LatencyStats:
    if lag_df.empty:
        return LatencyStats()
    q = _percentiles(lag_df.assign(_all=0), "_all", [0.5, 0.95, 0.99]).iloc[0]
    return LatencyStats(
        samples=int(q["samples"]),
        p50_ms=round(float(q["q0.5"]), 1),
        p95_ms=round(float(q["q0.95"]), 1),
        p99_ms=round(float(q["q0.99"]), 1),
        max_ms=lag_max,
    )


def _slow_samples(lag_df: pd.DataFrame, hours: tuple[int, int], above_ms: float) -> int:
    """Apply events in [first hour, last hour) whose latency bin is above ``above_ms``."""
    if lag_df.empty:
        return 0
    sel = lag_df[(lag_df["hour"] >= hours[0]) & (lag_df["hour"] < hours[1])]
    slow = lag_bin_value(sel["bin"].to_numpy(dtype=np.int64)) >= above_ms
    return int(sel["count"].to_numpy(dtype=np.int64)[slow].sum())


def _latency_spikes(ctx: _LinkContext, frame: pd.DataFrame, h0: int, s: Settings,
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
            med, mad = _robust(sub[:, h])
            if math.isnan(med):
                continue
            normal[sel, h] = med
            score[sel, h] = (sub[:, h] - med) / max(1.4826 * mad, 0.05 * med, 1.0)
    flag = (score >= s.spike_score) & (grid >= s.spike_ratio * normal)
    flat = np.nan_to_num(flag.reshape(-1), nan=0).astype(bool)
    out = []
    for a, b in _runs(flat):
        peak = float(np.nanmax(grid.reshape(-1)[a:b]))
        base = float(np.nanmedian(normal.reshape(-1)[a:b]))
        # A p95 of a handful of samples is their maximum: on a quiet link one slow batch made an
        # "hour 3x slower". A spike needs several slow applies, not one.
        if lag_df is not None and _slow_samples(lag_df, (h0 + a, h0 + b), s.spike_ratio * base) < s.spike_min_slow:
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


def _slow_periods(ctx: _LinkContext, frame: pd.DataFrame, s: Settings) -> tuple[list[SlowPeriod], list[int]]:
    p95 = frame["q0.95"].to_numpy(dtype=np.float64)
    rows = frame["rows"].to_numpy(dtype=np.float64)
    days = len(p95) // 24
    grid = p95[: days * 24].reshape(days, 24)
    rgrid = rows[: days * 24].reshape(days, 24)
    overall, _ = _robust(grid.reshape(-1))
    total_rows = float(np.nansum(rows)) or 1.0
    out: list[SlowPeriod] = []
    flagged: list[int] = []
    if math.isnan(overall) or overall <= 0:
        return out, flagged
    weekday = ~ctx.weekend[:days]
    for h in range(24):
        med, _ = _robust(grid[weekday, h] if weekday.any() else grid[:, h])
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
        med, _ = _robust(grid[sel].reshape(-1))
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


def _error_classes(err: pd.DataFrame) -> list[ErrorClass]:
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
                sample_message=_mask(msg.iloc[0]) if len(msg) else "",
            )
        )
    return sorted(out, key=lambda e: -e.count)


def _error_bursts(ctx: _LinkContext, err: pd.DataFrame, s: Settings) -> list[ErrorBurst]:
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
        for a, b in _episodes(minutes, s.burst_gap_minutes):
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


def _restart_loops(restart: pd.DataFrame, s: Settings) -> list[RestartLoop]:
    out: list[RestartLoop] = []
    if restart.empty:
        return out
    r = restart.groupby("minute").agg(count=("count", "sum"), msg=("msg", "first")).sort_index()
    minutes = np.repeat(r.index.to_numpy(dtype=np.int64), r["count"].to_numpy(dtype=np.int64))
    for a, b in _episodes(minutes, s.restart_gap_minutes):
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
                reason=_mask(reasons.iloc[0]) if len(reasons) else "",
            )
        )
    return out


def _abnormal_days(ctx: _LinkContext, frame: pd.DataFrame, lag_df: pd.DataFrame, h0: int, s: Settings) -> list[AbnormalDay]:
    days = ctx.days
    metrics: dict[str, np.ndarray] = {
        "rows": ctx.rows.reshape(days, 1440).sum(axis=1),
        "errors": ctx.errors.reshape(days, 1440).sum(axis=1),
        "restarts": ctx.restarts.reshape(days, 1440).sum(axis=1),
    }
    if not lag_df.empty:
        d = lag_df.assign(day=(lag_df["hour"] - h0) // 24)
        q = _percentiles(d, "day", [0.95]).set_index("day")
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
            med, mad = _robust(base)
            if math.isnan(med):
                continue
            floor = max(floors[name], 0.1 * abs(med))
            for day in np.flatnonzero(sel & covered):
                v = float(values[day])
                if math.isnan(v):
                    continue
                z = _score(v, med, mad, floor)
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


def _error_matrix(ctx: _LinkContext) -> dict[str, Any]:
    grid = ctx.errors.reshape(ctx.days, 24, 60).sum(axis=2).astype(int)
    return {
        "days": [d.date().isoformat() for d in ctx.day_dates],
        "hours": list(range(24)),
        "counts": grid.tolist(),
    }


def _table_summaries(hour_df: pd.DataFrame, lag_df: pd.DataFrame) -> list[TableSummary]:
    out = []
    q = _percentiles(lag_df, "table", [0.5, 0.95, 0.99]).set_index("table") if not lag_df.empty else None
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


def analyse_link(
    link: str,
    frames: dict[str, pd.DataFrame],
    m0: int,
    n_minutes: int,
    settings: Settings,
    source: str | None = None,
    end: int | None = None,
) -> LinkAnalysis:
    """All per-link figures from the aggregated frames (already filtered to this link);
    ``end``: minutes from the month's start where the analysed window ends (default its end)."""
    minute, hour_df, lag_df = frames["minute"], frames["hour"], frames["lag"]
    err, restart = frames["error"], frames["restart"]
    ctx = _LinkContext(link, minute, m0, n_minutes, end)
    h0, n_hours = m0 // 60, n_minutes // 60
    hourly, frame = _hourly(ctx, hour_df, lag_df, minute, h0, n_hours)
    lag_max = float(minute["lag_max"].max()) if minute["lag_max"].notna().any() else None
    bl = minute.dropna(subset=["backlog_max"])
    backlog_peak: dict[str, Any] = {"value": None, "at": None}
    if not bl.empty:
        top = bl.loc[bl["backlog_max"].idxmax()]
        backlog_peak = {
            "value": int(top["backlog_max"]),
            "at": to_datetime(int(top["minute"]) * 60_000).isoformat(),
        }
    slow, flagged = _slow_periods(ctx, frame, settings)
    volume = {
        "applies": int(ctx.applies.sum()),
        "rows": int(ctx.rows.sum()),
        "ins": int(hour_df["ins"].sum()),
        "upd": int(hour_df["upd"].sum()),
        "del": int(hour_df["del"].sum()),
        "errors": int(ctx.errors.sum()),
        "restarts": int(ctx.restarts.sum()),
        "status_lines": int(minute["statuses"].sum()),
    }
    return LinkAnalysis(
        link=link,
        source=source,
        volume=volume,
        tables=_table_summaries(hour_df, lag_df),
        latency=_latency_stats(lag_df, lag_max),
        hourly=hourly,
        backlog_peak=backlog_peak,
        stalls=_stalls(ctx, settings),
        error_classes=_error_classes(err),
        error_bursts=_error_bursts(ctx, err, settings),
        error_matrix=_error_matrix(ctx),
        restarts=volume["restarts"],
        restart_loops=_restart_loops(restart, settings),
        latency_spikes=_latency_spikes(ctx, frame, h0, settings, lag_df),
        slow_periods=slow,
        slow_hours=flagged,
        abnormal_days=_abnormal_days(ctx, frame, lag_df, h0, settings),
    )


def month_range_ms(month: str) -> tuple[int, int]:
    start, end = month_window(month)
    return (int((start - _EPOCH).total_seconds() * 1000), int((end - _EPOCH).total_seconds() * 1000))


def analyse(
    paths_or_dir: str | Path | Iterable[str | Path],
    month: str,
    formats: LogFormats | None = None,
    anomalies: Iterable[CheckResult] | None = None,
    *,
    settings: Settings | None = None,
    workers: int | None = None,
    window_end: datetime | None = None,
    expected_links: Iterable[str] | None = None,
) -> MonthAnalysis:
    """Analyse a month of sync logs: per-link figures, findings with actions, and (when
    ``anomalies`` are given) which log incidents explain which consistency anomalies.

    Lines outside ``month`` are counted (``parse_stats.out_of_range``) and skipped. Streams the
    files, so memory does not grow with their size.

    ``window_end`` (log-local time): where the analysed window ends; default the month's end, or
    for a month whose logs stop earlier (a month in progress) the hour after the last line of any
    link. Stalls, silent logs and error bursts that reach it are reported as still open.
    ``expected_links``: the links that should have logs (the catalog's); each one without a line
    in the month becomes a ``no_logs`` finding, and ``coverage`` lists who had logs.
    """
    from syncverify.synclog.correlate import correlate
    from syncverify.synclog.findings import build_findings

    settings = settings or Settings()
    formats = formats or load_formats()
    time_range = month_range_ms(month)   # a bad month fails before any file is read
    skipped: list[Path] = []
    paths = expand_paths(paths_or_dir, skipped)
    if not paths:
        named = f" (symbolic links skipped: {', '.join(str(p) for p in skipped)})" if skipped else ""
        raise LogInputError(f"no log files under {paths_or_dir}{named}")
    agg, stats = read_logs(paths, formats, time_range, workers)
    for link in skipped:
        stats.skip_file(link, SYMLINK_SKIPPED)
    frames = agg.frames()
    m0 = time_range[0] // 60_000
    n_minutes = (time_range[1] - time_range[0]) // 60_000
    sources: dict[str, str | None] = {}
    for f in stats.files:
        sources.setdefault(Path(f.path).name, f.source)
    end = _window_end(frames["minute"], m0, n_minutes, window_end)
    links: list[LinkAnalysis] = []
    link_ids = sorted(frames["minute"]["link"].dropna().unique().tolist(), key=str.lower)
    for link in link_ids:
        sub = {name: df[df["link"] == link] for name, df in frames.items()}
        source = next((src for name, src in sources.items() if src and link in name), None)
        links.append(analyse_link(link, sub, m0, n_minutes, settings, source, end))
    end_time = to_datetime((m0 + end) * 60_000)
    coverage = _coverage(link_ids, expected_links)
    findings = build_findings(links, settings, window_end=end_time, coverage=coverage, month=month)
    correlations = correlate(list(anomalies or []), findings, links, settings.log_timezone)
    return MonthAnalysis(
        month=month,
        generated_at=datetime.now().replace(microsecond=0),
        links=links,
        findings=findings,
        correlations=correlations,
        parse_stats=stats,
        settings=settings.to_dict(),
        window_end=end_time,
        coverage=coverage,
    )


def _window_end(minute: pd.DataFrame, m0: int, n_minutes: int, given: datetime | None) -> int:
    """The analysed window's end in minutes from the month's start (see :func:`analyse`)."""
    if given is not None:
        return max(0, min(n_minutes, int((given - _EPOCH).total_seconds() // 60) - m0))
    seen = minute["minute"]   # a row per minute with any line
    if seen.empty:
        return n_minutes
    last = int(seen.max()) - m0
    if last >= n_minutes - 60:
        return n_minutes
    return min(n_minutes, (last // 60 + 1) * 60)   # a month in progress: up to the logs' last hour


def _coverage(with_logs: list[str], expected: Iterable[str] | None) -> dict[str, Any]:
    """Which links had logs and, when the expected links are known, which had none."""
    have = {link.lower() for link in with_logs}
    out: dict[str, Any] = {"links_with_logs": list(with_logs)}
    if expected is not None:
        wanted = list(dict.fromkeys(str(e) for e in expected))
        out["expected"] = len(wanted)
        out["links_without_logs"] = [e for e in wanted if e.lower() not in have]
    return out
