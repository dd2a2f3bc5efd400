"""The Kafka checks against the real broker (Tansu) and real MariaDB / PostgreSQL."""

from __future__ import annotations

import time
import uuid
from collections.abc import Iterator
from datetime import datetime, timedelta
from typing import Any

import pytest
import sqlalchemy as sa

from syncverify.kafka import (
    DbSide,
    KafkaSource,
    Labels,
    check_backlog,
    check_keys,
    check_volume,
    commit_group_offsets,
    produce_json,
)
from syncverify.results import CheckKind, Outcome

DAY = datetime(2026, 3, 1)
WINDOW = (DAY, DAY + timedelta(days=1))


def invoices(n: int, *, days: int = 2, start: int = 0) -> list[dict[str, Any]]:
    """n invoices spread evenly over ``days`` days from DAY; every 4th buyer is outside Guangxi."""
    step = days * 86_400 / n
    return [{"fpdm": f"1450{i % 7:08d}", "fphm": f"{start + i:08d}",
             "kprq": DAY + timedelta(seconds=int(i * step)),
             "xsfnsrsbh": "91450100MA5K8X2Q3D", "gmfnsrsbh": "91440300MA5F00000X",
             "je": "100.00", "se": "13.00", "jshj": "113.00",
             "gmf_swjg_dm": "14401000000" if i % 4 == 0 else "14501000000",
             "xsf_swjg_dm": "14501000000", "dkbz": "N"} for i in range(n)]


def topic_name() -> str:
    return f"svt_fp_{uuid.uuid4().hex[:8]}"


def land(url: str, rows: list[dict[str, Any]]) -> sa.Engine:
    engine = sa.create_engine(url)
    with engine.begin() as conn:
        conn.execute(sa.text("CREATE TABLE fp_fpxx (fpdm VARCHAR(12) NOT NULL, fphm VARCHAR(8) NOT NULL, "
                             "kprq TIMESTAMP NULL, gmf_swjg_dm VARCHAR(11), PRIMARY KEY (fpdm, fphm))"))
        if rows:
            conn.execute(sa.text("INSERT INTO fp_fpxx VALUES (:fpdm, :fphm, :kprq, :gmf_swjg_dm)"),
                         [{k: r[k] for k in ("fpdm", "fphm", "kprq", "gmf_swjg_dm")} for r in rows])
    return engine


@pytest.fixture(params=["mariadb", "postgres"])
def db_url(request: pytest.FixtureRequest) -> Iterator[str]:
    request.applymarker(getattr(pytest.mark, request.param))
    yield request.getfixturevalue("mariadb_url" if request.param == "mariadb" else "postgres_url")


def in_window(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [r for r in rows if WINDOW[0] <= r["kprq"] < WINDOW[1]]


@pytest.mark.kafka
def test_backlog_per_partition_of_a_lagging_group(kafka_broker: str) -> None:
    topic = topic_name()
    produce_json(kafka_broker, topic, invoices(600), ["fpdm", "fphm"], partitions=3, timestamp_field="kprq")
    committed = commit_group_offsets(kafka_broker, topic, "gxjf-query", lag={0: 7, 1: 0, 2: 30})
    source = KafkaSource(kafka_broker, topic)

    result = check_backlog(source, "gxjf-query", threshold=10, labels=Labels(link_id="GXJF-QUERY", table="fp_fpxx"))

    assert result.kind is CheckKind.KAFKA_BACKLOG and result.outcome is Outcome.INCONSISTENT
    lags = {p["partition"]: p["lag"] for p in result.details["partitions"]}
    assert lags == {0: 7, 1: 0, 2: 30}
    assert result.details["total_lag"] == 37
    assert sum(p["end_offset"] for p in result.details["partitions"]) == 600
    assert {p["partition"]: p["committed"] for p in result.details["partitions"]} == committed
    assert check_backlog(source, "gxjf-query", threshold=37).outcome is Outcome.CONSISTENT
    # A group that never committed has the whole topic as backlog.
    fresh = check_backlog(source, "never-ran", threshold=0)
    assert fresh.details["total_lag"] == 600 and fresh.outcome is Outcome.INCONSISTENT


@pytest.mark.kafka
def test_window_where_a_tenth_of_a_percent_never_landed(kafka_broker: str, db_url: str) -> None:
    topic = topic_name()
    rows = invoices(4000)          # two days; the window is the first
    produce_json(kafka_broker, topic, rows, ["fpdm", "fphm"], partitions=3, timestamp_field="kprq")
    window_rows = in_window(rows)
    lost = window_rows[17::1000]   # 0.1 % of the window
    lost_keys = {(r["fpdm"], r["fphm"]) for r in lost}
    engine = land(db_url, [r for r in rows if (r["fpdm"], r["fphm"]) not in lost_keys])
    try:
        source = KafkaSource(kafka_broker, topic)
        db = DbSide(engine, "fp_fpxx", ("fpdm", "fphm"), "kprq")

        volume = check_volume(source, db, WINDOW)
        assert volume.outcome is Outcome.INCONSISTENT
        assert (volume.source_rows, volume.target_rows) == (len(window_rows), len(window_rows) - len(lost))
        assert volume.missing_count == len(lost) == 2

        keys = check_keys(source, db, WINDOW, key_path=["fpdm", "fphm"], bucket_keys=500)
        assert keys.outcome is Outcome.INCONSISTENT and keys.details["buckets"] > 1
        assert set(keys.missing_keys) == lost_keys and keys.missing_count == 2
        assert keys.extra_count == 0 and keys.duplicate_count == 0
        assert keys.source_rows == len(window_rows)
    finally:
        engine.dispose()


@pytest.mark.kafka
def test_messages_delivered_twice_are_duplicates(kafka_broker: str, db_url: str) -> None:
    topic = topic_name()
    rows = invoices(1200, days=1)
    twice = rows[100:103]
    # Re-delivery after a consumer restart: the same records again, in time order.
    records = sorted([*rows, *twice], key=lambda r: r["kprq"])
    produce_json(kafka_broker, topic, records, ["fpdm", "fphm"], partitions=3, timestamp_field="kprq")
    engine = land(db_url, rows)
    try:
        result = check_keys(KafkaSource(kafka_broker, topic), DbSide(engine, "fp_fpxx", ("fpdm", "fphm"), "kprq"),
                            WINDOW, key_path="fpdm,fphm")
        assert result.duplicate_count == 3
        assert set(result.duplicate_keys) == {(r["fpdm"], r["fphm"]) for r in twice}
        assert result.details["topic_duplicate_messages"] == 3
        assert result.missing_count == 0 and result.extra_count == 0
        assert result.outcome is Outcome.INCONSISTENT
    finally:
        engine.dispose()


@pytest.mark.kafka
@pytest.mark.mariadb
def test_clearing_hop_that_delivered_a_guangxi_copy_to_the_wrong_province(kafka_broker: str,
                                                                        mariadb_url: str) -> None:
    topic = topic_name()
    rows = invoices(800, days=1)
    produce_json(kafka_broker, topic, rows, ["fpdm", "fphm"], partitions=4, timestamp_field="kprq")
    guangxi = [r for r in rows if r["gmf_swjg_dm"].startswith("145")]
    wrong = next(r for r in rows if not r["gmf_swjg_dm"].startswith("145"))   # a Guangdong buyer
    engine = land(mariadb_url, [*guangxi, wrong])
    try:
        def routed_to_guangxi(message: dict[str, Any]) -> bool:
            return str(message.get("gmf_swjg_dm", "")).startswith("145")

        result = check_keys(KafkaSource(kafka_broker, topic), DbSide(engine, "fp_fpxx", ("fpdm", "fphm"), "kprq"),
                            WINDOW, key_path=["fpdm", "fphm"], routing=routed_to_guangxi)
        assert result.extra_keys == [(wrong["fpdm"], wrong["fphm"])] and result.extra_count == 1
        assert result.missing_count == 0
        assert result.details["scan"]["routed_out"] == len(rows) - len(guangxi)
        assert result.outcome is Outcome.INCONSISTENT

        # Same copy restricted on the database side as well: consistent, nothing routed there wrongly.
        scoped = DbSide(engine, "fp_fpxx", ("fpdm", "fphm"), "kprq", where="gmf_swjg_dm LIKE '145%'")
        clean = check_keys(KafkaSource(kafka_broker, topic), scoped, WINDOW, key_path=["fpdm", "fphm"],
                           routing=routed_to_guangxi)
        assert clean.outcome is Outcome.CONSISTENT and clean.source_rows == len(guangxi)
    finally:
        engine.dispose()


@pytest.mark.kafka
def test_unreachable_broker_and_missing_topic_are_not_run(kafka_broker: str, sqlite_url: str) -> None:
    engine = land(sqlite_url, invoices(10, days=1))
    db = DbSide(engine, "fp_fpxx", ("fpdm", "fphm"), "kprq")
    # Port 9 (discard): nothing listens there.
    dead = KafkaSource("127.0.0.1:9", "fp_fpxx", {"sasl.password": "s3cret-pw"}, timeout_s=2)
    missing = KafkaSource(kafka_broker, "svt_no_such_topic", timeout_s=2)
    started = time.monotonic()
    results = [check_backlog(dead, "g"), check_volume(dead, db, WINDOW),
               check_keys(dead, db, WINDOW, key_path=["fpdm", "fphm"]),
               check_backlog(missing, "g"), check_volume(missing, db, WINDOW),
               check_keys(missing, db, WINDOW, key_path=["fpdm", "fphm"])]
    assert time.monotonic() - started < 30
    for result in results:
        assert result.outcome is Outcome.NOT_RUN
        assert "s3cret-pw" not in (result.error or "")
    assert all("127.0.0.1:9" in (r.error or "") for r in results[:3])
    assert all("svt_no_such_topic" in (r.error or "") and "does not exist" in (r.error or "") for r in results[3:])
    engine.dispose()


@pytest.mark.kafka
def test_missing_table_is_not_run_naming_it(kafka_broker: str, sqlite_url: str) -> None:
    topic = topic_name()
    produce_json(kafka_broker, topic, invoices(30, days=1), ["fpdm", "fphm"], timestamp_field="kprq")
    engine = sa.create_engine(sqlite_url)
    result = check_keys(KafkaSource(kafka_broker, topic), DbSide(engine, "no_such_table", ("fpdm", "fphm"), "kprq"),
                        WINDOW, key_path=["fpdm", "fphm"])
    assert result.outcome is Outcome.NOT_RUN and "no_such_table" in (result.error or "")
    engine.dispose()


@pytest.mark.kafka
def test_window_by_business_time_with_a_nested_key(kafka_broker: str, sqlite_url: str) -> None:
    """Messages stamped 30 s after their kprq: windowed by the kprq field, the boundary is exact."""
    topic = topic_name()
    records = [{"data": {"fphm": f"{i:08d}"},
                "kprq": (DAY + timedelta(minutes=10 * i)).strftime("%Y-%m-%d %H:%M:%S"),
                "sent": DAY + timedelta(minutes=10 * i, seconds=30)} for i in range(300)]
    produce_json(kafka_broker, topic, records, [], partitions=2, timestamp_field="sent")
    engine = sa.create_engine(sqlite_url)
    with engine.begin() as conn:
        conn.execute(sa.text("CREATE TABLE t (fphm VARCHAR(8), kprq TIMESTAMP)"))
        conn.execute(sa.text("INSERT INTO t VALUES (:f, :k)"),
                     [{"f": f"{i:08d}", "k": DAY + timedelta(minutes=10 * i)} for i in range(300) if i != 5])
    try:
        result = check_keys(KafkaSource(kafka_broker, topic), DbSide(engine, "t", ("fphm",), "kprq"), WINDOW,
                            key_path="data.fphm", window_field="kprq", slack=timedelta(minutes=5))
        assert (result.source_rows, result.target_rows) == (144, 143)
        assert result.missing_keys == ["00000005"] and result.extra_count == 0
    finally:
        engine.dispose()
