"""What the DAG files share: default arguments, project paths, and one Airflow pool per node.

The monthly DAG puts each hop's task in the pool of the hop's source node, so across all workers
a production database never sees more concurrent link checks than its pool has slots. Airflow
does not schedule tasks of a pool that does not exist: create them once per deployment with
``syncverify airflow-pools`` (after ``airflow db migrate``). Nothing here imports Airflow at
module level, so the package stays usable without it.
"""

from __future__ import annotations

import os
from datetime import timedelta
from pathlib import Path

from syncverify.calendar import BUREAU_TZ
from syncverify.catalog import Catalog

# Airflow (pendulum, CronTriggerTimetable) takes the zone by its IANA name.
TZ = BUREAU_TZ.key


def project_dir() -> Path:
    """Where checks/, connections/ and reports/ live: $SYNCVERIFY_PROJECT or the working directory."""
    return Path(os.environ.get("SYNCVERIFY_PROJECT") or Path.cwd())


def reports_dir() -> Path:
    """Where the DAGs write reports: $SYNCVERIFY_REPORTS or <project>/reports."""
    return Path(os.environ.get("SYNCVERIFY_REPORTS") or project_dir() / "reports")


def default_args(env: dict[str, str] | None = None) -> dict[str, object]:
    """Every task's defaults. A check that cannot reach its node fails and is retried: twice,
    two minutes apart and backing off, unless ``SYNCVERIFY_TASK_RETRIES`` /
    ``SYNCVERIFY_RETRY_DELAY_S`` say otherwise (a test deployment wants seconds, not minutes;
    every scheduler and worker parses the DAG files with the same environment)."""
    env = dict(os.environ) if env is None else env
    delay_s = float(env.get("SYNCVERIFY_RETRY_DELAY_S") or 120)
    return {
        "owner": "syncverify",
        "retries": int(env.get("SYNCVERIFY_TASK_RETRIES") or 2),
        "retry_delay": timedelta(seconds=delay_s),
        "retry_exponential_backoff": 2.0 if delay_s >= 60 else 0,
        "max_retry_delay": timedelta(minutes=30),
    }


DEFAULT_ARGS = default_args()


def pool_name(node_id: str) -> str:
    return "sv_" + node_id.replace(".", "_")


def wanted_pools(catalog: Catalog) -> dict[str, int]:
    return {pool_name(n.id): n.max_concurrency for n in catalog.nodes.values()}


def ensure_pools(catalog: Catalog) -> dict[str, int]:
    """Create or resize the pools in the Airflow metadata database; returns name -> slots."""
    from airflow.models.pool import Pool

    pools = wanted_pools(catalog)
    for name, slots in pools.items():
        Pool.create_or_update_pool(name, slots, f"syncverify: concurrent checks on {name[3:]}", False)
    return pools
