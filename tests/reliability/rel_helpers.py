"""Helpers for the reliability suite: a small catalog and connection profile written per test,
pointing the runner at real MariaDB / PostgreSQL databases, and big tables generated inside them."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import sqlalchemy as sa
import yaml

MONTH = "2026-11"


@dataclass
class World:
    """A catalog folder + a connection profile for a handful of nodes on real databases."""

    root: Path
    catalog: Path
    profile: Path

    def options(self, **kw: Any):
        from syncverify.runner.options import RunOptions

        base: dict[str, Any] = {"month": MONTH, "catalog_path": str(self.catalog), "profile": str(self.profile),
                                "confirm_delay_s": 0, "kind": "monthly", "workers": 4}
        base.update(kw)
        return RunOptions(**base)


def write_world(root: Path, nodes: dict[str, dict[str, Any]], tables: list[dict[str, Any]],
                links: list[dict[str, Any]]) -> World:
    """``nodes``: node id -> {kind, url, side?, max_concurrency?, statement_timeout_s?, ...}."""
    catalog = root / "checks"
    catalog.mkdir(parents=True, exist_ok=True)
    cat_nodes, prof_nodes = [], {}
    for node_id, spec in nodes.items():
        spec = dict(spec)
        url = spec.pop("url")
        profile_opts = spec.pop("profile", {})
        entry = {"id": node_id, "side": "hq" if node_id.startswith("hq.") else "province", **spec}
        cat_nodes.append(entry)
        prof_nodes[node_id] = {"url": url, **profile_opts}
    (catalog / "topology.yaml").write_text(yaml.safe_dump(
        {"nodes": cat_nodes, "tables": tables, "links": links}, allow_unicode=True), encoding="utf-8")
    profile = root / "profile.yaml"
    profile.write_text(yaml.safe_dump({"profile": "reliability", "nodes": prof_nodes}), encoding="utf-8")
    return World(root, catalog, profile)


def with_app(url: str, app: str) -> str:
    """A PostgreSQL URL whose sessions carry ``application_name`` (to find them in pg_stat_activity)."""
    return sa.engine.make_url(url).update_query_dict({"application_name": app}).render_as_string(
        hide_password=False)


def admin(url: str) -> sa.Engine:
    return sa.create_engine(url, isolation_level="AUTOCOMMIT")


def pg_big_table(url: str, table: str, rows: int, *, differ_every: int = 0, offset: int = 0) -> None:
    """``table(id, fpdm, je, kprq, note)`` with ``rows`` rows generated inside PostgreSQL; with
    ``differ_every`` = n every n-th row gets a different note (to make a copy that differs)."""
    note = "md5(g::text)" if not differ_every else f"CASE WHEN g % {differ_every} = 0 THEN 'x' ELSE md5(g::text) END"
    eng = admin(url)
    with eng.connect() as c:
        c.execute(sa.text(
            f"CREATE TABLE {table} AS SELECT (g + {offset})::bigint AS id, lpad(g::text, 12, '0') AS fpdm, "
            f"(g % 1000)::numeric(18,2) AS je, timestamp '2026-11-01' + (g % 2500000) * interval '1 second' AS kprq, "
            f"{note} AS note FROM generate_series(1, {rows}) g"))
        c.execute(sa.text(f"ALTER TABLE {table} ADD PRIMARY KEY (id)"))
        c.execute(sa.text(f"ANALYZE {table}"))
    eng.dispose()


def my_big_table(url: str, table: str, rows: int, *, differ_every: int = 0) -> None:
    """The same table generated inside MariaDB (sequence engine)."""
    note = "md5(seq)" if not differ_every else f"IF(seq % {differ_every} = 0, 'x', md5(seq))"
    eng = admin(url)
    with eng.connect() as c:
        c.execute(sa.text(
            f"CREATE TABLE {table} (id BIGINT PRIMARY KEY, fpdm VARCHAR(12), je DECIMAL(18,2), kprq DATETIME, "
            f"note VARCHAR(40))"))
        c.execute(sa.text(
            f"INSERT INTO {table} SELECT seq, lpad(seq, 12, '0'), seq % 1000, "
            f"'2026-11-01' + INTERVAL (seq % 2500000) SECOND, {note} FROM seq_1_to_{rows}"))
    eng.dispose()


def unique(prefix: str = "svrel") -> str:
    return f"{prefix}_{uuid.uuid4().hex[:8]}"
