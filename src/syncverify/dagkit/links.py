"""The DAG run's link to its reports: an extra link on the ``reports`` task.

Airflow 3 computes an operator's extra links on the worker when the task ends and keeps them as
XCom, so the link is read from what the task returned (the report files) — the API server needs
no plugin and no access to the reports folder.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from airflow.sdk import BaseOperatorLink, BaseXCom


def report_link(files: list[str] | None) -> str:
    """The consistency report's HTML among ``files`` (else the first file) as a file:// URL."""
    if not files:
        return ""
    html = [f for f in files if f.endswith("consistency.html")] or [f for f in files if f.endswith(".html")] or files
    return Path(html[0]).resolve().as_uri()


class ReportsLink(BaseOperatorLink):
    """「月报」: the month's consistency report, as written by this task."""

    @property
    def name(self) -> str:
        return "Monthly report"

    def get_link(self, operator: Any, *, ti_key: Any) -> str:
        value = BaseXCom.get_value(ti_key=ti_key, key="return_value")
        return report_link(value.get("files") if isinstance(value, dict) else None)
