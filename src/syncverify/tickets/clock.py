"""The ticket clock: UTC 'now', made injectable so that SLA tests run on a frozen clock.

Every function of :mod:`syncverify.tickets` takes ``now`` explicitly (or a clock); production
callers pass :func:`utcnow`. All times are timezone-aware UTC; SQLite hands back naive values,
which :func:`aware` treats as UTC.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

# The operations contract (tender): repair starts within 8 hours of an anomaly, the data is
# corrected within 24 hours.
REPAIR_START_SLA = timedelta(hours=8)
CORRECTION_SLA = timedelta(hours=24)
# An escalation is raised this long before a deadline, and again when it passes.
DEFAULT_NEAR = timedelta(hours=1)


def utcnow() -> datetime:
    return datetime.now(UTC)


def aware(value: datetime | None) -> datetime | None:
    """``value`` as an aware UTC datetime (naive values from SQLite are UTC)."""
    if value is None:
        return None
    if value.tzinfo is None:
        return value.replace(tzinfo=UTC)
    return value.astimezone(UTC)


def need_aware(value: datetime | None) -> datetime:
    """``now`` arguments: None means the system clock; naive values are taken as UTC."""
    return aware(value) or utcnow()


class FrozenClock:
    """A clock that stands still until moved: ``clock()`` returns the current frozen time."""

    def __init__(self, start: datetime) -> None:
        self.now = need_aware(start)

    def __call__(self) -> datetime:
        return self.now

    def advance(self, delta: timedelta | None = None, **kwargs: float) -> datetime:
        self.now = self.now + (delta or timedelta(**kwargs))
        return self.now
