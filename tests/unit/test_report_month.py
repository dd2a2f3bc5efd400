"""Both monthly reports for a realistic month, every figure checked against the store.

The month is written through the real APIs: runs and results with ``Store.start_run/record/
finish_run``, tickets with the ticket lifecycle on a frozen clock, and the sync-log analysis of
logs from the synclog generator saved with ``save_synclog_analysis``. The test then recomputes
every number from the store on its own (no number typed twice) and compares it with the JSON and
with the cells of the HTML tables. ``build_month`` is reused by the browser test.
"""

from __future__ import annotations

import argparse
import json
import random
import re
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import pyarrow.parquet as pq
import pytest

from helpers import ROOT
from syncverify.catalog import Catalog, load_catalog
from syncverify.errors import SyncverifyError
from syncverify.quality.model import (
    ExpectationResult,
    ExpectationStatus,
    SuiteResult,
    SuiteStatus,
    to_check_results,
)
from syncverify.report import cli as report_cli
from syncverify.report.render import fmt_pct
from syncverify.results import CheckKind, CheckResult, Outcome
from syncverify.store import Store
from syncverify.tickets import lifecycle

MONTH, PREV = "2026-10", "2026-09"
# What people must never read in a report (planted in the store on purpose).
TAXPAYER_IDS = ["91450100MA5K8X2Q3D", "91450103MA5NQ7XK2W", "92450105MA5P3L9R1E"]
NAME = "南宁市青秀区星辰科技有限公司"
PASSWORD = "S3cr3tPw9x"
AS_OF = datetime(2026, 11, 2, 12, 0, tzinfo=UTC)


@dataclass
class Month:
    store: Store
    catalog: Catalog
    run_id: str
    prev_run_id: str
    out: Path
    written: list[Path] = field(default_factory=list)


def _t(day: int, hour: int = 0, minute: int = 0) -> datetime:
    return datetime(2026, 10, day, hour, minute, tzinfo=UTC)


def _results_for(catalog: Catalog, month: str, rng: random.Random, faults: bool) -> list[CheckResult]:
    """One month of results: totals + diff per table check, volume + keys per Kafka hop."""
    year, mon = map(int, month.split("-"))
    start = datetime(year, mon, 1)
    days = [start + timedelta(days=i) for i in range(31) if (start + timedelta(days=i)).month == mon]
    out = []
    for lc in catalog.link_checks():
        t0 = datetime(year, mon, 28, 2, tzinfo=UTC) + timedelta(seconds=rng.randint(0, 3000))
        kafka = lc.source.is_kafka or lc.target.is_kafka
        per_day = {f"{d:%Y-%m-%d}": rng.randint(800, 5000) for d in days}
        rows = sum(per_day.values()) if lc.table.window_column else rng.randint(2000, 9000)
        common = dict(
            link_id=lc.link.id,
            table=lc.table.name,
            source_node=lc.source.id,
            target_node=lc.target.id,
            window_start=start,
            window_end=days[-1] + timedelta(days=1),
        )
        if lc.table.window_column and not kafka:
            totals = CheckResult(
                kind=CheckKind.TOTALS,
                source_rows=rows,
                target_rows=rows,
                # As compare.levels.business_totals writes them ("days": the differing days only),
                # plus "daily": the counts of every day, which the volume charts need.
                details={
                    "amounts": list(lc.table.totals),
                    "days": [],
                    "days_compared": len(per_day),
                    "daily": [{"day": d, "source_count": n, "target_count": n} for d, n in per_day.items()],
                },
                check_id=f"totals/{lc.id}",
                started_at=t0,
                **common,
            )
            totals.finish()
            totals.finished_at = t0 + timedelta(seconds=rng.randint(1, 20))
            out.append(totals)
        kind = CheckKind.KAFKA_KEYS if kafka else CheckKind.DIFF
        r = CheckResult(
            kind=kind,
            source_rows=rows,
            target_rows=rows,
            check_id=f"{kind.value}/{lc.id}",
            started_at=t0 + timedelta(seconds=30),
            **common,
        )
        if faults and lc.id == "zz11/fp_fpxx":
            r.missing_count, r.target_rows = 3, rows - 3
            r.missing_keys = [("145001900111", f"{8800 + i:08d}") for i in range(3)]
            totals, day = out[-1], f"{days[8]:%Y-%m-%d}"
            daily = next(d for d in totals.details["daily"] if d["day"] == day)
            daily["target_count"] -= 3
            totals.details["days"] = [
                {
                    "day": day,
                    "source_count": daily["source_count"],
                    "target_count": daily["target_count"],
                    "source_sums": {"je": "1200.00"},
                    "target_sums": {"je": "1000.00"},
                }
            ]
            totals.target_rows, totals.changed_count, totals.changed_keys = rows - 3, 1, [day]
            totals.finish()
            totals.finished_at = totals.started_at + timedelta(seconds=12)
        if faults and lc.id == "ZZ15-2/nsr_jcxx":
            r.missing_count, r.target_rows = 2, rows - 2
            r.missing_keys = TAXPAYER_IDS[:2]
            r.changed_count, r.changed_keys = 1, TAXPAYER_IDS[2:]
        if faults and lc.id == "ZS01/yp_ypxx":
            r.changed_count = 5
            r.changed_keys = [f"YP2026100{i:05d}" for i in range(5)]
            r.extra_count, r.target_rows, r.extra_keys = 1, rows + 1, ["YP202610099999"]
        if faults and lc.id == "GXJF-QUERY/fp_fpxx":
            r.in_flight_count = 4
            r.in_flight_keys = [("145001900111", f"{9900 + i:08d}") for i in range(4)]
        if lc.id == "SS22/zsk_zsxx" and faults:
            r = CheckResult.not_run(
                kind,
                lc.link.id,
                lc.table.name,
                f"gx.patrol_pg unreachable: postgresql://sv:{PASSWORD}@10.1.2.3/patrol "
                f"(last row gmfmc={NAME} xsfnsrsbh={TAXPAYER_IDS[0]}) password={PASSWORD} <script>alert(1)</script>",
                source_node=lc.source.id,
                target_node=lc.target.id,
                check_id=f"{kind.value}/{lc.id}",
            )
        elif lc.id == "SS22/zsk_zsxx":
            r.extra_count, r.extra_keys, r.target_rows = 2, ["ZS-1", "ZS-2"], rows + 2
        if r.outcome is not Outcome.NOT_RUN:
            r.finish()
            r.finished_at = r.started_at + timedelta(seconds=rng.randint(2, 90))
        out.append(r)
    if faults:
        suite = SuiteResult(
            suite="invoice",
            table="fp_fpxx",
            status=SuiteStatus.FAILED,
            row_count=90_000,
            window_start=start,
            window_end=days[-1] + timedelta(days=1),
            expectations=[
                ExpectationResult(
                    0,
                    "expect_column_values_to_not_be_null",
                    "invoice number present",
                    ["fphm"],
                    ExpectationStatus.PASSED,
                    0,
                    90_000,
                ),
                ExpectationResult(
                    1,
                    "expect_column_values_to_be_in_set",
                    "tax rate is a legal rate",
                    ["slv"],
                    ExpectationStatus.FAILED,
                    7,
                    90_000,
                    sample_keys=[("145001900111", "00001234")],
                ),
                ExpectationResult(
                    2,
                    "expect_column_values_to_be_unique",
                    "invoice key unique",
                    ["fpdm", "fphm"],
                    ExpectationStatus.PASSED,
                    0,
                    90_000,
                ),
                ExpectationResult(
                    3,
                    "expect_column_values_to_match_regex",
                    "seller id is a credit code",
                    ["xsfnsrsbh"],
                    ExpectationStatus.SKIPPED,
                    reason="column absent",
                ),
            ],
        )
        (quality,) = to_check_results(suite, "gx.query_db")
        trace = CheckResult(
            kind=CheckKind.TRACE,
            link_id="F1",
            table="fp_fpxx",
            check_id="trace/F1/fp_fpxx",
            outcome=Outcome.INCONSISTENT,
            details={
                "flow": "F1",
                "first_missing_hop": {"zz11": [["145001900111", f"{8800 + i:08d}"] for i in range(3)]},
            },
        )
        trace.finished_at = trace.started_at
        out += [quality, trace]
    return out


def build_month(root: Path) -> Month:
    """A store with last month (clean but one link) and this month (faults, tickets, logs)."""
    from syncverify.sandbox.synclogs import Incident, generate_month_logs
    from syncverify.synclog.analysis import analyse

    catalog = load_catalog(ROOT / "checks")
    store = Store(f"sqlite:///{root / 'results.sqlite'}")
    rng = random.Random(20261031)

    prev = store.start_run("monthly", month=PREV)
    for r in _results_for(catalog, PREV, rng, faults=False):
        store.record(prev, r)
    store.finish_run(prev)

    run = store.start_run("monthly", month=MONTH)
    results = _results_for(catalog, MONTH, rng, faults=True)
    for r in results:
        store.record(run, r)
    store.finish_run(run)
    # An hourly incremental run later in the month must not replace the monthly run in the report.
    inc = store.start_run("incremental", month=MONTH)
    late = CheckResult(kind=CheckKind.COUNT, link_id="zz11", table="fp_fpxx", source_rows=1, target_rows=1)
    store.record(inc, late.finish())
    store.finish_run(inc)

    # Tickets on a frozen clock: met / late start / still open past both deadlines.
    detected = _t(28, 3)
    ids = lifecycle.open_or_update(store, results, run_id=run, now=detected, catalog=catalog, sinks=[])
    by_link = {}
    for tid in ids:
        ticket, _ = lifecycle.get_ticket(store, tid)
        by_link[ticket.link_id] = tid
    lifecycle.start_repair(store, by_link["zz11"], actor="ops-li", now=detected + timedelta(hours=2), sinks=[])
    lifecycle.mark_repaired(store, by_link["zz11"], actor="ops-li", now=detected + timedelta(hours=10), sinks=[])
    lifecycle.verify(store, by_link["zz11"], actor="run:recheck", now=detected + timedelta(hours=12), sinks=[])
    lifecycle.start_repair(store, by_link["ZZ15-2"], actor="ops-wang", now=detected + timedelta(hours=9), sinks=[])
    lifecycle.mark_repaired(store, by_link["ZZ15-2"], actor="ops-wang", now=detected + timedelta(hours=20), sinks=[])
    lifecycle.verify(store, by_link["ZZ15-2"], actor="run:recheck", now=detected + timedelta(hours=22), sinks=[])

    logs = root / "logs"
    generate_month_logs(
        logs,
        MONTH,
        [
            ("zz11", "dsg", ["fp_fpxx"]),
            ("ZS01", "dsg", ["yp_ypxx"], 0.5),
            ("GXJF-QUERY", "kafka-consumer", ["fp_fpxx"]),
            ("SS22", "dsg", ["zsk_zsxx"], 0.3),
        ],
        [
            Incident("error_burst", "zz11", datetime(2026, 10, 9, 9), datetime(2026, 10, 9, 10), table="fp_fpxx"),
            Incident("stall", "ZS01", datetime(2026, 10, 14, 14), datetime(2026, 10, 14, 16)),
            Incident("latency_spike_peak", "GXJF-QUERY", datetime(2026, 10, 20, 9), datetime(2026, 10, 20, 11)),
            Incident("restart_loop", "zz11", datetime(2026, 10, 23, 1), datetime(2026, 10, 23, 2)),
        ],
        seed=7,
        volume=0.1,
    )
    analysis = analyse(logs, MONTH, anomalies=[r for r in results if r.is_anomaly])
    store.save_synclog_analysis(MONTH, analysis.to_dict(), run_id=run)
    return Month(store=store, catalog=catalog, run_id=run, prev_run_id=prev, out=root / "reports")


@pytest.fixture(scope="module")
def month(tmp_path_factory: pytest.TempPathFactory) -> Month:
    from syncverify.report import write_reports

    m = build_month(tmp_path_factory.mktemp("report-month"))
    m.written = write_reports(m.store, MONTH, m.out, m.catalog, lang="zh", as_of=AS_OF)
    return m


# ---- independent recomputation from the store ---------------------------------------------------

ITEM_KINDS = {"diff", "checksum", "totals", "count", "kafka_keys", "kafka_volume", "kafka_backlog"}
DEPTH = ["diff", "checksum", "totals", "count", "kafka_keys", "kafka_volume", "kafka_backlog"]


Item = tuple[str, str, str | None]  # (link, table, source node)


def expected_items(store: Store, run_id: str) -> dict[Item, dict[str, Any]]:
    groups: dict[Item, list[CheckResult]] = defaultdict(list)
    for r in store.results(run_id):
        if r.kind.value in ITEM_KINDS:
            groups[(r.link_id or "-", r.table, r.source_node)].append(r)
    out = {}
    for key, rs in groups.items():
        outcomes = {r.outcome.value for r in rs}
        status = "inconsistent" if "inconsistent" in outcomes else "not_run" if "not_run" in outcomes else "consistent"
        ran = [r for r in rs if r.outcome.value != "not_run"] or rs
        d = sorted(ran, key=lambda r: DEPTH.index(r.kind.value))[0]
        out[key] = {
            "status": status,
            "source_rows": d.source_rows,
            "target_rows": d.target_rows,
            "missing": d.missing_count,
            "extra": d.extra_count,
            "changed": d.changed_count,
            "in_flight": d.in_flight_count,
            "duplicate": d.duplicate_count,
            # row level: only an exact diff or a Kafka key reconciliation counts rows
            "rows_compared": (d.source_rows if d.source_rows is not None else (d.target_rows or 0))
            if d.kind.value in ("diff", "kafka_keys") and d.outcome.value != "not_run" else 0,
            "rows_differing": d.missing_count + d.extra_count + d.changed_count + d.duplicate_count
            if d.kind.value in ("diff", "kafka_keys") and d.outcome.value != "not_run" else 0,
            "seconds": round(sum((r.finished_at - r.started_at).total_seconds() for r in rs if r.finished_at), 3),
        }
    return out


def _utc(v: datetime | None) -> datetime | None:
    return None if v is None else (v if v.tzinfo else v.replace(tzinfo=UTC))


def expected_rates(
    items: dict[Item, dict[str, Any]], tickets: list[Any], catalog: Catalog
) -> tuple[dict[str, Any], dict[str, dict[str, Any]], dict[str, dict[str, Any]]]:
    in_time = {}
    for key, item in items.items():
        tks = [t for t in tickets if (t.link_id, t.table_name) == key[:2]]
        in_time[key] = (
            item["status"] == "inconsistent"
            and bool(tks)
            and all(
                t.repaired_at is not None and _utc(t.repaired_at) <= _utc(t.correct_due_at) and t.verified_at for t in tks
            )
        )

    def rate(keys: list[Item]) -> dict[str, Any]:
        n = len(keys)
        ok = sum(items[k]["status"] == "consistent" for k in keys)
        fixed = sum(in_time[k] for k in keys)
        compared = sum(items[k]["rows_compared"] for k in keys)
        differing = sum(items[k]["rows_differing"] for k in keys)
        return {
            "items": n,
            "consistent": ok,
            "inconsistent": sum(items[k]["status"] == "inconsistent" for k in keys),
            "not_run": sum(items[k]["status"] == "not_run" for k in keys),
            "repaired_in_time": fixed,
            "rate": ok / n if n else None,
            "rate_after_repair": (ok + fixed) / n if n else None,
            "rows_compared": compared,
            "rows_differing": differing,
            "row_rate": max(0.0, 1 - differing / compared) if compared else None,
        }

    overall = rate(list(items))
    per_link = {lid: rate([k for k in items if k[0] == lid]) for lid in {k[0] for k in items}}
    per_flow = {}
    for f in catalog.flows.values():
        keys = [k for k in items if k[0] in f.hops and (not f.tables or k[1] in f.tables)]
        if keys:
            per_flow[f.id] = rate(keys)
    return overall, per_link, per_flow


class Tables(HTMLParser):
    """Rows of every <table> under each <section id=...>, as lists of cell texts."""

    def __init__(self) -> None:
        super().__init__()
        self.section: str | None = None
        self.rows: dict[str, list[list[str]]] = defaultdict(list)
        self.cell: list[str] | None = None
        self.row: list[str] | None = None
        self.card_ids: dict[str, str] = {}
        self._id: str | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = dict(attrs)
        if tag == "section" or (tag == "table" and a.get("id")):
            self.section = a.get("id")
        elif tag == "tr":
            self.row = []
        elif tag in {"td", "th"}:
            self.cell = []
        elif tag == "br" and self.cell is not None:
            self.cell.append(" ")
        if a.get("id"):
            self._id = a["id"]

    def handle_endtag(self, tag: str) -> None:
        if tag in {"td", "th"} and self.cell is not None and self.row is not None:
            self.row.append(re.sub(r"\s+", " ", "".join(self.cell)).strip())
            self.cell = None
        elif tag == "tr" and self.row is not None:
            self.rows[self.section or "-"].append(self.row)
            self.row = None

    def handle_data(self, data: str) -> None:
        if self.cell is not None:
            self.cell.append(data)
        elif self._id and data.strip():
            self.card_ids[self._id] = data.strip()
            self._id = None


def html_tables(path: Path) -> Tables:
    parser = Tables()
    parser.feed(path.read_text(encoding="utf-8"))
    return parser


def pct(v: float | None) -> str:
    # rounded down (test_report_rates.py holds the rule): a month with differing rows never reads 100.00 %
    if v is None:
        return "-"
    if v < 1 and f"{v * 100:.2f}" in ("100.00", "99.99"):
        return fmt_pct(v)
    return f"{int(v * 10000 + 1e-9) / 100:.2f}%"


def num(v: int | None) -> str:
    return "-" if v is None else f"{v:,}"


# ---- the tests ---------------------------------------------------------------------------------------


def test_files_written(month: Month) -> None:
    names = {p.relative_to(month.out).as_posix() for p in month.written}
    assert names == {
        f"{MONTH}/{f}"
        for f in (
            "consistency.html",
            "consistency.md",
            "consistency.json",
            "synclog.html",
            "synclog.md",
            "synclog.json",
            "differences.parquet",
            "differences.csv",
        )
    } | {"index.html"}


def test_consistency_figures_match_the_store(month: Month) -> None:
    doc = json.loads((month.out / MONTH / "consistency.json").read_text(encoding="utf-8"))
    assert doc["run_id"] == month.run_id  # the monthly run, not the later incremental one
    items = expected_items(month.store, month.run_id)
    tickets = lifecycle.list_tickets(month.store)
    overall, per_link, per_flow = expected_rates(items, tickets, month.catalog)

    got_items = {(i["link_id"], i["table"], i["source_node"]): i for i in doc["items"]}
    assert set(got_items) == set(items)
    for key, want in items.items():
        assert {k: got_items[key][k] for k in want} == want, key
    assert doc["overall"] == overall
    assert {g["id"]: g["rate"] for g in doc["per_link"]} == per_link
    assert {g["id"]: g["rate"] for g in doc["per_flow"]} == per_flow

    # scope: what was verified
    all_results = month.store.results(month.run_id)
    assert doc["scope"] == {
        "flows": len(per_flow),
        "links": len(per_link),
        "tables": len({k[1] for k in items}),
        "items": len(items),
        "checks": len(all_results),
        "rows_compared": sum((i["source_rows"] or 0) + (i["target_rows"] or 0) for i in items.values()),
    }

    # against previous months: the September run recomputed the same way
    prev_items = expected_items(month.store, month.prev_run_id)
    prev_overall, _, _ = expected_rates(prev_items, [], month.catalog)
    assert [h["month"] for h in doc["history"]] == [PREV, MONTH]
    assert doc["history"][0]["rate"] == prev_overall
    assert doc["history"][1]["rate"] == overall

    # tickets: deadlines and SLA judged independently
    def sla(done: datetime | None, due: datetime) -> str:
        if done is not None:
            return "met" if _utc(done) <= _utc(due) else "missed"
        return "missed" if _utc(due) < AS_OF else "pending"

    got_tickets = {t["id"]: t for t in doc["tickets"]}
    assert set(got_tickets) == {t.id for t in tickets}
    for t in tickets:
        g = got_tickets[t.id]
        assert g["repair_sla"] == sla(t.repair_started_at, t.repair_due_at)
        assert g["correct_sla"] == sla(t.repaired_at, t.correct_due_at)
        assert g["hours_to_start"] == (
            round((_utc(t.repair_started_at) - _utc(t.detected_at)).total_seconds() / 3600, 2)
            if t.repair_started_at
            else None
        )
        # differences as the most precise check on the ticket counted them (rows, not days)
        checks = list(t.evidence["checks"].values())
        best = min(checks, key=lambda c: DEPTH.index(c["check_kind"]) if c["check_kind"] in DEPTH else 99)
        assert (g["missing"], g["extra"], g["changed"]) == (
            best["missing_count"],
            best["extra_count"],
            best["changed_count"],
        )
    states = [(g["repair_sla"], g["correct_sla"]) for g in got_tickets.values()]
    by_link = {g["link_id"]: (g["repair_sla"], g["correct_sla"]) for g in got_tickets.values()}
    # zz11 repaired in time, ZZ15-2 started late, the rest still open past both deadlines
    assert by_link.pop("zz11") == ("met", "met") and by_link.pop("ZZ15-2") == ("missed", "met")
    assert set(by_link.values()) == {("missed", "missed")}
    assert doc["sla"]["tickets"] == len(tickets)
    assert doc["sla"]["late"] == sum("missed" in s for s in states)

    # quality, traces, volumes, not-run checks
    q = [r for r in all_results if r.kind is CheckKind.QUALITY]
    assert [(s["suite"], s["failed"], s["evaluated"]) for s in doc["quality"]] == [
        (
            r.details["suite"],
            sum(not e["success"] for e in r.details["expectations"]),
            len(r.details["expectations"]),
        )
        for r in q
    ]
    tr = [r for r in all_results if r.kind is CheckKind.TRACE]
    assert [[(h["link"], h["keys"]) for h in t["hops"]] for t in doc["traces"]] == [
        [(link, len(keys)) for link, keys in r.details["first_missing_hop"].items()] for r in tr
    ]
    totals = [r for r in all_results if r.kind is CheckKind.TOTALS]
    volumes = {(v["link_id"], v["table"], v["source_node"]): (sum(v["source"]), sum(v["target"])) for v in doc["volumes"]}
    assert len(volumes) == len(doc["volumes"]) == len(totals)
    assert volumes == {
        (r.link_id, r.table, r.source_node): (
            sum(d["source_count"] for d in r.details["daily"]),
            sum(d["target_count"] for d in r.details["daily"]),
        )
        for r in totals
    }
    assert [n["check_id"] for n in doc["not_run"]] == [r.check_id for r in all_results if r.outcome is Outcome.NOT_RUN]
    assert doc["conclusion"][0]["params"]["items"] == overall["items"]
    assert "一致性达标率" in doc["conclusion"][0]["text"]

    # the HTML shows the same numbers
    html = html_tables(month.out / MONTH / "consistency.html")
    assert html.card_ids["rate-overall"] == pct(overall["rate"])
    rows = {r[0]: r for r in html.rows["per-link"] if r and r[0] in per_link}
    def rate_cells(r: dict[str, Any]) -> list[str]:
        # check level, then row level (rows compared, rows differing, rate), then after repair
        return [
            num(r["items"]),
            num(r["consistent"]),
            num(r["inconsistent"]),
            num(r["not_run"]),
            pct(r["rate"]),
            num(r["rows_compared"]),
            num(r["rows_differing"]),
            pct(r["row_rate"]),
            pct(r["rate_after_repair"]),
        ]

    for lid, want in per_link.items():
        assert rows[lid][2:11] == rate_cells(want)
    flows = {r[0]: r[2:11] for r in html.rows["per-flow"] if r and r[0] in per_flow}
    assert flows == {f: rate_cells(want) for f, want in per_flow.items()}
    history = {r[0]: r[2:11] for r in html.rows["history"] if r and r[0] in {PREV, MONTH}}
    assert history == {PREV: rate_cells(prev_overall), MONTH: rate_cells(overall)}
    item_rows = [r for r in html.rows["items-table"] if len(r) == 13 and r[0] != "链路"]
    assert len(item_rows) == len(items)
    for r in item_rows:
        want = items[(r[0].split(" ")[0], r[1].split(" ")[0], r[2].split(" → ")[0])]
        assert r[3:10] == [num(want[k]) for k in ("source_rows", "target_rows", "missing", "extra", "changed",
                                                  "duplicate", "in_flight")]


def test_difference_lists_are_keys_only_and_masked(month: Month) -> None:
    table = pq.read_table(month.out / MONTH / "differences.parquet")
    assert table.column_names == [
        "month",
        "link_id",
        "table",
        "source_node",
        "target_node",
        "check_kind",
        "difference",
        "key",
        "key_columns",
    ]
    rows = table.to_pylist()
    items = defaultdict(int)
    for r in month.store.results(month.run_id):
        if r.kind.value in {"diff", "kafka_keys"}:
            for name in ("missing", "extra", "changed", "duplicate", "in_flight"):
                items[(r.link_id, r.table, name)] += len(getattr(r, f"{name}_keys"))
    got = defaultdict(int)
    for r in rows:
        got[(r["link_id"], r["table"], r["difference"])] += 1
    assert got == {k: v for k, v in items.items() if v}
    zz11 = [r["key"] for r in rows if r["link_id"] == "zz11"]
    assert zz11 == [f"145001900111|{8800 + i:08d}" for i in range(3)]  # invoice numbers as they are
    nsr = [r["key"] for r in rows if r["table"] == "nsr_jcxx"]
    assert nsr and all("*" in k for k in nsr)
    csv_text = (month.out / MONTH / "differences.csv").read_text(encoding="utf-8")
    assert csv_text.count("\n") == len(rows) + 1


def test_synclog_figures_match_the_stored_analysis(month: Month) -> None:
    payload = month.store.synclog_analysis(MONTH)
    assert payload is not None
    doc = json.loads((month.out / MONTH / "synclog.json").read_text(encoding="utf-8"))
    links = {lk["link"]: lk for lk in payload["links"]}
    got = {lk["link_id"]: lk for lk in doc["links"]}
    assert set(got) == set(links)
    for lid, raw in links.items():
        g = got[lid]
        assert g["rows"] == raw["volume"]["rows"]
        assert g["errors"] == raw["volume"]["errors"]
        assert g["latency"]["p95_ms"] == raw["latency"]["p95_ms"]
        assert g["throughput_peak"] == max(h["rows"] for h in raw["hourly"])
        assert g["backlog_peak"] == raw["backlog_peak"]["value"]
        assert len(g["stalls"]) == len(raw["stalls"])
        assert sum(v for v in g["rows_series"] if v) == sum(h["rows"] for h in raw["hourly"])
    matrix_total = sum(sum(row) for lk in payload["links"] for row in lk["error_matrix"]["counts"])
    assert sum(map(sum, doc["heatmap"])) == matrix_total
    # the report adds what only the store knows: links without logs, volume against history
    added = [f for f in doc["findings"] if f["kind"] in ("no_logs", "volume_anomaly")]
    assert doc["summary"]["findings"] == len(payload["findings"]) + len(added)
    assert {f["id"] for f in doc["findings"]} - {f["id"] for f in added} == {f["id"] for f in payload["findings"]}
    assert {f["link"] for f in added if f["kind"] == "no_logs"} == set(doc["coverage"]["without_logs"])
    kinds = {f["kind"] for f in doc["findings"]}
    assert {"error_burst", "stall", "latency_spike", "restart_loop"} <= kinds
    html = (month.out / MONTH / "synclog.html").read_text(encoding="utf-8")
    for f in doc["findings"]:
        assert f["text"] and f["text"] in html.replace("&amp;", "&")
    assert "停滞" in html and "唯一键冲突" in html
    # the anomalies the analysis explained, with the findings that explain them
    explained = {(c["link"], c["table"], c["kind"]): sorted(c["explained_by"]) for c in payload["correlations"] if c["link"]}
    assert {
        (c["link"], c["table"], c["kind"]): sorted(f["id"] for f in c["explained"]) for c in doc["correlations"]
    } == explained
    assert explained[("zz11", "fp_fpxx", "diff")]
    overview = {
        r[0].split(" ")[0]: r[1:11]
        for r in html_tables(month.out / MONTH / "synclog.html").rows["overview"]
        if r and r[0].split(" ")[0] in links
    }

    def ms(v: float | None) -> str:
        return "-" if v is None else f"{round(v):,}"

    assert overview == {
        lid: [
            num(raw["volume"]["rows"]),
            num(max(h["rows"] for h in raw["hourly"])),
            *(ms(raw["latency"][k]) for k in ("p50_ms", "p95_ms", "p99_ms", "max_ms")),
            num(raw["backlog_peak"]["value"]),
            num(len(raw["stalls"])),
            num(raw["volume"]["errors"]),
            num(raw["restarts"]),
        ]
        for lid, raw in links.items()
    }
    # small multiples: a latency and a throughput chart per link with hourly data, and the heat map;
    # plotly.js inlined once, no URL to fetch it from
    hourly = sum(1 for raw in links.values() if raw["hourly"])
    assert html.count('id="chart-lat-') == hourly and html.count('id="chart-rows-') == hourly
    assert 'id="chart-heatmap"' in html
    assert html.count("<script>") == 2 and "<script src" not in html


def test_reports_carry_no_taxpayer_data_and_no_password(month: Month) -> None:
    """Scan every file: no planted id, name or password; nothing credit-code-like unmasked."""
    from syncverify.report.charts import plotly_js

    plotly_library = plotly_js().replace("</script", "<\\/script")
    credit_code = re.compile(r"(?<![0-9A-Z*])(?=[0-9A-Z]*[A-Z])[0-9A-HJ-NPQRTUWXY]{15,20}(?![0-9A-Z*])")
    texts = {}
    for path in month.out.rglob("*"):
        if path.suffix == ".parquet":
            texts[path] = json.dumps(pq.read_table(path).to_pylist(), ensure_ascii=False)
        elif path.is_file():
            # the inlined plotly.js is the library as its wheel ships it, not report data
            texts[path] = path.read_text(encoding="utf-8").replace(plotly_library, "")
    assert len(texts) == 9
    for path, text in texts.items():
        for secret in [*TAXPAYER_IDS, NAME, PASSWORD]:
            assert secret not in text, f"{secret!r} in {path}"
        # run ids carry a compact timestamp (20261129T031811): not a credit code
        found = [t for t in credit_code.findall(text) if not re.fullmatch(r"\d{8}T\d{6}", t)]
        assert not found, f"{found[:3]} in {path}"
        assert "http://" not in text and "https://" not in text and "//cdn" not in text, path
        if path.suffix == ".html":  # self-contained: nothing to load; the only code is the charts' own, inline
            from syncverify.report.charts import DRAW_JS

            code = text.replace(f"<script></script>\n<script>{DRAW_JS}</script>", "")
            assert "<script" not in code and "url(" not in code and "@import" not in code, path
    # the planted error is shown, masked: the reader still learns what went wrong
    html = texts[month.out / MONTH / "consistency.html"]
    assert "gx.patrol_pg unreachable" in html and "gmfmc=南*" in html and "password=***" in html


def test_english_report_and_index(month: Month, tmp_path: Path) -> None:
    from syncverify.report import write_reports
    from syncverify.report.i18n import EN, ZH

    assert set(ZH) == set(EN)
    out = tmp_path / "en"
    write_reports(month.store, MONTH, out, month.catalog, lang="en", as_of=AS_OF)
    html = (out / MONTH / "consistency.html").read_text(encoding="utf-8")
    assert "Monthly data consistency verification report" in html and "数据一致性验证月报" not in html
    slog = json.loads((out / MONTH / "synclog.json").read_text(encoding="utf-8"))
    stored = {f["id"]: f["title"] for f in month.store.synclog_analysis(MONTH)["findings"]}
    assert all(f["text"] == stored[f["id"]] for f in slog["findings"] if f["kind"] not in ("no_logs", "volume_anomaly"))
    # the index lists every month folder found, newest first, with the month's rate
    write_reports(month.store, PREV, out, month.catalog, lang="en", as_of=AS_OF)
    index = html_tables(out / "index.html")
    listed = [r[0] for r in index.rows["months"][1:]]
    assert listed == [MONTH, PREV]
    prev_doc = json.loads((out / PREV / "consistency.json").read_text(encoding="utf-8"))
    assert index.rows["months"][2][1] == pct(prev_doc["overall"]["rate"])
    assert 'href="2026-10/consistency.html"' in (out / "index.html").read_text(encoding="utf-8")


def test_cli(month: Month, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """``syncverify report`` as registered by this area (parsed and run like the main CLI does)."""
    parser = argparse.ArgumentParser(prog="syncverify")
    report_cli.register(parser.add_subparsers(dest="command", required=True))
    out = tmp_path / "cli"
    args = parser.parse_args(
        [
            "report",
            "--month",
            MONTH,
            "--out",
            str(out),
            "--store",
            month.store.url,
            "--catalog",
            str(ROOT / "checks"),
            "--lang",
            "en",
        ]
    )
    assert args.func(args) == 0
    printed = capsys.readouterr().out
    assert str(out / MONTH) in printed and (out / MONTH / "consistency.html").is_file()
    bad = parser.parse_args(["report", "--month", "2026-13", "--store", month.store.url])
    with pytest.raises(SyncverifyError, match="2026-13"):
        bad.func(bad)
    with pytest.raises(SystemExit):
        parser.parse_args(["report", "--month", MONTH, "--lang", "fr"])


def test_month_without_data(tmp_path: Path) -> None:
    from syncverify.report import build_report_data, write_reports

    store = Store(f"sqlite:///{tmp_path / 'empty.sqlite'}")
    catalog = load_catalog(ROOT / "checks")
    data = build_report_data(store, "2026-08", catalog)
    assert data.consistency.run_id is None and data.consistency.overall.rate is None
    assert not data.synclog.available
    assert [n.code for n in data.consistency.conclusion] == ["n_no_run"]
    written = write_reports(store, "2026-08", tmp_path / "r", catalog)
    assert "本月没有同步日志分析结果" in (tmp_path / "r" / "2026-08" / "synclog.html").read_text(encoding="utf-8")
    assert len(written) == 9
