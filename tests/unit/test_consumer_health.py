"""Consumer health from the offset history (pure rules, and through a real SQLite store)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from syncverify.kafka.health import Snapshot, apply_health, assess
from syncverify.results import CheckKind, CheckResult, Outcome
from syncverify.store import Store

T0 = datetime(2026, 10, 31, 0, 0, tzinfo=UTC)


def rounds(*pairs: tuple[int, int | None], partition: int = 0) -> list[Snapshot]:
    """One snapshot per hour: (end offset, committed offset)."""
    return [Snapshot(T0 + timedelta(hours=i), partition, end, done, end - (done or 0))
            for i, (end, done) in enumerate(pairs)]


def test_committed_standing_still_while_the_end_grows_is_stuck_after_two_snapshots() -> None:
    assert assess(rounds((100, 90)))["stuck"] == []                       # one snapshot tells nothing
    stuck = assess(rounds((100, 90), (130, 90)))["stuck"]
    assert [(s["partition"], s["snapshots"], s["since"]) for s in stuck] == [(0, 2, T0.isoformat())]
    assert assess(rounds((100, 90), (130, 90), (170, 90)))["stuck"][0]["snapshots"] == 3


def test_a_consumer_that_advances_or_a_quiet_topic_is_not_stuck() -> None:
    assert assess(rounds((100, 90), (130, 125)))["stuck"] == []            # committing: catching up
    assert assess(rounds((100, 90), (100, 90)))["stuck"] == []             # nothing produced meanwhile
    assert assess(rounds((100, 90), (130, 90), (160, 150)))["stuck"] == []  # stuck once, moving again


def test_lag_above_the_groups_own_normal_uses_median_and_mad() -> None:
    steady = [(100 * i + 10 + (i % 3), 100 * i) for i in range(1, 13)]     # lag 10..12
    normal = assess(rounds(*steady, (1400, 1388)))
    assert normal["lag_abnormal"] is None
    high = assess(rounds(*steady, (1400, 1172)))                           # lag 228
    figures = high["lag_abnormal"]
    assert figures["lag"] == 228 and figures["median"] == 11 and figures["history"] == 12
    assert any("median 11 + 5 x MAD" in f for f in high["findings"])
    assert assess(rounds((10, 0), (30, 10), (60, 20)))["lag_rising"]["lags"] == [10, 20, 40]


def test_apply_health_stores_snapshots_and_marks_a_stuck_group_inconsistent(tmp_path) -> None:
    store = Store(f"sqlite:///{tmp_path / 's.sqlite'}")

    def backlog(end: int, committed: int) -> CheckResult:
        r = CheckResult(kind=CheckKind.KAFKA_BACKLOG, link_id="YP-ENTRY", table="yp_ypxx",
                        check_id="kafka_backlog/YP-ENTRY/yp_ypxx",
                        details={"group": "yp-entry", "topic": "zj_qf_ypxx", "total_lag": end - committed,
                                 "threshold": 1000,
                                 "partitions": [{"partition": 0, "end_offset": end, "committed": committed,
                                                 "lag": end - committed}]})
        r.outcome = Outcome.CONSISTENT
        return r

    first, second = backlog(500, 490), backlog(520, 490)
    assert apply_health(store, first, T0) and first.outcome is Outcome.CONSISTENT
    assert apply_health(store, second, T0 + timedelta(hours=1))
    assert second.outcome is Outcome.INCONSISTENT and second.details["health"]["stuck"][0]["lag"] == 30
