"""The monthly consistency report and the monthly sync-log analysis report.

``build_report_data`` assembles every number from the results store (never from production);
``write_reports`` renders both reports of a month (HTML, Markdown, JSON, difference lists) and
the index page.
"""

from typing import TYPE_CHECKING

from syncverify.lazyexports import lazy_exports

if TYPE_CHECKING:
    from syncverify.report.data import ConsistencyData, ReportData, build_report_data
    from syncverify.report.render import write_reports
    from syncverify.report.synclog_data import SynclogData

__all__ = ["ConsistencyData", "ReportData", "SynclogData", "build_report_data", "write_reports"]

# Imported on first use: building the command-line parser must not load them (syncverify/lazyexports.py).
__getattr__ = lazy_exports(__name__)
