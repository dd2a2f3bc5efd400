"""Sync-log analysis: parse DSG link and Kafka consumer logs, analyse a month per link and table,
and turn bottlenecks, failure modes and abnormal behaviour into findings with actions.

Public API::

    formats = load_formats("checks/synclog.yaml")
    parsed = parse_files(paths, formats)              # events table + ParseStats (small inputs)
    analysis = analyse(log_dir, "2026-10", formats, anomalies=check_results)
    write_analysis(analysis, out_dir)                 # JSON + Parquet
"""

from typing import TYPE_CHECKING

from syncverify.lazyexports import lazy_exports

if TYPE_CHECKING:
    from syncverify.synclog.analysis import analyse
    from syncverify.synclog.formats import LogFormatError, LogFormats, LogInputError, LogSource, load_formats
    from syncverify.synclog.model import Finding, LinkAnalysis, MonthAnalysis
    from syncverify.synclog.output import write_analysis
    from syncverify.synclog.parsers import ParsedLogs, ParseStats, iter_events, parse_files
    from syncverify.synclog.settings import Settings

__all__ = [
    "Finding",
    "LinkAnalysis",
    "LogFormatError",
    "LogFormats",
    "LogInputError",
    "LogSource",
    "MonthAnalysis",
    "ParseStats",
    "ParsedLogs",
    "Settings",
    "analyse",
    "iter_events",
    "load_formats",
    "parse_files",
    "write_analysis",
]

# Imported on first use: building the command-line parser must not load them (syncverify/lazyexports.py).
__getattr__ = lazy_exports(__name__)
