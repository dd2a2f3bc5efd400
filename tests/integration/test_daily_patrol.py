"""The daily patrol job writes its page (HTML and JSON) for the four duties, opens tickets through
the incident model and notifies through the outbox. On a small sandbox world (SQLite), the
month's last day: the YP-ENTRY consumer stalled at 18:00 and is still stalled at midnight."""

from __future__ import annotations

import json
from html.parser import HTMLParser
from pathlib import Path

import pytest

from syncverify.runner import jobs
from syncverify.sandbox import build_world
from syncverify.store import Store
from syncverify.tickets import list_tickets


class _Text(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.parts: list[str] = []
        self.sections: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag == "section":
            self.sections.append(dict(attrs).get("id") or "")

    def handle_data(self, data: str) -> None:
        self.parts.append(data)


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory):
    return build_world(tmp_path_factory.mktemp("world"), scale=0.05, seed=11)


def test_daily_patrol_writes_its_page_and_opens_tickets(world, tmp_path: Path, monkeypatch) -> None:
    monkeypatch.setenv("SYNCVERIFY_HOME", str(tmp_path / "home"))
    monkeypatch.setenv("SYNCVERIFY_TICKET_SINKS", "file")
    store = Store(f"sqlite:///{tmp_path / 'store.sqlite'}")
    out = jobs.daily_patrol({"day": "2026-10-31", "profile": str(world.connections), "logs_dir": str(world.logs_dir),
                             "reports_dir": str(tmp_path / "reports"), "lang": "en"}, store=store)

    html_path, json_path = (Path(p) for p in out["files"])
    assert html_path == tmp_path / "reports" / "patrol" / "2026-10-31.html" and json_path.suffix == ".json"
    page = _Text()
    page.feed(html_path.read_text(encoding="utf-8"))
    text = " ".join(page.parts)
    assert page.sections == ["backlog", "volume", "logs", "reasons", "tickets"]
    for heading in ("Backlog (Kafka consumer groups)", "Synced volume, both sides", "Consumer and sync-process logs",
                    "Reasons for not syncing"):
        assert heading in text
    assert "YP-ENTRY: stalled" in text and "still open at 10-31 24:00 (Asia/Shanghai)" in text

    record = json.loads(json_path.read_text(encoding="utf-8"))
    assert {b["link"] for b in record["backlog"]} >= {"YP-ENTRY", "YP-USE"}
    yp = next(v for v in record["volume"] if v["link"] == "YP-ENTRY" and v["table"] == "yp_ypxx")
    assert yp["outcome"] == "inconsistent" and yp["source"] > yp["target"]
    reason = next(r for r in record["reasons"] if r["link"] == "YP-ENTRY")
    assert "stall" in reason["text"] and any("still open" in e for e in reason["log_events"])
    assert "SK-GXKAFKA" in record["logs"]["without_logs"]

    # tickets through the incident model, one per (link, table), and delivered to the file drop
    tickets = list_tickets(store, open_only=True)
    assert sorted(out["tickets"]) == sorted(t.id for t in tickets) and tickets
    entry = next(t for t in tickets if t.link_id == "YP-ENTRY")
    assert entry.table_name == "yp_ypxx"
    assert [e["kind"] for e in entry.evidence["root_cause"]["log_events"]] == ["stall"]
    assert len(list((tmp_path / "home" / "ticket-drop").glob("*.json"))) >= len(tickets)
    assert len(record["deliveries"]["delivered"]) >= len(tickets)
