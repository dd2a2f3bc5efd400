"""What the consistency report holds: plain dataclasses, every number decided before rendering.

Renderers (HTML, Markdown, JSON, PDF, difference lists) read these only. Times are text for
people, in the bureau's time zone with the zone shown (:func:`syncverify.timefmt.local_time`:
``2026-10-09 17:31 +08:00``).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from typing import Any

from syncverify.report.schema_rows import SchemaRow
from syncverify.report.synclog_data import SynclogData
from syncverify.results import Outcome
from syncverify.timefmt import local_time


def aware(value: datetime | None) -> datetime | None:
    """A store time (naive values are UTC) with its zone."""
    if value is None:
        return None
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value


def zoned_text(value: datetime | None) -> str | None:
    """A store time as people read it: ``2026-10-09 17:31 +08:00``; None stays None."""
    return None if value is None else local_time(value)


def ratio(part: int, whole: int) -> float | None:
    return None if whole == 0 else part / whole


@dataclass
class Note:
    """A conclusion or recommendation: an i18n key and the numbers it states."""

    code: str
    params: dict[str, Any] = field(default_factory=dict)


@dataclass
class Rate:
    """Items by status and the rates (fractions 0..1; None when nothing was verified).

    Check level: consistent items / items. Row level: rows compared row by row against the rows
    found differing there (missing, extra, changed, duplicate copies; rows in flight are not
    differences).
    """

    items: int = 0
    consistent: int = 0
    inconsistent: int = 0
    not_run: int = 0
    repaired_in_time: int = 0
    rate: float | None = None
    rate_after_repair: float | None = None
    rows_compared: int = 0
    rows_differing: int = 0
    row_rate: float | None = None

    def add(self, status: str, repaired_in_time: bool, rows_compared: int = 0, rows_differing: int = 0) -> None:
        self.items += 1
        if status == Outcome.CONSISTENT.value:
            self.consistent += 1
        elif status == Outcome.INCONSISTENT.value:
            self.inconsistent += 1
            self.repaired_in_time += repaired_in_time
        else:
            self.not_run += 1
        self.rate = ratio(self.consistent, self.items)
        self.rate_after_repair = ratio(self.consistent + self.repaired_in_time, self.items)
        self.rows_compared += rows_compared
        self.rows_differing += rows_differing
        self.row_rate = (None if self.rows_compared == 0
                         else max(0.0, 1 - self.rows_differing / self.rows_compared))


@dataclass
class GroupRate:
    id: str
    title: str
    rate: Rate


@dataclass
class MonthRate:
    month: str
    run_id: str
    rate: Rate


@dataclass
class LinkHistory:
    """One link's rate over the last months (oldest first; None: the link was not verified then)."""

    link_id: str
    title: str
    months: list[str]
    rates: list[float | None]
    row_rates: list[float | None]


@dataclass
class Item:
    """One verification item with the numbers of its deepest result."""

    link_id: str
    link_title: str
    table: str
    table_title: str
    source_node: str | None
    target_node: str | None
    flows: list[str]
    status: str
    kinds: list[str]
    source_rows: int | None
    target_rows: int | None
    missing: int
    extra: int
    changed: int
    duplicate: int
    in_flight: int
    seconds: float
    errors: list[str]
    tickets: list[int]
    repaired_in_time: bool
    # The run that last updated the item (a month is verified by several runs: a re-run of one
    # link updates its items only), and when that run finished, in Beijing time with its zone.
    run_id: str | None = None
    run_at: str | None = None
    unit: str = "records"           # invoices / taxpayers / records: how the table's rows are counted
    row_level: bool = False         # the counts are rows (an exact diff, Kafka keys), not days or buckets
    rows_compared: int = 0
    rows_differing: int = 0


@dataclass
class TicketRow:
    id: int
    title: str
    kind: str
    link_id: str | None
    node: str | None  # where a ticket without a link (quality) was raised
    table: str
    status: str
    occurred_at: str | None
    detected_at: str | None
    repair_due_at: str | None
    correct_due_at: str | None
    repair_started_at: str | None
    corrected_at: str | None
    verified_at: str | None
    repair_sla: str  # met / missed / pending
    correct_sla: str
    hours_to_start: float | None
    hours_to_correct: float | None
    missing: int
    extra: int
    changed: int
    duplicate: int = 0
    in_flight: int = 0
    unit: str = "records"
    root_cause: str = ""            # the ticket's root cause as the tickets area states it (masked)
    root_cause_events: list[dict[str, Any]] = field(default_factory=list)
    root_cause_unexplained: list[str] = field(default_factory=list)   # kinds of difference no log event explains
    root_cause_analysed: bool = True   # False: the month's logs were not analysed when the ticket was raised
    echoes: list[str] = field(default_factory=list)   # check ids filed under this ticket as echoes


@dataclass
class RepairRow:
    """One repair script of a ticket, in the manner of a repair report: plan, approval, apply, re-check."""

    ticket_id: int
    link_id: str | None
    table: str
    unit: str
    script_id: int
    plan_kind: str                  # sql / republish
    plan_hash: str                  # first 12 hex digits
    generated_at: str | None
    planned: dict[str, int]         # inserts, updates, deletes, duplicate_copies_deleted, messages
    approved_by: str | None
    approved_at: str | None
    approval_note: str | None
    applied_by: str | None
    applied_at: str | None
    outcome: str                    # applied / rolled_back / precheck_failed / failed / not_applied / ...
    precheck: str                   # passed / failed / not_run
    precheck_detail: str
    rows_applied: int | None
    reverified: str                 # consistent / still_differs / pending / not_run
    reverified_at: str | None
    ticket_status: str
    category: str                   # repaired / failed / not_repaired


@dataclass
class RepairSummary:
    """Veridata's repair report counts: out of sync at first, repaired, failed, not repaired."""

    initially_out_of_sync: int = 0
    repaired: int = 0
    failed: int = 0
    not_repaired: int = 0
    rows_out_of_sync: int = 0
    rows_repaired: int = 0


@dataclass
class TraceRow:
    flow_id: str
    flow_title: str
    table: str
    outcome: str
    hops: list[dict[str, Any]]  # [{link, keys, samples}] where invoices first went missing
    unit: str = "invoices"


@dataclass
class QualitySuite:
    suite: str
    table: str
    node: str | None
    link_id: str | None
    outcome: str
    evaluated: int
    passed: int
    failed: int
    not_evaluated: int
    expectations: list[dict[str, Any]]
    error: str | None
    check_id: str | None = None
    echo_of: int | None = None      # the ticket this failure is an echo of (no action of its own)


@dataclass
class VolumeSeries:
    link_id: str
    title: str
    table: str
    source_node: str | None
    days: list[str]
    source: list[int]
    target: list[int]


@dataclass
class DiffKey:
    """One differing key for the difference lists (masked as people may see it)."""

    link_id: str
    table: str
    source_node: str | None
    target_node: str | None
    check_kind: str
    difference: str  # missing / extra / changed / duplicate / in_flight
    key: str  # composite keys joined with "|"
    key_columns: str


@dataclass
class ConsistencyData:
    month: str
    period_start: str
    period_end: str
    generated_at: str
    run_id: str | None
    run_kind: str | None
    run_status: str | None
    scope: dict[str, int]
    overall: Rate
    per_flow: list[GroupRate]
    per_link: list[GroupRate]
    history: list[MonthRate]
    items: list[Item]
    tickets: list[TicketRow]
    sla: dict[str, int]
    traces: list[TraceRow]
    quality: list[QualitySuite]
    volumes: list[VolumeSeries]
    not_run: list[dict[str, Any]]
    conclusion: list[Note]
    recommendations: list[Note]
    differences: list[DiffKey] = field(default_factory=list)
    differences_total: dict[str, int] = field(default_factory=dict)  # exact counts (lists are capped)
    warnings: list[str] = field(default_factory=list)  # corrupt store rows skipped, by table / id / check
    # Every run whose results make up the month's state, oldest first: {id, kind, status, finished_at}
    runs: list[dict[str, Any]] = field(default_factory=list)
    schema: list[SchemaRow] = field(default_factory=list)   # per link and table, errors first
    repairs: list[RepairRow] = field(default_factory=list)
    repair_summary: RepairSummary = field(default_factory=RepairSummary)
    link_history: list[LinkHistory] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass
class ReportData:
    """Both monthly reports of one month: what every renderer reads."""

    month: str
    consistency: ConsistencyData
    synclog: SynclogData

    def to_dict(self) -> dict[str, Any]:
        return {
            "month": self.month,
            "consistency": self.consistency.to_dict(),
            "synclog": self.synclog.to_dict(),
        }
