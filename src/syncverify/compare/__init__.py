"""The comparison engine: counts, business totals, checksums and exact diffs inside the databases.

Callers describe each copy with :class:`TableRef` and the comparison with :class:`CompareSpec`;
every function returns a :class:`~syncverify.results.CheckResult`. Nothing here branches on the
database: the per-database SQL lives in :mod:`syncverify.dialects`.
"""

from typing import TYPE_CHECKING

from syncverify.lazyexports import lazy_exports

if TYPE_CHECKING:
    from syncverify.compare.engine import diff_tables
    from syncverify.compare.levels import business_totals, checksum, count_rows
    from syncverify.compare.predicate import validate_predicate
    from syncverify.compare.spec import CompareSpec, TableRef
    from syncverify.compare.trace import HopRef, trace_flow, trace_keys

__all__ = ["CompareSpec", "HopRef", "TableRef", "business_totals", "checksum", "count_rows", "diff_tables",
           "trace_flow", "trace_keys", "validate_predicate"]

# Imported on first use: building the command-line parser must not load them (syncverify/lazyexports.py).
__getattr__ = lazy_exports(__name__)
