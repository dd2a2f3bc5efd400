"""The topology catalog: nodes, tables, links and flows, loaded from ``checks/*.yaml``."""

from syncverify.catalog.loader import Catalog, LinkCheck, load_catalog
from syncverify.catalog.models import Flow, Link, LinkKind, LinkTable, Node, NodeKind, Side, TableDef
from syncverify.catalog.predicates import Predicate, parse_predicate

__all__ = [
    "Catalog", "Flow", "Link", "LinkCheck", "LinkKind", "LinkTable", "Node", "NodeKind", "Predicate",
    "Side", "TableDef", "load_catalog", "parse_predicate",
]
