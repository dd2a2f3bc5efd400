"""`syncverify catalog import --discover-profile`: patterns expand into the real tables of a
MariaDB source (keys and window columns read from the schemas, a PostgreSQL target), the files
load beside the catalog, and a pattern matching nothing names its row."""

from __future__ import annotations

from pathlib import Path

import pytest
import sqlalchemy as sa
import yaml

from syncverify.catalog import load_catalog
from syncverify.cli import main
from syncverify.connect.resolve import dispose_engines

pytestmark = [pytest.mark.mariadb, pytest.mark.postgres]


def _schema(url: str, *, source: bool) -> None:
    md = sa.MetaData()
    sa.Table("nsr_jbxx", md, sa.Column("nsrsbh", sa.String(20), primary_key=True), sa.Column("mc", sa.String(100)),
             sa.Column("gxsj", sa.DateTime))
    sa.Table("nsr_yhgx", md, sa.Column("yhid", sa.String(32), primary_key=True),
             sa.Column("nsrsbh", sa.String(20), primary_key=True), sa.Column("sfzt", sa.String(2)))
    sa.Table("nsr_rz", md, sa.Column("note", sa.String(20)))                     # no key: reported, left out
    sa.Table("dm_sf", md, sa.Column("dm", sa.String(4), nullable=False), sa.Column("mc", sa.String(40)),
             sa.UniqueConstraint("dm", name="uq_dm_sf"))
    sa.Table("qx_js", md, sa.Column("jsid", sa.Integer, primary_key=True, autoincrement=False))
    if source:
        sa.Table("nsr_tmp", md, sa.Column("id", sa.Integer, primary_key=True))   # only in the source
    engine = sa.create_engine(url)
    md.create_all(engine)
    engine.dispose()


@pytest.fixture
def project(mariadb_url: str, postgres_url: str, tmp_path: Path) -> Path:
    _schema(mariadb_url, source=True)
    _schema(postgres_url, source=False)
    checks = tmp_path / "checks"
    checks.mkdir()
    (checks / "nodes.yaml").write_text(yaml.safe_dump({"nodes": [
        {"id": "gx.uid_db", "title": "省局统一身份库", "side": "province", "kind": "mysql"},
        {"id": "hq.uid_db", "title": "总局统一身份库", "side": "hq", "kind": "postgresql"}]}, allow_unicode=True),
        encoding="utf-8")
    (tmp_path / "profile.yaml").write_text(yaml.safe_dump({"profile": "uid", "nodes": {
        "gx.uid_db": {"url": mariadb_url}, "hq.uid_db": {"url": postgres_url}}}), encoding="utf-8")
    yield tmp_path
    dispose_engines()


def test_patterns_expand_into_the_source_tables(project: Path, capsys: pytest.CaptureFixture[str]) -> None:
    csv = project / "uid.csv"
    csv.write_text("link_id,source,target,tables\nSZ-UID01,gx.uid_db,hq.uid_db,nsr_*;dm_sf\n", encoding="utf-8")
    checks = project / "checks"
    code = main(["catalog", "import", str(csv), "--out", str(checks), "--catalog", str(checks),
                 "--discover-profile", str(project / "profile.yaml")])
    err = capsys.readouterr().err
    assert code == 0, err
    assert "nsr_rz has no primary or unique key" in err and "nsr_tmp exists only in the source" in err
    catalog = load_catalog(checks)
    assert [t.table for t in catalog.links["SZ-UID01"].tables] == ["nsr_jbxx", "nsr_yhgx", "dm_sf"]
    assert catalog.tables["nsr_jbxx"].key == ["nsrsbh"] and catalog.tables["nsr_jbxx"].window_column == "gxsj"
    assert catalog.tables["nsr_yhgx"].key == ["yhid", "nsrsbh"] and catalog.tables["dm_sf"].key == ["dm"]
    assert "qx_js" not in catalog.tables          # matched by no pattern


def test_a_pattern_matching_nothing_names_its_row(project: Path, capsys: pytest.CaptureFixture[str]) -> None:
    csv = project / "uid.csv"
    csv.write_text("SZ-UID01,gx.uid_db,hq.uid_db,dm_sf\nSZ-UID02,gx.uid_db,hq.uid_db,yh_*\n", encoding="utf-8")
    checks = project / "checks"
    assert main(["catalog", "import", str(csv), "--out", str(checks), "--catalog", str(checks),
                 "--discover-profile", str(project / "profile.yaml")]) == 2
    err = capsys.readouterr().err
    assert "row 2 (link 'SZ-UID02')" in err and "'yh_*' matches no table" in err
    assert sorted(p.name for p in checks.iterdir()) == ["nodes.yaml"]
