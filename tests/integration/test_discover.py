"""`syncverify discover` between a real MariaDB and a real PostgreSQL database with 20 tables
produces a catalog fragment that loads."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
import sqlalchemy as sa

from helpers import ROOT
from syncverify.catalog import load_catalog
from syncverify.catalog.discover import discover


def _make_tables(url: str, *, target: bool) -> None:
    engine = sa.create_engine(url)
    md = sa.MetaData()
    for i in range(20):
        cols: list[sa.SchemaItem] = []
        if i % 5 == 0:
            cols += [sa.Column("fpdm", sa.String(12), primary_key=True), sa.Column("fphm", sa.String(20), primary_key=True)]
        elif i % 5 == 1:
            cols += [sa.Column("id", sa.BigInteger, primary_key=True, autoincrement=False)]
        elif i % 5 == 2:
            cols += [sa.Column("code", sa.String(20), nullable=False), sa.UniqueConstraint("code", name=f"uq_t{i}")]
        elif i % 5 == 3:
            cols += [sa.Column("lsh", sa.String(32), primary_key=True)]
        else:
            cols += [sa.Column("note", sa.String(20))]   # no key: must be reported, not emitted
        cols += [sa.Column("je", sa.Numeric(18, 2)), sa.Column("gxsj", sa.DateTime)]
        if not target and i == 3:
            cols.append(sa.Column("only_in_source", sa.Integer))
        sa.Table(f"t{i:02d}", md, *cols)
    if not target:
        sa.Table("src_only", md, sa.Column("id", sa.Integer, primary_key=True))
    md.create_all(engine)
    engine.dispose()


@pytest.mark.mariadb
@pytest.mark.postgres
def test_discover_mariadb_to_postgresql_loads(mariadb_url: str, postgres_url: str, tmp_path: Path) -> None:
    _make_tables(mariadb_url, target=False)
    _make_tables(postgres_url, target=True)
    source, target = sa.create_engine(mariadb_url), sa.create_engine(postgres_url)
    found = discover(source, target)
    names = {t["name"] for t in found.tables}
    assert len(names) == 16 and "t04" not in names and "src_only" not in names
    assert any("t04 has no primary or unique key" in w for w in found.warnings)
    assert any("src_only exists only in the source" in w for w in found.warnings)
    by_name = {t["name"]: t for t in found.tables}
    assert by_name["t00"]["key"] == ["fpdm", "fphm"] and by_name["t02"]["key"] == ["code"]
    assert by_name["t00"]["window_column"] == "gxsj"
    assert "only_in_source" not in by_name["t03"]["columns"]

    # The fragment, dropped next to the shipped catalog with a link entry, loads.
    checks = tmp_path / "checks"
    shutil.copytree(ROOT / "checks", checks)
    fragment = found.to_yaml(link={"id": "ZZ99", "kind": "dsg", "source": "hq.query_db", "target": "gx.query_db"})
    (checks / "discovered.yaml").write_text(fragment, encoding="utf-8")
    catalog = load_catalog(checks)
    assert {c.table.name for c in catalog.link_checks(links=["ZZ99"])} == names
