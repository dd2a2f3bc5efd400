"""Monthly analysis per link and table: read the logs, run the detectors per link, build the
findings and correlate them with consistency anomalies.

Reading (one process or several) is :mod:`.parallel`; the detectors, one module per family, are in
:mod:`.detectors`; the rules that turn their episodes into findings with actions are :mod:`.findings`.
Normal is learnt from the month itself with robust statistics (median and MAD over comparable
days, i.e. weekdays vs weekends at the same hour), so a busy link and a quiet one are each judged
against their own pattern and no fixed threshold decides alone.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from pathlib import Path
from typing import Any

import pandas as pd

from syncverify.results import CheckResult
from syncverify.synclog.correlate import correlate
from syncverify.synclog.detectors import abnormal, bottlenecks, failures, figures
from syncverify.synclog.detectors.context import LinkContext
from syncverify.synclog.findings import build_findings
from syncverify.synclog.formats import LogFormats, LogInputError, load_formats
from syncverify.synclog.model import LinkAnalysis, MonthAnalysis
from syncverify.synclog.parallel import read_logs
from syncverify.synclog.parsers.files import SYMLINK_SKIPPED, expand_paths
from syncverify.synclog.settings import Settings
from syncverify.synclog.timebase import EPOCH, month_range_ms, to_datetime


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
    ctx = LinkContext(link, minute, m0, n_minutes, end)
    h0, n_hours = m0 // 60, n_minutes // 60
    hourly, frame = figures.hourly_series(ctx, hour_df, lag_df, minute, h0, n_hours)
    lag_max = float(minute["lag_max"].max()) if minute["lag_max"].notna().any() else None
    bl = minute.dropna(subset=["backlog_max"])
    backlog_peak: dict[str, Any] = {"value": None, "at": None}
    if not bl.empty:
        top = bl.loc[bl["backlog_max"].idxmax()]
        backlog_peak = {
            "value": int(top["backlog_max"]),
            "at": to_datetime(int(top["minute"]) * 60_000).isoformat(),
        }
    slow, flagged = bottlenecks.slow_periods(ctx, frame, settings)
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
        tables=figures.table_summaries(hour_df, lag_df),
        latency=figures.latency_stats(lag_df, lag_max),
        hourly=hourly,
        backlog_peak=backlog_peak,
        stalls=failures.stalls(ctx, settings),
        error_classes=failures.error_classes(err),
        error_bursts=failures.error_bursts(ctx, err, settings),
        error_matrix=figures.error_matrix(ctx),
        restarts=volume["restarts"],
        restart_loops=failures.restart_loops(restart, settings),
        latency_spikes=bottlenecks.latency_spikes(ctx, frame, h0, settings, lag_df),
        slow_periods=slow,
        slow_hours=flagged,
        abnormal_days=abnormal.abnormal_days(ctx, frame, lag_df, h0, settings),
    )


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
        return max(0, min(n_minutes, int((given - EPOCH).total_seconds() // 60) - m0))
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
