"""The sync-log analysis report as pure data, from the analysis payload saved in the store.

The payload is :meth:`syncverify.synclog.model.MonthAnalysis.to_dict` as the monthly run saved it
(``Store.save_synclog_analysis``). This module lines the per-link hourly series up on one hour
axis for the charts, sums the day x hour error matrices, and masks every free text (messages,
titles, evidence) — nothing here re-reads a log or a database.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

from syncverify.catalog import Catalog
from syncverify.report.masker import Masker

SEVERITY_ORDER = {"critical": 0, "high": 1, "medium": 2, "low": 3}


@dataclass
class LinkLog:
    link_id: str
    title: str
    source: str | None
    rows: int
    applies: int
    errors: int
    restarts: int
    latency: dict[str, float | None]  # samples, p50_ms, p95_ms, p99_ms, max_ms
    throughput_peak: int  # rows in the busiest hour
    throughput_avg: float | None  # rows per hour over the hours the link logged
    backlog_peak: int | None
    backlog_peak_at: str | None
    stalls: list[dict[str, Any]]
    error_classes: list[dict[str, Any]]
    error_bursts: list[dict[str, Any]]
    restart_loops: list[dict[str, Any]]
    latency_spikes: list[dict[str, Any]]
    slow_hours: list[dict[str, Any]]  # flagged hours of day with their p95 against the link's
    abnormal_days: list[dict[str, Any]]
    tables: list[dict[str, Any]]
    rows_series: list[float | None] = field(default_factory=list)  # on SynclogData.hours
    latency_p95_series: list[float | None] = field(default_factory=list)
    findings: int = 0


@dataclass
class SynclogData:
    month: str
    generated_at: str
    available: bool
    analysed_at: str | None = None
    summary: dict[str, int] = field(default_factory=dict)
    links: list[LinkLog] = field(default_factory=list)
    hours: list[str] = field(default_factory=list)  # ISO hours, the charts' x axis
    heatmap_days: list[str] = field(default_factory=list)
    heatmap: list[list[int]] = field(default_factory=list)  # days x 24, errors of every link
    findings: list[dict[str, Any]] = field(default_factory=list)
    correlations: list[dict[str, Any]] = field(default_factory=list)
    parse: dict[str, Any] = field(default_factory=dict)
    missing: str | None = None   # why the month has no analysis (a run found no logs), shown as a warning
    # from the store (report.synclog_history): links with and without logs, this vs last month
    coverage: dict[str, Any] = field(default_factory=dict)
    trend: list[dict[str, Any]] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def _int(value: Any) -> int:
    return int(value or 0)


def _evidence_items(evidence: Any) -> list[tuple[str, str]]:
    """Evidence as (name, value) pairs for a two-column display; nested values as compact text."""
    if not isinstance(evidence, dict):
        return [("", str(evidence))] if evidence else []
    out = []
    for k, v in evidence.items():
        if isinstance(v, bool):
            text = "✓" if v else "✗"
        elif isinstance(v, float):
            text = f"{v:,.2f}"
        elif isinstance(v, int) and not isinstance(v, bool):
            text = f"{v:,}"
        elif isinstance(v, list):
            text = ", ".join(str(x) for x in v[:12]) + (" …" if len(v) > 12 else "")
        elif isinstance(v, dict):
            text = ", ".join(f"{a}={b}" for a, b in list(v.items())[:12])
        else:
            text = str(v)
        out.append((str(k), text))
    return out


def _link(raw: dict[str, Any], catalog: Catalog, masker: Masker) -> LinkLog:
    volume = raw.get("volume") or {}
    hourly = [h for h in raw.get("hourly") or [] if isinstance(h, dict)]
    rows_per_hour = [_int(h.get("rows")) for h in hourly]
    slow = set(raw.get("slow_hours") or [])
    slow_hours = [
        dict(p)
        for p in raw.get("slow_periods") or []
        if isinstance(p, dict) and p.get("period") == "hour" and p.get("value") in slow
    ]
    link_id = str(raw.get("link") or "?")
    link = next((lk for lid, lk in catalog.links.items() if lid.lower() == link_id.lower()), None)
    peak = raw.get("backlog_peak") or {}
    return LinkLog(
        link_id=link_id,
        title=link.title if link else "",
        source=raw.get("source"),
        rows=_int(volume.get("rows")),
        applies=_int(volume.get("applies")),
        errors=_int(volume.get("errors")),
        restarts=_int(raw.get("restarts", volume.get("restarts"))),
        latency={k: (raw.get("latency") or {}).get(k) for k in ("samples", "p50_ms", "p95_ms", "p99_ms", "max_ms")},
        throughput_peak=max(rows_per_hour, default=0),
        throughput_avg=(sum(rows_per_hour) / len(rows_per_hour)) if rows_per_hour else None,
        backlog_peak=peak.get("value"),
        backlog_peak_at=peak.get("at"),
        stalls=list(raw.get("stalls") or []),
        error_classes=[
            {
                **e,
                "sample_message": masker.text(e.get("sample_message")),
                "tables": list(e.get("tables") or []),
            }
            for e in raw.get("error_classes") or []
        ],
        error_bursts=list(raw.get("error_bursts") or []),
        restart_loops=[{**r, "reason": masker.text(r.get("reason"))} for r in raw.get("restart_loops") or []],
        latency_spikes=list(raw.get("latency_spikes") or []),
        slow_hours=slow_hours,
        abnormal_days=list(raw.get("abnormal_days") or []),
        tables=[{k: v for k, v in t.items()} for t in raw.get("tables") or [] if isinstance(t, dict)],
    )


def build_synclog(payload: dict[str, Any] | None, month: str, catalog: Catalog, *, generated_at: str) -> SynclogData:
    """The sync-log report of ``month`` from the stored analysis (``None``: no analysis yet)."""
    if not payload:
        return SynclogData(month=month, generated_at=generated_at, available=False)
    if payload.get("missing") and not payload.get("links"):
        return SynclogData(month=month, generated_at=generated_at, available=False, missing=str(payload["missing"]))
    masker = Masker(catalog)
    raw_links = [lk for lk in payload.get("links") or [] if isinstance(lk, dict)]
    links = [_link(raw, catalog, masker) for raw in raw_links]

    # One hour axis for every link, so the lines of a chart share their x positions.
    hours = sorted(
        {
            str(h.get("hour"))[:13]
            for raw in raw_links
            for h in raw.get("hourly") or []
            if isinstance(h, dict) and h.get("hour")
        }
    )
    index = {h: i for i, h in enumerate(hours)}
    for raw, link in zip(raw_links, links, strict=True):
        rows: list[float | None] = [None] * len(hours)
        lag: list[float | None] = [None] * len(hours)
        for h in raw.get("hourly") or []:
            i = index.get(str(h.get("hour"))[:13])
            if i is None:
                continue
            rows[i] = _int(h.get("rows"))
            lag[i] = h.get("lag_p95_ms")
        link.rows_series, link.latency_p95_series = rows, lag

    # The month's error matrix: the links' day x hour counts summed.
    cells: dict[str, list[int]] = {}
    for raw in raw_links:
        m = raw.get("error_matrix") or {}
        hours_of = list(m.get("hours") or range(24))
        for day, counts in zip(m.get("days") or [], m.get("counts") or [], strict=False):
            row = cells.setdefault(str(day)[:10], [0] * 24)
            for h, c in zip(hours_of, counts, strict=False):
                if 0 <= int(h) < 24:
                    row[int(h)] += _int(c)
    heat_days = sorted(cells)

    findings = []
    for f in payload.get("findings") or []:
        if not isinstance(f, dict):
            continue
        findings.append(
            {
                "id": f.get("id"),
                "kind": f.get("kind"),
                "severity": f.get("severity") or "low",
                "link": f.get("link"),
                "table": f.get("table"),
                "start": f.get("start"),
                "end": f.get("end"),
                "title": masker.text(f.get("title")) or "",
                "action": masker.text(f.get("action")) or "",
                "evidence": [(k, masker.text(v) or "") for k, v in _evidence_items(f.get("evidence"))],
                "evidence_raw": masker.json(f.get("evidence") or {}),
                "explains": list(f.get("explains") or []),
            }
        )
    findings.sort(key=lambda f: (SEVERITY_ORDER.get(f["severity"], 9), str(f["link"]), str(f["start"])))
    for link in links:
        link.findings = sum(1 for f in findings if str(f["link"]).lower() == link.link_id.lower())
    # Which log incidents explain which consistency anomalies of the same link and period.
    by_id = {f["id"]: f for f in findings}
    correlations = []
    for c in payload.get("correlations") or []:
        if not isinstance(c, dict) or not c.get("link"):
            continue
        c = masker.json(c)
        c["explained"] = [by_id[i] for i in c.get("explained_by") or [] if i in by_id]
        # per kind of difference (missing, extra, changed, duplicate, in_flight); older payloads have none
        causes = c.get("causes") if isinstance(c.get("causes"), dict) else {}
        c["causes"] = {str(k): list(v or []) for k, v in causes.items()}
        c["unexplained"] = list(c.get("unexplained") or [])
        c["causes_explained"] = {k: [by_id[i] for i in ids if i in by_id] for k, ids in c["causes"].items()}
        correlations.append(c)

    stats = payload.get("parse_stats") or {}
    parse = {
        "lines": _int(stats.get("lines")),
        "bytes": _int(stats.get("bytes")),
        "events": _int(stats.get("events")),
        "malformed_total": _int(stats.get("malformed_total", sum((stats.get("malformed") or {}).values()))),
        "malformed": dict(stats.get("malformed") or {}),
        "encodings": dict(stats.get("encodings") or {}),
        "out_of_range": _int(stats.get("out_of_range")),
        "files": len(stats.get("files") or []),
    }
    summary = {
        "links": len(links),
        "rows": sum(lk.rows for lk in links),
        "errors": sum(lk.errors for lk in links),
        "restarts": sum(lk.restarts for lk in links),
        "stalls": sum(len(lk.stalls) for lk in links),
        "findings": len(findings),
        **{f"findings_{s}": sum(1 for f in findings if f["severity"] == s) for s in SEVERITY_ORDER},
    }
    return SynclogData(
        month=month,
        generated_at=generated_at,
        available=True,
        analysed_at=payload.get("generated_at"),
        summary=summary,
        links=links,
        hours=hours,
        heatmap_days=heat_days,
        heatmap=[cells[d] for d in heat_days],
        findings=findings,
        correlations=correlations,
        parse=parse,
    )
