"""Schema compatibility of the copies a link carries: column types, lengths, precision, scale,
fractional seconds, nullability, keys and character sets, graded by what they do to the data.

* :func:`~syncverify.schema.check.run_schema_check` — the ``schema`` depth of a run (one
  :class:`~syncverify.results.CheckResult` of kind ``schema`` per link and table);
* :func:`~syncverify.schema.gate.release_gate` / :func:`~syncverify.schema.gate.gate_job` — the
  pre-release gate over a candidate DDL file or database;
* :mod:`~syncverify.schema.snapshots` — the monthly snapshots and the changes between runs.

The type normalisation is the dialects' (``Dialect.describe_type``); see docs/schema.md.
"""

from typing import TYPE_CHECKING

from syncverify.lazyexports import lazy_exports

if TYPE_CHECKING:
    from syncverify.schema.gate import GateReport, SchemaGateError, gate_job, release_gate
    from syncverify.shapes.compare import Finding, Severity, align_ddl, compare_shapes
    from syncverify.shapes.table import ColumnShape, TableShape, parse_ddl, reflect_shape

__all__ = ["ColumnShape", "Finding", "GateReport", "SchemaGateError", "Severity", "TableShape", "align_ddl",
           "compare_shapes", "gate_job", "parse_ddl", "reflect_shape", "release_gate"]

# Imported on first use: building the command-line parser must not load them (syncverify/lazyexports.py).
__getattr__ = lazy_exports(__name__)
