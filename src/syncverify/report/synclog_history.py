"""What the sync-log report adds from the store beyond the month's log analysis.

The stored analysis knows the logs it read; the store knows more: which links the catalog
expects (a link with no log at all is a finding, not an absence nobody notices), every day's
checked volume (a day both sides drop to zero passes every check: scored against the link's own
weekday history, :mod:`syncverify.synclog.volume`), and last month's figures (the trend table).
"""

from __future__ import annotations

from typing import Any

from syncverify.catalog import Catalog
from syncverify.report.masker import Masker
from syncverify.report.synclog_data import SEVERITY_ORDER, SynclogData, _evidence_items
from syncverify.synclog.findings import coverage_findings
from syncverify.synclog.model import Finding
from syncverify.synclog.volume import month_trend, previous_month, stored_series, volume_findings


def _as_row(f: Finding, masker: Masker) -> dict[str, Any]:
    raw = f.to_dict()
    return {"id": f.id, "kind": f.kind, "severity": f.severity, "link": f.link, "table": f.table,
            "start": raw["start"], "end": raw["end"], "title": masker.text(f.title) or "",
            "action": masker.text(f.action) or "",
            "evidence": [(k, masker.text(v) or "") for k, v in _evidence_items(raw["evidence"])],
            "evidence_raw": masker.json(raw["evidence"]), "explains": []}


def add_history(data: SynclogData, store: Any, month: str, catalog: Catalog) -> SynclogData:
    """Coverage, volume anomalies and the month-over-month trend into ``data`` (in place)."""
    if not data.available:
        return data
    masker = Masker(catalog)
    have = {lk.link_id.lower() for lk in data.links}
    expected = list(catalog.links)
    without = [link for link in expected if link.lower() not in have]
    data.coverage = {"expected": len(expected), "with_logs": sorted((lk.link_id for lk in data.links), key=str.lower),
                     "without_logs": without}
    known = {f["id"] for f in data.findings}
    cover = {"links_with_logs": data.coverage["with_logs"], "links_without_logs": without, "expected": len(expected)}
    series = stored_series(store)
    added = [f for f in [*coverage_findings(cover, month), *volume_findings(series, month)] if f.id not in known]
    data.findings.extend(_as_row(f, masker) for f in added)
    data.findings.sort(key=lambda f: (SEVERITY_ORDER.get(f["severity"], 9), str(f["link"]), str(f["start"])))
    for link in data.links:
        link.findings = sum(1 for f in data.findings if str(f["link"]).lower() == link.link_id.lower())
    data.summary["findings"] = len(data.findings)
    for s in SEVERITY_ORDER:
        data.summary[f"findings_{s}"] = sum(1 for f in data.findings if f["severity"] == s)
    last = previous_month(month)
    data.trend = month_trend(series, {month: store.synclog_analysis(month), last: store.synclog_analysis(last)}, month)
    return data


__all__ = ["add_history"]
