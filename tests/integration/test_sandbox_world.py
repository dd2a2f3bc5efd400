"""The sandbox world, built small: invariants without faults, exactly the manifest with them."""

from __future__ import annotations

import json
import os
import sqlite3
import time
from pathlib import Path

import pytest
import yaml

from syncverify.catalog import load_catalog
from syncverify.cli import main as cli_main
from syncverify.connect.resolve import resolve_node
from syncverify.sandbox import World, build_world, land_in_flight
from syncverify.sandbox.check import expected_differences as expected
from syncverify.sandbox.check import observed_differences as observed
from syncverify.sandbox.check import world_differences
from syncverify.sandbox.faults import FAULT_KINDS

CATALOG = load_catalog("checks")
SMALL = 0.05
@pytest.fixture(scope="module")
def faulty(tmp_path_factory: pytest.TempPathFactory) -> World:
    return build_world(tmp_path_factory.mktemp("world"), scale=SMALL, seed=11)


@pytest.fixture(scope="module")
def clean(tmp_path_factory: pytest.TempPathFactory) -> World:
    return build_world(tmp_path_factory.mktemp("clean"), scale=SMALL, seed=11, faults=False, logs=False)


def test_without_faults_every_copy_equals_its_routed_source(clean: World) -> None:
    diffs = world_differences(CATALOG, clean.node_urls)
    assert len(diffs) == len(CATALOG.link_checks())
    dirty = [(d.check_id, len(d.missing), len(d.extra), len(d.changed), len(d.duplicate))
             for d in diffs if not d.clean]
    assert dirty == []
    assert clean.manifest["faults"] == [] and clean.manifest["in_flight"] == []
    # Province copies are filtered subsets: the routing rules really filter.
    counts = clean.manifest["counts"]
    assert 0 < counts["gx.ledger_db"]["fp_fpxx"] < counts["gx.query_db"]["fp_fpxx"] < counts["hq.query_db"]["fp_fpxx"]
    assert counts["gx.kb_hub"]["zsk_zsxx"] < counts["hq.kb_hub"]["zsk_zsxx"]


def test_view_counts_differ_in_province_copies_but_are_excluded(clean: World) -> None:
    def views(node: str) -> dict[int, int]:
        path = clean.node_urls[node].removeprefix("sqlite:///")
        with sqlite3.connect(path) as conn:
            return dict(conn.execute("SELECT zsid, llcs FROM zsk_zsxx").fetchall())
    hq, gx = views("hq.kb_hub"), views("gx.kb")
    assert all(gx[k] > hq[k] for k in gx)


def test_manifest_lists_every_kind_on_five_links(faulty: World) -> None:
    m = faulty.manifest
    assert {f["kind"] for f in m["faults"]} == set(FAULT_KINDS)
    assert len({f["link"] for f in m["faults"] if f["link"]}) >= 5
    for f in m["faults"]:
        assert {"id", "kind", "link", "table", "keys", "detail"} <= set(f)
        assert 2 <= len(f["keys"]) <= 20, f
    assert m["in_flight"] and all(i["keys"] for i in m["in_flight"])
    assert (m["month"], m["seed"], m["scale"], m["backend"]) == ("2026-10", 11, SMALL, "sqlite")
    assert json.loads((faulty.dir / "manifest.json").read_text(encoding="utf-8"))["faults"] == m["faults"]
    kinds = {i["kind"] for i in m["incidents"]}
    assert {"error_burst", "stall", "latency_spike_peak", "restart_loop"} <= kinds


def test_differences_are_exactly_the_manifest_then_in_flight_rows_land(faulty: World) -> None:
    before = observed(world_differences(CATALOG, faulty.node_urls))
    assert before == expected(faulty.manifest, landed=False)
    assert land_in_flight(faulty) > 0
    after = observed(world_differences(CATALOG, faulty.node_urls))
    assert after == expected(faulty.manifest, landed=True)
    assert land_in_flight(faulty) == 0            # idempotent


def test_error_burst_lines_up_with_the_lost_rows(faulty: World) -> None:
    m = faulty.manifest
    lost = next(f for f in m["faults"] if f["kind"] == "missing" and f["table"] == "fp_fpxx")
    burst = next(i for i in m["incidents"] if i["kind"] == "error_burst" and i["link"] == lost["link"])
    path = faulty.node_urls["gx.kafka"].removeprefix("sqlite:///")
    with sqlite3.connect(path) as conn:
        times = [conn.execute("SELECT kprq FROM gx_fp_fpxx WHERE fpdm = ? AND fphm = ?", k).fetchone()[0]
                 for k in lost["keys"]]
    assert all(burst["start"].replace("T", " ") <= t <= burst["end"].replace("T", " ") for t in times)
    logs = list(faulty.logs_dir.iterdir())
    assert any(p.name.startswith(f"consumer-{lost['link']}.log") for p in logs)
    assert any(p.name.startswith("dsg-zz11.log") for p in logs)


def test_kafka_message_tables_and_consumer_offsets(faulty: World) -> None:
    lag = next(f for f in faulty.manifest["faults"] if f["kind"] == "lagging_consumer")
    link = CATALOG.link(lag["link"])
    node = CATALOG.node(link.source)
    topic = node.physical(lag["table"])
    with sqlite3.connect(faulty.node_urls[node.id].removeprefix("sqlite:///")) as conn:
        ends = dict(conn.execute(f'SELECT _partition, MAX(_offset) + 1 FROM "{topic}" GROUP BY _partition'))
        committed = dict(conn.execute(
            'SELECT "partition", committed_offset FROM _consumer_offsets WHERE group_id = ? AND topic = ?',
            (link.consumer_group, topic)))
        lags = {p: ends[p] - committed[p] for p in ends}
        assert sorted(lags.values())[-1] == 10 and sum(lags.values()) == 10
        # Offsets are dense per partition and follow the message timestamps.
        for p in ends:
            rows = conn.execute(f'SELECT _offset, _ts FROM "{topic}" WHERE _partition = ? ORDER BY _offset',
                                (p,)).fetchall()
            assert [r[0] for r in rows] == list(range(len(rows)))
            assert [r[1] for r in rows] == sorted(r[1] for r in rows)


def test_connection_profile_resolves(faulty: World) -> None:
    profile = yaml.safe_load(faulty.connections.read_text(encoding="utf-8"))
    assert profile["profile"] == "sandbox-sqlite"
    assert set(profile["nodes"]) == set(CATALOG.nodes)
    kafka = resolve_node("gx.kafka", profile=faulty.connections)
    assert kafka.storage == "tables" and kafka.url == faulty.node_urls["gx.kafka"]
    assert resolve_node("hq.query_db", profile=faulty.connections).storage == "database"
    for url in faulty.node_urls.values():
        assert Path(url.removeprefix("sqlite:///")).is_file()
    reopened = World.open(faulty.dir)
    assert reopened.manifest["faults"] == faulty.manifest["faults"]


def test_same_seed_same_world(tmp_path: Path) -> None:
    one = build_world(tmp_path / "one", scale=0.01, seed=4, logs=False)
    two = build_world(tmp_path / "two", scale=0.01, seed=4, logs=False)
    other = build_world(tmp_path / "other", scale=0.01, seed=5, logs=False)
    assert one.manifest["faults"] == two.manifest["faults"] != other.manifest["faults"]
    assert one.manifest["counts"] == two.manifest["counts"]
    assert one.manifest["in_flight"] == two.manifest["in_flight"]


def test_cli_build_and_errors(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "cli"
    assert cli_main(["sandbox", "build", "--scale", "0.01", "--seed", "3", "--out", str(out), "--no-logs"]) == 0
    assert "faults of 8 kinds" in capsys.readouterr().out
    assert (out / "manifest.json").is_file() and (out / "connections.yaml").is_file()
    assert cli_main(["sandbox", "land", "--out", str(out)]) == 0
    assert cli_main(["sandbox", "build", "--out", str(tmp_path / "x"), "--catalog", str(tmp_path / "nope")]) == 2
    assert "catalog path" in capsys.readouterr().err
    assert cli_main(["sandbox", "build", "--month", "2026-13"]) == 2
    assert "2026-13" in capsys.readouterr().err


@pytest.mark.slow
def test_default_scale_builds_in_time(tmp_path: Path) -> None:
    if os.environ.get("SYNCVERIFY_SKIP_SLOW"):
        pytest.skip("SYNCVERIFY_SKIP_SLOW is set")
    t0 = time.perf_counter()
    world = build_world(tmp_path / "full", logs=True)
    seconds = time.perf_counter() - t0
    invoices = sum(n for node, tables in world.manifest["counts"].items()
                   if node in {"gx.tax_control_db", "gx.issue_db", "hq.ycs_db"} for t, n in tables.items()
                   if t == "fp_fpxx")
    assert invoices + world.manifest["counts"]["hq.delivery_kafka"]["fp_fpxx"] > 100_000
    assert seconds < 120, f"default-scale build took {seconds:.0f} s"
