"""Rule-based findings with evidence and a concrete action, from the per-link analysis.

A link whose month looks like its own normal gets no finding: every rule below fires on an
episode (burst, stall, loop, spike, recurring slow hours, abnormal day) that the analysis
detected against the link's normal, never on a level alone.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from syncverify.masking import mask_taxpayer_ids_in_text
from syncverify.synclog.errorcodes import classify
from syncverify.synclog.model import Finding, LinkAnalysis
from syncverify.synclog.settings import Settings

_RANK = {"critical": 0, "high": 1, "medium": 2, "low": 3}


def _t(value: datetime | None) -> str:
    return value.strftime("%m-%d %H:%M") if value else "?"


def open_at(value: datetime, zone: str) -> str:
    """``still open at 10-31 24:00 (Asia/Shanghai)``: a window ending at midnight is the last
    day's 24:00, the way an operator reads "the end of the month"."""
    if (value.hour, value.minute) == (0, 0):
        stamp = f"{(value - timedelta(days=1)).strftime('%m-%d')} 24:00"
    else:
        stamp = value.strftime("%m-%d %H:%M")
    return f"still open at {stamp} ({zone})"


def _fid(kind: str, link: str, start: datetime | None, extra: str = "") -> str:
    stamp = start.strftime("%Y%m%dT%H%M") if start else "month"
    return f"{kind}:{link}:{stamp}" + (f":{extra}" if extra else "")


def _masked(finding: Finding) -> Finding:
    finding.title = mask_taxpayer_ids_in_text(finding.title)
    finding.action = mask_taxpayer_ids_in_text(finding.action)
    finding.evidence = _mask_obj(finding.evidence)
    return finding


def _mask_obj(value: Any) -> Any:
    if isinstance(value, str):
        return mask_taxpayer_ids_in_text(value)
    if isinstance(value, dict):
        return {k: _mask_obj(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_mask_obj(v) for v in value]
    return value


def _link_findings(la: LinkAnalysis, settings: Settings, window_end: datetime | None = None) -> list[Finding]:
    """Failure modes first, then bottlenecks; an abnormal day only where no incident above explains it."""
    out = failure_mode_findings(la, settings, window_end) + bottleneck_findings(la)
    out.extend(abnormal_day_findings(la, explained=out))
    return out


# ---------------------------------------------------------------------------------------------
# failure modes


def failure_mode_findings(la: LinkAnalysis, settings: Settings, window_end: datetime | None = None) -> list[Finding]:
    """Error bursts, stalls and restart loops of one link."""
    open_marks = _OpenMarks(window_end, settings.log_timezone)
    return (
        _error_burst_findings(la, settings, open_marks)
        + _stall_findings(la, settings, open_marks)
        + _restart_loop_findings(la)
    )


class _OpenMarks:
    """How an episode still open at the window's end is said: in the title and in the evidence."""

    def __init__(self, window_end: datetime | None, zone: str) -> None:
        self.window_end, self.zone = window_end, zone

    def evidence(self, is_open: bool) -> dict[str, Any]:
        if not is_open or self.window_end is None:
            return {}
        return {"open": True, "open_at": self.window_end.isoformat(), "time_zone": self.zone}

    def title(self, is_open: bool) -> str | None:
        """``still open at 10-31 24:00 (Asia/Shanghai)``, or None when the episode ended."""
        return open_at(self.window_end, self.zone) if is_open and self.window_end else None


def _error_burst_findings(la: LinkAnalysis, settings: Settings, open_marks: _OpenMarks) -> list[Finding]:
    out: list[Finding] = []
    link = la.link
    samples = {e.code: e.sample_message for e in la.error_classes}
    for b in la.error_bursts:
        table = b.tables[0] if len(b.tables) == 1 else None
        category, action = classify(b.code)
        storm = b.retries >= settings.retry_storm_retries and b.retries >= 0.5 * b.count
        minutes = max(1, round((b.end - b.start).total_seconds() / 60))
        severity = (
            "critical"
            if (
                category in ("unique_key_conflict", "value_too_large", "not_null_violation", "space_exhausted")
                and b.count >= 50
            )
            or b.count >= 500
            else "high"
        )
        still_open = open_marks.title(b.open)
        title = (
            f"{link}: burst of {b.count} {b.code} errors ({category}) on {', '.join(b.tables) or 'the link'} "
            f"{_t(b.start)}–{_t(b.end)}" + (" with a retry storm" if storm else "")
            + (f", {still_open}" if still_open else "")
        )
        out.append(
            Finding(
                id=_fid("error_burst", link, b.start, b.code),
                kind="error_burst",
                severity=severity,
                link=link,
                table=table,
                start=b.start,
                end=open_marks.window_end if still_open else b.end,
                title=title,
                evidence={
                    "code": b.code,
                    "category": category,
                    "errors": b.count,
                    "minutes": minutes,
                    "per_minute_peak": b.per_minute_peak,
                    "baseline_errors_per_day": b.baseline_per_day,
                    "tables": b.tables,
                    "retries": b.retries,
                    "retry_max": b.retry_max,
                    "retry_storm": storm,
                    "rows_in_failed_batches": b.rows_in_failed_batches,
                    "sample_message": samples.get(b.code, ""),
                    **({"last_error": b.end.isoformat()} if b.open else {}),
                    **open_marks.evidence(b.open),
                },
                action=action.format(table=", ".join(b.tables) or "the link's tables")
                + (" Cap the retries with a back-off: the retry storm adds load while the cause persists." if storm else ""),
            )
        )
    return out


def _stall_findings(la: LinkAnalysis, settings: Settings, open_marks: _OpenMarks) -> list[Finding]:
    out: list[Finding] = []
    link = la.link
    for s in la.stalls:
        severity = "critical" if s.minutes >= 240 else "high" if s.minutes >= 60 else "medium"
        grew = f", backlog grew from {s.backlog_start or 0} to {s.backlog_peak}" if s.backlog_peak is not None else ""
        if s.reason == "log_silent":
            what = f"log silent since {_t(s.last_line or s.start)}, no rows applied"
        else:
            what = f"no rows applied{grew}"
        still_open = open_marks.title(s.open)
        span = f"since {_t(s.start)}, {still_open}" if still_open else f"{_t(s.start)}–{_t(s.end)}"
        out.append(
            Finding(
                id=_fid("stall", link, s.start),
                kind="stall",
                severity=severity,
                link=link,
                table=None,
                start=s.start,
                end=s.end,
                title=f"{link}: stalled {s.minutes} min {span} ({what})",
                evidence={
                    "minutes": s.minutes,
                    "expected_active_minutes": s.expected_active_minutes,
                    "chance_under_normal_pattern": s.chance,
                    "backlog_start": s.backlog_start,
                    "backlog_peak": s.backlog_peak,
                    "reason": s.reason,
                    **({"last_line": s.last_line.isoformat()} if s.last_line else {}),
                    **open_marks.evidence(s.open),
                },
                action=(
                    f"Check the {link} apply/replicat process and its source capture for {_t(s.start)}–"
                    f"{_t(s.end)} (blocked session, lost connection, paused task); add an alert on "
                    f"'no apply for {settings.stall_min_minutes} min while backlog > 0', and verify the "
                    f"rows written in that window reached the target."
                ),
            )
        )
    return out


def _restart_loop_findings(la: LinkAnalysis) -> list[Finding]:
    link = la.link
    return [
        Finding(
            id=_fid("restart_loop", link, r.start),
            kind="restart_loop",
            severity="high",
            link=link,
            table=None,
            start=r.start,
            end=r.end,
            title=f"{link}: restart loop, {r.restarts} restarts {_t(r.start)}–{_t(r.end)}",
            evidence={
                "restarts": r.restarts,
                "median_gap_minutes": r.median_gap_minutes,
                "reason": r.reason,
            },
            action=(
                f"Investigate the restart loop of {link}: read the process log around {_t(r.start)} "
                "for the "
                f"exit cause ({r.reason or 'no reason logged'}), check memory limits / OOM kills and the "
                f"checkpoint; stop automatic restarts after 3 failures so the loop raises an alert "
                f"instead of re-applying the same batch."
            ),
        )
        for r in la.restart_loops
    ]


# ---------------------------------------------------------------------------------------------
# bottlenecks


def bottleneck_findings(la: LinkAnalysis) -> list[Finding]:
    """Latency spikes, and recurring slow hours of one link."""
    return _latency_spike_findings(la) + _slow_hours_findings(la)


def _latency_spike_findings(la: LinkAnalysis) -> list[Finding]:
    out: list[Finding] = []
    link = la.link
    for sp in la.latency_spikes:
        severity = "high" if sp.ratio >= 10 else "medium"
        where = "during the business peak" if sp.in_peak_hours else "off-peak"
        out.append(
            Finding(
                id=_fid("latency_spike", link, sp.start),
                kind="latency_spike",
                severity=severity,
                link=link,
                table=None,
                start=sp.start,
                end=sp.end,
                title=(
                    f"{link}: replication latency p95 {sp.peak_p95_ms:.0f} ms {_t(sp.start)}–{_t(sp.end)}, "
                    f"{sp.ratio:.0f}x its normal {sp.normal_p95_ms:.0f} ms ({where})"
                ),
                evidence={
                    "hours": sp.hours,
                    "peak_p95_ms": sp.peak_p95_ms,
                    "normal_p95_ms": sp.normal_p95_ms,
                    "ratio": sp.ratio,
                    "in_peak_hours": sp.in_peak_hours,
                },
                action=(
                    (
                        "Move batch jobs (bulk imports, statistics, reconciliations) that hit the link's "
                        "source or target off the 09:00–11:00 / 14:00–17:00 peak, and raise the link's apply "
                        "parallelism for peak hours."
                        if sp.in_peak_hours
                        else "Check what ran at that time on the source/target (backups, batch jobs) "
                        "and schedule it apart from the link's busy hours."
                    )
                    + f" Confirm the rows of {_t(sp.start)}–{_t(sp.end)} arrived within the grace lag."
                ),
            )
        )
    return out


def _slow_hours_findings(la: LinkAnalysis) -> list[Finding]:
    """One ``bottleneck`` finding for the hours of day that are slow on most weekdays."""
    if not la.slow_hours:
        return []
    link = la.link
    hours = sorted(la.slow_hours)
    periods = {p.value: p for p in la.slow_periods if p.period == "hour"}
    worst = max((periods[h] for h in hours if h in periods), key=lambda p: p.ratio)
    share = sum(periods[h].rows_share for h in hours if h in periods)
    return [
        Finding(
            id=_fid("bottleneck", link, None, "hours"),
            kind="bottleneck",
            severity="medium",
            link=link,
            table=None,
            start=None,
            end=None,
            title=(
                f"{link}: recurring slow hours {', '.join(f'{h:02d}:00' for h in hours)} "
                f"(typical p95 {worst.p95_ms:.0f} ms, {worst.ratio:.1f}x the link's "
                f"{worst.link_p95_ms:.0f} ms)"
            ),
            evidence={
                "hours": hours,
                "worst_hour": worst.value,
                "ratio": worst.ratio,
                "rows_share": round(share, 3),
            },
            action=(
                "Raise the link's apply parallelism (or split its largest tables into their own apply "
                "group) for these hours and move batch jobs off them; they carry "
                f"{share:.0%} of the month's rows."
            ),
        )
    ]


# ---------------------------------------------------------------------------------------------
# abnormal behaviour


def abnormal_day_findings(la: LinkAnalysis, explained: list[Finding]) -> list[Finding]:
    """Abnormal days of one link, except days that an incident in ``explained`` overlaps."""
    out: list[Finding] = []
    link = la.link
    covered = [(f.start, f.end) for f in explained if f.start and f.end]
    for day in la.abnormal_days:
        start = datetime.fromisoformat(day.day)
        end = start.replace(hour=23, minute=59)
        if any(a is not None and b is not None and a <= end and b >= start for a, b in covered):
            continue  # the day is already explained by an incident finding
        out.append(
            Finding(
                id=_fid("abnormal_day", link, start, day.metric),
                kind="abnormal_day",
                severity="low",
                link=link,
                table=None,
                start=start,
                end=end,
                title=(
                    f"{link}: {day.day} {day.metric} {day.value:g} against a normal of {day.median:g} "
                    f"(robust z {day.score:+.1f})"
                ),
                evidence=day.to_dict(),
                action=(f"Review {link} on {day.day}: compare with the source's activity that day and the run log."),
            )
        )
    return out


# ---------------------------------------------------------------------------------------------
# coverage and the whole month


def coverage_findings(coverage: dict[str, Any], month: str | None) -> list[Finding]:
    """A link the catalog expects and whose month has no log line at all: nothing can explain
    its anomalies or show it stalled, which the report must say instead of staying silent."""
    out = []
    for link in coverage.get("links_without_logs") or []:
        out.append(Finding(
            id=_fid("no_logs", link, None), kind="no_logs", severity="medium", link=link, table=None,
            start=None, end=None,
            title=f"{link}: no sync-log lines{f' in {month}' if month else ''} (no log file of this link was read)",
            evidence={"month": month, "links_with_logs": len(coverage.get("links_with_logs") or []),
                      "links_expected": coverage.get("expected")},
            action=(f"Collect the logs of {link} (its sync process or consumer application) into the sync-log "
                    "folder, or name their layout in checks/synclog.yaml: without them no stall, error or "
                    "restart of this link can be found or explain its anomalies."),
        ))
    return out


def build_findings(links: list[LinkAnalysis], settings: Settings, *, window_end: datetime | None = None,
                   coverage: dict[str, Any] | None = None, month: str | None = None) -> list[Finding]:
    """Every finding of every link, most severe first, taxpayer ids masked. ``window_end``:
    where the analysed window ended (episodes reaching it are said to be still open)."""
    out: list[Finding] = []
    for la in links:
        out.extend(_link_findings(la, settings, window_end))
    out.extend(coverage_findings(coverage or {}, month))
    out.sort(key=lambda f: (_RANK[f.severity], f.link.lower(), f.start or datetime.min))
    return [_masked(f) for f in out]
