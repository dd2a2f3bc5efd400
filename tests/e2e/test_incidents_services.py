"""One root fault, one ticket — on the real MariaDB and PostgreSQL world (the services backend),
with faults this test injects (not the demo's): every injected fault gets exactly one open
ticket on its link (or, for bad data, its node) and table, and no other ticket is open. The
echoes the faults cause (traces through three flows, a uniqueness rule broken by duplicated rows,
a reference broken by lost parents, bad amounts copied downstream) are evidence on those tickets."""

from __future__ import annotations

import uuid
from pathlib import Path

import pytest

from service_support import MARIADB_ADMIN_URL, POSTGRES_ADMIN_URL, service_unavailable
from syncverify.errors import UnreachableError
from syncverify.sandbox.faults import FaultSpec
from syncverify.tickets import list_tickets, ticket_view

pytestmark = [pytest.mark.e2e, pytest.mark.slow, pytest.mark.mariadb, pytest.mark.postgres]

FAULTS = (
    FaultSpec("T1", "missing", "GXJF-QUERY", "fp_fpxx", 3),      # shared by flows F1, F2, F3
    FaultSpec("T2", "duplicate", "SS22", "zsk_zsxx", 2),         # breaks the article-id uniqueness rule
    FaultSpec("T3", "missing", "SS31", "nsr_jcxx", 2),           # breaks nsr_kzxx's reference to its taxpayer
    FaultSpec("T4", "changed_amount", "zz11", "fp_fpxx", 2),
    FaultSpec("T5", "extra", "ZS01", "yp_ypxx", 2),
    FaultSpec("T6", "quality", None, "fp_fpxx", 2, node="gx.issue_db"),   # copied into every invoice copy
)


def test_one_open_ticket_per_injected_fault_on_mariadb_and_postgresql(tmp_path: Path, monkeypatch) -> None:
    from syncverify.sandbox import World, drop_world
    from syncverify.sandbox.demo import run_demo
    from syncverify.store import Store

    monkeypatch.setenv("SYNCVERIFY_TICKET_SINKS", "file")
    monkeypatch.delenv("SYNCVERIFY_STORE_URL", raising=False)
    options = {"db_prefix": f"svi_t{uuid.uuid4().hex[:6]}_", "postgres_url": POSTGRES_ADMIN_URL,
               "mariadb_url": MARIADB_ADMIN_URL + ("&" if "?" in MARIADB_ADMIN_URL else "?") + "charset=utf8mb4"}
    home = tmp_path / "home"
    try:
        outcome = run_demo(backend="services", scale=0.03, seed=7, reports=tmp_path / "reports", home=home,
                           faults=FAULTS, world_options=options)
    except UnreachableError as exc:
        service_unavailable("MariaDB/PostgreSQL for the services world", exc)
    finally:
        drop_world(World(home / "world-services", "services", {}, home), **options)
    assert outcome.score.ok, (outcome.score.missed, outcome.score.false_positives)
    assert outcome.tickets is not None and outcome.tickets.ok, outcome.tickets.lines()

    tickets = {(t["kind"], t["source_node"] if t["kind"] == "quality" else t["link_id"], t["table"]): t
               for t in (ticket_view(x) for x in list_tickets(Store(f"sqlite:///{home / 'results.sqlite'}"),
                                                              open_only=False))}
    # the demo repairs one ticket end to end (missing rows between two databases: SS31 here); the rest stay open
    assert outcome.repaired is not None and outcome.repaired.verified
    assert {k for k, t in tickets.items() if t["status"] == "verified"} == {("consistency", "SS31", "nsr_jcxx")}
    assert all(t["status"] == "open" for k, t in tickets.items() if k != ("consistency", "SS31", "nsr_jcxx"))
    assert set(tickets) == {("consistency", "GXJF-QUERY", "fp_fpxx"), ("consistency", "SS22", "zsk_zsxx"),
                            ("consistency", "SS31", "nsr_jcxx"), ("consistency", "zz11", "fp_fpxx"),
                            ("consistency", "ZS01", "yp_ypxx"), ("quality", "gx.issue_db", "fp_fpxx")}
    lost = tickets[("consistency", "GXJF-QUERY", "fp_fpxx")]["evidence"]
    assert set(lost["traces"]) == {"trace/F1/fp_fpxx"}                  # the keys entered at F1's source only
    assert "quality/gx.patrol_pg/zsk_zsxx" in tickets[("consistency", "SS22", "zsk_zsxx")]["evidence"]["echoes"]
    assert "quality/gx.taxpayer_db/nsr_kzxx" in tickets[("consistency", "SS31", "nsr_jcxx")]["evidence"]["echoes"]
    bad = tickets[("quality", "gx.issue_db", "fp_fpxx")]["evidence"]["echoes"]
    assert "quality/gx.query_db/fp_fpxx" in bad and "quality/hq.query_db/fp_fpxx" in bad
    # The error burst on the hop that lost the rows explains them; nothing in the logs explains extra rows.
    assert "explained by" in lost["root_cause"]["text"] and lost["root_cause"]["log_events"][0]["kind"] == "error_burst"
    extra = tickets[("consistency", "ZS01", "yp_ypxx")]["evidence"]["root_cause"]
    assert extra["unexplained"] == ["extra"] and "no explanation found in the logs" in extra["text"]
    for t in tickets.values():
        assert t["occurred_at"] is None or t["occurred_at"] < t["detected_at"]
