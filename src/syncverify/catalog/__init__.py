"""The topology catalog: nodes, tables, links and flows, loaded from ``checks/*.yaml``."""

from typing import TYPE_CHECKING

from syncverify.lazyexports import lazy_exports

if TYPE_CHECKING:
    from syncverify.catalog.loader import Catalog, LinkCheck, load_catalog
    from syncverify.catalog.models import Flow, Link, LinkKind, LinkTable, Node, NodeKind, Side, TableDef
    from syncverify.catalog.predicates import Predicate, parse_predicate

__all__ = [
    "Catalog", "Flow", "Link", "LinkCheck", "LinkKind", "LinkTable", "Node", "NodeKind", "Predicate",
    "Side", "TableDef", "load_catalog", "parse_predicate",
]

# Imported on first use: building the command-line parser must not load them (syncverify/lazyexports.py).
__getattr__ = lazy_exports(__name__)
