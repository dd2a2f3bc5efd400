"""The daily patrol as a record: the tender's four daily duties on one page, tickets, notifications.

积压 (backlog of every Kafka consumer group, with its health over the offset history),
同步数据量是否一致 (yesterday's rows on both sides of every link), 消费程序日志 (the day's errors
and log incidents per link), 未同步原因 (for each thing that did not sync, what the logs say about
it). The patrol used to return these to XCom and the store only: nobody could show what the
patrol saw on a given day, and a mismatch it found opened no ticket. Now it writes
``reports/patrol/YYYY-MM-DD.html`` and ``.json`` in the monthly reports' style, opens or updates
tickets through the incident model (one root fault, one ticket) and notifies through the outbox.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any

from syncverify.catalog import Catalog
from syncverify.results import CheckKind, CheckResult, Outcome
from syncverify.synclog.model import Finding, MonthAnalysis


def _overlaps(f: Finding, start: datetime, end: datetime) -> bool:
    if f.start is None:
        return False
    return f.start < end and (f.end or f.start) >= start


def duties(day: date, results: Iterable[CheckResult], analysis: MonthAnalysis | None,
           catalog: Catalog) -> dict[str, Any]:
    """The four duties of one day from the patrol run's results and the logs' analysis."""
    from syncverify.tickets.cause import NOT_ANALYSED, root_cause

    results = list(results)
    start = datetime(day.year, day.month, day.day)
    end = start + timedelta(days=1)
    backlog = []
    for r in results:
        if r.kind is not CheckKind.KAFKA_BACKLOG:
            continue
        d = r.details or {}
        health = d.get("health") or {}
        backlog.append({"check_id": r.check_id, "link": r.link_id, "table": r.table, "group": d.get("group"),
                        "topic": d.get("topic"), "total_lag": d.get("total_lag"), "threshold": d.get("threshold"),
                        "outcome": r.outcome.value, "stuck": bool(health.get("stuck")),
                        "health": list(health.get("findings") or []), "snapshots": health.get("snapshots"),
                        "error": r.error})
    volume = [{"check_id": r.check_id, "link": r.link_id, "table": r.table, "source": r.source_rows,
               "target": r.target_rows,
               "difference": None if r.source_rows is None or r.target_rows is None else r.target_rows - r.source_rows,
               "outcome": r.outcome.value, "error": r.error}
              # in a fixed order (checks finish in any order): the page reads the same every day
              for r in sorted(results, key=lambda r: str(r.check_id)) if r.kind is CheckKind.COUNT]
    logs: dict[str, Any] = {"analysed": analysis is not None, "errors": [], "findings": [], "without_logs": []}
    findings: list[Finding] | None = None
    analysed: list[str] | None = None
    if analysis is not None:
        findings, analysed = analysis.findings, [la.link for la in analysis.links]
        for la in analysis.links:
            m = la.error_matrix
            if day.isoformat() in m.get("days", []):
                count = int(sum(m["counts"][m["days"].index(day.isoformat())]))
                if count:
                    logs["errors"].append({"link": la.link, "errors": count})
        logs["findings"] = [{"id": f.id, "kind": f.kind, "severity": f.severity, "link": f.link, "title": f.title,
                             "open": bool(f.evidence.get("open"))}
                            for f in findings if _overlaps(f, start, end)]
        logs["without_logs"] = list(analysis.coverage.get("links_without_logs") or [])
    reasons = []
    for r in results:
        if not r.is_anomaly or r.kind not in (CheckKind.COUNT, CheckKind.KAFKA_BACKLOG):
            continue
        cause = root_cause(r, findings, analysed)
        reasons.append({"check_id": r.check_id, "link": r.link_id, "table": r.table, "kind": r.kind.value,
                        "text": cause["text"] if findings is not None else NOT_ANALYSED,
                        "log_events": [e["title"] for e in cause.get("log_events") or []]})
    return {"day": day.isoformat(), "backlog": backlog, "volume": volume, "logs": logs, "reasons": reasons,
            "not_run": [r.check_id for r in results if r.outcome is Outcome.NOT_RUN]}


def write_page(record: dict[str, Any], out_dir: str | Path, lang: str = "zh") -> list[Path]:
    """``<out_dir>/patrol/YYYY-MM-DD.html`` and ``.json`` (0640, written whole, like the reports)."""
    from syncverify.report.render import _write, environment

    folder = Path(out_dir) / "patrol"
    folder.mkdir(parents=True, exist_ok=True)
    html = environment(lang).get_template("patrol.html.j2").render(d=record)
    return [_write(folder / f"{record['day']}.html", html),
            _write(folder / f"{record['day']}.json", json.dumps(record, ensure_ascii=False, indent=2, default=str) + "\n")]


__all__ = ["duties", "write_page"]
