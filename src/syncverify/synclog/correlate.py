"""Which log incidents explain which consistency anomalies of the same link and period.

An anomaly (a :class:`~syncverify.results.CheckResult` with outcome INCONSISTENT) is matched
against the findings of its link whose time overlaps the checked window and which concern its
table: error bursts name their tables and must hit the anomaly's table; stalls, restart loops and
latency spikes concern the whole link; a redelivery finding concerns the tables it names, or the
whole link when it names none. Time overlap alone is not enough: each kind of difference of the
anomaly is explained separately, and only by the finding kinds that can produce it.

====================  ===========================================  ===================================
difference            explained by (finding kind)                  why / why not
====================  ===========================================  ===================================
``missing``           ``error_burst`` (on the table, any error),   a failed batch, a stalled apply or
                      ``stall``, ``restart_loop``                  a crashing one loses rows
``extra``             ``redelivery``                               only a replay of old messages or
                                                                   batches writes rows the source no
                                                                   longer has; a stall writes nothing,
                                                                   a restart resumes at its checkpoint
                                                                   and replays in order (at worst
                                                                   duplicates, see below)
``changed``           ``error_burst`` on the table whose error     truncation / out-of-range values
                      alters values (class ``value_too_large``:    stored altered; other errors reject
                      ORA-12899, 1406 "data too long", 22001, …,   the row (missing), latency only
                      or a message saying "data too long" /        delays it
                      "truncat…")
``duplicate``         ``restart_loop``, ``redelivery``             the same batch or message applied
                                                                   twice
``in_flight``         ``latency_spike``, ``stall``                 rows late, converged on
                                                                   confirmation
====================  ===========================================  ===================================

Bottlenecks and abnormal days explain nothing (no time window of their own / no mechanism).
No detector emits ``redelivery`` findings yet: the kind is part of the rules so that one plugs in
by emitting findings with ``kind="redelivery"`` (optionally ``evidence["tables"]``).
A backlog anomaly (``kafka_backlog``, no row counts) is a rows-in-flight difference.

A category with rows and no explaining finding is listed in ``Correlation.unexplained`` and the
text says "no explanation found in the logs" for it. The rows in failed batches of the error
bursts that explain the anomaly give ``rows_at_risk``, compared with the rows found missing.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from datetime import datetime
from zoneinfo import ZoneInfo

from syncverify.calendar import BUREAU_TZ
from syncverify.masking import mask_taxpayer_ids_in_text
from syncverify.results import CheckKind, CheckResult, Outcome
from syncverify.synclog.errorcodes import classify
from syncverify.synclog.model import Correlation, Finding, LinkAnalysis

#: The kinds of difference of a check result, in the order they are reported.
CATEGORIES = ("missing", "extra", "changed", "duplicate", "in_flight")

#: difference category -> finding kinds that can explain it (``changed`` additionally needs an
#: error burst whose error alters values, see :func:`alters_values`).
CAUSE_RULES: dict[str, tuple[str, ...]] = {
    "missing": ("error_burst", "stall", "restart_loop"),
    "extra": ("redelivery",),
    "changed": ("error_burst",),
    "duplicate": ("restart_loop", "redelivery"),
    "in_flight": ("latency_spike", "stall"),
}

#: Error classes (``errorcodes.py``) whose errors can store a value altered (truncated, clamped).
VALUE_ALTERING_CLASSES = ("value_too_large",)
_VALUE_ALTERING_TEXT = re.compile(r"data too long|truncat", re.IGNORECASE)

_EXPLAINING = frozenset(k for kinds in CAUSE_RULES.values() for k in kinds)

_LABEL = {
    "missing": "missing rows",
    "extra": "extra rows",
    "changed": "changed rows",
    "duplicate": "duplicate keys",
    "in_flight": "rows in flight",
}
_KIND_LABEL = {
    "error_burst": "error burst",
    "stall": "stall",
    "restart_loop": "restart loop",
    "latency_spike": "latency spike",
    "redelivery": "redelivery",
}
# where to look when the logs do not explain a kind of difference
_ELSEWHERE = {
    "missing": "source rows not captured (a filter, a routing rule), deletes on the target",
    "extra": "rows written on the target directly, a routing rule sending rows here, source deletes not captured",
    "changed": "manual edits or triggers on the target, a column mapping, updates not captured",
    "duplicate": "a missing unique key on the target, writes on both sides",
    "in_flight": "replication lag below the spike threshold",
}


def _norm_table(name: str | None) -> str:
    return (name or "").split(".")[-1].strip('"`').lower()


def _naive(value: datetime | None, log_tz: str) -> datetime | None:
    """Anomaly windows in the logs' wall-clock time: an aware time is converted to ``log_tz``
    (the logs write local time), a naive one is taken as already local."""
    if value is None or value.tzinfo is None:
        return value
    return value.astimezone(ZoneInfo(log_tz)).replace(tzinfo=None)


def alters_values(finding: Finding) -> bool:
    """Whether an error burst's error can store a value altered (truncation, numeric overflow)
    rather than reject the row: its class is ``value_too_large`` or its message says so."""
    if finding.kind != "error_burst":
        return False
    ev = finding.evidence
    category = ev.get("category") or classify(str(ev.get("code") or ""))[0]
    if category in VALUE_ALTERING_CLASSES:
        return True
    return bool(_VALUE_ALTERING_TEXT.search(str(ev.get("sample_message") or "")))


def can_explain(finding: Finding, category: str) -> bool:
    """Whether a finding of this kind can cause this kind of difference (the rule table)."""
    if finding.kind not in CAUSE_RULES.get(category, ()):
        return False
    return category != "changed" or alters_values(finding)


def _concerns(f: Finding, link: str, table: str, ws: datetime | None, we: datetime | None) -> bool:
    """Same link, time overlapping the window, and the anomaly's table (error bursts always name
    theirs; other kinds concern the whole link unless they name tables)."""
    if f.kind not in _EXPLAINING or f.link.lower() != link or f.start is None or f.end is None:
        return False
    if (ws is not None and f.end < ws) or (we is not None and f.start >= we):
        return False
    named = [_norm_table(t) for t in f.evidence.get("tables") or []] or ([_norm_table(f.table)] if f.table else [])
    if f.kind == "error_burst" or named:
        return table in named
    return True


def _describe(f: Finding) -> str:
    span = f"{f.start:%m-%d %H:%M}–{f.end:%H:%M}" if f.start and f.end else ""
    ev = f.evidence
    if f.kind == "error_burst":
        return (
            f"{ev.get('errors')} {ev.get('code')} errors on {', '.join(ev.get('tables') or [])} {span} "
            f"({ev.get('rows_in_failed_batches', 0)} rows in failed batches)"
        )
    if f.kind == "stall":
        if ev.get("open") and f.start:
            span = f"since {f.start:%m-%d %H:%M}, still open at the end of the analysed window"
        return f"a {ev.get('minutes')}-minute stall {span} (backlog peak {ev.get('backlog_peak')})"
    if f.kind == "restart_loop":
        return f"a restart loop of {ev.get('restarts')} restarts {span}"
    if f.kind == "latency_spike":
        return f"latency p95 {ev.get('peak_p95_ms', 0):.0f} ms ({ev.get('ratio', 0):.0f}x normal) {span}"
    return f"{_KIND_LABEL.get(f.kind, f.kind)} {span}".strip() + (f" ({f.title})" if f.title else "")


def _counts(res: CheckResult) -> dict[str, int]:
    counts = {
        "missing": res.missing_count,
        "extra": res.extra_count,
        "changed": res.changed_count,
        "duplicate": res.duplicate_count,
        "in_flight": res.in_flight_count,
    }
    if res.kind is CheckKind.KAFKA_BACKLOG and not any(counts.values()):
        counts["in_flight"] = -1  # a backlog: rows in flight, number not counted
    return counts


def explain(
    result: CheckResult,
    findings: list[Finding],
    log_tz: str = BUREAU_TZ.key,
    *,
    analysed_links: Iterable[str] | None = None,
) -> Correlation:
    """The log explanation of one anomaly, per kind of difference (pure: findings are not changed).

    ``findings`` may hold any links and times; only those of the anomaly's link, window and table
    that can produce a kind of difference explain it (see the module's rule table).
    ``analysed_links``: the links whose logs were read; when given and the anomaly's link is not
    among them the text says so (``None``: the link is taken as analysed).
    """
    link = (result.link_id or "").lower()
    ws, we = _naive(result.window_start, log_tz), _naive(result.window_end, log_tz)
    table = _norm_table(result.table)
    candidates = [f for f in findings if _concerns(f, link, table, ws, we)]
    counts = _counts(result)
    present = [c for c in CATEGORIES if counts[c]]
    causes = {c: [f for f in candidates if can_explain(f, c)] for c in present}
    unexplained = [c for c in present if not causes[c]]
    causing = {id(f) for fs in causes.values() for f in fs}
    hits = [f for f in candidates if id(f) in causing]
    at_risk = sum(int(f.evidence.get("rows_in_failed_batches", 0) or 0) for f in hits if f.kind == "error_burst")

    what = f"{result.missing_count} missing, {result.extra_count} extra, {result.changed_count} changed rows"
    if result.duplicate_count:
        what += f", {result.duplicate_count} duplicate keys"
    if result.in_flight_count:
        what += f", {result.in_flight_count} rows in flight"
    head = f"{what} in {result.table} on {result.link_id}"

    def amount(c: str) -> str:
        return _LABEL[c] if counts[c] < 0 else f"{counts[c]} {_LABEL[c]}"

    analysed = analysed_links is None or link in {lk.lower() for lk in analysed_links}
    if not analysed:
        text = f"{head}: no logs of this link were analysed."
    elif not present:
        text = f"{head}: no row difference by kind (missing, extra, changed, duplicate, in flight) to explain from the logs."
    elif not candidates:
        text = (
            f"{head}: no log incident of this link in the window; "
            + "; ".join(f"{amount(c)}: no explanation found in the logs" for c in unexplained)
            + ". Look for a cause outside the replication: "
            + "; ".join(_ELSEWHERE[c] for c in unexplained)
            + "."
        )
    else:
        parts = []
        for c in present:
            if causes[c]:
                part = f"{amount(c)}: explained by " + "; ".join(_describe(f) for f in causes[c])
                burst_rows = sum(
                    int(f.evidence.get("rows_in_failed_batches", 0) or 0) for f in causes[c] if f.kind == "error_burst"
                )
                if c == "missing" and burst_rows and result.missing_count:
                    part += (
                        " — enough failed rows to account for all missing rows"
                        if burst_rows >= result.missing_count
                        else f" — failed batches account for up to {burst_rows} of the {result.missing_count} missing rows"
                    )
            else:
                others = sorted({_KIND_LABEL.get(f.kind, f.kind) for f in candidates})
                seen = others[0] if len(others) == 1 else f"{', '.join(others[:-1])} and {others[-1]}"
                part = (
                    f"{amount(c)}: no explanation found in the logs (the window's {seen} "
                    f"cannot cause {_LABEL[c]}; look at {_ELSEWHERE[c]})"
                )
            parts.append(part)
        text = f"{head}: " + ". ".join(parts) + "."

    return Correlation(
        check_id=result.check_id,
        kind=result.kind.value,
        link=result.link_id,
        table=result.table,
        window_start=ws,
        window_end=we,
        missing=result.missing_count,
        extra=result.extra_count,
        changed=result.changed_count,
        explained_by=[f.id for f in hits],
        rows_at_risk=at_risk,
        explanation=mask_taxpayer_ids_in_text(text),
        duplicate=result.duplicate_count,
        in_flight=result.in_flight_count,
        causes={c: [f.id for f in fs] for c, fs in causes.items() if fs},
        unexplained=unexplained,
    )


def correlate(
    anomalies: list[CheckResult],
    findings: list[Finding],
    links: list[LinkAnalysis],
    log_tz: str = BUREAU_TZ.key,
) -> list[Correlation]:
    """One :class:`Correlation` per anomaly (:func:`explain`); findings get the check ids they explain."""
    out: list[Correlation] = []
    analysed = [la.link for la in links]
    for res in anomalies:
        if res.outcome is not Outcome.INCONSISTENT:
            continue
        corr = explain(res, findings, log_tz, analysed_links=analysed)
        ids = set(corr.explained_by)
        for f in findings:
            if f.id in ids and res.check_id and res.check_id not in f.explains:
                f.explains.append(res.check_id)
        out.append(corr)
    return out
