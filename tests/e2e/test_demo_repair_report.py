"""The demo repairs one ticket end to end and the monthly report's repair and maintenance record
lists it (issue 22): the plan, who approved it and when, the pre-check, the rows applied and the
re-verification — read back from the report files, checked against the store."""

from __future__ import annotations

import json
import os
import re
from pathlib import Path

import pytest

pytestmark = [pytest.mark.e2e, pytest.mark.slow]


def test_demo_repair_is_in_the_report(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from syncverify.sandbox.demo import run_demo
    from syncverify.sandbox.demo_repair import DEMO_APPROVER, DEMO_OPERATOR
    from syncverify.store import Store
    from syncverify.tickets import get_ticket, latest_script

    os.environ.setdefault("SYNCVERIFY_TICKET_SINKS", "file")
    home, reports = tmp_path / "home", tmp_path / "reports"
    outcome = run_demo(scale=0.1, seed=99, reports=reports, home=home)
    assert outcome.ok
    faults = len(outcome.world.manifest["faults"]) if outcome.world else 0
    lines = capsys.readouterr().out.splitlines()
    assert f"tickets: {faults} for {faults} injected faults ({faults - 1} open, 1 repaired and verified)" in lines

    doc = json.loads((reports / "2026-10" / "consistency.json").read_text(encoding="utf-8"))
    repaired = [r for r in doc["repairs"] if r["category"] == "repaired"]
    assert len(repaired) == 1, doc["repairs"]
    row = repaired[0]
    store = Store(f"sqlite:///{home / 'results.sqlite'}")
    ticket, events = get_ticket(store, row["ticket_id"])
    script = latest_script(store, row["ticket_id"])
    assert ticket.status == "verified" and ticket.verified_at is not None
    assert (row["approved_by"], row["applied_by"]) == (DEMO_APPROVER, DEMO_OPERATOR) == (script.approved_by,
                                                                                          script.applied_by)
    assert row["precheck"] == "passed" and row["reverified"] == "consistent" and row["outcome"] == "applied"
    plan = script.plan or {}
    applied = sum(int(plan.get(k) or 0) for k in ("inserts", "updates", "deletes", "duplicate_copies_deleted"))
    assert row["rows_applied"] == applied > 0
    assert row["plan_hash"] == (script.plan_hash or "")[:12]
    assert {"script_generated", "script_approved", "script_applied", "repaired", "verified"} <= {e.event for e in events}
    for when in ("approved_at", "applied_at", "reverified_at", "generated_at"):
        assert row[when] and row[when].endswith("+08:00"), (when, row[when])
    summary = doc["repair_summary"]
    assert summary["repaired"] == 1 and summary["failed"] == 0
    assert summary["initially_out_of_sync"] == summary["repaired"] + summary["failed"] + summary["not_repaired"]

    # ... and the HTML a reviewer reads shows the same row
    html = (reports / "2026-10" / "consistency.html").read_text(encoding="utf-8")
    section = html[html.index('<section id="repairs">'):]
    section = section[:section.index("</section>")]
    tr = re.search(rf'<tr class="repair-repaired" data-ticket="{row["ticket_id"]}">(.*?)</tr>', section, re.S)
    assert tr is not None, section[:2000]
    text = re.sub(r"<[^>]+>", " ", tr.group(1))
    for shown in (DEMO_APPROVER, DEMO_OPERATOR, "复核一致", "已修复", f"{applied:,}", row["approved_at"]):
        assert shown in text, (shown, text)
