"""A ticket's root cause and when its fault happened.

* **Root cause**: where the rows went wrong (the ticket's own hop: traces and echoes are already
  filed under the hop that lost the keys first, see :mod:`syncverify.tickets.incidents`) and the
  sync-log events that can explain *that kind* of difference
  (:func:`syncverify.synclog.correlate.explain`: error bursts, restarts and stalls explain
  missing rows; a stall never explains extra rows; latency explains rows in flight, never changed
  values). Categories nothing explains are listed and the text says so plainly.
* **Occurred at**: from the data, the earliest window time (e.g. the invoice date) of the rows
  the ticket names, read for those keys only; for a totals finding, the first differing day;
  otherwise the start of the earliest log event that explains it. The databases keep naive
  bureau-local times: they are converted to UTC like every time in the store.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable, Mapping
from datetime import UTC, date, datetime
from typing import Any
from zoneinfo import ZoneInfo

import sqlalchemy as sa

from syncverify.catalog import Catalog
from syncverify.dialects.base import BUREAU_TIME_ZONE
from syncverify.masking import mask_taxpayer_ids_in_text, mask_text
from syncverify.results import CheckKind, CheckResult, Key
from syncverify.synclog.correlate import explain
from syncverify.synclog.model import Finding
from syncverify.tickets.keyrows import fetch_by_keys, find_link_check, sides, typed_key

log = logging.getLogger(__name__)
_BUREAU = ZoneInfo(BUREAU_TIME_ZONE)
NOT_ANALYSED = "the sync logs of this month were not analysed: no log explanation was looked for"


def _time(value: Any) -> datetime | None:
    if isinstance(value, datetime):
        return value
    if isinstance(value, str) and value:
        try:
            return datetime.fromisoformat(value)
        except ValueError:
            return None
    return None


def finding_from_dict(data: Mapping[str, Any]) -> Finding:
    """A finding as stored in the month's sync-log analysis, back as a :class:`Finding`."""
    return Finding(id=str(data.get("id")), kind=str(data.get("kind")), severity=str(data.get("severity") or ""),
                   link=str(data.get("link") or ""), table=data.get("table"), start=_time(data.get("start")),
                   end=_time(data.get("end")), title=str(data.get("title") or ""),
                   evidence=dict(data.get("evidence") or {}), action=str(data.get("action") or ""))


def to_utc(local: datetime | date) -> datetime:
    """A bureau-local time from the data (naive) or the logs, as aware UTC."""
    if not isinstance(local, datetime):
        local = datetime(local.year, local.month, local.day)
    if local.tzinfo is None:
        local = local.replace(tzinfo=_BUREAU)
    return local.astimezone(UTC)


def root_cause(result: CheckResult, findings: list[Finding] | None,
               analysed_links: Iterable[str] | None = None) -> dict[str, Any]:
    """The root-cause section of a ticket raised by ``result`` (masked, JSON-able)."""
    where = {"link": result.link_id, "source_node": result.source_node, "target_node": result.target_node,
             "table": result.table}
    if result.kind is CheckKind.QUALITY:
        rules = [str(e.get("rule") or e.get("expectation_type"))
                 for e in (result.details or {}).get("expectations") or []
                 if isinstance(e, dict) and e.get("success") is False]
        return {"where": {"node": result.source_node, "table": result.table}, "log_events": [], "unexplained": [],
                "text": f"rows written on {result.source_node} break {', '.join(rules) or 'its rules'}; "
                        "the copies downstream carry the same rows (see echoes). A replication log cannot "
                        "explain values written wrong at their source: correct them there."}
    if findings is None:
        return {"where": where, "log_events": [], "unexplained": [], "text": NOT_ANALYSED}
    corr = explain(result, findings, analysed_links=list(analysed_links) if analysed_links is not None else None)
    by_id = {f.id: f for f in findings}
    events = []
    for category, ids in corr.causes.items():
        for fid in ids:
            f = by_id.get(fid)
            if f is None:
                continue
            events.append({"explains": category, "id": f.id, "kind": f.kind, "title": f.title,
                           "start": to_utc(f.start).isoformat() if f.start else None,
                           "end": to_utc(f.end).isoformat() if f.end else None})
    return {"where": where, "log_events": events, "unexplained": list(corr.unexplained),
            "text": mask_taxpayer_ids_in_text(corr.explanation)}


def earliest_event(cause: Mapping[str, Any] | None) -> datetime | None:
    starts = [_time(e.get("start")) for e in (cause or {}).get("log_events") or []]
    known = [s for s in starts if s is not None]
    return min(known) if known else None


EngineForNode = Callable[[str], sa.Engine]


def data_time(result: CheckResult, catalog: Catalog | None,
              engine_for_node: EngineForNode | None) -> datetime | None:
    """The earliest window time of the rows ``result`` names (UTC), or None when it cannot tell.

    Missing, changed and duplicated rows are read on the source (the copy that has them right),
    extra rows on the target; only the result's keys are read, by key.
    """
    if result.kind is CheckKind.TOTALS:
        days = [d.get("day") for d in (result.details or {}).get("days") or [] if isinstance(d, dict)]
        known = sorted(str(d) for d in days if d)
        return to_utc(date.fromisoformat(known[0][:10])) if known else None
    if result.kind not in (CheckKind.DIFF, CheckKind.KAFKA_KEYS) or catalog is None or engine_for_node is None:
        return None
    if result.link_id not in catalog.links or result.table not in catalog.tables:
        return None
    window_column = catalog.tables[result.table].window_column
    if not window_column:
        return None
    on_source: list[Key] = [*result.missing_keys, *result.changed_keys, *result.duplicate_keys]
    on_target: list[Key] = list(result.extra_keys)
    try:
        check = find_link_check(catalog, result.link_id, result.table, result.source_node)
        if check.source.is_kafka or check.target.is_kafka:
            return None
        s = sides(check, engine_for_node(check.source.id), engine_for_node(check.target.id))
        times: list[datetime] = []
        for keys, engine, table, key_cols in (
                (on_source, engine_for_node(check.source.id), s.source, s.source_key),
                (on_target, engine_for_node(check.target.id), s.target, s.target_key)):
            if not keys:
                continue
            col = next((c for c in table.columns if c.name.lower() == window_column.lower()), None)
            if col is None:
                continue
            typed = [typed_key(k, key_cols) for k in keys]
            rows = fetch_by_keys(engine, table, key_cols, typed, [col])
            for row in rows.values():
                value = row[col.name]
                if isinstance(value, datetime):
                    times.append(value.replace(tzinfo=None) if value.tzinfo is None else value)
                elif isinstance(value, date):
                    times.append(datetime(value.year, value.month, value.day))
        return min(to_utc(t) for t in times) if times else None
    except Exception as exc:          # a cause is evidence, never a reason to lose the ticket
        log.warning("occurred-at of %s not read: %s", result.check_id, mask_text(str(exc)))
        return None


__all__ = ["NOT_ANALYSED", "data_time", "earliest_event", "finding_from_dict", "root_cause", "to_utc"]
