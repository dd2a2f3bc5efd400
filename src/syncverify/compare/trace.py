"""End-to-end flow tracing: for keys missing somewhere downstream, the first hop that lost them.

A flow is an ordered list of hops (link id, source copy, target copy). Independent of the
catalog: the runner turns a catalog flow into :class:`HopRef` objects. A hop that cannot be
compared is recorded in ``details["hop_errors"]`` and the others still run.
"""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Collection, Sequence
from dataclasses import dataclass

from syncverify.compare.bucketdiff import DiffStats, fetch_keys
from syncverify.compare.engine import diff_tables, key_out, new_result
from syncverify.compare.plan import InternalKey, resolve
from syncverify.compare.spec import CompareSpec, TableRef
from syncverify.errors import SyncverifyError
from syncverify.results import CheckKind, CheckResult, Key, key_to_json


@dataclass
class HopRef:
    """One hop of a flow: the copy it reads (with its routing predicate as ``source.where``)
    and the copy it writes."""

    link_id: str
    source: TableRef
    target: TableRef


def _result(hops: Sequence[HopRef], spec: CompareSpec, flow_id: str | None, table: str | None = None,
            source_node: str | None = None, target_node: str | None = None) -> CheckResult:
    """The trace's result, named by its flow (``flow_id``; a trace is no one link's) and filed
    under ``table`` (default: the first hop's source table) and the given end nodes."""
    if not hops:
        raise SyncverifyError("a flow trace needs at least one hop")
    table = table or hops[0].source.qualified
    base = new_result(CheckKind.TRACE, hops[0].source, hops[-1].target, spec, None)
    return dataclasses.replace(base, flow_id=flow_id, table=table, source_node=source_node or base.source_node,
                               target_node=target_node or base.target_node, check_id=f"trace/{flow_id or '-'}/{table}")


def _finish(result: CheckResult, first: dict[str, list[Key]], hops_info: list[dict], errors: dict[str, str],
            started: float) -> CheckResult:
    lost = [k for keys in first.values() for k in keys]
    result.missing_count = len(lost)
    result.missing_keys = lost
    result.details = {
        "first_missing_hop": {hop: [key_to_json(k) for k in keys] for hop, keys in first.items() if keys},
        "hops": hops_info, "hop_errors": errors, "elapsed_s": round(time.perf_counter() - started, 3)}
    if errors:
        result.error = "; ".join(f"{hop}: {msg}" for hop, msg in errors.items())
    return result.finish()


def trace_flow(hops: Sequence[HopRef], spec: CompareSpec, *, flow_id: str | None = None) -> CheckResult:
    """Diff every hop in order; each key missing at a hop's target is attributed to the first
    hop (in the given order) that lost it. ``missing_count`` counts distinct lost keys."""
    started = time.perf_counter()
    result = _result(hops, spec, flow_id)
    first: dict[str, list[Key]] = {}
    seen: set[Key] = set()
    info, errors = [], {}
    for hop in hops:
        try:
            r = diff_tables(hop.source, hop.target, spec, link_id=hop.link_id, key_sample_cap=spec.key_cap)
        except SyncverifyError as exc:
            errors[hop.link_id] = str(exc)
            continue
        info.append({"link_id": hop.link_id, "source_rows": r.source_rows, "target_rows": r.target_rows,
                     "missing": r.missing_count, "extra": r.extra_count, "changed": r.changed_count})
        fresh = [k for k in r.missing_keys if k not in seen]
        seen.update(fresh)
        first[hop.link_id] = fresh
    return _finish(result, first, info, errors, started)


def trace_keys(hops: Sequence[HopRef], keys: Sequence[Key], spec: CompareSpec, *,
               flow_id: str | None = None, sources: Collection[str] | None = None, table: str | None = None,
               source_node: str | None = None, target_node: str | None = None) -> CheckResult:
    """Follow given keys (e.g. a ticket's) hop by hop, looking them up by key only: a key is
    lost at the first hop whose source has it and whose target does not.

    ``sources``: the labels of the copies where the flow starts. When given, only keys that
    entered there are traced: flows share hops (three issuance flows meet on the province query
    database), and a key lost on a shared hop belongs to the flow it came from, not to every flow
    that passes that hop. ``table``, ``source_node``, ``target_node``: what the result is filed
    under (the catalog's table name and the flow's end nodes), when not the hops' own.
    """
    started = time.perf_counter()
    result = _result(hops, spec, flow_id, table, source_node, target_node)
    wanted: list[InternalKey] = [k if isinstance(k, tuple) else (k,) for k in keys]
    first: dict[str, list[InternalKey]] = {}
    seen: set[InternalKey] = set()
    entered: set[InternalKey] = set()
    info, errors = [], {}
    for hop in hops:
        try:
            pair = resolve(hop.source, hop.target, dataclasses.replace(spec, columns=[]))
            src, tgt = fetch_keys(pair, wanted, DiffStats())
        except SyncverifyError as exc:
            errors[hop.link_id] = str(exc)
            continue
        if sources is not None and hop.source.label in sources:
            entered.update(k for k in wanted if k in src)
        lost = [k for k in wanted if k in src and k not in tgt and k not in seen]
        seen.update(lost)
        first[hop.link_id] = lost
        info.append({"link_id": hop.link_id, "present_in_source": sum(k in src for k in wanted),
                     "present_in_target": sum(k in tgt for k in wanted), "lost": len(lost)})
    if sources is not None:
        first = {hop: [k for k in lost if k in entered] for hop, lost in first.items()}
    out = {hop: [key_out(k) for k in lost] for hop, lost in first.items()}
    return _finish(result, out, info, errors, started)
