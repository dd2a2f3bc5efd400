"""Load ``checks/*.yaml`` into a validated :class:`Catalog`.

Every YAML file may hold any of the sections ``nodes``, ``tables``, ``links`` and ``flows``
(lists of entries); files are merged, so a generated fragment (``syncverify discover``) can sit
beside the hand-written topology. Other top-level sections that belong to other parts
(``log_sources``) are left to them. Every error names the file, the entry and the field.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

import yaml
from pydantic import BaseModel, ValidationError

from syncverify.catalog.models import Flow, Link, LinkTable, Node, TableDef
from syncverify.catalog.predicates import MAX_DEPTH as MAX_PREDICATE_DEPTH
from syncverify.errors import CatalogError

SECTIONS = ("nodes", "tables", "links", "flows")
FOREIGN_SECTIONS = frozenset({"log_sources"})
DEFAULT_PATH = Path("checks")

M = TypeVar("M", bound=BaseModel)


@dataclass(frozen=True)
class LinkCheck:
    """One (link, table) pair the verifier compares: the unit of work of a run."""

    link: Link
    spec: LinkTable
    table: TableDef
    source: Node
    target: Node

    @property
    def id(self) -> str:
        suffix = f"@{self.spec.source_node}" if self.spec.source_node else ""
        return f"{self.link.id}/{self.table.name}{suffix}"

    @property
    def source_table(self) -> str:
        return self.source.physical(self.table.name)

    @property
    def target_table(self) -> str:
        return self.target.physical(self.table.name)


@dataclass
class Catalog:
    nodes: dict[str, Node] = field(default_factory=dict)
    tables: dict[str, TableDef] = field(default_factory=dict)
    links: dict[str, Link] = field(default_factory=dict)
    flows: dict[str, Flow] = field(default_factory=dict)
    origin: dict[tuple[str, str], str] = field(default_factory=dict)   # (section, id) -> file

    def link_checks(self, *, links: Iterable[str] | None = None, tables: Iterable[str] | None = None,
                    flows: Iterable[str] | None = None) -> list[LinkCheck]:
        """Every enabled (link, table) pair, optionally narrowed to links, tables or flows."""
        wanted_links = set(links) if links else None
        wanted_tables = set(tables) if tables else None
        if flows:
            flow_links = {hop for f in flows for hop in self.flow(f).hops}
            wanted_links = flow_links if wanted_links is None else wanted_links & flow_links
        for name in wanted_links or ():
            self.link(name)
        for name in wanted_tables or ():
            self.table(name)
        out = []
        for link in self.links.values():
            if wanted_links is not None and link.id not in wanted_links:
                continue
            for spec in link.tables:
                if not spec.enabled or (wanted_tables is not None and spec.table not in wanted_tables):
                    continue
                out.append(LinkCheck(link, spec, self.tables[spec.table],
                                     self.nodes[link.source_of(spec)], self.nodes[link.target]))
        return out

    def node(self, node_id: str) -> Node:
        try:
            return self.nodes[node_id]
        except KeyError:
            raise CatalogError(f"unknown node {node_id!r}; known: {', '.join(sorted(self.nodes))}") from None

    def link(self, link_id: str) -> Link:
        try:
            return self.links[link_id]
        except KeyError:
            raise CatalogError(f"unknown link {link_id!r}; known: {', '.join(sorted(self.links))}") from None

    def table(self, name: str) -> TableDef:
        try:
            return self.tables[name]
        except KeyError:
            raise CatalogError(f"unknown table {name!r}; known: {', '.join(sorted(self.tables))}") from None

    def flow(self, flow_id: str) -> Flow:
        try:
            return self.flows[flow_id]
        except KeyError:
            raise CatalogError(f"unknown flow {flow_id!r}; known: {', '.join(sorted(self.flows))}") from None

    def flows_of_link(self, link_id: str) -> list[Flow]:
        return [f for f in self.flows.values() if link_id in f.hops]


def _yaml_files(path: Path) -> list[Path]:
    if path.is_file():
        return [path]
    if not path.is_dir():
        raise CatalogError(f"catalog path {str(path)!r} does not exist")
    files = sorted(p for p in path.rglob("*") if p.suffix in {".yaml", ".yml"} and p.is_file())
    if not files:
        raise CatalogError(f"no *.yaml files in catalog folder {str(path)!r}")
    return files


def _entry_name(raw: Any, index: int, section: str) -> str:
    if isinstance(raw, dict):
        for k in ("id", "name"):
            if isinstance(raw.get(k), str):
                return f"{section[:-1]} {raw[k]!r}"
    return f"{section}[{index}]"


def _validate(model: type[M], raw: Any, file: str, entry: str) -> M:
    if not isinstance(raw, dict):
        raise CatalogError("an entry must be a mapping", file=file, entry=entry)
    try:
        return model.model_validate(raw)
    except ValidationError as exc:
        err = exc.errors()[0]
        loc = ".".join(str(p) for p in err["loc"]) or None
        msg = err["msg"].removeprefix("Value error, ")
        if err["type"] == "missing":
            msg = "required field is missing"
        elif err["type"] == "extra_forbidden":
            msg = "unknown field"
        raise CatalogError(msg, file=file, entry=entry, field=loc) from None


# libyaml's parser and loader when PyYAML was built with it: a catalog at the bureau's scale
# (400 links, 2,500 tables, ~400 KB of YAML) loads in 0.3 s instead of 2.5 s with the pure-Python
# ones (benchmarks/catalog_scale.py). The libyaml parser is a state machine, so the depth pass
# below still recurses nowhere; the loader only ever sees files within the depth limit.
_SAFE_LOADER: type[yaml.SafeLoader] = getattr(yaml, "CSafeLoader", yaml.SafeLoader)

# Deepest YAML nesting a catalog file may have: a predicate at the predicate limit (a mapping and a
# list per ``any``/``all`` level) inside a link entry, with room to spare. PyYAML builds documents
# recursively, so a deeper file (900 nested ``not:``) raised RecursionError before any check.
MAX_YAML_DEPTH = 2 * MAX_PREDICATE_DEPTH + 16


def _yaml_depth(text: str) -> int:
    """Deepest nesting of collections in a YAML text, from the parser's events (iterative:
    nothing is built, nothing recurses); stops just past :data:`MAX_YAML_DEPTH`."""
    depth = deepest = 0
    for event in yaml.parse(text, Loader=_SAFE_LOADER):
        if isinstance(event, yaml.CollectionStartEvent):
            depth += 1
            deepest = max(deepest, depth)
            if deepest > MAX_YAML_DEPTH:
                break
        elif isinstance(event, yaml.CollectionEndEvent):
            depth -= 1
    return deepest


def _read(file: Path) -> dict[str, Any]:
    try:
        text = file.read_text(encoding="utf-8")
        if _yaml_depth(text) > MAX_YAML_DEPTH:
            raise CatalogError(f"nested more than {MAX_YAML_DEPTH} levels deep (predicates may nest at most "
                               f"{MAX_PREDICATE_DEPTH} levels)", file=str(file))
        data = yaml.load(text, Loader=_SAFE_LOADER)     # a safe loader (libyaml's when PyYAML has it)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" at line {mark.line + 1}" if mark else ""
        raise CatalogError(f"not valid YAML{where}: {getattr(exc, 'problem', exc)}", file=str(file)) from None
    except UnicodeDecodeError:
        raise CatalogError("not UTF-8 text", file=str(file)) from None
    if data is None:
        return {}
    if not isinstance(data, dict):
        raise CatalogError("top level must be a mapping of sections (nodes, tables, links, flows)",
                           file=str(file))
    unknown = set(data) - set(SECTIONS) - FOREIGN_SECTIONS
    if unknown:
        raise CatalogError(f"unknown section(s) {sorted(unknown)}; expected {list(SECTIONS)}", file=str(file))
    return data


def load_catalog(path: str | Path = DEFAULT_PATH) -> Catalog:
    """Load and validate every YAML file under ``path`` (a folder or one file)."""
    catalog = Catalog()
    models: dict[str, type[BaseModel]] = {"nodes": Node, "tables": TableDef, "links": Link, "flows": Flow}
    targets: dict[str, dict[str, Any]] = {"nodes": catalog.nodes, "tables": catalog.tables,
                                          "links": catalog.links, "flows": catalog.flows}
    for file in _yaml_files(Path(path)):
        data = _read(file)
        for section in SECTIONS:
            entries = data.get(section)
            if entries is None:
                continue
            if not isinstance(entries, list):
                raise CatalogError(f"section {section!r} must be a list", file=str(file))
            for index, raw in enumerate(entries):
                entry = _entry_name(raw, index, section)
                obj = _validate(models[section], raw, str(file), entry)
                ident = obj.id if hasattr(obj, "id") else obj.name  # type: ignore[attr-defined]
                if ident in targets[section]:
                    first = catalog.origin[(section, ident)]
                    raise CatalogError(f"duplicate {section[:-1]} id {ident!r} (first defined in {first})",
                                       file=str(file), entry=entry, field="id" if section != "tables" else "name")
                targets[section][ident] = obj
                catalog.origin[(section, ident)] = str(file)
    _check_references(catalog)
    return catalog


def _where(catalog: Catalog, section: str, ident: str) -> dict[str, str]:
    return {"file": catalog.origin.get((section, ident), "?"), "entry": f"{section[:-1]} {ident!r}"}



def _check_references(catalog: Catalog) -> None:
    for link in catalog.links.values():
        where = _where(catalog, "links", link.id)
        for fld in ("source", "target"):
            node_id = getattr(link, fld)
            if node_id not in catalog.nodes:
                raise CatalogError(f"unknown node {node_id!r}", field=fld, **where)
        for i, spec in enumerate(link.tables):
            if spec.table not in catalog.tables:
                raise CatalogError(f"unknown table {spec.table!r}", field=f"tables.{i}.table", **where)
            if spec.source_node is not None and spec.source_node not in catalog.nodes:
                raise CatalogError(f"unknown node {spec.source_node!r}", field=f"tables.{i}.source_node", **where)
        seen: set[tuple[str, str]] = set()
        for i, spec in enumerate(link.tables):
            pair = (spec.table, link.source_of(spec))
            if pair in seen:
                raise CatalogError(f"table {spec.table!r} from {pair[1]!r} listed twice",
                                   field=f"tables.{i}.table", **where)
            seen.add(pair)
        if link.kind.value == "kafka-consumer" and not catalog.nodes[link.source].is_kafka:
            raise CatalogError("a kafka-consumer link must read from a kafka node", field="source", **where)
        if link.kind.value == "kafka-producer" and not catalog.nodes[link.target].is_kafka:
            raise CatalogError("a kafka-producer link must write to a kafka node", field="target", **where)
    for flow in catalog.flows.values():
        where = _where(catalog, "flows", flow.id)
        for i, node_id in enumerate(flow.sources):
            if node_id not in catalog.nodes:
                raise CatalogError(f"unknown node {node_id!r}", field=f"sources.{i}", **where)
        _check_hops(catalog, flow, where)
        for i, name in enumerate(flow.tables):
            if name not in catalog.tables:
                raise CatalogError(f"unknown table {name!r}", field=f"tables.{i}", **where)


def _check_hops(catalog: Catalog, flow: Flow, where: dict[str, str]) -> None:
    """The hops of a flow must be a path through the topology, in order.

    The rule that accepts every shipped flow — chains (F9), fan-outs from one node (F1's
    GXJF-QUERY and GXJF-LEDGER both read gx.kafka) and parallel hops from several sources (F7's
    taxpayer records) — and rejects what makes a trace silently lose keys:

    - every hop is listed once (a repeated hop's keys were attributed to its first listing and
      the second came out empty);
    - every hop starts at a flow source or at a node an earlier hop reaches (a hop listed before
      the hop that feeds it is out of order: the flow is reversed);
    - no hop leads back to where the flow starts, and no hop undoes an earlier one (B -> A after
      A -> B): a flow runs away from its sources.
    """
    for i, hop in enumerate(flow.hops):
        if hop not in catalog.links:
            raise CatalogError(f"unknown link {hop!r}", field=f"hops.{i}", **where)
    reached = set(flow.sources)
    first_at: dict[str, int] = {}
    for i, hop in enumerate(flow.hops):
        if hop in first_at:
            raise CatalogError(f"hop {hop!r} is listed twice (hops.{first_at[hop]} and hops.{i}); each hop "
                               "may appear once in a flow", field=f"hops.{i}", **where)
        first_at[hop] = i
        link = catalog.links[hop]
        hop_sources = _hop_sources(catalog, flow, hop)
        if not hop_sources & reached:
            feeder = next((h for h in flow.hops[i + 1:] if catalog.links[h].target in hop_sources), None)
            order = ("the hops do not connect" + (f" (hop {feeder!r}, listed later, reaches it: the hops are out "
                                                  "of order, reversed?)" if feeder else ""))
            raise CatalogError(
                f"hop {hop!r} starts at {', '.join(sorted(hop_sources))}, which neither the flow's sources "
                f"nor an earlier hop reach: {order}", field=f"hops.{i}", **where)
        if link.target in flow.sources:
            raise CatalogError(f"hop {hop!r} goes back to {link.target!r}, where the flow starts: the hop is "
                               "reversed", field=f"hops.{i}", **where)
        for earlier in flow.hops[:i]:
            back = catalog.links[earlier]
            if back.target in hop_sources and link.target in _hop_sources(catalog, flow, earlier):
                raise CatalogError(f"hop {hop!r} ({', '.join(sorted(hop_sources))} -> {link.target}) reverses "
                                   f"the earlier hop {earlier!r}", field=f"hops.{i}", **where)
        reached.add(link.target)


def _hop_sources(catalog: Catalog, flow: Flow, hop: str) -> set[str]:
    """The nodes a hop reads for the flow's tables."""
    link = catalog.links[hop]
    return {link.source_of(s) for s in link.tables if not flow.tables or s.table in flow.tables}


def iter_entries(catalog: Catalog) -> Iterator[tuple[str, str, str]]:
    """(section, id, file) for every entry: for listings and the discover merge."""
    for (section, ident), file in sorted(catalog.origin.items()):
        yield section, ident, file
