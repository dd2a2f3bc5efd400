"""How times are shown: one convention for the whole command line.

The CLI printed UTC and the reports Beijing time, neither labelled, so an operator reading
"2026-12-07 13:15" could be eight hours off. People read Asia/Shanghai time with the offset
shown (``2026-12-07 21:15 +08:00``), in the CLI and in the reports; machine output (``--json``,
XComs, the store) keeps ISO-8601 with its offset (``2026-12-07T13:15:00+00:00``).
"""

from __future__ import annotations

from datetime import UTC, datetime, tzinfo

from syncverify.calendar import BUREAU_TZ

OFFSET_LABEL = "+08:00"


def _parse(value: datetime | str) -> datetime | None:
    if isinstance(value, datetime):
        return value
    try:
        return datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None


def local_time(value: datetime | str | None, *, naive: tzinfo = UTC, seconds: bool = False) -> str:
    """``value`` in Beijing time with its offset, for people: ``2026-12-07 21:15 +08:00``.

    A naive value is taken as ``naive`` (the store keeps UTC; sync logs and invoice tables
    keep Beijing time); text that is not a time is shown as it is; ``None`` is ``-``.
    """
    if value is None or value == "":
        return "-"
    moment = _parse(value)
    if moment is None:
        return str(value)
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=naive)
    shape = "%Y-%m-%d %H:%M:%S" if seconds else "%Y-%m-%d %H:%M"
    return f"{moment.astimezone(BUREAU_TZ).strftime(shape)} {OFFSET_LABEL}"


def iso_time(value: datetime | None) -> str | None:
    """``value`` as ISO-8601 with its offset, for machines (a naive value is UTC)."""
    if value is None:
        return None
    return (value if value.tzinfo else value.replace(tzinfo=UTC)).isoformat()


__all__ = ["OFFSET_LABEL", "iso_time", "local_time"]
