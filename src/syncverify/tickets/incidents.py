"""One root fault, one ticket: which results are a fault of their own and which are its evidence.

A run reports the same fault several times. The 8 keys lost on one hop show again in the trace
of every flow that passes that hop; a row duplicated on a hop breaks the uniqueness rule of the
copy it landed in; a taxpayer row lost on a hop breaks the reference rule of the table that
points at it; a bad amount born in the issuing database fails the same rule in every copy
downstream. Each of these must attach to the one incident that caused it, so that the operator
gets one ticket with one 8 h / 24 h clock per fault.

:func:`attribute` decides, for every result of a run, the incident (:class:`Unit`) it belongs to
and its role there:

``head``
    The result shows the fault where it happened: a table-comparison level (count, totals,
    checksum, diff) or a Kafka check of a (link, table) — one unit per link and table, or per
    ``table@source`` where a link carries a table from several sources; a quality suite on the
    node where the bad data was born — one unit per (node, table).
``trace``
    A flow trace. Its keys are filed under the hop that lost them first; that hop's unit gets
    the trace as evidence (or, when no check of that hop saw the loss, the trace is the head).
``echo``
    A result that repeats an upstream fault: a comparison of a later hop that finds exactly the
    keys an upstream hop already got wrong in the same way (a redelivered message seen again
    downstream); a failing quality rule explained by a consistency fault on the same copy
    (uniqueness ← duplicated rows, a reference ← missing parent rows) or by the same rule failing
    on an upstream copy of the table.

The rules only use what the results say and the catalog's topology; they never query a
database. Anything they cannot prove to be an echo stays a head of its own: an unexplained
result is never hidden.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from syncverify.catalog import Catalog
from syncverify.results import CheckKind, CheckResult, Key, Outcome

CONSISTENCY = "consistency"
QUALITY = "quality"

# Result kinds that describe one (link, table) copy pair; they share that pair's incident.
_PAIR_KINDS = {CheckKind.COUNT, CheckKind.TOTALS, CheckKind.CHECKSUM, CheckKind.DIFF,
               CheckKind.KAFKA_BACKLOG, CheckKind.KAFKA_VOLUME, CheckKind.KAFKA_KEYS}
# Kinds whose key lists are row keys (a TOTALS result's keys are days; a COUNT's are windows).
ROW_KEYED = {CheckKind.DIFF, CheckKind.KAFKA_KEYS, CheckKind.TRACE}
_OWN_EVIDENCE = {CheckKind.KAFKA_BACKLOG, CheckKind.KAFKA_VOLUME, CheckKind.CHECKSUM}
_CATEGORIES = ("missing", "extra", "changed", "duplicate")

_UNIQUE_RULES = {"expect_column_values_to_be_unique", "expect_compound_columns_to_be_unique",
                 "expect_select_column_values_to_be_unique_within_record"}
_REFERENCE_RULES = {"expect_column_values_to_reference"}


@dataclass(frozen=True)
class Unit:
    """Where a root fault happened: a (link, table) copy pair, or a (node, table) for bad data."""

    key: str                      # the ticket's open key
    kind: str                     # consistency | quality | a kind of its own for other checks
    table: str
    link_id: str | None = None
    source_node: str | None = None
    target_node: str | None = None


@dataclass
class Attribution:
    result: CheckResult
    unit: Unit
    role: str                     # head | trace | echo
    because: str = ""             # for echoes and traces: why the result belongs to this unit
    keys: dict[str, list[Key]] = field(default_factory=dict)   # a trace's keys lost at this unit's hop


def open_key_of(link_or_node: str | None, table: str, kind: str) -> str:
    return f"{link_or_node or '-'}/{table}/{kind}"[:250]


def _unit_table(link_id: str | None, table: str, source_node: str | None, catalog: Catalog | None,
                hint: str | None = None) -> str:
    """``table``, or ``table@source`` when the link carries the same table from several sources
    (zz04 reads yp_ypxx from the use and the entry databases): separate copies to repair."""
    multi = False
    if catalog is not None and link_id in catalog.links:
        multi = sum(s.table == table for s in catalog.links[link_id].tables) > 1
    elif "@" in str(hint or ""):
        multi = True
    return f"{table}@{source_node}" if multi and source_node else table


def pair_unit(result: CheckResult, catalog: Catalog | None) -> Unit:
    table = _unit_table(result.link_id, result.table, result.source_node, catalog,
                        (result.details or {}).get("link_check"))
    return Unit(open_key_of(result.link_id, table, CONSISTENCY), CONSISTENCY, result.table,
                result.link_id, result.source_node, result.target_node)


def _node_unit(result: CheckResult, node: str | None = None) -> Unit:
    node = node or result.source_node
    return Unit(open_key_of(node, result.table, QUALITY), QUALITY, result.table, None, node, None)


def unit_of(result: CheckResult, catalog: Catalog | None) -> Unit:
    """The unit a result would head if it were a fault of its own."""
    if result.kind in _PAIR_KINDS:
        return pair_unit(result, catalog)
    if result.kind is CheckKind.QUALITY:
        return _node_unit(result)
    kind = result.kind.value
    if result.kind is CheckKind.SCHEMA:
        # link/table/schema, or link/table@source/schema where a link reads the table from
        # several sources: each source's columns are a different fault to fix.
        table = _unit_table(result.link_id, result.table, result.source_node, catalog,
                            (result.details or {}).get("link_check"))
        return Unit(open_key_of(result.link_id, table, kind), kind, result.table, result.link_id,
                    result.source_node, result.target_node)
    return Unit(open_key_of(result.link_id, result.table, kind), kind, result.table, result.link_id,
                result.source_node, result.target_node)


# ---- topology ---------------------------------------------------------------------------------------

class _Topology:
    """Which copies of a table feed which, along the catalog's links (transitively)."""

    def __init__(self, catalog: Catalog | None) -> None:
        self._edges: dict[str, dict[str, set[str]]] = {}
        for lc in catalog.link_checks() if catalog is not None else []:
            self._edges.setdefault(lc.table.name, {}).setdefault(lc.source.id, set()).add(lc.target.id)
        self._cache: dict[tuple[str, str], set[str]] = {}

    def downstream(self, table: str, node: str) -> set[str]:
        """Every node the table's rows reach from ``node`` (``node`` itself excluded unless a cycle
        brings them back)."""
        got = self._cache.get((table, node))
        if got is None:
            edges, got, todo = self._edges.get(table, {}), set(), [node]
            while todo:
                for nxt in edges.get(todo.pop(), ()):
                    if nxt not in got:
                        got.add(nxt)
                        todo.append(nxt)
            self._cache[(table, node)] = got
        return got

    def feeds(self, table: str, upstream: str | None, node: str | None) -> bool:
        """``upstream`` is the copy ``node`` reads, or a copy that feeds it."""
        return self.distance(table, upstream, node) is not None

    def distance(self, table: str, upstream: str | None, node: str | None) -> int | None:
        """Hops from ``upstream`` to ``node`` along the table's links (0: the same copy)."""
        if upstream is None or node is None:
            return None
        if upstream == node:
            return 0
        edges, seen, frontier, hops = self._edges.get(table, {}), {upstream}, [upstream], 0
        while frontier:
            hops += 1
            nxt = [n for f in frontier for n in edges.get(f, ()) if n not in seen]
            if node in nxt:
                return hops
            seen.update(nxt)
            frontier = nxt
        return None

    def strictly_upstream(self, table: str, a: str, b: str) -> bool:
        """``a`` feeds ``b`` and ``b`` does not feed ``a`` (in a cycle, the smaller id counts as
        upstream, so exactly one of two mutually fed copies is the origin)."""
        if a == b or b not in self.downstream(table, a):
            return False
        return a not in self.downstream(table, b) or a < b


# ---- consistency echoes -------------------------------------------------------------------------------

def _key_set(result: CheckResult, category: str) -> set[Any] | None:
    """The result's keys of one category, or None when the list is only a sample."""
    keys = getattr(result, f"{category}_keys")
    if len(keys) < getattr(result, f"{category}_count"):
        return None
    return {tuple(k) if isinstance(k, list) else k for k in keys}


def _repeats(later: CheckResult, earlier: CheckResult) -> bool:
    """Every difference of ``later`` is one ``earlier`` found already, in the same category."""
    if not later.differences:
        return False
    for category in _CATEGORIES:
        if not getattr(later, f"{category}_count"):
            continue
        mine, theirs = _key_set(later, category), _key_set(earlier, category)
        if not mine or theirs is None or not mine <= theirs:
            return False
    return True


def _pair_echoes(heads: dict[str, list[CheckResult]], units: dict[str, Unit],
                 topo: _Topology) -> dict[str, tuple[str, str]]:
    """unit key -> (root unit key, reason) for the pair units that only repeat an upstream one."""
    keyed = {k: [r for r in rs if r.kind in ROW_KEYED and r.is_anomaly] for k, rs in heads.items()}
    # Every (later, earlier) pair where the later hop only repeats the earlier one's keys, with
    # how far the earlier hop's target is from the later hop's source.
    candidates: dict[str, list[tuple[int, str]]] = {}
    for key, results in keyed.items():
        unit = units[key]
        # A lagging consumer or a checksum of its own is a fault here, whatever the keys say.
        if not results or any(r.is_anomaly and r.kind in _OWN_EVIDENCE for r in heads[key]):
            continue
        for other_key, others in keyed.items():
            other = units[other_key]
            if other_key == key or other.table != unit.table or not others:
                continue
            hops = topo.distance(unit.table, other.target_node, unit.source_node)
            # Flows go round (province → HQ → province), so two hops can each feed the other:
            # the nearer relation is the real one (the hop that reads the damaged copy directly).
            back = topo.distance(unit.table, unit.target_node, other.source_node)
            if hops is None or (back is not None and (back, key) < (hops, other_key)):
                continue
            if all(any(_repeats(r, o) for o in others) for r in results):
                candidates.setdefault(key, []).append((hops, other_key))
    explained_by: dict[str, tuple[str, str]] = {}
    for key, found in candidates.items():
        for _hops, other_key in sorted(found):
            other = units[other_key]
            explained_by[key] = (other_key, f"the same keys, found first on {other.link_id} "
                                            f"({other.source_node} → {other.target_node})")
            break
    # Copies that feed each other in a longer cycle could still explain each other: one is the root.
    for key in list(explained_by):
        root = _root(key, explained_by)
        explained_by.pop(root, None)
    return explained_by


def _root(key: str, explained_by: dict[str, tuple[str, str]]) -> str:
    seen = {key}
    while key in explained_by and explained_by[key][0] not in seen:
        key = explained_by[key][0]
        seen.add(key)
    return key


# ---- quality echoes -----------------------------------------------------------------------------------

def _failing_rules(result: CheckResult) -> list[dict[str, Any]] | None:
    rules = (result.details or {}).get("expectations")
    if not isinstance(rules, list):
        return None
    return [e for e in rules if isinstance(e, dict) and e.get("success") is False]


def _rule_id(rule: dict[str, Any]) -> tuple[str, str, tuple[str, ...]]:
    return (str(rule.get("expectation_type")), str(rule.get("rule") or ""),
            tuple(str(c) for c in rule.get("columns") or ()))


def _quality_cause(result: CheckResult, rule: dict[str, Any], pair_roots: dict[str, tuple[Unit, list[CheckResult]]],
                   failing: dict[tuple[str, tuple[str, str, tuple[str, ...]]], list[CheckResult]],
                   topo: _Topology) -> tuple[str, str] | None:
    """(root unit key, reason) of one failing rule on a copy, or None when it is a fault there."""
    node, table, kind = result.source_node, result.table, str(rule.get("expectation_type"))
    if kind in _UNIQUE_RULES:
        for unit, results in pair_roots.values():
            if unit.table == table and topo.feeds(table, unit.target_node, node) and any(
                    r.duplicate_count for r in results):
                return unit.key, f"rows duplicated by {unit.link_id} on {unit.target_node}"
    if kind in _REFERENCE_RULES:
        parent = str(((rule.get("kwargs") or {}).get("ref_table")) or _ref_table(rule) or "")
        for unit, results in pair_roots.values():
            if unit.table == parent and topo.feeds(parent, unit.target_node, node) and any(
                    r.missing_count for r in results):
                return unit.key, f"parent rows of {parent} lost by {unit.link_id} on {unit.target_node}"
    # The same rule failing on a copy upstream: the bad rows were born there and copied here.
    for other in failing.get((table, _rule_id(rule)), []):
        if other is not result and other.source_node and node and topo.strictly_upstream(
                table, other.source_node, node):
            return (_node_unit(other).key,
                    f"the same rule fails upstream on {other.source_node}, where the rows come from")
    return None


def _ref_table(rule: dict[str, Any]) -> str | None:
    """The referenced table of a reference rule, from its text when the result carries no kwargs
    ("taxpayer exists (when nsr_jcxx is on this node)")."""
    m = re.search(r"\b([a-z][a-z0-9_]*_[a-z0-9_]+)\b", str(rule.get("rule") or ""))
    return m.group(1) if m else None


# ---- the attribution --------------------------------------------------------------------------------

def attribute(results: Iterable[CheckResult], catalog: Catalog | None) -> list[Attribution]:
    """The unit and role of every result that ran (NOT_RUN results are left out)."""
    ran = [r for r in results if r.outcome is not Outcome.NOT_RUN]
    topo = _Topology(catalog)
    units: dict[str, Unit] = {}
    pair_results: dict[str, list[CheckResult]] = {}
    out: list[Attribution] = []
    for r in ran:
        if r.kind in _PAIR_KINDS:
            unit = pair_unit(r, catalog)
            units.setdefault(unit.key, unit)
            pair_results.setdefault(unit.key, []).append(r)

    # 1. Pair units: heads unless they only repeat an upstream hop's keys.
    anomalous = {k: rs for k, rs in pair_results.items() if any(r.is_anomaly for r in rs)}
    explained_by = _pair_echoes(anomalous, units, topo)
    for key, rs in pair_results.items():
        if key in explained_by:
            root = _root(key, explained_by)
            why = explained_by[key][1]
            out += [Attribution(r, units[root], "echo", why) for r in rs if r.is_anomaly]
        else:
            out += [Attribution(r, units[key], "head") for r in rs]
    roots = {k: (units[k], rs) for k, rs in anomalous.items() if k not in explained_by}

    # 2. Traces: filed under the hop that lost the keys first.
    for r in ran:
        if r.kind is not CheckKind.TRACE:
            continue
        if not r.is_anomaly:
            continue
        out += _trace_attributions(r, catalog, units, roots)

    # 3. Quality: heads on the node where the bad data was born, echoes elsewhere.
    quality = [r for r in ran if r.kind is CheckKind.QUALITY]
    failing: dict[tuple[str, tuple[str, str, tuple[str, ...]]], list[CheckResult]] = {}
    for r in quality:
        for rule in _failing_rules(r) or []:
            failing.setdefault((r.table, _rule_id(rule)), []).append(r)
    causes: dict[str, list[tuple[str, str]]] = {}
    for r in quality:
        rules = _failing_rules(r) if r.is_anomaly else None
        found = [_quality_cause(r, rule, roots, failing, topo) for rule in rules or []]
        if rules and all(found):
            causes[str(r.check_id)] = [c for c in found if c is not None]
        else:
            out.append(Attribution(r, _node_unit(r), "head"))
    quality_units = {_node_unit(r).key: _node_unit(r) for r in quality}
    check_of_unit = {_node_unit(r).key: str(r.check_id) for r in quality}
    for r in quality:
        targets: dict[str, str] = {}
        for root_key, why in causes.get(str(r.check_id), []):
            # An upstream copy's failure may itself be an echo: follow it to the origin.
            seen = {root_key}
            while check_of_unit.get(root_key) in causes:
                root_key = causes[check_of_unit[root_key]][0][0]
                if root_key in seen:
                    break
                seen.add(root_key)
            targets.setdefault(root_key, why)
        for root_key, why in targets.items():
            root_unit = units.get(root_key) or quality_units.get(root_key)
            out.append(Attribution(r, root_unit, "echo", why) if root_unit is not None
                       else Attribution(r, _node_unit(r), "head"))

    # 4. Anything else (checks of kinds added later) heads a unit of its own kind.
    done = {id(a.result) for a in out} | {id(r) for r in ran if r.kind is CheckKind.TRACE}
    out += [Attribution(r, unit_of(r, catalog), "head") for r in ran if id(r) not in done]
    return out


def _trace_attributions(trace: CheckResult, catalog: Catalog | None, units: dict[str, Unit],
                        roots: dict[str, tuple[Unit, list[CheckResult]]]) -> list[Attribution]:
    """One attribution per hop that lost keys first. ``first_missing_hop`` names each hop by its
    link check (``link/table`` or ``link/table@source``) or, in older results, by its link."""
    out: list[Attribution] = []
    first = (trace.details or {}).get("first_missing_hop") or {}
    for hop, keys in first.items():
        if not keys:
            continue
        link_id, _, rest = str(hop).partition("/")
        source_node = rest.partition("@")[2] or None
        candidates = [u for u in units.values()
                      if u.link_id == link_id and u.table == trace.table
                      and (source_node is None or u.source_node == source_node)]
        unit = next((u for u in candidates if u.key in roots), candidates[0] if candidates else None)
        if unit is None:
            unit = _hop_unit(link_id, trace.table, source_node, catalog)
        lost = [tuple(k) if isinstance(k, list) else k for k in keys]
        role = "trace" if unit.key in roots else "head"
        out.append(Attribution(trace, unit, role, f"flow {trace.flow_id} lost these keys first on {link_id}",
                               keys={"missing": lost}))
    return out


def _hop_unit(link_id: str, table: str, source_node: str | None, catalog: Catalog | None) -> Unit:
    target = None
    if catalog is not None and link_id in catalog.links:
        link = catalog.links[link_id]
        target = link.target
        if source_node is None:
            specs = [s for s in link.tables if s.table == table]
            source_node = link.source_of(specs[0]) if len(specs) == 1 else None
    unit_table = _unit_table(link_id, table, source_node, catalog)
    return Unit(open_key_of(link_id, unit_table, CONSISTENCY), CONSISTENCY, table, link_id, source_node, target)


__all__ = ["CONSISTENCY", "QUALITY", "ROW_KEYED", "Attribution", "Unit", "attribute", "open_key_of", "pair_unit",
           "unit_of"]
