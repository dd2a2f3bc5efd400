"""The bureau's calendar: its time zone, months and verification windows (the bottom layer).

Timestamps in the invoice databases are naive local times (Asia/Shanghai, UTC+8, no daylight
saving). A month therefore runs from ``YYYY-MM-01 00:00:00`` local to the first of the next month,
half-open; the cut-off for rows still in flight is "now" in local time minus the link's grace lag.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from syncverify.errors import SyncverifyError

BUREAU_TZ = ZoneInfo("Asia/Shanghai")
# ASCII digits only (``\d`` would take "２０２６"), the whole text (``$`` would take "2026-10\n")
_MONTH = re.compile(r"([0-9]{4})-(0[1-9]|1[0-2])")


def parse_month(month: object) -> tuple[int, int]:
    """``"2026-10"`` -> ``(2026, 10)``. The one month parser of every command and job.

    Only ``YYYY-MM`` with a real month (01-12) and a year from 1000 is accepted: a lenient parser
    (``strptime("%Y-%m")`` takes ``2026-1``) once made ``synclog analyse --month 2026-1`` analyse
    nothing and exit 0, so every ``--month`` option, the Airflow trigger form and the sandbox all
    call this function.
    """
    m = _MONTH.fullmatch(month) if isinstance(month, str) else None
    if not m or int(m.group(1)) < 1000:
        raise SyncverifyError(f"month {month!r} must look like 2026-10 (--month must be YYYY-MM, month 01-12)")
    return int(m.group(1)), int(m.group(2))


def check_month(month: object) -> str:
    """``month`` itself when :func:`parse_month` accepts it (for options and job parameters)."""
    parse_month(month)
    assert isinstance(month, str)
    return month


def month_window(month: str) -> tuple[datetime, datetime]:
    """``[first day 00:00, first day of next month 00:00)`` as naive local datetimes."""
    year, mon = parse_month(month)
    start = datetime(year, mon, 1)
    end = datetime(year + (mon == 12), mon % 12 + 1, 1)
    return start, end


def previous_month(moment: datetime) -> str:
    """The calendar month before ``moment`` in the bureau's time zone (for the monthly DAG)."""
    local = moment.astimezone(BUREAU_TZ) if moment.tzinfo else moment
    first = local.replace(day=1)
    prev = first - timedelta(days=1)
    return f"{prev.year:04d}-{prev.month:02d}"


def local_now(now: datetime | None = None) -> datetime:
    """``now`` (UTC if aware; default the clock) as a naive Asia/Shanghai time."""
    now = now or datetime.now(UTC)
    if now.tzinfo is None:
        return now
    return now.astimezone(BUREAU_TZ).replace(tzinfo=None)


def cut_off(window_end: datetime, grace: timedelta, now: datetime | None = None) -> datetime:
    """Rows newer than now - grace are still in flight: compare only up to there."""
    return min(window_end, local_now(now) - grace)

