"""The structured results of a monthly sync-log analysis (what the report renders).

Every class has ``to_dict()`` giving JSON-able data; times are ISO strings (local wall-clock time
as the logs write it), durations minutes, latencies milliseconds.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from syncverify.synclog.parsers.stats import ParseStats

SEVERITIES = ("critical", "high", "medium", "low")


def _plain(value: Any) -> Any:
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return (
            value.to_dict()
            if hasattr(value, "to_dict")
            else {f.name: _plain(getattr(value, f.name)) for f in dataclasses.fields(value)}
        )
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    if hasattr(value, "item") and not isinstance(value, (str, bytes)):  # numpy scalars
        return value.item()
    return value


class _ToDict:
    def to_dict(self) -> dict[str, Any]:
        return {f.name: _plain(getattr(self, f.name)) for f in dataclasses.fields(self)}  # type: ignore[arg-type]


@dataclass
class LatencyStats(_ToDict):
    """Replication latency of apply events (ms). Percentiles from log-spaced bins (about 2 %)."""

    samples: int = 0
    p50_ms: float | None = None
    p95_ms: float | None = None
    p99_ms: float | None = None
    max_ms: float | None = None


@dataclass
class TableSummary(_ToDict):
    table: str
    applies: int
    rows: int
    ins: int
    upd: int
    dele: int
    errors: int
    latency: LatencyStats


@dataclass
class HourPoint(_ToDict):
    """One hour of a link: progress, errors, latency and backlog."""

    hour: datetime
    applies: int
    rows: int
    errors: int
    lag_p95_ms: float | None
    lag_max_ms: float | None
    backlog_max: int | None


@dataclass
class Stall(_ToDict):
    """No apply progress for ``minutes`` while the link normally moves (or its backlog grew)."""

    start: datetime
    end: datetime
    minutes: int
    expected_active_minutes: float  # how many minutes of that period normally see applies
    chance: float  # probability of such a gap under the link's normal pattern
    backlog_start: int | None
    backlog_peak: int | None
    reason: str  # "no_progress" | "backlog_growing" | "log_silent" (no line at all: a gap in the log)
    open: bool = False  # still going when the analysed window ended (``end`` is the window's end)
    last_line: datetime | None = None  # log_silent: the link's last line before it fell silent


@dataclass
class ErrorClass(_ToDict):
    code: str
    category: str
    count: int
    first_seen: datetime
    last_seen: datetime
    tables: list[str]
    retries: int
    retry_max: int | None
    rows_in_failed_batches: int
    sample_message: str  # masked


@dataclass
class ErrorBurst(_ToDict):
    code: str
    category: str
    start: datetime
    end: datetime
    count: int
    tables: list[str]
    retries: int
    retry_max: int | None
    rows_in_failed_batches: int
    per_minute_peak: int
    baseline_per_day: float
    open: bool = False  # errors up to the analysed window's end: the episode had not ended


@dataclass
class RestartLoop(_ToDict):
    start: datetime
    end: datetime
    restarts: int
    median_gap_minutes: float
    reason: str


@dataclass
class LatencySpike(_ToDict):
    start: datetime
    end: datetime
    hours: int
    peak_p95_ms: float
    normal_p95_ms: float  # median of the same hours on comparable days
    ratio: float
    in_peak_hours: bool


@dataclass
class SlowPeriod(_ToDict):
    """An hour of day (or a weekday) whose typical p95 latency is high against the link's normal."""

    period: str  # "hour" | "weekday"
    value: int  # 0-23 or 0=Monday..6
    p95_ms: float
    link_p95_ms: float
    ratio: float
    rows_share: float  # share of the link's rows applied in that period


@dataclass
class AbnormalDay(_ToDict):
    day: str
    metric: str  # rows | errors | restarts | lag_p95_ms
    value: float
    median: float
    mad: float
    score: float  # robust z: (value - median) / (1.4826 * MAD), floored


@dataclass
class LinkAnalysis(_ToDict):
    link: str
    source: str | None
    volume: dict[str, int]  # applies, rows, ins, upd, del, errors, restarts, status_lines
    tables: list[TableSummary]
    latency: LatencyStats
    hourly: list[HourPoint]  # throughput + latency + backlog series
    backlog_peak: dict[str, Any]  # {"value": int|None, "at": iso|None}
    stalls: list[Stall]
    error_classes: list[ErrorClass]
    error_bursts: list[ErrorBurst]
    error_matrix: dict[str, Any]  # {"days": [...], "hours": [0..23], "counts": [[...]]}
    restarts: int
    restart_loops: list[RestartLoop]
    latency_spikes: list[LatencySpike]
    slow_periods: list[SlowPeriod]  # every hour of day and weekday, with ratio (flag: ratio)
    slow_hours: list[int]  # hours of day flagged as bottlenecks
    abnormal_days: list[AbnormalDay]


@dataclass
class Finding(_ToDict):
    """A rule-based finding: what, where, when, the evidence and what to do."""

    id: str
    kind: str  # error_burst | stall | latency_spike | restart_loop | bottleneck | abnormal_day | no_logs
    severity: str  # critical | high | medium | low
    link: str
    table: str | None
    start: datetime | None
    end: datetime | None
    title: str
    evidence: dict[str, Any]
    action: str
    explains: list[str] = field(default_factory=list)  # check ids of anomalies it explains


@dataclass
class Correlation(_ToDict):
    """A consistency anomaly and the log incidents of its link and period that explain it.

    Each kind of difference is explained separately (rules in :mod:`syncverify.synclog.correlate`):
    ``causes`` maps a category (missing, extra, changed, duplicate, in_flight) to the ids of the
    findings that explain it, ``unexplained`` lists the categories with rows and no explaining
    finding; ``explained_by`` is the union of ``causes``.
    """

    check_id: str | None
    kind: str
    link: str | None
    table: str
    window_start: datetime | None
    window_end: datetime | None
    missing: int
    extra: int
    changed: int
    explained_by: list[str]
    rows_at_risk: int
    explanation: str
    duplicate: int = 0
    in_flight: int = 0
    causes: dict[str, list[str]] = field(default_factory=dict)  # category -> finding ids
    unexplained: list[str] = field(default_factory=list)  # categories with rows, no log cause


@dataclass
class MonthAnalysis(_ToDict):
    month: str
    generated_at: datetime
    links: list[LinkAnalysis]
    findings: list[Finding]
    correlations: list[Correlation]
    parse_stats: ParseStats
    settings: dict[str, Any]
    window_end: datetime | None = None  # where the analysed window ended (open episodes reach it)
    # links_with_logs, and with the expected links known: expected, links_without_logs
    coverage: dict[str, Any] = field(default_factory=dict)

    def link(self, link_id: str) -> LinkAnalysis:
        for item in self.links:
            if item.link.lower() == link_id.lower():
                return item
        raise KeyError(link_id)

    def findings_for(self, link_id: str) -> list[Finding]:
        return [f for f in self.findings if f.link.lower() == link_id.lower()]
