"""Taxpayer ids and names are masked in every people-facing output (ticket list/show, ticket
views and events, both monthly reports, CLI output); repair scripts are applied only with a
named approval, and every application is audited on the ticket."""

from __future__ import annotations

import json
import os
import stat
from pathlib import Path

import pytest
import sqlalchemy as sa
from rel_helpers import admin, write_world

from syncverify.cli import main
from syncverify.runner import jobs
from syncverify.store import Store
from syncverify.tickets import lifecycle
from syncverify.tickets.views import event_view, ticket_view

IDS = [f"91450100MA5K{i:04d}X{i % 10}" for i in range(1, 41)]          # 18-character credit codes
NAMES = [f"南宁市测试{i:02d}号科技有限公司" for i in range(1, 41)]
LOST = {IDS[3], IDS[17]}                                               # missing on the target
RENAMED = IDS[25]                                                      # name differs on the target


@pytest.mark.mariadb
def test_masked_outputs_and_audited_repair(mariadb_url, sv_home, tmp_path, capsys, monkeypatch):
    with admin(mariadb_url).connect() as c:
        for t in ("nsr_src", "nsr_dst"):
            c.execute(sa.text(f"CREATE TABLE {t} (nsrsbh varchar(20) PRIMARY KEY, nsrmc varchar(60), zt varchar(2))"))
        for i, name in zip(IDS, NAMES, strict=True):
            c.execute(sa.text("INSERT INTO nsr_src VALUES (:i, :n, '03')"), {"i": i, "n": name})
            if i not in LOST:
                c.execute(sa.text("INSERT INTO nsr_dst VALUES (:i, :n, '03')"),
                          {"i": i, "n": "改名" + name if i == RENAMED else name})
    nodes = {"hq.taxpayer_db": {"kind": "mysql", "url": mariadb_url, "tables": {"nsr_jcxx": "nsr_src"}},
             "gx.taxpayer_db": {"kind": "mysql", "url": mariadb_url, "tables": {"nsr_jcxx": "nsr_dst"}}}
    world = write_world(tmp_path / "w", nodes,
                        [{"name": "nsr_jcxx", "key": ["nsrsbh"], "masked_columns": ["nsrsbh", "nsrmc"]}],
                        [{"id": "ZS-NSR", "kind": "dsg", "source": "hq.taxpayer_db", "target": "gx.taxpayer_db",
                          "tables": [{"table": "nsr_jcxx"}]}])
    store_url = f"sqlite:///{sv_home / 'results.sqlite'}"
    monkeypatch.setenv("SYNCVERIFY_STORE_URL", store_url)
    store = Store(store_url)
    params = {"month": "2026-11", "catalog_path": str(world.catalog), "profile": str(world.profile),
              "confirm_delay_s": 0}
    params = jobs.start_run(params, store=store)["params"]
    jobs.run_checks(params, "ZS-NSR", store=store)
    jobs.finish_run(params, store=store)
    opened = jobs.open_tickets(params, store=store)
    reports = jobs.write_reports(params, str(tmp_path / "reports"), store=store)
    (ticket_id,) = opened["tickets"]
    cli = ["--catalog", str(world.catalog), "--profile", str(world.profile)]
    assert main(["tickets", "list"]) == 0
    assert main(["tickets", "show", str(ticket_id)]) == 0
    # --- repair: generated for review, refused without an approval ---------------------------------
    assert main(["tickets", "script", *cli, str(ticket_id), "--out", str(tmp_path / "scripts")]) == 0
    for f in (tmp_path / "scripts").rglob("*.sql"):
        assert stat.S_IMODE(os.stat(f).st_mode) == 0o600, f          # raw values: owner-only files
    writable = mariadb_url
    with pytest.raises(SystemExit) as no_flag:
        main(["tickets", "apply", *cli, str(ticket_id), "--target-url", writable])
    assert no_flag.value.code == 2
    assert main(["tickets", "apply", *cli, str(ticket_id), "--target-url", writable, "--approved-by", "  "]) == 2
    with admin(mariadb_url).connect() as c:
        assert c.execute(sa.text("SELECT count(*) FROM nsr_dst")).scalar() == len(IDS) - len(LOST)
    # --- with an approval: applied, audited -----------------------------------------------------------
    assert main(["tickets", "approve", str(ticket_id), "--by", "alice", "--note", "checked the plan"]) == 0
    assert main(["tickets", "apply", *cli, str(ticket_id), "--target-url", writable, "--approved-by", "alice",
                 "--no-reverify"]) == 0
    with admin(mariadb_url).connect() as c:
        assert c.execute(sa.text("SELECT count(*) FROM nsr_dst")).scalar() == len(IDS)
    ticket, events = lifecycle.get_ticket(store, ticket_id)
    audit = [(e.event, e.actor) for e in events]
    assert ("script_apply_approved", "alice") in audit and ("script_applied", "alice") in audit, audit
    assert not any(e.startswith("script_apply") and a != "alice" for e, a in audit), audit

    # --- every people-facing output is masked ------------------------------------------------------------
    out = capsys.readouterr()
    people_facing = [out.out, out.err, json.dumps(ticket_view(ticket, events=events), ensure_ascii=False),
                     json.dumps([event_view(e) for e in events], ensure_ascii=False)]
    people_facing += [Path(p).read_text(encoding="utf-8", errors="replace") for p in reports["files"]
                      if not p.endswith((".png", ".pdf"))]
    assert len(reports["files"]) >= 2
    differing = sorted(LOST | {RENAMED})
    for text in people_facing:
        for raw in differing:
            assert raw not in text, f"taxpayer id {raw} unmasked in {text[:200]!r}"
        for name in NAMES:
            assert name not in text, "a taxpayer name is unmasked"
    shown = "".join(people_facing)
    assert any(f"{raw[:6]}" in shown and raw[-2:] in shown for raw in differing)  # masked, not dropped
