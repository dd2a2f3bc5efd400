"""The shape of the checks step in the monthly DAG, as plain data (no Airflow here).

Units come from :func:`syncverify.runner.pipeline.units`: flow by flow, hops in each flow's order,
a hop shared by several flows once, under its first flow. The DAG draws one task group per flow
and one task per hop; the hop-order edges below also cross groups, since a flow that reuses a hop
checked under an earlier flow still wants it before its next hop. Two flows can pass the same
two hops in opposite orders (F1 has GXJF-LEDGER before DD-QF, F2 after): the first order seen is
kept and the edge that would close a cycle is left out.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterable, Sequence

from syncverify.catalog import Catalog
from syncverify.runner.execution import Unit


def hop_groups(units: Sequence[Unit]) -> dict[str | None, dict[str, list[str]]]:
    """flow -> hop -> tables, each in the units' order (the flow of a hop: its first unit's)."""
    groups: dict[str | None, dict[str, list[str]]] = {}
    flow_of: dict[str, str | None] = {}
    for u in units:
        flow = flow_of.setdefault(u.link, u.flow)
        groups.setdefault(flow, {}).setdefault(u.link, []).append(u.table)
    return groups


def hop_edges(catalog: Catalog, hops: Iterable[str]) -> list[tuple[str, str]]:
    """(before, after) for consecutive hops of every flow among ``hops``, without cycles."""
    present = set(hops)
    downstream: dict[str, set[str]] = {h: set() for h in present}
    edges: list[tuple[str, str]] = []

    def reaches(a: str, b: str) -> bool:
        seen, todo = set(), [a]
        while todo:
            n = todo.pop()
            if n == b:
                return True
            if n not in seen:
                seen.add(n)
                todo.extend(downstream[n])
        return False

    for flow in catalog.flows.values():
        chain = [h for h in flow.hops if h in present]
        for before, after in itertools.pairwise(chain):
            if before == after or after in downstream[before] or reaches(after, before):
                continue
            downstream[before].add(after)
            edges.append((before, after))
    return edges
