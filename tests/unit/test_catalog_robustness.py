"""Hostile catalogs: deep predicates and broken flows are CatalogErrors naming the file (and the
flow), never RecursionError or a flow whose trace silently loses keys."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
import yaml

from helpers import ROOT
from syncverify.catalog import load_catalog, parse_predicate
from syncverify.catalog.predicates import MAX_DEPTH, predicate_depth
from syncverify.errors import CatalogError


@pytest.fixture
def catalog_dir(tmp_path: Path) -> Path:
    dst = tmp_path / "checks"
    shutil.copytree(ROOT / "checks", dst)
    return dst


def _nested_not(levels: int) -> dict:
    pred: dict = {"column": "qxfw", "equals": "45"}
    for _ in range(levels):
        pred = {"not": pred}
    return pred


def _link_with_routing(levels: int) -> str:
    """A link whose routing is ``levels`` nested ``not:`` — written as flow-style text by hand
    (dumping 900 levels with PyYAML would itself recurse)."""
    routing = "{not: " * levels + "{column: qxfw, equals: '45'}" + "}" * levels
    return ("links:\n  - {id: DEEP-1, kind: dsg, source: hq.kb, target: hq.kb_hub,\n"
            f"     tables: [{{table: zsk_zsxx, routing: {routing}}}]}}\n")


def test_nine_hundred_nested_nots_are_a_catalog_error_naming_the_file(catalog_dir: Path) -> None:
    bad = catalog_dir / "deep.yaml"
    bad.write_text(_link_with_routing(900), encoding="utf-8")
    with pytest.raises(CatalogError) as err:
        load_catalog(catalog_dir)
    assert err.value.file == str(bad)
    assert "nested more than" in str(err.value)


def test_predicate_over_the_depth_limit_names_file_entry_and_field(catalog_dir: Path) -> None:
    bad = catalog_dir / "deep.yaml"
    bad.write_text(_link_with_routing(MAX_DEPTH + 3), encoding="utf-8")
    with pytest.raises(CatalogError) as err:
        load_catalog(catalog_dir)
    assert err.value.file == str(bad) and err.value.entry == "link 'DEEP-1'"
    assert err.value.field is not None and "routing" in err.value.field
    assert f"at most {MAX_DEPTH} levels" in str(err.value)


def test_predicate_at_the_limit_loads(catalog_dir: Path) -> None:
    (catalog_dir / "deep.yaml").write_text(_link_with_routing(MAX_DEPTH - 1), encoding="utf-8")
    catalog = load_catalog(catalog_dir)
    assert catalog.links["DEEP-1"].tables[0].routing is not None


def test_parse_predicate_refuses_depth_without_recursing() -> None:
    deep = _nested_not(5000)                 # far past Python's recursion limit
    with pytest.raises(ValueError, match="at most 32 levels"):
        parse_predicate(deep)
    wide = {"any": [{"all": [_nested_not(2)] * 3}] * 3}
    assert predicate_depth(wide) == 5
    assert parse_predicate(wide).matches({"qxfw": "45"})


def _flows(catalog_dir: Path, fid: str, hops: list[str]) -> None:
    path = catalog_dir / "flows.yaml"
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    next(f for f in data["flows"] if f["id"] == fid)["hops"] = hops
    path.write_text(yaml.safe_dump(data, allow_unicode=True, sort_keys=False), encoding="utf-8")


def test_every_shipped_flow_is_accepted() -> None:
    catalog = load_catalog(ROOT / "checks")
    assert list(catalog.flows) == [f"F{i}" for i in range(1, 13)]
    assert catalog.flows["F7"].hops == ["ZZ15-2", "SS31", "SS12-2"]    # parallel hops from three sources


def test_repeated_hop_is_refused_naming_file_and_flow(catalog_dir: Path) -> None:
    _flows(catalog_dir, "F9", ["ZZ28", "SZ05", "SS20", "SZ05", "SS22"])
    with pytest.raises(CatalogError) as err:
        load_catalog(catalog_dir)
    assert err.value.file == str(catalog_dir / "flows.yaml") and err.value.entry == "flow 'F9'"
    assert err.value.field == "hops.3" and "listed twice" in str(err.value)


def test_reversed_hops_are_refused(catalog_dir: Path) -> None:
    _flows(catalog_dir, "F9", ["SS22", "SS20", "SZ05", "ZZ28"])
    with pytest.raises(CatalogError) as err:
        load_catalog(catalog_dir)
    assert err.value.entry == "flow 'F9'" and err.value.field == "hops.0"
    assert "out of order" in str(err.value) and "'SS20'" in str(err.value)


def _add_links(catalog_dir: Path, links: list[dict]) -> None:
    (catalog_dir / "zz_back.yaml").write_text(yaml.safe_dump({"links": links}), encoding="utf-8")


def test_hop_back_to_the_flow_source_is_refused(catalog_dir: Path) -> None:
    _add_links(catalog_dir, [{"id": "BACK-1", "kind": "dsg", "source": "hq.kb_hub", "target": "hq.kb",
                              "tables": [{"table": "zsk_zsxx"}]}])
    _flows(catalog_dir, "F9", ["ZZ28", "BACK-1"])
    with pytest.raises(CatalogError) as err:
        load_catalog(catalog_dir)
    assert err.value.entry == "flow 'F9'" and err.value.field == "hops.1"
    assert "where the flow starts" in str(err.value)


def test_hop_undoing_an_earlier_hop_is_refused(catalog_dir: Path) -> None:
    _add_links(catalog_dir, [{"id": "BACK-2", "kind": "dsg", "source": "gx.kb_hub", "target": "hq.kb_hub",
                              "tables": [{"table": "zsk_zsxx"}]}])
    _flows(catalog_dir, "F9", ["ZZ28", "SZ05", "BACK-2", "SS20"])
    with pytest.raises(CatalogError) as err:
        load_catalog(catalog_dir)
    assert err.value.field == "hops.2" and "reverses the earlier hop 'SZ05'" in str(err.value)


def test_fan_out_and_parallel_sources_still_load(catalog_dir: Path) -> None:
    # F7's parallel hops in another order are still a valid flow (each starts at a source)
    _flows(catalog_dir, "F7", ["SS12-2", "SS31", "ZZ15-2"])
    assert load_catalog(catalog_dir).flows["F7"].hops[0] == "SS12-2"
