"""Repair plans on the embedded demo world (SQLite, scale 0.1, seed 99), where these were found broken:

* GXJF-LEDGER/fp_fpxx (source: a Kafka topic kept as a message table): duplicated keys on the
  target. The pre-check compared the DATETIME columns with SQLAlchemy's rendering
  ('2026-10-19 09:21:10.000000') while the world stores '2026-10-19 09:21:10': "expected 2, found 0";
* SS22/zsk_zsxx: duplicated integer keys. The ticket carries them as text ("900004"), the table as
  integers, so no key was taken for a duplicated one: 0 statements, 3 skipped, ticket reopened;
* zz11/fp_fpxx: changed rows (a date column shifted by hours): the same DATETIME pre-check failure,
  "expected 5, found 0".

Each ticket comes from the comparison engine's own finding, and is planned, approved, applied and
re-verified as `syncverify tickets script/approve/apply` do; a rollback puts back the stored text.
"""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest
import sqlalchemy as sa

from syncverify.catalog import load_catalog
from syncverify.catalog.table_refs import check_refs
from syncverify.compare.engine import diff_tables
from syncverify.connect.resolve import engine_for_node
from syncverify.results import CheckKind
from syncverify.sandbox import build_world, land_in_flight
from syncverify.store import Store
from syncverify.tickets import (
    apply_repair_script,
    approve_repair_script,
    generate_repair_script,
    get_ticket,
    open_or_update,
)
from syncverify.tickets.reverify import reverify_pair

T0 = datetime(2026, 11, 1, 8, 0, tzinfo=UTC)
CATALOG = "checks"


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory):
    built = build_world(tmp_path_factory.mktemp("world"), scale=0.1, seed=99, catalog_path=CATALOG)
    land_in_flight(built)      # as at the demo's confirmation pass: only the injected faults differ
    return built


def _engines(world, link: str, table: str):
    catalog = load_catalog(CATALOG)
    [lc] = [c for c in catalog.link_checks(links=[link], tables=[table])]
    source = engine_for_node(lc.source.id, profile=world.connections, read_only=True)
    target = engine_for_node(lc.target.id, profile=world.connections, read_only=True)
    return catalog, lc, source, target


def _ticket(store: Store, world, link: str, table: str) -> tuple[int, dict[str, int]]:
    """The comparison engine's finding on the link's table, as a ticket."""
    _catalog, lc, source, target = _engines(world, link, table)
    refs = check_refs(lc, source, target, message_tables=lc.source.is_kafka or lc.target.is_kafka)
    found = diff_tables(refs.source, refs.target, refs.spec, link_id=link)
    found.kind, found.table, found.started_at = CheckKind.DIFF, table, T0
    found.source_node, found.target_node = lc.source.id, lc.target.id
    [tid] = open_or_update(store, [found], run_id="demo-world", now=T0, sinks=[])
    counts = {k: getattr(found, f"{k}_count") for k in ("missing", "extra", "changed", "duplicate")}
    return tid, counts


def _repair(store: Store, world, link: str, table: str, tid: int):
    catalog, lc, source, reader = _engines(world, link, table)
    script = generate_repair_script(store, tid, source_engine=source, target_engine=reader, catalog=catalog,
                                    now=T0, sinks=[])
    approve_repair_script(store, tid, by="审批人", note="demo world regression", sinks=[])
    writer = engine_for_node(lc.target.id, profile=world.connections, read_only=False)
    out = apply_repair_script(store, tid, target_engine=writer, by="ops", sinks=[],
                              reverify=lambda t: reverify_pair(t, catalog, source, writer))
    return script, out, writer


def _copies(engine: sa.Engine, table: str, key: list[str]) -> dict[tuple, int]:
    cols = ", ".join(key)
    with engine.connect() as c:
        return {tuple(r[:-1]): r[-1] for r in c.execute(sa.text(
            f"SELECT {cols}, COUNT(*) FROM {table} GROUP BY {cols} HAVING COUNT(*) > 1"))}


@pytest.mark.parametrize(("link", "table", "key", "duplicates"), [
    ("GXJF-LEDGER", "fp_fpxx", ["fpdm", "fphm"], 6),       # source: a Kafka topic (message table)
    ("SS22", "zsk_zsxx", ["zsid"], 3),                     # integer key
])
def test_duplicated_keys_on_the_demo_world_keep_one_copy(world, tmp_path: Path, link: str, table: str,
                                                          key: list[str], duplicates: int) -> None:
    store = Store(f"sqlite:///{tmp_path / 'store.sqlite'}")
    tid, counts = _ticket(store, world, link, table)
    assert counts["duplicate"] == duplicates, counts
    script, out, writer = _repair(store, world, link, table, tid)
    plan = script.plan or {}
    assert plan["duplicate_copies_deleted"] == duplicates and plan["skipped"] == 0, plan
    assert out.outcome == "applied", out.detail
    assert out.detail["reverified"] is True and out.ticket_status == "verified", out.detail
    assert _copies(writer, table, key) == {}


def test_date_shift_on_the_demo_world_is_corrected_and_rolled_back(world, tmp_path: Path) -> None:
    store = Store(f"sqlite:///{tmp_path / 'store.sqlite'}")
    tid, counts = _ticket(store, world, "zz11", "fp_fpxx")
    assert counts["changed"] == 5 and counts["missing"] == counts["extra"] == 0, counts
    *_, reader = _engines(world, "zz11", "fp_fpxx")
    with reader.connect() as c:
        before = sorted(tuple(r) for r in c.execute(sa.text("SELECT fpdm, fphm, kprq, gxsj FROM fp_fpxx")))
    script, out, writer = _repair(store, world, "zz11", "fp_fpxx", tid)
    assert (script.plan or {})["updates"] == 5
    assert out.outcome == "applied", out.detail
    assert out.detail["reverified"] is True and out.ticket_status == "verified", out.detail

    # The rollback restores the values as the table held them (the world's own text, byte for byte).
    back = apply_repair_script(store, tid, target_engine=writer, by="ops", rollback=True, sinks=[])
    assert back.outcome == "rolled_back" and get_ticket(store, tid)[0].status == "reopened", back.detail
    with writer.connect() as c:
        after = sorted(tuple(r) for r in c.execute(sa.text("SELECT fpdm, fphm, kprq, gxsj FROM fp_fpxx")))
    assert after == before
