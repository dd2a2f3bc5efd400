"""Render the topology: a readable tree, JSON, or Graphviz dot."""

from __future__ import annotations

import json
from typing import Any

from syncverify.catalog.loader import Catalog
from syncverify.catalog.models import Link


def _link_line(catalog: Catalog, link: Link, tables: list[str]) -> str:
    carried = [t.table for t in link.tables if not tables or t.table in tables]
    src = catalog.nodes[link.source]
    dst = catalog.nodes[link.target]
    routed = any(t.routing is not None for t in link.tables if not tables or t.table in tables)
    return (f"{link.id} [{link.kind.value}] {src.id} ({src.title}) → {dst.id} ({dst.title})"
            f"  tables: {', '.join(dict.fromkeys(carried))}{'  (routed 清分)' if routed else ''}")


def as_tree(catalog: Catalog) -> str:
    """Each flow with its hops in order; then links that belong to no flow."""
    lines: list[str] = []
    for flow in catalog.flows.values():
        lines.append(f"{flow.id} {flow.title}  (from {', '.join(flow.sources)})")
        for i, hop in enumerate(flow.hops):
            branch = "└─" if i == len(flow.hops) - 1 else "├─"
            lines.append(f"  {branch} {_link_line(catalog, catalog.links[hop], flow.tables)}")
    in_flows = {hop for f in catalog.flows.values() for hop in f.hops}
    orphans = [link for link in catalog.links.values() if link.id not in in_flows]
    if orphans:
        lines.append("links in no flow")
        lines.extend(f"  ─ {_link_line(catalog, link, [])}" for link in orphans)
    return "\n".join(lines)


def as_dict(catalog: Catalog) -> dict[str, Any]:
    return {
        "nodes": [n.model_dump(mode="json", by_alias=True) for n in catalog.nodes.values()],
        "tables": [t.model_dump(mode="json") for t in catalog.tables.values()],
        "links": [
            {**link.model_dump(mode="json", exclude={"grace", "tables"}), "grace_s": link.grace.total_seconds(),
             "tables": [t.model_dump(mode="json", by_alias=True, exclude_none=True) for t in link.tables]}
            for link in catalog.links.values()
        ],
        "flows": [f.model_dump(mode="json") for f in catalog.flows.values()],
    }


def as_json(catalog: Catalog) -> str:
    return json.dumps(as_dict(catalog), ensure_ascii=False, indent=2)


def _dot_id(text: str) -> str:
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'


def as_dot(catalog: Catalog) -> str:
    """Graphviz: nodes clustered by side (HQ / province), one edge per link."""
    out = ["digraph syncverify {", "  rankdir=LR;", '  node [shape=box, fontname="Noto Sans CJK SC"];']
    for side, label in (("hq", "总局 HQ"), ("province", "省局 Guangxi")):
        out.append(f"  subgraph cluster_{side} {{ label={_dot_id(label)};")
        for node in catalog.nodes.values():
            if node.side.value == side:
                shape = ", shape=cds" if node.is_kafka else ""
                out.append(f"    {_dot_id(node.id)} [label={_dot_id(node.id + chr(10) + node.title)}{shape}];")
        out.append("  }")
    for link in catalog.links.values():
        style = "dashed" if link.kind.value.startswith("kafka") else "solid"
        for source in dict.fromkeys(link.source_of(t) for t in link.tables):
            out.append(f"  {_dot_id(source)} -> {_dot_id(link.target)} [label={_dot_id(link.id)}, style={style}];")
    out.append("}")
    return "\n".join(out)
