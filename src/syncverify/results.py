"""The one result type every check returns, and the anomaly derived from it.

Counts are always exact; the key lists are capped samples (``KEY_SAMPLE_CAP``) so that a result
with half a table differing still fits in memory, the store and a report. Renderers, the store
and the ticketing read these objects only; they never re-query a database.

A key is the key value as text (``"2645000000012345678"``) or, for a composite key, a tuple of
texts (``("144031900111", "01234567")``); JSON shows the tuple as a list.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from datetime import UTC, datetime
from enum import StrEnum
from typing import Any

Key = str | tuple[str, ...]

KEY_SAMPLE_CAP = 1000


class CheckKind(StrEnum):
    """What was checked. Levels of a table comparison first, then Kafka, quality and tracing."""

    COUNT = "count"              # row count per window
    TOTALS = "totals"            # business totals (count, SUM of amounts) per day
    CHECKSUM = "checksum"        # full checksum (count + hash sums)
    DIFF = "diff"                # exact differences down to the keys
    KAFKA_BACKLOG = "kafka_backlog"
    KAFKA_VOLUME = "kafka_volume"
    KAFKA_KEYS = "kafka_keys"
    QUALITY = "quality"
    TRACE = "trace"              # end-to-end flow tracing
    SCHEMA = "schema"            # the two copies' column types, nullability and keys (reflection only)


class Outcome(StrEnum):
    """How a check ended.

    CONSISTENT    ran, found nothing wrong (rows still in flight do not count against it)
    INCONSISTENT  ran, found confirmed differences or violations: an anomaly
    NOT_RUN       could not run (unreachable node, missing table, bad config); ``error`` says why
    """

    CONSISTENT = "consistent"
    INCONSISTENT = "inconsistent"
    NOT_RUN = "not_run"


def key_to_json(key: Key) -> str | list[str]:
    return list(key) if isinstance(key, tuple) else key


def key_from_json(value: str | list[str]) -> Key:
    return tuple(value) if isinstance(value, list) else value


def _now() -> datetime:
    return datetime.now(UTC)


@dataclass(frozen=True)
class ResultName:
    """What a result is filed under when the engine that builds it works on physical copies: the
    catalog's table name, the check id after the kind (``<kind>/<check>``) and details that name
    the copies. The engine builds the result with them (nothing relabels it afterwards)."""

    table: str
    check: str
    details: dict[str, Any] = field(default_factory=dict)


@dataclass
class CheckResult:
    """One check of one table (or topic) on one link for one window."""

    kind: CheckKind
    link_id: str | None
    table: str
    source_node: str | None = None
    target_node: str | None = None
    window_start: datetime | None = None
    window_end: datetime | None = None
    outcome: Outcome = Outcome.CONSISTENT
    source_rows: int | None = None
    target_rows: int | None = None
    missing_count: int = 0            # in source, not in target
    extra_count: int = 0              # in target, not in source
    changed_count: int = 0            # same key, different values
    duplicate_count: int = 0          # keys present more than once on either side
    in_flight_count: int = 0          # differed at first, converged on confirmation
    missing_keys: list[Key] = field(default_factory=list)
    extra_keys: list[Key] = field(default_factory=list)
    changed_keys: list[Key] = field(default_factory=list)
    duplicate_keys: list[Key] = field(default_factory=list)
    in_flight_keys: list[Key] = field(default_factory=list)
    details: dict[str, Any] = field(default_factory=dict)   # JSON-able extras per kind
    error: str | None = None
    check_id: str | None = None       # stable id: kind/link/table[/suffix]
    started_at: datetime = field(default_factory=_now)
    finished_at: datetime | None = None
    flow_id: str | None = None        # a flow trace: the flow it follows (it is no one link's: link_id None)

    def __post_init__(self) -> None:
        if self.check_id is None:
            self.check_id = "/".join(str(p) for p in (self.kind.value, self.link_id or self.flow_id or "-", self.table))

    @property
    def differences(self) -> int:
        return self.missing_count + self.extra_count + self.changed_count + self.duplicate_count

    @property
    def is_anomaly(self) -> bool:
        return self.outcome is Outcome.INCONSISTENT

    def cap_keys(self, cap: int = KEY_SAMPLE_CAP) -> CheckResult:
        """Trim every key list to ``cap`` entries (counts stay exact)."""
        for name in ("missing_keys", "extra_keys", "changed_keys", "duplicate_keys", "in_flight_keys"):
            keys = getattr(self, name)
            if len(keys) > cap:
                setattr(self, name, keys[:cap])
        return self

    def finish(self) -> CheckResult:
        if self.outcome is not Outcome.NOT_RUN:
            self.outcome = Outcome.INCONSISTENT if self.differences else Outcome.CONSISTENT
        self.finished_at = _now()
        return self.cap_keys()

    @classmethod
    def not_run(cls, kind: CheckKind, link_id: str | None, table: str, error: str,
                **kwargs: Any) -> CheckResult:
        result = cls(kind=kind, link_id=link_id, table=table, outcome=Outcome.NOT_RUN,
                     error=error, **kwargs)
        result.finished_at = _now()
        return result

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {}
        for f in dataclasses.fields(self):
            value = getattr(self, f.name)
            if f.name.endswith("_keys"):
                value = [key_to_json(k) for k in value]
            elif isinstance(value, datetime):
                value = value.isoformat()
            elif isinstance(value, StrEnum):
                value = value.value
            out[f.name] = value
        return out

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> CheckResult:
        kwargs = dict(data)
        kwargs["kind"] = CheckKind(kwargs["kind"])
        kwargs["outcome"] = Outcome(kwargs["outcome"])
        for name in ("window_start", "window_end", "started_at", "finished_at"):
            if kwargs.get(name):
                kwargs[name] = datetime.fromisoformat(kwargs[name])
        for name in ("missing_keys", "extra_keys", "changed_keys", "duplicate_keys", "in_flight_keys"):
            kwargs[name] = [key_from_json(k) for k in kwargs.get(name) or []]
        if kwargs["kind"] is CheckKind.TRACE and "flow_id" not in kwargs:
            # stored before results had a flow field: the trace's flow was kept as its link
            kwargs["flow_id"], kwargs["link_id"] = kwargs.get("link_id"), None
        known = {f.name for f in dataclasses.fields(cls)}
        return cls(**{k: v for k, v in kwargs.items() if k in known})
