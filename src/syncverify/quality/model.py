"""Results of a suite run, and their translation into syncverify's one result type.

Renderers, the store and the ticketing read :class:`~syncverify.results.CheckResult` only; a
suite run becomes one CheckResult (kind ``quality``) whose ``details`` carry the per-expectation
results. Sample keys are masked here, once, before anything leaves this package.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from enum import StrEnum
from typing import Any

from syncverify.results import CheckKind, CheckResult, Key, Outcome, key_to_json


class ExpectationStatus(StrEnum):
    PASSED = "passed"
    FAILED = "failed"
    SKIPPED = "skipped"      # a table it reads is absent on this node; ``reason`` says which
    ERROR = "error"          # the database or GX raised while evaluating it; ``reason`` says what


class SuiteStatus(StrEnum):
    PASSED = "passed"
    FAILED = "failed"        # at least one expectation failed: an anomaly of kind quality
    EMPTY = "empty"          # no row in the window: nothing to validate (not a failure)
    INCOMPLETE = "incomplete"  # nothing failed, but some expectations could not be evaluated
    NOT_RUN = "not_run"      # bad suite file, missing table/column, unreachable database


@dataclass
class ExpectationResult:
    """One expectation of one suite run."""

    index: int
    expectation_type: str
    rule: str
    columns: list[str]
    status: ExpectationStatus
    unexpected_count: int | None = None
    element_count: int | None = None
    sample_keys: list[Key] = field(default_factory=list)   # masked
    reason: str | None = None

    @property
    def success(self) -> bool | None:
        if self.status in (ExpectationStatus.PASSED, ExpectationStatus.FAILED):
            return self.status is ExpectationStatus.PASSED
        return None

    def to_dict(self) -> dict[str, Any]:
        out = asdict(self)
        out["status"] = self.status.value
        out["success"] = self.success
        out["column"] = self.columns[0] if len(self.columns) == 1 else None
        out["sample_keys"] = [key_to_json(k) for k in self.sample_keys]
        return out


@dataclass
class SuiteResult:
    """One suite run against one table for one window."""

    suite: str
    table: str
    status: SuiteStatus
    file: str | None = None
    window_column: str | None = None
    window_start: datetime | None = None
    window_end: datetime | None = None
    row_count: int | None = None
    expectations: list[ExpectationResult] = field(default_factory=list)
    error: str | None = None
    seconds: float = 0.0
    started_at: datetime = field(default_factory=lambda: datetime.now(UTC))

    @property
    def failed(self) -> list[ExpectationResult]:
        return [e for e in self.expectations if e.status is ExpectationStatus.FAILED]

    @property
    def ran(self) -> bool:
        return self.status is not SuiteStatus.NOT_RUN

    def count(self, status: ExpectationStatus) -> int:
        return sum(e.status is status for e in self.expectations)

    def to_dict(self) -> dict[str, Any]:
        return {
            "suite": self.suite, "file": self.file, "table": self.table, "status": self.status.value,
            "window_column": self.window_column,
            "window_start": self.window_start.isoformat() if self.window_start else None,
            "window_end": self.window_end.isoformat() if self.window_end else None,
            "row_count": self.row_count, "error": self.error, "seconds": round(self.seconds, 3),
            "evaluated": self.count(ExpectationStatus.PASSED) + self.count(ExpectationStatus.FAILED),
            "passed": self.count(ExpectationStatus.PASSED), "failed": self.count(ExpectationStatus.FAILED),
            "skipped": self.count(ExpectationStatus.SKIPPED), "errors": self.count(ExpectationStatus.ERROR),
            # Evaluated rules only: readers count ``success`` false as a failure.
            "expectations": [e.to_dict() for e in self.expectations if e.success is not None],
            "not_evaluated": [e.to_dict() for e in self.expectations if e.success is None],
        }


_OUTCOME = {
    SuiteStatus.PASSED: Outcome.CONSISTENT,
    SuiteStatus.EMPTY: Outcome.CONSISTENT,
    SuiteStatus.FAILED: Outcome.INCONSISTENT,
    SuiteStatus.INCOMPLETE: Outcome.NOT_RUN,
    SuiteStatus.NOT_RUN: Outcome.NOT_RUN,
}


def to_check_results(suite_result: SuiteResult, node: str | None, link_id: str | None = None, *,
                     table: str | None = None, check_id: str | None = None) -> list[CheckResult]:
    """The suite run as syncverify results: one CheckResult of kind ``quality``, filed under
    ``table`` and ``check_id`` when given (a run names it by the catalog's table, not the physical one).

    ``outcome`` is INCONSISTENT when an expectation failed (an anomaly of kind quality; tickets
    and reports read the failed rules and their masked sample keys from ``details``), NOT_RUN
    with ``error`` when the suite could not run or some rules could not be evaluated, and
    CONSISTENT otherwise (an empty window is consistent; ``details.empty_window`` says so).
    """
    sr = suite_result
    details = sr.to_dict()
    details["empty_window"] = sr.status is SuiteStatus.EMPTY
    error = sr.error
    if sr.status is SuiteStatus.INCOMPLETE and not error:
        broken = [f"#{e.index + 1} {e.rule}: {e.reason}" for e in sr.expectations
                  if e.status is ExpectationStatus.ERROR]
        error = "some expectations could not be evaluated: " + "; ".join(broken)
    if sr.status is SuiteStatus.FAILED and sr.count(ExpectationStatus.ERROR):
        details["note"] = "some expectations could not be evaluated; see their reason"
    result = CheckResult(
        kind=CheckKind.QUALITY, link_id=link_id, table=table or sr.table, source_node=node,
        window_start=sr.window_start, window_end=sr.window_end, outcome=_OUTCOME[sr.status],
        source_rows=sr.row_count, details=details, error=error,
        check_id=check_id or "/".join((CheckKind.QUALITY.value, link_id or node or "-", sr.table, sr.suite)),
        started_at=sr.started_at,
    )
    result.finished_at = datetime.now(UTC)
    return [result]
