"""Flow tracing after a run: where along each flow did the missing keys disappear?

For every flow and table, the keys that any hop of the flow reported missing are followed hop
by hop from the flow's start, looked up by key only; the first hop whose source holds a key and
whose target does not is where it was lost (an invoice can pass five hops before it reaches the
province ledger: the flows of checks/flows.yaml).
"""

from __future__ import annotations

import dataclasses
import logging

from syncverify.catalog import Catalog, LinkCheck
from syncverify.compare import HopRef, trace_keys
from syncverify.masking import mask_text
from syncverify.results import CheckKind, CheckResult, Key
from syncverify.runner.context import CheckContext, uses_kafka
from syncverify.runner.table_checks import refs

log = logging.getLogger(__name__)
MAX_TRACED_KEYS = 200   # per flow and table: enough to show where rows go missing, cheap to look up


def _hop_label(lc: LinkCheck) -> str:
    """A hop's name in a trace: its link, or ``link/table@source`` when the link carries the
    table from several sources (each is a hop of its own, lost keys filed under the right one)."""
    multi = sum(s.table == lc.table.name for s in lc.link.tables) > 1
    return f"{lc.link.id}/{lc.table.name}@{lc.source.id}" if multi else lc.link.id


def trace_flows(catalog: Catalog, ctx: CheckContext, results: list[CheckResult]) -> list[CheckResult]:
    missing: dict[tuple[str, str], list[Key]] = {}
    for r in results:
        if r.kind in (CheckKind.DIFF, CheckKind.KAFKA_KEYS) and r.missing_keys and r.link_id:
            missing.setdefault((r.link_id, r.table), []).extend(r.missing_keys)
    out: list[CheckResult] = []
    for flow in catalog.flows.values():
        for table in flow.tables or sorted(catalog.tables):
            keys = list(dict.fromkeys(k for hop in flow.hops for k in missing.get((hop, table), [])))
            if not keys:
                continue
            checks = [lc for hop in flow.hops for lc in catalog.link_checks(links=[hop], tables=[table])]
            hops = []
            for lc in checks:
                if uses_kafka(lc, ctx):
                    continue   # a real broker is looked up by the Kafka checks, not by key here
                source, target, spec = refs(lc, ctx)
                hops.append(HopRef(_hop_label(lc), source, target))
            if not hops:
                continue
            # Keys are traced only when they entered at one of this flow's own sources. When no
            # hop reads a source copy (its first hop is a real broker, looked up by the Kafka
            # checks instead), where a key entered cannot be told here, so every key is traced.
            sources = set(flow.sources) if any(h.source.label in flow.sources for h in hops) else None
            try:
                result = trace_keys(hops, keys[:MAX_TRACED_KEYS], dataclasses.replace(spec, window_column=None),
                                    sources=sources, flow_id=flow.id, table=table,
                                    source_node=checks[0].source.id, target_node=checks[-1].target.id)
            except Exception as exc:
                log.warning("trace of %s/%s failed: %s", flow.id, table, mask_text(str(exc)))
                continue
            result.details["flow_title"] = flow.title
            out.append(result)
    return out
