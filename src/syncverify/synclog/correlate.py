"""Which log incidents explain which consistency anomalies of the same link and period.

An anomaly (a :class:`~syncverify.results.CheckResult` with outcome INCONSISTENT) is explained by
the findings of its link whose time overlaps the checked window and which concern its table (or
the whole link: stalls, restart loops, latency spikes). Failed batch sizes give the number of
rows at risk, to compare with the rows found missing.
"""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

from syncverify.masking import mask_taxpayer_ids_in_text
from syncverify.results import CheckResult, Outcome
from syncverify.synclog.model import Correlation, Finding, LinkAnalysis

_EXPLAINING = ("error_burst", "stall", "restart_loop", "latency_spike")


def _norm_table(name: str | None) -> str:
    return (name or "").split(".")[-1].strip('"`').lower()


def _naive(value: datetime | None, log_tz: str) -> datetime | None:
    """Anomaly windows in the logs' wall-clock time: an aware time is converted to ``log_tz``
    (the logs write local time), a naive one is taken as already local."""
    if value is None or value.tzinfo is None:
        return value
    return value.astimezone(ZoneInfo(log_tz)).replace(tzinfo=None)


def _describe(f: Finding) -> str:
    span = f"{f.start:%m-%d %H:%M}–{f.end:%H:%M}" if f.start and f.end else ""
    ev = f.evidence
    if f.kind == "error_burst":
        return (
            f"{ev['errors']} {ev['code']} errors on {', '.join(ev['tables'])} {span} "
            f"({ev['rows_in_failed_batches']} rows in failed batches)"
        )
    if f.kind == "stall":
        return f"a {ev['minutes']}-minute stall {span} (backlog peak {ev.get('backlog_peak')})"
    if f.kind == "restart_loop":
        return f"a restart loop of {ev['restarts']} restarts {span}"
    return f"latency p95 {ev['peak_p95_ms']:.0f} ms ({ev['ratio']:.0f}x normal) {span}"


def correlate(
    anomalies: list[CheckResult],
    findings: list[Finding],
    links: list[LinkAnalysis],
    log_tz: str = "Asia/Shanghai",
) -> list[Correlation]:
    """One :class:`Correlation` per anomaly; findings get the check ids they explain."""
    out: list[Correlation] = []
    known_links = {la.link.lower() for la in links}
    for res in anomalies:
        if res.outcome is not Outcome.INCONSISTENT:
            continue
        link = (res.link_id or "").lower()
        ws, we = _naive(res.window_start, log_tz), _naive(res.window_end, log_tz)
        table = _norm_table(res.table)
        hits: list[Finding] = []
        for f in findings:
            if f.kind not in _EXPLAINING or f.link.lower() != link or f.start is None or f.end is None:
                continue
            if (ws is not None and f.end < ws) or (we is not None and f.start >= we):
                continue
            tables = [_norm_table(t) for t in f.evidence.get("tables", [])] or [_norm_table(f.table)]
            if f.kind == "error_burst" and table not in tables:
                continue
            hits.append(f)
        at_risk = sum(int(f.evidence.get("rows_in_failed_batches", 0)) for f in hits if f.kind == "error_burst")
        for f in hits:
            if res.check_id and res.check_id not in f.explains:
                f.explains.append(res.check_id)
        what = f"{res.missing_count} missing, {res.extra_count} extra, {res.changed_count} changed rows"
        if hits:
            causes = "; ".join(_describe(f) for f in hits)
            cover = ""
            if at_risk and res.missing_count:
                cover = (
                    " — enough failed rows to account for all missing rows"
                    if at_risk >= res.missing_count
                    else f" — failed batches account for up to {at_risk} of the {res.missing_count} missing rows"
                )
            text = f"{what} in {res.table} on {res.link_id}: explained by {causes}{cover}."
        elif link not in known_links:
            text = f"{what} in {res.table} on {res.link_id}: no logs of this link were analysed."
        else:
            text = (
                f"{what} in {res.table} on {res.link_id}: no log incident of this link in the window; "
                "look for a cause outside the replication (source-side deletes, a routing rule, "
                "manual edits)."
            )
        out.append(
            Correlation(
                check_id=res.check_id,
                kind=res.kind.value,
                link=res.link_id,
                table=res.table,
                window_start=ws,
                window_end=we,
                missing=res.missing_count,
                extra=res.extra_count,
                changed=res.changed_count,
                explained_by=[f.id for f in hits],
                rows_at_risk=at_risk,
                explanation=mask_taxpayer_ids_in_text(text),
            )
        )
    return out
