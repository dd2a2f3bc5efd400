"""The automatic execution strategy: processes for a world hashed in this process (SQLite), threads
for database servers — what ``syncverify run`` and ``syncverify demo`` both use by default."""

from __future__ import annotations

from pathlib import Path

import yaml

from helpers import ROOT
from syncverify.catalog import load_catalog
from syncverify.runner.execution import Strategy, choose_strategy
from syncverify.runner.pipeline import PipelineConfig


def _profile(tmp_path: Path, name: str, url_of: dict[str, str]) -> str:
    catalog = load_catalog(ROOT / "checks")
    nodes = {node_id: {"url": url_of.get(node_id, url_of["*"])} for node_id in catalog.nodes}
    path = tmp_path / f"{name}.yaml"
    path.write_text(yaml.safe_dump({"nodes": nodes}), encoding="utf-8")
    return str(path)


def test_sqlite_world_runs_in_processes(tmp_path: Path) -> None:
    profile = _profile(tmp_path, "lite", {"*": f"sqlite:///{tmp_path / 'n.sqlite'}"})
    assert choose_strategy(load_catalog(ROOT / "checks"), profile) is Strategy.PROCESSES


def test_one_sqlite_node_is_enough(tmp_path: Path) -> None:
    catalog = load_catalog(ROOT / "checks")
    first = next(iter(catalog.nodes))
    profile = _profile(tmp_path, "mixed", {"*": "postgresql+psycopg2://u@db.invalid/x",
                                           first: f"sqlite:///{tmp_path / 'n.sqlite'}"})
    assert choose_strategy(catalog, profile) is Strategy.PROCESSES


def test_database_servers_run_in_threads(tmp_path: Path) -> None:
    profile = _profile(tmp_path, "servers", {"*": "mysql+pymysql://u@db.invalid/x"})
    assert choose_strategy(load_catalog(ROOT / "checks"), profile) is Strategy.THREADS


def test_auto_is_the_default() -> None:
    assert PipelineConfig(month="2026-10").strategy is Strategy.AUTO
