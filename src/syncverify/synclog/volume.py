"""Daily volumes per link and table against the link's own history, and the month-over-month trend.

Every check of a link can pass while both of its sides hold nothing for a day: zero rows equal
zero rows. Whether a day is abnormally low (or high) is told by the link itself: each day is
scored against the same weekday of the past weeks with a robust z-score (median and MAD), so a
Sunday is compared with Sundays and the weekend dip the history shows is not a finding.

The daily counts come from the results store: a totals result carries every day's row count on
both sides (``details["daily"]``; a day with no row on either side is absent there and counts as
zero inside the result's window), and a count result over exactly one day (the daily patrol) is
that day's count. Later results replace earlier ones for the same day.
"""

from __future__ import annotations

import statistics
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

import sqlalchemy as sa

from syncverify.results import CheckKind, Outcome
from syncverify.synclog.model import Finding

Series = dict[tuple[str, str], dict[date, tuple[int, int]]]   # (link, table) -> day -> (source, target)
_WEEKDAYS = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")


@dataclass(frozen=True)
class VolumeSettings:
    weeks: int = 8              # past weeks of the same weekday
    min_history: int = 3        # at least this many of them known before a day is judged
    z: float = 5.0              # robust z-score beyond which a day is abnormal
    rel: float = 0.5            # ... and at least this far from the median, relatively
    floor_rel: float = 0.05     # MAD floor: a perfectly regular history still allows 5 % of its median
    min_median: float = 10.0    # a link that normally carries fewer rows a day is not judged


def _days(start: datetime, end: datetime) -> list[date]:
    first, last = start.date(), (end - timedelta(microseconds=1)).date()
    return [first + timedelta(days=i) for i in range((last - first).days + 1)]


def add_totals(series: Series, link: str, table: str, details: dict[str, Any],
               window: tuple[datetime, datetime] | None) -> None:
    """One totals result's days into ``series`` (days of its window it does not list are zero)."""
    place = series.setdefault((link, table), {})
    daily = {str(d.get("day"))[:10]: d for d in details.get("daily") or [] if isinstance(d, dict)}
    if not daily:
        return
    if window is not None:
        for day in _days(*window):
            place[day] = (0, 0)
    for text, d in daily.items():
        try:
            place[date.fromisoformat(text)] = (int(d.get("source_count") or 0), int(d.get("target_count") or 0))
        except ValueError:
            continue


def stored_series(store: Any) -> Series:
    """Daily counts per (link, table) from every totals and one-day count result in the store."""
    from syncverify.store.models import CheckResultRow

    series: Series = {}
    with store.session() as s:
        rows = s.execute(sa.select(
            CheckResultRow.kind, CheckResultRow.link_id, CheckResultRow.table_name, CheckResultRow.window_start,
            CheckResultRow.window_end, CheckResultRow.source_rows, CheckResultRow.target_rows, CheckResultRow.payload)
            .where(CheckResultRow.kind.in_([CheckKind.TOTALS.value, CheckKind.COUNT.value]),
                   CheckResultRow.outcome != Outcome.NOT_RUN.value, CheckResultRow.link_id.is_not(None))
            .order_by(CheckResultRow.id)).all()
    for kind, link, table, start, end, src, tgt, payload in rows:
        window = (start.replace(tzinfo=None), end.replace(tzinfo=None)) if start and end else None
        if kind == CheckKind.TOTALS.value:
            details = (payload or {}).get("details") if isinstance(payload, dict) else None
            add_totals(series, link, table, details or {}, window)
        elif window and window[1] - window[0] == timedelta(days=1) and window[0].time() == datetime.min.time():
            series.setdefault((link, table), {})[window[0].date()] = (int(src or 0), int(tgt or 0))
    return series


def _robust_z(value: float, history: Sequence[float], s: VolumeSettings) -> tuple[float, float, float]:
    med = statistics.median(history)
    mad = statistics.median(abs(v - med) for v in history)
    scale = max(1.4826 * mad, s.floor_rel * med, 1.0)
    return (value - med) / scale, med, mad


def volume_findings(series: Series, month: str, settings: VolumeSettings = VolumeSettings()) -> list[Finding]:
    """Days of ``month`` whose volume on either side is far from the same weekday's history."""
    out: list[Finding] = []
    first = date.fromisoformat(f"{month}-01")
    for (link, table), days in sorted(series.items()):
        for day in sorted(d for d in days if (d.year, d.month) == (first.year, first.month)):
            past = [days[day - timedelta(weeks=k)] for k in range(1, settings.weeks + 1)
                    if day - timedelta(weeks=k) in days]
            if len(past) < settings.min_history:
                continue
            src, tgt = days[day]
            sides = {}
            for name, value, hist in (("source", src, [p[0] for p in past]), ("target", tgt, [p[1] for p in past])):
                z, med, mad = _robust_z(value, hist, settings)
                if med >= settings.min_median and abs(z) >= settings.z and abs(value - med) >= settings.rel * med:
                    sides[name] = {"rows": value, "median": med, "mad": mad, "z": round(z, 1)}
            if not sides:
                continue
            out.append(_finding(link, table, day, src, tgt, sides, len(past)))
    return out


def _finding(link: str, table: str, day: date, src: int, tgt: int, sides: dict[str, dict[str, Any]],
             weeks: int) -> Finding:
    both_zero = src == 0 and tgt == 0
    weekday = _WEEKDAYS[day.weekday()]
    said = "; ".join(f"{name} {v['rows']:,} rows against a median of {v['median']:,.0f} (MAD {v['mad']:,.0f}, "
                     f"robust z {v['z']:+.1f})" for name, v in sides.items())
    what = "both sides have no rows" if both_zero else ("volume dropped" if any(v["z"] < 0 for v in sides.values())
                                                          else "volume surged")
    start = datetime(day.year, day.month, day.day)
    return Finding(
        id=f"volume_anomaly:{link}:{day:%Y%m%d}:{table}", kind="volume_anomaly",
        severity="high" if both_zero else "medium", link=link, table=table, start=start,
        end=start + timedelta(days=1),
        title=(f"{link}: {table} on {day.isoformat()} ({weekday}): {what} — {said}; the same weekday of the last "
               f"{weeks} weeks"),
        evidence={"day": day.isoformat(), "weekday": weekday, "source_rows": src, "target_rows": tgt,
                  "both_sides_zero": both_zero, "weeks_of_history": weeks,
                  "rule": "robust z = (rows - median) / max(1.4826 x MAD, 5 % of median, 1) over the same weekday",
                  **{f"{name}_{k}": v for name, fig in sides.items() for k, v in fig.items()}},
        action=(f"Confirm with the owners of {link} whether {day.isoformat()} really had "
                f"{'no' if both_zero else 'this'} traffic on {table}: a source that stopped writing, a capture or "
                "a job that did not run passes every consistency check when both sides agree."),
    )


def previous_month(month: str) -> str:
    first = date.fromisoformat(f"{month}-01")
    last = first - timedelta(days=1)
    return f"{last:%Y-%m}"


def month_trend(series: Series, analyses: dict[str, dict[str, Any] | None], month: str) -> list[dict[str, Any]]:
    """Per link: this month's and last month's rows (source side of the daily counts) and
    sync-log errors (the stored analyses), with the relative change."""
    last_month = previous_month(month)
    rows: dict[str, dict[str, int]] = {}
    for (link, _table), days in series.items():
        for day, (src, _tgt) in days.items():
            key = f"{day:%Y-%m}"
            if key in (month, last_month):
                rows.setdefault(link, {}).setdefault(key, 0)
                rows[link][key] += src
    errors: dict[str, dict[str, int]] = {}
    for key in (month, last_month):
        for la in (analyses.get(key) or {}).get("links") or []:
            if isinstance(la, dict) and la.get("link"):
                errors.setdefault(str(la["link"]), {})[key] = int((la.get("volume") or {}).get("errors") or 0)

    def change(now: int | None, before: int | None) -> float | None:
        return None if now is None or not before else round((now - before) / before, 4)

    out = []
    for link in sorted(set(rows) | set(errors), key=str.lower):
        r, e = rows.get(link, {}), errors.get(link, {})
        out.append({"link": link, "rows": r.get(month), "rows_last": r.get(last_month),
                    "rows_change": change(r.get(month), r.get(last_month)),
                    "errors": e.get(month), "errors_last": e.get(last_month),
                    "errors_change": change(e.get(month), e.get(last_month))})
    return out


__all__ = ["Series", "VolumeSettings", "add_totals", "month_trend", "previous_month", "stored_series",
           "volume_findings"]
