"""Consumer health from offsets over time, not from one backlog snapshot.

One backlog snapshot against a fixed threshold cannot tell a stuck consumer from a busy one: a
group stuck at lag 10 for six hours stays under a threshold of 1,000 and reads "consistent". The
backlog check's offsets are therefore kept (``sv_offset_snapshots``, one row per group, topic,
partition and snapshot) and judged over their history:

- **stuck**: on a partition, the committed offset did not advance while the end offset grew,
  across two or more consecutive snapshots — the consumer is not consuming while producers go
  on. The backlog result becomes INCONSISTENT, so the ticket comes through the incident model on
  the link's (link, table) unit like its other checks.
- **lag rising**: the group's total lag grew at every one of the last ``rising_snapshots``
  snapshots (a warning: a consumer falling behind, not yet stuck).
- **lag above normal**: the total lag above what the group's own history makes normal, robustly:
  median + k x MAD (scaled by 1.4826) of the earlier snapshots, stated with its numbers.
"""

from __future__ import annotations

import statistics
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa

from syncverify.results import CheckKind, CheckResult, Outcome
from syncverify.store import Store
from syncverify.store.models import OffsetSnapshot


@dataclass(frozen=True)
class Snapshot:
    taken_at: datetime
    partition: int
    end_offset: int
    committed: int | None
    lag: int


@dataclass(frozen=True)
class HealthSettings:
    """How unusual is unusual; the history, not a fixed level, decides what is normal."""

    k_mad: float = 5.0              # lag above median + k x MAD of the group's history
    min_history: int = 6            # earlier snapshots needed before "above normal" is judged
    mad_floor: float = 1.0          # a perfectly steady history still allows a lag of one more
    rising_snapshots: int = 3       # lag growing at each of the last N snapshots
    history_limit: int = 500        # snapshots read per group and topic


def _utc(value: datetime) -> datetime:
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def record_snapshots(store: Store, result: CheckResult, taken_at: datetime, run_id: str | None = None) -> int:
    """Store the offsets of one backlog result (one row per partition); returns rows written.
    A not-run result or one without partitions writes nothing."""
    details = result.details or {}
    parts = [p for p in details.get("partitions") or [] if isinstance(p, dict)]
    if result.kind is not CheckKind.KAFKA_BACKLOG or result.outcome is Outcome.NOT_RUN or not parts:
        return 0
    at = _utc(taken_at)
    with store.session() as s:
        for p in parts:
            s.add(OffsetSnapshot(taken_at=at, run_id=run_id, link_id=result.link_id, group_id=str(details["group"]),
                                 topic=str(details["topic"]), partition=int(p["partition"]),
                                 end_offset=int(p["end_offset"]),
                                 committed_offset=None if p.get("committed") is None else int(p["committed"]),
                                 lag=int(p["lag"])))
    return len(parts)


def history(store: Store, group: str, topic: str, *, limit: int = 500) -> list[Snapshot]:
    """The group's snapshots on ``topic``, oldest first (the latest ``limit`` snapshot times)."""
    with store.session() as s:
        times = list(s.scalars(
            sa.select(OffsetSnapshot.taken_at).where(OffsetSnapshot.group_id == group, OffsetSnapshot.topic == topic)
            .group_by(OffsetSnapshot.taken_at).order_by(OffsetSnapshot.taken_at.desc()).limit(limit)))
        if not times:
            return []
        rows = s.scalars(sa.select(OffsetSnapshot).where(
            OffsetSnapshot.group_id == group, OffsetSnapshot.topic == topic,
            OffsetSnapshot.taken_at >= min(times)).order_by(OffsetSnapshot.taken_at, OffsetSnapshot.partition)).all()
        return [Snapshot(_utc(r.taken_at), r.partition, r.end_offset, r.committed_offset, r.lag) for r in rows]


def _by_time(snapshots: Iterable[Snapshot]) -> list[tuple[datetime, dict[int, Snapshot]]]:
    grouped: dict[datetime, dict[int, Snapshot]] = {}
    for snap in snapshots:
        grouped.setdefault(snap.taken_at, {})[snap.partition] = snap
    return sorted(grouped.items())


def _stuck(rounds: list[tuple[datetime, dict[int, Snapshot]]]) -> list[dict[str, Any]]:
    """Partitions whose committed offset stood still while the end offset grew, up to the latest
    snapshot, across two or more consecutive snapshots."""
    if len(rounds) < 2:
        return []
    out = []
    for partition, last in sorted(rounds[-1][1].items()):
        first = last
        count = 1
        for _at, snaps in reversed(rounds[:-1]):
            prev = snaps.get(partition)
            if prev is None or prev.committed != first.committed or prev.end_offset >= first.end_offset:
                break
            first, count = prev, count + 1
        if count >= 2:
            out.append({"partition": partition, "since": first.taken_at.isoformat(), "snapshots": count,
                        "committed": last.committed, "end_offset_from": first.end_offset,
                        "end_offset_to": last.end_offset, "lag": last.lag})
    return out


def assess(snapshots: Iterable[Snapshot], settings: HealthSettings = HealthSettings()) -> dict[str, Any]:
    """The health of one group on one topic from its snapshot history (oldest first).

    Returns ``snapshots`` (how many), ``stuck`` (partitions), ``lag_rising`` and ``lag_abnormal``
    (None or the figures) and ``findings`` (one sentence each, with the numbers that decided).
    """
    rounds = _by_time(snapshots)
    totals = [sum(s.lag for s in snaps.values()) for _at, snaps in rounds]
    out: dict[str, Any] = {"snapshots": len(rounds), "stuck": _stuck(rounds), "lag_rising": None,
                           "lag_abnormal": None, "findings": []}
    for s in out["stuck"]:
        out["findings"].append(
            f"partition {s['partition']} stuck: committed offset {s['committed']} has not advanced across "
            f"{s['snapshots']} snapshots since {s['since']} while the end offset grew from "
            f"{s['end_offset_from']:,} to {s['end_offset_to']:,} (lag {s['lag']:,})")
    n = settings.rising_snapshots
    if len(totals) >= n and all(b > a for a, b in zip(totals[-n:], totals[-n + 1:], strict=False)):
        out["lag_rising"] = {"snapshots": n, "lags": totals[-n:], "since": rounds[-n][0].isoformat()}
        out["findings"].append(f"lag rising at each of the last {n} snapshots: "
                               + " → ".join(f"{v:,}" for v in totals[-n:]))
    earlier = totals[:-1]
    if len(earlier) >= settings.min_history:
        med = statistics.median(earlier)
        mad = statistics.median(abs(v - med) for v in earlier)
        limit = med + settings.k_mad * max(1.4826 * mad, settings.mad_floor)
        if totals[-1] > limit:
            out["lag_abnormal"] = {"lag": totals[-1], "median": med, "mad": mad, "k": settings.k_mad,
                                   "limit": round(limit, 1), "history": len(earlier)}
            out["findings"].append(
                f"lag {totals[-1]:,} above the group's normal: median {med:g} + {settings.k_mad:g} x MAD "
                f"{mad:g} (x1.4826, floor {settings.mad_floor:g}) = {limit:,.1f} over {len(earlier)} earlier snapshots")
    return out


def apply_health(store: Store, result: CheckResult, taken_at: datetime, run_id: str | None = None,
                 settings: HealthSettings = HealthSettings()) -> bool:
    """Record a backlog result's offsets, judge the group's history, and write the verdict into
    the result: ``details["health"]``, and INCONSISTENT when a partition is stuck. Returns whether
    the result changed (the caller records it again)."""
    if not record_snapshots(store, result, taken_at, run_id):
        return False
    details = result.details
    health = assess(history(store, str(details["group"]), str(details["topic"]), limit=settings.history_limit),
                    settings)
    details["health"] = health
    if health["stuck"] and result.outcome is Outcome.CONSISTENT:
        result.outcome = Outcome.INCONSISTENT
        details["stuck"] = True
    return True


def observer(store: Store, run_id: str, taken_at: datetime | None = None,
             settings: HealthSettings = HealthSettings()) -> Callable[[CheckResult], None]:
    """An ``on_result`` hook for :func:`syncverify.runner.verify.verify`: every backlog result is
    snapshotted, judged and recorded again with its health before the run closes (so the run's
    summary counts a stuck consumer as an anomaly)."""
    at = taken_at or datetime.now(UTC)

    def seen(result: CheckResult) -> None:
        if result.kind is CheckKind.KAFKA_BACKLOG and apply_health(store, result, at, run_id, settings):
            store.record(run_id, result)

    return seen


__all__ = ["HealthSettings", "Snapshot", "apply_health", "assess", "history", "observer", "record_snapshots"]
