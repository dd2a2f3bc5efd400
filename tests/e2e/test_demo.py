"""The demo end to end, as `make demo` runs it but on a smaller world: every injected fault is
found, nothing else is reported, both reports are written, the last four lines are exact."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from helpers import ROOT

pytestmark = [pytest.mark.e2e, pytest.mark.slow]


def test_demo_cli_finds_every_fault_and_nothing_else(tmp_path: Path) -> None:
    env = {**os.environ, "SYNCVERIFY_HOME": str(tmp_path / "home"), "SYNCVERIFY_TICKET_SINKS": "file"}
    env.pop("SYNCVERIFY_STORE_URL", None)
    reports = tmp_path / "reports"
    proc = subprocess.run(
        [str(Path(sys.executable).parent / "syncverify"), "demo", "--scale", "0.1", "--seed", "99", "--out", str(reports)],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=1800)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    lines = proc.stdout.strip().splitlines()
    manifest = json.loads((tmp_path / "home" / "world" / "manifest.json").read_text(encoding="utf-8"))
    injected = len(manifest["faults"])
    assert injected >= 8 and len({f["kind"] for f in manifest["faults"]}) == 8
    scored = injected + len(manifest["incidents"])      # the log and consumer incidents are scored too
    assert lines[-4:] == [f"injected: {scored}", f"detected: {scored}", "missed: 0", "false_positives: 0"]
    htmls = sorted(p.name for p in (reports / "2026-10").glob("*.html"))
    assert htmls == ["consistency.html", "synclog.html"] and (reports / "index.html").exists()
    # tickets went to the embedded file drop, and say nothing a person must not see
    drops = list((tmp_path / "home" / "ticket-drop").glob("*.json"))
    assert drops
    text = "".join(p.read_text(encoding="utf-8") for p in drops)
    for fault in manifest["faults"]:
        if fault["table"] == "nsr_jcxx":
            for key in fault["keys"]:
                assert key not in text     # taxpayer ids are masked
    assert "Traceback" not in proc.stderr
    # one ticket is repaired end to end by the demo (plan, approval, apply, re-verification) and closed
    assert f"tickets: {injected} for {injected} injected faults ({injected - 1} open, 1 repaired and verified)" in lines

    # Right after the demo the CLI reads the same store: one ticket per injected fault (one of them repaired).
    from syncverify.sandbox.demo_score import fault_place, score_tickets

    listed = subprocess.run([str(Path(sys.executable).parent / "syncverify"), "tickets", "list", "--all", "--json"],
                            cwd=ROOT, env=env, capture_output=True, text=True, timeout=120)
    assert listed.returncode == 0, listed.stderr
    tickets = json.loads(listed.stdout)
    assert len(tickets) == injected and score_tickets(manifest, tickets, tickets).ok
    by_place = {(t["kind"], t["source_node"] if t["kind"] == "quality" else t["link_id"], t["table"]): t
                for t in tickets}
    assert set(by_place) == {fault_place(f) for f in manifest["faults"]}
    # Root causes by kind: the latency spike on ZJJF-QUERY does not explain its changed amounts,
    # the error burst on GXJF-QUERY explains the rows it lost; traces are evidence, not tickets.
    changed = by_place[("consistency", "ZJJF-QUERY", "fp_fpxx")]["evidence"]["root_cause"]
    assert changed["unexplained"] == ["changed"] and "no explanation found in the logs" in changed["text"]
    lost = by_place[("consistency", "GXJF-QUERY", "fp_fpxx")]["evidence"]
    assert [e["kind"] for e in lost["root_cause"]["log_events"]] == ["error_burst"]
    assert set(lost["traces"]) == {"trace/F1/fp_fpxx"}
    # The lagging consumer's stall runs to the month's end: found, said to be still open, and the
    # root cause on the lagging-consumer fault's own ticket (not a ticket of its own).
    lagging = by_place[("consistency", "YP-ENTRY", "yp_ypxx")]["evidence"]["root_cause"]["log_events"]
    assert any(e["kind"] == "stall" and "still open at 10-31 24:00 (Asia/Shanghai)" in e["title"] for e in lagging)


def test_demo_report_figures_match_the_store(tmp_path: Path) -> None:
    """The sandbox month's consistency report, figure by figure, against the demo's store
    (recomputed independently by the report tests' helpers)."""
    from syncverify.catalog import load_catalog
    from syncverify.sandbox.demo import run_demo
    from syncverify.store import Store
    from syncverify.tickets import lifecycle
    from unit.test_report_month import expected_items, expected_rates

    os.environ.setdefault("SYNCVERIFY_TICKET_SINKS", "file")
    home, reports = tmp_path / "home", tmp_path / "reports"
    outcome = run_demo(scale=0.05, seed=5, reports=reports, home=home)
    assert outcome.ok
    store = Store(f"sqlite:///{home / 'results.sqlite'}")
    catalog = load_catalog(ROOT / "checks")
    doc = json.loads((reports / "2026-10" / "consistency.json").read_text(encoding="utf-8"))
    assert doc["run_id"] == outcome.run_id
    items = expected_items(store, outcome.run_id)
    overall, per_link, per_flow = expected_rates(items, lifecycle.list_tickets(store), catalog)
    got = {(i["link_id"], i["table"], i["source_node"]): i for i in doc["items"]}
    assert set(got) == set(items)
    for key, want in items.items():
        assert {k: got[key][k] for k in want} == want, key
    assert doc["overall"] == overall
    assert {g["id"]: g["rate"] for g in doc["per_link"]} == per_link
    assert {g["id"]: g["rate"] for g in doc["per_flow"]} == per_flow
