"""Times of the sync-log aggregates: naive wall-clock milliseconds and minutes since 1970-01-01,
as the logs write them (no time zone)."""

from __future__ import annotations

from datetime import datetime, timedelta

from syncverify.calendar import month_window

EPOCH = datetime(1970, 1, 1)


def to_datetime(ms: float | int) -> datetime:
    return EPOCH + timedelta(milliseconds=int(ms))


def month_range_ms(month: str) -> tuple[int, int]:
    start, end = month_window(month)
    return (int((start - EPOCH).total_seconds() * 1000), int((end - EPOCH).total_seconds() * 1000))
