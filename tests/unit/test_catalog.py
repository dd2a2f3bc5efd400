"""The topology catalog: the shipped checks/ loads and models every flow; broken catalogs fail
with an error naming the file, the entry and the field."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
import yaml
from hypothesis import given, settings
from hypothesis import strategies as st

from helpers import ROOT
from syncverify.catalog import load_catalog, parse_predicate, render
from syncverify.errors import CatalogError

DSG_LINKS = {"zz11", "zz04", "ZZ25", "ZZ15-1", "ZZ15-2", "ZS01", "ZS02-1", "SS31", "SS12-1", "SS12-2",
             "ZZ28", "SZ05", "SS20", "SS22", "SS-JTFB-XJ", "SS-ZNHD-XJ", "SS-SZC-JTFB"}
FLOW_IDS = [f"F{i}" for i in range(1, 13)]      # F1-F9 of §3.1.4, F10-F12 of the interaction platform


@pytest.fixture
def catalog_dir(tmp_path: Path) -> Path:
    dst = tmp_path / "checks"
    shutil.copytree(ROOT / "checks", dst)
    return dst


def _edit(path: Path, fn) -> None:
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    fn(data)
    path.write_text(yaml.safe_dump(data, allow_unicode=True, sort_keys=False), encoding="utf-8")


def test_shipped_catalog_models_all_flows_and_dsg_links() -> None:
    catalog = load_catalog(ROOT / "checks")
    assert list(catalog.flows) == FLOW_IDS
    dsg = {link.id for link in catalog.links.values() if link.kind.value == "dsg"}
    assert dsg == DSG_LINKS
    kafka_hops = {link.id for link in catalog.links.values() if link.kind.value.startswith("kafka")}
    assert {"SK-GXKAFKA", "SD-GXKAFKA", "GXJF-QUERY", "GXJF-LEDGER", "GXJF-ZJJF", "LQ-ZJJF", "ZJJF-QUERY",
            "KPHZ-QF", "YP-USE", "YP-ENTRY", "LQ-QF", "FW04-XWSJ"} <= kafka_hops
    # every link is on some flow, every flow starts where it says
    on_flows = {hop for f in catalog.flows.values() for hop in f.hops}
    assert on_flows == set(catalog.links)


def test_topology_json_names_links_and_flows() -> None:
    data = json.loads(render.as_json(load_catalog(ROOT / "checks")))
    assert set(data) >= {"nodes", "links", "flows"}
    assert {link["id"] for link in data["links"]} >= DSG_LINKS
    assert [f["id"] for f in data["flows"]] == FLOW_IDS


def test_dot_and_tree_render() -> None:
    catalog = load_catalog(ROOT / "checks")
    dot = render.as_dot(catalog)
    assert dot.startswith("digraph") and '"hq.query_db" -> "hq.ledger_db" [label="zz11"' in dot
    tree = render.as_tree(catalog)
    assert "F9 知识库" in tree and "SS22" in tree


def test_unknown_node_names_file_entry_field(catalog_dir: Path) -> None:
    _edit(catalog_dir / "links_reference.yaml", lambda d: d["links"][0].update(target="hq.nowhere_db"))
    with pytest.raises(CatalogError) as err:
        load_catalog(catalog_dir)
    assert err.value.file and err.value.file.endswith("links_reference.yaml")
    assert err.value.entry == "link 'ZZ15-2'" and err.value.field == "target"
    assert "hq.nowhere_db" in str(err.value)


def test_duplicate_link_id(catalog_dir: Path) -> None:
    _edit(catalog_dir / "links_reference.yaml", lambda d: d["links"].append(dict(d["links"][0])))
    with pytest.raises(CatalogError) as err:
        load_catalog(catalog_dir)
    assert "duplicate link id 'ZZ15-2'" in str(err.value)
    assert err.value.field == "id" and err.value.file.endswith("links_reference.yaml")


def test_duplicate_across_files(catalog_dir: Path) -> None:
    (catalog_dir / "more.yaml").write_text(
        "links:\n  - {id: zz11, kind: dsg, source: hq.query_db, target: hq.ledger_db, tables: [{table: fp_fpxx}]}\n",
        encoding="utf-8")
    with pytest.raises(CatalogError, match=r"duplicate link id 'zz11' \(first defined in .*links_invoice.yaml\)"):
        load_catalog(catalog_dir)


def test_flow_whose_hops_do_not_connect(catalog_dir: Path) -> None:
    _edit(catalog_dir / "flows.yaml", lambda d: d["flows"][8].update(hops=["ZZ28", "SS20", "SZ05", "SS22"]))
    with pytest.raises(CatalogError) as err:
        load_catalog(catalog_dir)
    assert err.value.entry == "flow 'F9'" and err.value.field == "hops.1"
    assert "do not connect" in str(err.value) and "gx.kb_hub" in str(err.value)


def test_missing_key(catalog_dir: Path) -> None:
    _edit(catalog_dir / "tables.yaml", lambda d: d["tables"][0].pop("key"))
    with pytest.raises(CatalogError) as err:
        load_catalog(catalog_dir)
    assert err.value.entry == "table 'fp_fpxx'" and err.value.field == "key"
    assert "required field is missing" in str(err.value)


def test_empty_key(catalog_dir: Path) -> None:
    _edit(catalog_dir / "tables.yaml", lambda d: d["tables"][0].update(key=[]))
    with pytest.raises(CatalogError, match="at least one key column"):
        load_catalog(catalog_dir)


def test_unknown_table_in_link(catalog_dir: Path) -> None:
    _edit(catalog_dir / "links_reference.yaml", lambda d: d["links"][0]["tables"][0].update(table="nope"))
    with pytest.raises(CatalogError) as err:
        load_catalog(catalog_dir)
    assert err.value.field == "tables.0.table"


@pytest.mark.parametrize("bad", ["fp fpxx", 'fp"x', "x;drop table y", "a--b", ""])
def test_hostile_identifiers_rejected(catalog_dir: Path, bad: str) -> None:
    _edit(catalog_dir / "tables.yaml", lambda d: d["tables"][0].update(key=[bad]))
    with pytest.raises(CatalogError, match="key"):
        load_catalog(catalog_dir)


def test_predicate_injection_rejected(catalog_dir: Path) -> None:
    _edit(catalog_dir / "links_reference.yaml",
          lambda d: d["links"][7]["tables"][0].update(routing={"column": "qxfw", "equals": "45' OR 1=1 --"}))
    with pytest.raises(CatalogError) as err:
        load_catalog(catalog_dir)
    assert err.value.entry == "link 'SZ05'" and err.value.field.startswith("tables.0.routing")


def test_broken_yaml_names_file_and_line(catalog_dir: Path) -> None:
    (catalog_dir / "broken.yaml").write_text("links:\n  - id: [unclosed\n", encoding="utf-8")
    with pytest.raises(CatalogError, match=r"broken.yaml.*not valid YAML at line"):
        load_catalog(catalog_dir)


def test_unknown_field_and_section(catalog_dir: Path) -> None:
    _edit(catalog_dir / "nodes.yaml", lambda d: d["nodes"][0].update(colour="red"))
    with pytest.raises(CatalogError, match="unknown field") as err:
        load_catalog(catalog_dir)
    assert err.value.field == "colour"
    (catalog_dir / "x.yaml").write_text("nodez: []\n", encoding="utf-8")


def test_link_checks_filtering() -> None:
    catalog = load_catalog(ROOT / "checks")
    ids = {c.id for c in catalog.link_checks(links=["zz04"])}
    assert ids == {"zz04/yp_ypxx@hq.use_db", "zz04/yp_ypxx@hq.entry_db", "zz04/hz_tzd@hq.red_notice_db"}
    f9 = catalog.link_checks(flows=["F9"])
    # a flow narrows to its links, each with every table it carries (SS22 also carries 检索引用)
    assert [c.id for c in f9] == ["ZZ28/zsk_zsxx", "SZ05/zsk_zsxx", "SS20/zsk_zsxx", "SS22/zsk_zsxx", "SS22/zsk_jsyy"]
    with pytest.raises(CatalogError, match="unknown link 'nope'"):
        catalog.link_checks(links=["nope"])


def test_routing_predicate_sql_and_python_agree() -> None:
    catalog = load_catalog(ROOT / "checks")
    routing = catalog.links["DD-QF"].tables[0].routing
    assert routing is not None
    sql = routing.to_sql(lambda c: f'"{c}"')
    assert "LIKE '145%'" in sql and "NOT COALESCE" in sql
    gx_buyer = {"gmf_swjg_dm": "14501000000", "xsf_swjg_dm": "14401000000", "kpfs": "SD", "dkbz": "N"}
    local = {"gmf_swjg_dm": "14501000000", "xsf_swjg_dm": "14502000000", "kpfs": "SK", "dkbz": "N"}
    leqi_seller = {"gmf_swjg_dm": "14301000000", "xsf_swjg_dm": "14502000000", "kpfs": "LQ", "dkbz": "N"}
    elsewhere = {"gmf_swjg_dm": "14301000000", "xsf_swjg_dm": "14401000000", "kpfs": "SD", "dkbz": "N"}
    assert routing.matches(gx_buyer) and routing.matches(leqi_seller)
    assert not routing.matches(local) and not routing.matches(elsewhere)


codes = st.sampled_from(["145", "14501", "144", "", "Y", "N", "SK", "SD", "LQ"])
leaf = st.builds(lambda c, op, v: {"column": c, op: v}, st.sampled_from(["a", "b"]),
                 st.sampled_from(["equals", "not_equals", "prefix", "not_prefix"]), codes.filter(bool))
predicates = st.recursive(leaf, lambda inner: st.one_of(
    st.builds(lambda xs: {"any": xs}, st.lists(inner, min_size=1, max_size=3)),
    st.builds(lambda xs: {"all": xs}, st.lists(inner, min_size=1, max_size=3)),
    st.builds(lambda x: {"not": x}, inner)), max_leaves=6)
rows = st.fixed_dictionaries({"a": st.one_of(st.none(), codes), "b": st.one_of(st.none(), codes)})


@settings(max_examples=150, deadline=None)
@given(predicates, st.lists(rows, min_size=1, max_size=8))
def test_predicate_sql_matches_python_in_sqlite(pred_data, sample) -> None:
    """The SQL a predicate compiles to selects exactly the rows its Python form matches."""
    import sqlite3

    pred = parse_predicate(pred_data)
    conn = sqlite3.connect(":memory:")
    conn.execute("CREATE TABLE t (i INTEGER, a TEXT, b TEXT)")
    conn.executemany("INSERT INTO t VALUES (?, ?, ?)", [(i, r["a"], r["b"]) for i, r in enumerate(sample)])
    got = {i for (i,) in conn.execute(f"SELECT i FROM t WHERE {pred.to_sql(lambda c: chr(34) + c + chr(34))}")}
    assert got == {i for i, r in enumerate(sample) if pred.matches(r)}
