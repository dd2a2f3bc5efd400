"""The interaction platform's links of tender §3.1.4 (lines 1896-1920) are in the shipped catalog,
on flows, in `syncverify topology`, and carry sandbox data consistent with the catalog."""

from __future__ import annotations

import random
from collections import Counter
from datetime import datetime

import pytest

from helpers import ROOT
from syncverify.catalog import load_catalog
from syncverify.cli import main
from syncverify.sandbox import generate as g
from syncverify.sandbox.faults import DEFAULT_FAULTS
from syncverify.sandbox.interaction import INDICATORS
from syncverify.sandbox.propagate import key_function

CATALOG = load_catalog(ROOT / "checks")
NEW_LINKS = {"SS-JTFB-XJ": ("gx.push_dispatch_db", "gx.patrol_pg", "dsg"),
             "SS-ZNHD-XJ": ("gx.interact_db", "gx.patrol_pg", "dsg"),
             "SZC-ZJXJ": ("gx.patrol_pg", "hq.patrol_pg", "app"),
             "SS-SZC-JTFB": ("gx.kb_hub", "gx.push_dispatch_db", "dsg"),
             "FW04-XWSJ": ("gx.behavior_kafka", "gx.kb_hub", "kafka-consumer")}


def test_links_join_the_nodes_the_tender_names() -> None:
    for link_id, (source, target, kind) in NEW_LINKS.items():
        link = CATALOG.links[link_id]
        assert (link.source, link.target, link.kind.value) == (source, target, kind)
    assert CATALOG.nodes["hq.patrol_pg"].side.value == "hq" and CATALOG.nodes["gx.behavior_kafka"].is_kafka
    # 知识库 -> 运行巡检 PG 库 is SS22: the full knowledge and the search-citation data.
    assert [t.table for t in CATALOG.links["SS22"].tables] == ["zsk_zsxx", "zsk_jsyy"]
    assert CATALOG.links["SS-SZC-JTFB"].tables[0].table == "nsr_jcxx"      # 纳税人基础信息
    on_flows = {hop for f in CATALOG.flows.values() for hop in f.hops}
    assert set(NEW_LINKS) <= on_flows


def test_windowed_tables_and_masked_taxpayer_ids() -> None:
    for name in ("jt_tsjl", "fb_gd", "hd_hhjl", "zsk_jsyy", "xj_ywtj", "xw_cjsj"):
        assert CATALOG.tables[name].window_column, name
    for name in ("jt_tsjl", "fb_gd", "hd_hhjl", "xw_cjsj"):
        assert CATALOG.tables[name].masked_columns == ["nsrsbh"], name


def test_topology_shows_the_new_links(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["topology", "--catalog", str(ROOT / "checks")]) == 0
    tree = capsys.readouterr().out
    assert "F10 运行巡检" in tree and "F12 行为数据" in tree
    for link_id in NEW_LINKS:
        assert f"{link_id} [" in tree, link_id
    assert "links in no flow" not in tree


def test_demo_injects_a_fault_on_a_new_link() -> None:
    assert any(f.link in NEW_LINKS for f in DEFAULT_FAULTS)


@pytest.fixture(scope="module")
def origins() -> g.Origins:
    return g.generate_origins(CATALOG, rng=random.Random(3), scale=0.05, month="2026-10")


def test_interaction_rows_are_unique_in_the_month(origins: g.Origins) -> None:
    start, end = datetime(2026, 10, 1), datetime(2026, 11, 1)
    for (node, table), rows in origins.rows.items():
        if table not in {"jt_tsjl", "fb_gd", "hd_hhjl", "zsk_jsyy", "xw_cjsj", "xj_ywtj"}:
            continue
        key = key_function(CATALOG, table)
        assert len({key(r) for r in rows}) == len(rows) > 0, (node, table)
        window = g.columns(table).index(CATALOG.tables[table].window_column or "")
        assert all(start <= r[window] < end for r in rows), (node, table)
        stamp = g.columns(table).index("gxsj")
        assert all(r[stamp] < end for r in rows), (node, table)


def test_guangxi_patrol_figures_count_the_rows(origins: g.Origins) -> None:
    figures = {(r[0], r[2]): r[3] for r in origins.rows[("gx.patrol_pg", "xj_ywtj")]}
    assert {r[1] for r in origins.rows[("gx.patrol_pg", "xj_ywtj")]} == {"45"}
    assert "45" not in {r[1] for r in origins.rows[("hq.patrol_pg", "xj_ywtj")]}
    homes = {t: n for (n, t) in origins.rows if t in dict((b, a) for a, b in INDICATORS)}
    for code, table in INDICATORS:
        window = g.columns(table).index(CATALOG.tables[table].window_column or "")
        per_day = Counter(r[window].replace(hour=0, minute=0, second=0) for r in origins.rows[(homes[table], table)])
        assert sum(v for (day, c), v in figures.items() if c == code) == sum(per_day.values()), code
        assert all(figures[(day, code)] == n for day, n in per_day.items()), code
