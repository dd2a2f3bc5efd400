"""How a table's rows are counted in the report: invoices (张发票), taxpayers (户) or records (条记录).

By the table's family (its quality suite in the catalog), so a taxpayer table's missing rows are
never counted as invoices.
"""

from __future__ import annotations

from syncverify.catalog import Catalog

UNITS = ("invoices", "taxpayers", "records")
_UNIT_OF_FAMILY = {"invoice": "invoices", "taxpayer": "taxpayers", "taxpayer_ext": "taxpayers"}


def table_unit(catalog: Catalog, table: str) -> str:
    tdef = catalog.tables.get(table)
    return _UNIT_OF_FAMILY.get((tdef.suite if tdef else None) or "", "records")
