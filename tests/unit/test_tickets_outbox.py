"""The outbox and the file-drop sink: nothing is lost while a sink is down, and the delay is reported."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import pytest
import sqlalchemy as sa

from helpers import anomaly
from syncverify.store.models import Delivery
from syncverify.tickets import (
    FileDropSink,
    FrozenClock,
    SinkError,
    WebhookSink,
    acknowledge,
    configured_sinks,
    deliver_pending,
    get_ticket,
    open_or_update,
    pending_count,
)

T0 = datetime(2026, 10, 5, 8, 0, tzinfo=UTC)


def test_file_drop_writes_one_file_per_event_atomically_and_idempotently(store, tmp_path):
    drop = tmp_path / "drop"
    [tid] = open_or_update(store, [anomaly()], run_id="r1", now=T0, sinks=["file"])
    acknowledge(store, tid, actor="ops", now=T0 + timedelta(minutes=5), sinks=["file"])
    report = deliver_pending(store, {"file": FileDropSink(drop)}, T0 + timedelta(minutes=6))
    assert len(report.delivered) == 2 and pending_count(store) == 0
    files = sorted(drop.iterdir())
    assert len(files) == 2 and not any(f.name.startswith(".tmp") for f in files)
    docs = [json.loads(f.read_text(encoding="utf-8")) for f in files]
    assert sorted(d["event"]["event"] for d in docs) == ["acknowledged", "opened"]
    assert all(d["ticket"]["id"] == tid and d["idempotency_key"] + ".json" in {f.name for f in files}
               for d in docs)
    # delivering again sends nothing; re-sending the same key rewrites the same file
    assert deliver_pending(store, {"file": FileDropSink(drop)}, T0).delivered == []
    FileDropSink(drop).send(docs[0], docs[0]["idempotency_key"])
    assert len(list(drop.iterdir())) == 2


def test_sink_down_keeps_the_delivery_pending_then_reports_the_delay(store, tmp_path):
    clock = FrozenClock(T0)
    drop = tmp_path / "drop"
    drop.write_text("not a folder")      # the file drop is 'down': its folder cannot be made
    [tid] = open_or_update(store, [anomaly()], run_id="r1", now=clock(), sinks=["file"])
    clock.advance(minutes=15)
    report = deliver_pending(store, [FileDropSink(drop)], clock())
    assert report.delivered == [] and len(report.failed) == 1 and pending_count(store) == 1
    drop.unlink()                        # back
    clock.advance(hours=2)
    report = deliver_pending(store, [FileDropSink(drop)], clock())
    assert [d["delay_s"] for d in report.delivered] == [2 * 3600 + 15 * 60]
    _, events = get_ticket(store, tid)
    assert events[-1].event == "delivery_delayed" and events[-1].detail["delay_s"] == 8100


def test_webhook_to_nobody_keeps_delivery_pending_with_error(store):
    import socket

    with socket.socket() as s:           # a port nobody listens on
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    sink = WebhookSink(f"http://user:secret@127.0.0.1:{port}/hook", attempts=3, backoff_s=0.01)
    open_or_update(store, [anomaly()], run_id="r1", now=T0, sinks=["webhook"])
    report = deliver_pending(store, [sink], T0)
    assert len(report.failed) == 1 and "secret" not in report.failed[0]["error"]
    with store.session() as s:
        row = s.scalars(sa.select(Delivery)).one()
    assert row.status == "pending" and row.attempts == 3 and "after 3 attempts" in (row.last_error or "")
    with pytest.raises(SinkError):
        sink.send({"x": 1}, "k")


def test_deliveries_for_sinks_not_configured_here_wait(store):
    open_or_update(store, [anomaly()], run_id="r1", now=T0, sinks=["webhook"])
    report = deliver_pending(store, {}, T0)
    assert len(report.skipped) == 1 and pending_count(store) == 1


def test_configured_sinks_from_environment(tmp_path):
    sinks = configured_sinks({"SYNCVERIFY_TICKET_DROP": str(tmp_path)})
    assert list(sinks) == ["file"]
    sinks = configured_sinks({"SYNCVERIFY_TICKET_WEBHOOK": "https://tickets.example/api"})
    assert list(sinks) == ["file", "webhook"]
    assert configured_sinks({"SYNCVERIFY_TICKET_SINKS": "none"}) == {}
    with pytest.raises(Exception, match="unknown ticket sink 'mail'"):
        configured_sinks({"SYNCVERIFY_TICKET_SINKS": "mail"})
    with pytest.raises(Exception, match="needs SYNCVERIFY_TICKET_WEBHOOK"):
        configured_sinks({"SYNCVERIFY_TICKET_SINKS": "webhook"})
    with pytest.raises(Exception, match="must start with http"):
        WebhookSink("ftp://x")
