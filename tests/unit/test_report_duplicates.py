"""A duplicate-only anomaly in the consistency report (issue 22): GXJF-LEDGER once showed
缺失 0 / 多余 0 / 不一致 0 and yet 异常, a recommendation of "0、0、0 行" and a ticket of zeros.
The duplicate count must be in the item's row, in the recommendation and on the ticket."""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime, timedelta
from html.parser import HTMLParser
from pathlib import Path

from helpers import ROOT
from syncverify.catalog import load_catalog
from syncverify.report import write_reports
from syncverify.results import CheckKind, CheckResult
from syncverify.store import Store
from syncverify.tickets import lifecycle

MONTH = "2026-10"
DUPLICATES = [(f"0440{n:08d}", f"{n:08d}") for n in range(6)]


class Rows(HTMLParser):
    """Cell texts of every row, by the id of the <tr> or of its table."""

    def __init__(self) -> None:
        super().__init__()
        self.table: str | None = None
        self.rows: list[tuple[str | None, dict[str, str | None], list[str]]] = []
        self.row: list[str] | None = None
        self.cell: list[str] | None = None
        self.attrs: dict[str, str | None] = {}

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag == "table":
            self.table = dict(attrs).get("id")
        elif tag == "tr":
            self.row, self.attrs = [], dict(attrs)
        elif tag in {"td", "th"}:
            self.cell = []

    def handle_endtag(self, tag: str) -> None:
        if tag in {"td", "th"} and self.cell is not None and self.row is not None:
            self.row.append(re.sub(r"\s+", " ", "".join(self.cell)).strip())
            self.cell = None
        elif tag == "tr" and self.row is not None:
            self.rows.append((self.table, self.attrs, self.row))
            self.row = None

    def handle_data(self, data: str) -> None:
        if self.cell is not None:
            self.cell.append(data)


def _month(root: Path) -> tuple[Store, int]:
    catalog = load_catalog(ROOT / "checks")
    store = Store(f"sqlite:///{root / 'results.sqlite'}")
    run = store.start_run("monthly", month=MONTH)
    at = datetime(2026, 10, 28, 2, tzinfo=UTC)
    keys = CheckResult(kind=CheckKind.KAFKA_KEYS, link_id="GXJF-LEDGER", table="fp_fpxx", source_node="gx.kafka",
                       target_node="gx.ledger_db", source_rows=67_234, target_rows=67_240,
                       duplicate_count=len(DUPLICATES), duplicate_keys=list(DUPLICATES),
                       window_start=datetime(2026, 10, 1), window_end=datetime(2026, 11, 1),
                       check_id="kafka_keys/GXJF-LEDGER/fp_fpxx", started_at=at)
    keys.finish()
    keys.finished_at = at + timedelta(seconds=9)
    store.record(run, keys)
    store.finish_run(run)
    ids = lifecycle.open_or_update(store, [keys], run_id=run, now=at + timedelta(minutes=1), catalog=catalog, sinks=[])
    assert len(ids) == 1
    return store, ids[0]


def test_duplicate_only_anomaly_counts_its_duplicates(tmp_path: Path) -> None:
    store, ticket_id = _month(tmp_path)
    catalog = load_catalog(ROOT / "checks")
    out = tmp_path / "reports"
    write_reports(store, MONTH, out, catalog, lang="zh", as_of=datetime(2026, 10, 29, tzinfo=UTC))
    html = (out / MONTH / "consistency.html").read_text(encoding="utf-8")
    parsed = Rows()
    parsed.feed(html)

    # the item's row: 缺失 0、多余 0、不一致 0, 重复 6, 异常
    item = next(cells for table, attrs, cells in parsed.rows
                if table == "items-table" and attrs.get("data-link") == "GXJF-LEDGER")
    assert item[3:10] == ["67,234", "67,240", "0", "0", "0", "6", "0"], item
    assert "异常" in item[10] and f"#{ticket_id}" in item[11]

    # the recommendation names the duplicates, in the table's unit, and the ticket
    recs = html[html.index('id="recommendations"'):]
    recs = recs[:recs.index("</ol>")]
    assert "GXJF-LEDGER" in recs and "重复 6 张发票" in recs and f"#{ticket_id}" in recs, recs
    assert "缺失 0、多余 0、不一致 0 行" not in html

    # the ticket: its duplicates, when it occurred and was detected (with the zone), its SLA
    ticket = next(cells for _, attrs, cells in parsed.rows if attrs.get("id") == f"ticket-{ticket_id}")
    assert ticket[2:6] == ["0", "0", "0", "6"], ticket
    assert "+08:00" in ticket[6] and "None" not in " ".join(ticket)
    assert "进行中" in ticket[8] or "超时" in ticket[8]

    doc = json.loads((out / MONTH / "consistency.json").read_text(encoding="utf-8"))
    assert doc["tickets"][0]["duplicate"] == 6
    assert doc["overall"]["rows_differing"] == 6 and doc["overall"]["rows_compared"] == 67_234
    assert doc["differences_total"]["duplicate"] == 6

    # the English report says the same
    write_reports(store, MONTH, tmp_path / "en", catalog, lang="en", as_of=datetime(2026, 10, 29, tzinfo=UTC))
    en = (tmp_path / "en" / MONTH / "consistency.html").read_text(encoding="utf-8")
    assert "6 duplicate invoices" in en
