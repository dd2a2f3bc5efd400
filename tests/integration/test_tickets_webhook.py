"""Webhook delivery against a real local HTTP server that fails the first attempts.

The receiving system dedups on the Idempotency-Key, as a ticketing system would: the first POST is
processed but its answer is lost (HTTP 500 after storing), the second is refused (503), the third
succeeds. The ticket must exist exactly once on the receiving side.
"""

from __future__ import annotations

import json
import socket
import threading
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from helpers import anomaly
from syncverify.tickets import FrozenClock, WebhookSink, get_ticket, open_or_update, pending_count, sla_watch

T0 = datetime(2026, 10, 5, 8, 0, tzinfo=UTC)


class Receiver(ThreadingHTTPServer):
    """A ticketing system: creates a ticket per new idempotency key; scripted failures first."""

    def __init__(self, port: int = 0, script: list[str] | None = None) -> None:
        super().__init__(("127.0.0.1", port), Handler)
        self.script = list(script or [])        # per request: "process+500", "503", or "ok"
        self.requests: list[dict] = []
        self.tickets: dict[str, dict] = {}      # idempotency key -> document
        self.lock = threading.Lock()
        self.thread = threading.Thread(target=self.serve_forever, daemon=True)
        self.thread.start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}/api/tickets"

    def stop(self) -> None:
        self.shutdown()
        self.server_close()


class Handler(BaseHTTPRequestHandler):
    server: Receiver

    def do_POST(self) -> None:
        body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        key = self.headers["Idempotency-Key"]
        with self.server.lock:
            self.server.requests.append({"key": key, "body": body})
            step = self.server.script.pop(0) if self.server.script else "ok"
            if step != "503":
                self.server.tickets.setdefault(key, body)     # dedup on the key
        status = {"process+500": 500, "503": 503, "ok": 201}[step]
        self.send_response(status)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    server = Receiver(script=["process+500", "503"])
    yield server
    server.stop()


def test_retried_post_makes_exactly_one_ticket(store, receiver):
    sleeps: list[float] = []
    sink = WebhookSink(receiver.url, attempts=4, backoff_s=0.05, sleep=sleeps.append)
    [tid] = open_or_update(store, [anomaly()], run_id="r1", now=T0, sinks=["webhook"])
    report = sla_watch(store, now=T0 + timedelta(minutes=1), sinks=[sink])
    assert report.deliveries is not None and len(report.deliveries.delivered) == 1
    assert report.deliveries.delivered[0]["attempts"] == 3
    assert sleeps == [0.05, 0.1]                          # exponential backoff
    assert len(receiver.requests) == 3
    keys = {r["key"] for r in receiver.requests}
    assert len(keys) == 1 and all(r["body"]["idempotency_key"] in keys for r in receiver.requests)
    assert len(receiver.tickets) == 1                     # exactly once on the receiving side
    doc = next(iter(receiver.tickets.values()))
    assert doc["ticket"]["id"] == tid and doc["event"]["event"] == "opened"
    assert pending_count(store) == 0


def test_sink_down_then_back_delivers_later_and_reports_delay(store):
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    sink = WebhookSink(f"http://127.0.0.1:{port}/api/tickets", attempts=2, backoff_s=0.01)
    clock = FrozenClock(T0)
    [tid] = open_or_update(store, [anomaly()], run_id="r1", now=clock(), sinks=["webhook"])
    report = sla_watch(store, now=clock.advance(minutes=15), sinks=[sink])
    assert report.deliveries is not None and len(report.deliveries.failed) == 1 and pending_count(store) == 1
    server = Receiver(port=port)
    try:
        report = sla_watch(store, now=clock.advance(minutes=45), sinks=[sink])
    finally:
        server.stop()
    assert report.deliveries is not None
    assert [d["delay_s"] for d in report.deliveries.delivered] == [3600.0]
    assert len(server.tickets) == 1 and pending_count(store) == 0
    assert get_ticket(store, tid)[1][-1].event == "delivery_delayed"
