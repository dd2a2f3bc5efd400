"""The deployment of docker-compose.yml, run for real without Docker: PostgreSQL metadata
database, Redis broker, scheduler, dag-processor, api-server and a Celery worker as processes.

``syncverify_monthly`` is triggered through the REST API (v2, a token from the simple auth
manager) the way an operator's script would, once for one healthy link and once with a node
behind a dead port, and what the API then says about the task instances, the pools and the DAG
run is checked against what the run must mean.
"""

from __future__ import annotations

import contextlib
import random
import shutil
import socket
import time
import uuid
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
import yaml
from cluster import BIN, ROOT, Cluster, cluster_env, dead_port, free_port, write_passwords

from service_support import POSTGRES_ADMIN_URL, service_unavailable

pytestmark = [pytest.mark.slow, pytest.mark.distributed]

REDIS = ("127.0.0.1", 6379)
HEALTHY_LINK = "SS-JTFB-XJ"            # two tables, both from gx.push_dispatch_db: one pool
HEALTHY_POOL = "sv_gx_push_dispatch_db"
DEAD_LINK, DEAD_NODE = "zz11", "hq.query_db"
RUN_TIMEOUT_S = 300


def _reachable(host: str, port: int) -> bool:
    try:
        with socket.create_connection((host, port), timeout=2):
            return True
    except OSError:
        return False


def _fresh_pg(admin: sa.Engine, prefix: str) -> str:
    name = f"{prefix}_{uuid.uuid4().hex[:10]}"
    with admin.connect() as conn:
        conn.execute(sa.text(f"CREATE DATABASE {name}"))
    return sa.engine.make_url(POSTGRES_ADMIN_URL).set(database=name).render_as_string(hide_password=False)


def _drop_pg(admin: sa.Engine, url: str) -> None:
    name = sa.engine.make_url(url).database
    with admin.connect() as conn:
        conn.execute(sa.text("SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                             "WHERE datname = :n AND pid <> pg_backend_pid()"), {"n": name})
        conn.execute(sa.text(f"DROP DATABASE IF EXISTS {name}"))


@pytest.fixture(scope="module")
def cluster(tmp_path_factory) -> Iterator[tuple[Cluster, dict[str, Any]]]:
    try:
        import airflow.providers.celery  # noqa: F401
    except ImportError as exc:
        pytest.fail(f"apache-airflow-providers-celery is a dependency of the deployment: {exc}")
    if not _reachable(*REDIS):
        service_unavailable("Redis (Celery broker)", f"nothing listens on {REDIS[0]}:{REDIS[1]}")
    admin = sa.create_engine(POSTGRES_ADMIN_URL, isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as conn:
            conn.execute(sa.text("SELECT 1"))
    except Exception as exc:
        service_unavailable("PostgreSQL (metadata database)", str(exc).splitlines()[0])

    from syncverify.sandbox import build_world

    home = tmp_path_factory.mktemp("af-celery")
    world = build_world(home / "world", scale=0.03, seed=7, month="2026-10", catalog_path=ROOT / "checks")
    metadata_url = _fresh_pg(admin, "svaf")
    store_url = _fresh_pg(admin, "svstore")
    redis_db = random.randint(1, 15)
    port = free_port()
    env = cluster_env(home, metadata_url=metadata_url, broker_url=f"redis://{REDIS[0]}:{REDIS[1]}/{redis_db}",
                      store_url=store_url, port=port, extra={
                          "SYNCVERIFY_HOME": str(home / "sv"), "SYNCVERIFY_STORE_URL": store_url,
                          "SYNCVERIFY_REPORTS": str(home / "reports"), "SYNCVERIFY_TICKET_DROP": str(home / "drop"),
                          "SYNCVERIFY_TASK_RETRIES": "1", "SYNCVERIFY_RETRY_DELAY_S": "3"})
    write_passwords(home)
    c = Cluster(home=home, env=env, port=port)
    timings: dict[str, float] = {}
    t0 = time.monotonic()
    try:
        c.airflow("db", "migrate")
        c.run(str(BIN / "syncverify"), "airflow-pools", "--catalog", str(ROOT / "checks"), timeout=120)
        timings["migrate"] = time.monotonic() - t0
        c.start("api-server", "api-server", "--port", str(port))
        c.start("scheduler", "scheduler")
        c.start("dag-processor", "dag-processor")
        c.start("worker", "celery", "worker", "--concurrency", "4")
        c.wait_for("the api-server", lambda: c._call("GET", "/api/v2/monitor/health", None, auth=False), 120)
        c.wait_for("syncverify_monthly parsed", lambda: c.api("GET", "/dags/syncverify_monthly"), 180, every=2)
        c.api("PATCH", "/dags/syncverify_monthly", {"is_paused": False})
        time.sleep(5)     # a few scheduler loops: unpausing must not start a run of a past month
        runs_after_unpause = c.api("GET", "/dags/syncverify_monthly/dagRuns")["total_entries"]
        timings["up"] = time.monotonic() - t0
        yield c, {"world": world, "home": home, "store_url": store_url, "timings": timings,
                  "runs_after_unpause": runs_after_unpause}
    finally:
        c.stop()
        try:
            import redis

            redis.Redis(host=REDIS[0], port=REDIS[1], db=redis_db).flushdb()
        except Exception:
            pass
        for url in (metadata_url, store_url):
            with contextlib.suppress(Exception):
                _drop_pg(admin, url)
        admin.dispose()
        shutil.rmtree(home / "logs", ignore_errors=True)


def _trigger_and_wait(c: Cluster, conf: dict[str, Any]) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    run = c.api("POST", "/dags/syncverify_monthly/dagRuns", {"logical_date": None, "conf": conf})
    run_id = run["dag_run_id"]

    def finished() -> dict[str, Any] | None:
        state = c.api("GET", f"/dags/syncverify_monthly/dagRuns/{run_id}")
        return state if state["state"] in {"success", "failed"} else None

    final = c.wait_for(f"run {run_id}", finished, RUN_TIMEOUT_S, every=2)
    tis = c.api("GET", f"/dags/syncverify_monthly/dagRuns/{run_id}/taskInstances?limit=500")["task_instances"]
    return final, tis


def _states(tis: list[dict[str, Any]]) -> dict[tuple[str, int], str]:
    return {(t["task_id"], t["map_index"]): t["state"] for t in tis}


def _max_concurrent(tis: list[dict[str, Any]]) -> int:
    """The most task instances that were running at one moment (from their start and end times)."""
    edges = []
    for t in tis:
        if t.get("start_date") and t.get("end_date"):
            edges.append((datetime.fromisoformat(t["start_date"]), 1))
            edges.append((datetime.fromisoformat(t["end_date"]), -1))
    running = peak = 0
    for _, step in sorted(edges, key=lambda e: (e[0], e[1])):
        running += step
        peak = max(peak, running)
    return peak


def test_one_healthy_link_across_the_worker_with_pools_honoured(cluster) -> None:
    c, ctx = cluster
    assert ctx["runs_after_unpause"] == 0          # no scheduled run for the latest interval on unpause
    c.api("PATCH", f"/pools/{HEALTHY_POOL}?update_mask=slots",
          {"pool": HEALTHY_POOL, "slots": 1, "include_deferred": False})   # both tables of the link share one slot
    t0 = time.monotonic()
    run, tis = _trigger_and_wait(c, {"month": "2026-10", "links": [HEALTHY_LINK],
                                     "profile": str(ctx["world"].connections)})
    ctx["timings"]["healthy_run"] = time.monotonic() - t0
    states = _states(tis)
    group = next(t["task_id"] for t in tis if t["task_id"].endswith("." + HEALTHY_LINK.replace("-", "_")))
    assert {states[(group, 0)], states[(group, 1)]} == {"success"}, states
    others = {s for (task, _), s in states.items() if "." in task and task != group}
    assert others == {"skipped"}, states                         # not selected: skipped, not green
    for step in ("start", "quality", "finish", "sync_logs", "tickets", "reports", "gate"):
        assert states[(step, -1)] == "success", (step, states)
    assert run["state"] == "success"

    # the pool: its two task instances never ran at once (worker concurrency 4), and every
    # pool of the run stayed within its slots
    peak = ctx["timings"]["healthy_peak_concurrent_tasks"] = _max_concurrent(tis)
    assert peak >= 2, "the worker never ran two tasks at once: the pool check below would prove nothing"
    mine = [t for t in tis if t["task_id"] == group]
    assert {t["pool"] for t in mine} == {HEALTHY_POOL}
    assert _max_concurrent(mine) == 1
    pools = {p["name"]: p["slots"] for p in c.api("GET", "/pools?limit=200")["pools"]}
    for pool, slots in pools.items():
        assert _max_concurrent([t for t in tis if t["pool"] == pool]) <= slots, pool

    # the run links to its report; the report and the sync-log analysis are there
    links = c.api("GET", f"/dags/syncverify_monthly/dagRuns/{run['dag_run_id']}/taskInstances/reports/links")
    assert str(links["extra_links"].get("Monthly report")).endswith("/2026-10/consistency.html"), links
    assert (ctx["home"] / "reports" / "2026-10" / "consistency.html").exists()
    from syncverify.store import Store

    analysis = Store(ctx["store_url"]).synclog_analysis("2026-10")
    assert analysis and analysis.get("links")                    # the profile's synclog_dir


def test_dead_node_fails_its_check_after_retries_and_the_run(cluster) -> None:
    c, ctx = cluster
    profile = yaml.safe_load(Path(ctx["world"].connections).read_text(encoding="utf-8"))
    profile["nodes"][DEAD_NODE] = {"url": f"postgresql+psycopg2://sv:sv@127.0.0.1:{dead_port()}/gone"}
    dead = ctx["home"] / "dead-node.yaml"
    dead.write_text(yaml.safe_dump(profile), encoding="utf-8")
    t0 = time.monotonic()
    run, tis = _trigger_and_wait(c, {"month": "2026-10", "links": [DEAD_LINK], "profile": str(dead)})
    ctx["timings"]["dead_node_run"] = time.monotonic() - t0
    states = _states(tis)
    check = next(t for t in tis if t["task_id"] == "F1.zz11")
    assert check["state"] == "failed" and check["try_number"] == 2, check        # one retry, then failed
    assert states[("quality", -1)] == "failed"                   # the GX suites on the dead node too
    for step in ("finish", "sync_logs", "tickets", "reports"):   # all_done: still written
        assert states[(step, -1)] == "success", (step, states)
    assert states[("gate", -1)] == "failed" and run["state"] == "failed"
    assert (ctx["home"] / "reports" / "2026-10" / "consistency.html").exists()
    from syncverify.store import Store

    results = Store(ctx["store_url"]).results(run["conf"].get("run_id") or _run_id_of(c, run))
    assert any(r.outcome.value == "not_run" and r.link_id == DEAD_LINK for r in results)
    alerts = list((ctx["home"] / "drop").glob("airflow-*.json"))
    assert alerts, "the gate's failure was not posted to the ticket sink"
    print(f"\ndistributed deployment timings (s): {ctx['timings']}")


def _run_id_of(c: Cluster, run: dict[str, Any]) -> str:
    """The syncverify run id the start task returned (its XCom)."""
    xcom = c.api("GET", f"/dags/syncverify_monthly/dagRuns/{run['dag_run_id']}/taskInstances/start/xcomEntries/"
                        "return_value")
    value = xcom["value"]
    return str(value["run_id"] if isinstance(value, dict) else __import__("json").loads(value)["run_id"])
