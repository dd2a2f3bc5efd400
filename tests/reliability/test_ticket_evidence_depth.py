"""A ticket keeps its finest evidence: a diff run finds the missing rows, a later totals run
(which only knows days) never replaces them, and re-verification proves the repair on the
ticket's own keys and its check — on MariaDB → PostgreSQL and PostgreSQL → MariaDB.

The sequence is the one an operator types: ``run --depth diff --tickets``, ``run --depth totals
--tickets``, ``tickets resolve``, ``tickets watch``."""

from __future__ import annotations

import json

import pytest
import sqlalchemy as sa
from rel_helpers import admin, write_world

from syncverify.cli import main
from syncverify.store import Store
from syncverify.tickets import get_ticket, list_tickets

MONTH = "2026-10"
LOST = [5, 17, 23]


def _fill(url: str, table: str, ids: list[int]) -> None:
    # Naive local times with microseconds on both servers, alike (MariaDB's TIMESTAMP would
    # convert by session time zone; a DATETIME without fractions would be a narrower copy).
    ts = "datetime(6)" if url.startswith("mysql") else "timestamp"
    with admin(url).connect() as c:
        c.execute(sa.text(f"CREATE TABLE {table} (id bigint PRIMARY KEY, kprq {ts} NULL, "
                          "je decimal(18,2), v varchar(20))"))
        for i in ids:
            c.execute(sa.text(f"INSERT INTO {table} VALUES (:i, :t, :je, :v)"),
                      {"i": i, "t": f"2026-10-{1 + i % 28:02d} {i % 24:02d}:15:00", "je": i * 10.5, "v": f"r{i}"})


def _cli(capsys, *argv: str) -> tuple[int, str]:
    code = main(list(argv))
    out, _ = capsys.readouterr()
    return int(code), out


@pytest.fixture(params=["mariadb_to_postgres", "postgres_to_mariadb"])
def world(request, sv_home, tmp_path):
    my, pg = request.getfixturevalue("mariadb_url"), request.getfixturevalue("postgres_url")
    (src_kind, src_url), (dst_kind, dst_url) = (
        (("mysql", my), ("postgresql", pg)) if request.param == "mariadb_to_postgres"
        else (("postgresql", pg), ("mysql", my)))
    all_ids = list(range(1, 31))
    _fill(src_url, "fp_src", all_ids)
    _fill(dst_url, "fp_dst", [i for i in all_ids if i not in LOST])
    nodes = {"hq.src_db": {"kind": src_kind, "url": src_url, "tables": {"fp_t": "fp_src"}},
             "gx.dst_db": {"kind": dst_kind, "url": dst_url, "tables": {"fp_t": "fp_dst"}}}
    tables = [{"name": "fp_t", "key": ["id"], "window_column": "kprq", "totals": ["je"]}]
    links = [{"id": "L-DEPTH", "kind": "dsg", "source": "hq.src_db", "target": "gx.dst_db", "grace": "1m",
              "tables": [{"table": "fp_t"}]}]
    w = write_world(tmp_path, nodes, tables, links)
    return w, dst_url, sv_home


def test_a_totals_run_never_replaces_the_rows_and_watch_does_not_verify_missing_rows(world, capsys):
    w, dst_url, home = world
    run = ["run", "--month", MONTH, "--links", "L-DEPTH", "--catalog", str(w.catalog), "--profile", str(w.profile),
           "--confirm-delay", "0", "--tickets", "--no-reports"]
    assert _cli(capsys, *run, "--depth", "diff")[0] == 1
    store = Store(f"sqlite:///{home / 'results.sqlite'}")
    [ticket] = list_tickets(store, open_only=True)
    assert sorted(ticket.evidence["_keys"]["missing"], key=int) == [str(i) for i in LOST]
    assert ticket.title.endswith("missing 3 rows")
    assert ticket.occurred_at is not None      # the earliest lost row's invoice time, in UTC

    assert _cli(capsys, *run, "--depth", "totals")[0] == 1
    ticket, events = get_ticket(store, ticket.id)
    assert sorted(ticket.evidence["_keys"]["missing"], key=int) == [str(i) for i in LOST]      # rows, not days
    seen = events[-1]
    assert seen.event == "seen_again" and "missing" not in seen.detail and seen.detail["days_differing"] == 3
    assert ticket.title.endswith("missing 3 rows")

    assert _cli(capsys, "tickets", "resolve", str(ticket.id), "--by", "ops")[0] == 0
    watch = ["tickets", "watch", "--catalog", str(w.catalog), "--profile", str(w.profile), "--json"]
    code, out = _cli(capsys, *watch)
    assert code == 0 and json.loads(out)["reopened"] == [ticket.id]
    ticket = get_ticket(store, ticket.id)[0]
    assert ticket.status == "reopened" and sorted(ticket.evidence["_keys"]["missing"], key=int) == [str(i) for i in LOST]

    # The rows are written back: now the keys and the check agree, and the watch verifies.
    with admin(dst_url).connect() as c:
        for i in LOST:
            c.execute(sa.text("INSERT INTO fp_dst VALUES (:i, :t, :je, :v)"),
                      {"i": i, "t": f"2026-10-{1 + i % 28:02d} {i % 24:02d}:15:00", "je": i * 10.5, "v": f"r{i}"})
    assert _cli(capsys, "tickets", "resolve", str(ticket.id), "--by", "ops")[0] == 0
    code, out = _cli(capsys, *watch)
    assert code == 0 and json.loads(out)["verified"] == [ticket.id]


def test_keys_that_match_are_not_enough_when_the_check_still_differs(world, capsys):
    """The ticket's own three keys are repaired, but another row of its window went missing
    meanwhile: re-running the ticket's check disproves the repair."""
    w, dst_url, home = world
    run = ["run", "--month", MONTH, "--links", "L-DEPTH", "--catalog", str(w.catalog), "--profile", str(w.profile),
           "--confirm-delay", "0", "--tickets", "--no-reports", "--depth", "diff"]
    assert _cli(capsys, *run)[0] == 1
    store = Store(f"sqlite:///{home / 'results.sqlite'}")
    [ticket] = list_tickets(store, open_only=True)
    with admin(dst_url).connect() as c:
        for i in LOST:
            c.execute(sa.text("INSERT INTO fp_dst VALUES (:i, :t, :je, :v)"),
                      {"i": i, "t": f"2026-10-{1 + i % 28:02d} {i % 24:02d}:15:00", "je": i * 10.5, "v": f"r{i}"})
        c.execute(sa.text("DELETE FROM fp_dst WHERE id = 11"))
    assert _cli(capsys, "tickets", "resolve", str(ticket.id), "--by", "ops")[0] == 0
    code, out = _cli(capsys, "tickets", "watch", "--catalog", str(w.catalog), "--profile", str(w.profile), "--json")
    assert code == 0 and json.loads(out)["reopened"] == [ticket.id]
