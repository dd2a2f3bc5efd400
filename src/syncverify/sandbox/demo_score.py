"""Score a run's findings against the sandbox's fault manifest (the demo's last four lines):
the consistency faults, and the log and consumer incidents the sandbox wrote into the logs.

The verifier never reads the manifest; only this comparison does, after the run. A fault is
detected when every one of its keys is reported by a failing check of the same link and table in
the right category; a false positive is a reported key, or a failing check, that no injected
fault explains (rows in flight reported as anomalies count here too).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from syncverify.catalog import Catalog
from syncverify.results import CheckKind, CheckResult, Key

# Which key list of a result shows each kind of fault.
_CATEGORY = {
    "missing": ("missing_keys",),
    "lagging_consumer": ("missing_keys",),
    "duplicate": ("duplicate_keys",),
    "changed_amount": ("changed_keys",),
    "changed_date": ("changed_keys",),
    "extra": ("extra_keys",),
    "misrouted": ("extra_keys",),
    "quality": ("missing_keys", "extra_keys", "changed_keys", "duplicate_keys"),
}
_KEYED = {CheckKind.DIFF, CheckKind.KAFKA_KEYS}


def norm(key: Key | list[str]) -> tuple[str, ...]:
    if isinstance(key, str):
        return (key,)
    return tuple(str(k) for k in key)


@dataclass
class Score:
    injected: int
    detected: int
    missed: list[dict[str, Any]] = field(default_factory=list)
    false_positives: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.missed and not self.false_positives

    def lines(self) -> list[str]:
        return [f"injected: {self.injected}", f"detected: {self.detected}", f"missed: {len(self.missed)}",
                f"false_positives: {len(self.false_positives)}"]


def score(manifest: dict[str, Any], results: Iterable[CheckResult], catalog: Catalog | None = None) -> Score:
    """``catalog`` lets a duplicated row count as explained on every check that reads the copy
    holding it (the next hop's source sees the same duplicate)."""
    faults = list(manifest.get("faults", []))
    dup_copies: set[tuple[str, str, tuple[str, ...]]] = set()
    if catalog is not None:
        for f in faults:
            if f["kind"] == "duplicate" and f.get("link") in catalog.links:
                node = catalog.links[f["link"]].target
                dup_copies |= {(node, f["table"], norm(k)) for k in f.get("keys", [])}
    anomalies = [r for r in results if r.is_anomaly]
    by_place: dict[tuple[str | None, str], list[CheckResult]] = {}
    for r in anomalies:
        by_place.setdefault((r.link_id, r.table), []).append(r)

    explained: set[tuple[str | None, str, str, tuple[str, ...]]] = set()
    detected, missed = 0, []
    for fault in faults:
        keys = {norm(k) for k in fault.get("keys", [])}
        kind = fault["kind"]
        if kind == "quality":
            # Sample keys of taxpayer tables are masked: a failing suite on the fault's node is the finding.
            candidates = [r for r in anomalies if r.kind is CheckKind.QUALITY and r.table == fault["table"]
                          and (not fault.get("node") or r.source_node == fault["node"])]
            ok = bool(candidates)
        else:
            candidates = [r for r in by_place.get((fault.get("link"), fault["table"]), []) if r.kind in _KEYED]
            found = set()
            for r in candidates:
                for name in _CATEGORY[kind]:
                    found |= {norm(k) for k in getattr(r, name)}
            ok = keys <= found
            if kind == "lagging_consumer" and not ok:
                ok = any(r.kind is CheckKind.KAFKA_BACKLOG for r in by_place.get((fault.get("link"), fault["table"]), []))
        for key in keys:
            for name in _CATEGORY[kind]:
                explained.add((fault.get("link"), fault["table"], name, key))
        if ok:
            detected += 1
        else:
            missed.append({"id": fault.get("id"), "kind": kind, "link": fault.get("link"), "table": fault["table"]})

    fault_places = {(f.get("link"), f["table"]) for f in faults}
    # A copy damaged by a consistency fault may also break a rule (a duplicate breaks uniqueness,
    # a lost taxpayer row breaks a reference): quality failures on that node are explained.
    damaged_nodes = ({catalog.links[f["link"]].target for f in faults if f.get("link") in catalog.links}
                     if catalog is not None else set())
    quality_tables = {f["table"] for f in faults if f["kind"] == "quality"}
    lagging = {(f.get("link"), f["table"]) for f in faults if f["kind"] == "lagging_consumer"}
    false_positives: list[str] = []
    for r in anomalies:
        place = (r.link_id, r.table)
        if r.kind is CheckKind.QUALITY:
            if r.table not in quality_tables and r.source_node not in damaged_nodes:
                false_positives.append(f"{r.check_id}: quality failure with no injected violation")
            continue
        if r.kind is CheckKind.KAFKA_BACKLOG:
            if place not in lagging:
                false_positives.append(f"{r.check_id}: backlog with no lagging consumer injected")
            continue
        if r.kind is CheckKind.TRACE:
            continue  # traces restate the hops' findings
        if place not in fault_places and not (r.duplicate_count and r.duplicate_count == r.differences):
            false_positives.append(f"{r.check_id}: anomaly on a link with no injected fault")
            continue
        if r.kind in _KEYED:
            for name in ("missing_keys", "extra_keys", "changed_keys", "duplicate_keys"):
                for key in getattr(r, name):
                    if name == "duplicate_keys" and any((node, r.table, norm(key)) in dup_copies
                                                        for node in (r.source_node, r.target_node)):
                        continue
                    if (r.link_id, r.table, name, norm(key)) not in explained:
                        false_positives.append(f"{r.check_id}: {name[:-5]} key {list(norm(key))} not injected")
    return Score(injected=len(faults), detected=detected, missed=missed, false_positives=false_positives)


# Which finding of the sync-log analysis shows each kind of log incident the sandbox injects.
INCIDENT_FINDING = {"error_burst": "error_burst", "stall": "stall", "restart_loop": "restart_loop",
                    "latency_spike_peak": "latency_spike"}


def _when(value: Any) -> datetime | None:
    try:
        return datetime.fromisoformat(str(value)) if value else None
    except ValueError:
        return None


def score_incidents(manifest: dict[str, Any], findings: Iterable[dict[str, Any]],
                    tickets: Iterable[dict[str, Any]] | None = None) -> Score:
    """The log and consumer incidents of the manifest against the stored analysis's findings.

    An incident is detected when a finding of its kind on its link overlaps its time. One that
    lasts to the month's end must be reported as still open, and one injected for a fault must be
    on that fault's ticket as its root cause (``tickets``: ticket views; log incidents are never
    tickets of their own). A finding of an incident kind that overlaps no injected incident of
    its link is a false positive.
    """
    incidents = list(manifest.get("incidents", []))
    findings = [f for f in findings if f.get("kind") in INCIDENT_FINDING.values()]
    faults = {f.get("id"): f for f in manifest.get("faults", [])}
    by_place = {fault_place(f): t for t in tickets or [] if t.get("open") for f in faults.values()
                if (str(t.get("kind")), t.get("link_id"), str(t.get("table"))) == fault_place(f)}
    month_end = _when(f"{manifest.get('month', '1970-01')}-01")
    if month_end is not None:
        month_end = (month_end.replace(day=28) + timedelta(days=4)).replace(day=1)

    def overlaps(f: dict[str, Any], i: dict[str, Any]) -> bool:
        fs, fe, is_, ie = _when(f.get("start")), _when(f.get("end")), _when(i.get("start")), _when(i.get("end"))
        return (fs is not None and is_ is not None and ie is not None
                and fs <= ie and (fe or fs) >= is_
                and str(f.get("link")).lower() == str(i.get("link")).lower()
                and f.get("kind") == INCIDENT_FINDING.get(str(i.get("kind"))))

    detected, missed, matched = 0, [], set()
    for inc in incidents:
        hits = [f for f in findings if overlaps(f, inc)]
        matched |= {str(f.get("id")) for f in hits}
        why = None if hits else "no finding of its kind on its link at its time"
        end = _when(inc.get("end"))
        if hits and month_end is not None and end is not None and month_end - end <= timedelta(minutes=1):
            hits = [f for f in hits if (f.get("evidence") or {}).get("open")]
            why = None if hits else "not reported as still open at the month's end"
        fault = faults.get(inc.get("fault"))
        if hits and fault is not None and fault.get("kind") == "lagging_consumer" and tickets is not None:
            ticket = by_place.get(fault_place(fault))
            cause = ((ticket or {}).get("evidence") or {}).get("root_cause") or {}
            causes = {e.get("id") for e in cause.get("log_events") or []}
            why = None if any(f.get("id") in causes for f in hits) else f"not the root cause on the ticket of {fault['id']}"
        if why is None:
            detected += 1
        else:
            missed.append({"id": inc.get("id"), "kind": inc.get("kind"), "link": inc.get("link"), "why": why})
    false_positives = [f"{f.get('id')}: {f.get('kind')} finding with no injected incident"
                       for f in findings if str(f.get("id")) not in matched]
    return Score(injected=len(incidents), detected=detected, missed=missed, false_positives=false_positives)


def combined(*scores: Score) -> Score:
    """Faults and incidents in one score (the demo's last four lines count all of them)."""
    return Score(injected=sum(s.injected for s in scores), detected=sum(s.detected for s in scores),
                 missed=[m for s in scores for m in s.missed],
                 false_positives=[fp for s in scores for fp in s.false_positives])


@dataclass
class TicketScore:
    """The open tickets against the injected faults: one ticket per fault, on its place, no other."""

    faults: int
    open_tickets: int
    per_fault: dict[str, list[int]] = field(default_factory=dict)   # fault id -> open ticket ids there
    unexplained: list[str] = field(default_factory=list)           # open tickets no fault explains
    repaired: int = 0            # tickets the demo repaired and re-verified (closed, still one per fault)

    @property
    def ok(self) -> bool:
        return not self.unexplained and all(len(ids) == 1 for ids in self.per_fault.values())

    def lines(self) -> list[str]:
        out = [f"tickets: {self.open_tickets} open for {self.faults} injected faults" if not self.repaired else
               f"tickets: {self.open_tickets + self.repaired} for {self.faults} injected faults "
               f"({self.open_tickets} open, {self.repaired} repaired and verified)"]
        out += [f"  fault {fid}: {len(ids)} tickets {ids}" for fid, ids in self.per_fault.items() if len(ids) != 1]
        out += [f"  ticket with no injected fault: {t}" for t in self.unexplained]
        return out


def fault_place(fault: dict[str, Any]) -> tuple[str, str | None, str]:
    """(ticket kind, link or node, table) where a fault's ticket belongs."""
    if fault["kind"] == "quality":
        return "quality", fault.get("node"), fault["table"]
    return "consistency", fault.get("link"), fault["table"]


def score_tickets(manifest: dict[str, Any], tickets: Iterable[dict[str, Any]],
                  repaired: Iterable[dict[str, Any]] = ()) -> TicketScore:
    """``tickets``: ticket views (:func:`syncverify.tickets.ticket_view`) of the open tickets;
    ``repaired``: views of the tickets the demo repaired, closed once re-verified (still their fault's)."""
    faults = list(manifest.get("faults", []))
    closed = [t for t in repaired if not t.get("open") and t.get("status") == "verified"]
    open_tickets = [t for t in tickets if t.get("open")]
    counted = open_tickets + closed

    def place(t: dict[str, Any]) -> tuple[str, str | None, str]:
        where = t.get("source_node") if t.get("kind") == "quality" else t.get("link_id")
        return str(t.get("kind")), where, str(t.get("table"))

    per_fault = {str(f.get("id")): [t["id"] for t in counted if place(t) == fault_place(f)] for f in faults}
    places = {fault_place(f) for f in faults}
    unexplained = [f"{t['id']} {t.get('title')}" for t in counted if place(t) not in places]
    return TicketScore(len(faults), len(open_tickets), per_fault, unexplained, len(closed))
