"""Great Expectations suites over SQL tables, pushed down to the database.

Public API::

    from syncverify.quality import run_suite, run_suites, to_check_results, load_suite

    result = run_suite("mysql+pymysql://...", None, "invoice",
                       window=(datetime(2026, 10, 1), datetime(2026, 11, 1)))
    checks = to_check_results(result, node="gx.query_db")

Suites live in ``expectations/<family>.json`` (format in :mod:`syncverify.quality.suites` and
docs/quality.md). Great Expectations itself is imported only when a suite is loaded or run.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from syncverify.lazyexports import lazy_exports

if TYPE_CHECKING:
    from syncverify.quality.credit_code import check_character, is_valid_credit_code, is_valid_taxpayer_id
    from syncverify.quality.model import (
        ExpectationResult,
        ExpectationStatus,
        SuiteResult,
        SuiteStatus,
        to_check_results,
    )
    from syncverify.quality.runner import run_suite, run_suites
    from syncverify.quality.suites import SuiteFileError, SuiteSpec, available_suites, load_suite, suite_path

__all__ = [
    "ExpectationResult", "ExpectationStatus", "SuiteFileError", "SuiteResult", "SuiteSpec", "SuiteStatus",
    "available_suites", "check_character", "is_valid_credit_code", "is_valid_taxpayer_id", "load_suite",
    "run_suite", "run_suites", "suite_path", "to_check_results",
]

# Imported on first use: building the command-line parser must not load them (syncverify/lazyexports.py).
__getattr__ = lazy_exports(__name__)
