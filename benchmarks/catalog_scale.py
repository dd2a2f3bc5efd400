"""A catalog at the bureau's scale: 400 links and 2,500 tables, then how long it takes to use.

The unified identity platform alone has 384 DSG links and 1,057 tables (tender line 2540), the
interaction platform 2,400 tables. This script writes such a catalog the way an operator would:
nodes and table entries as YAML (as ``syncverify discover`` would have written them), the link
list as a CSV expanded by ``syncverify catalog import``, and flows chaining the links. Then it
measures, each in a fresh process:

(a) ``syncverify topology --catalog DIR`` (wall time, interpreter start included), and
    ``load_catalog`` + the tree in-process;
(b) the parse time of the DAG files: a ``DagBag`` import of ``dags/`` with ``SYNCVERIFY_PROJECT``
    pointed at a folder whose ``checks/`` is the generated catalog (the monthly DAG loads
    ``<SYNCVERIFY_PROJECT>/checks`` at parse time and builds one task group per flow, one mapped
    task per hop) — Airflow's ``dagbag_import_timeout`` is 30 s per file.

    .venv/bin/python benchmarks/catalog_scale.py [--links 400] [--tables 2500] [--out DIR]
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import random
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent
HOPS_PER_FLOW = 10
TABLES_PER_LINK = 25
_PREFIXES = ("nsr", "yh", "qx", "js", "zz", "dm", "rz", "sq", "xx", "gl")


def write_catalog(checks: Path, *, links: int, tables: int, seed: int = 2540) -> dict[str, float]:
    """Nodes + tables YAML, the link CSV through ``catalog import``, flows. Returns timings."""
    rng = random.Random(seed)
    shutil.rmtree(checks, ignore_errors=True)      # a re-run starts from an empty catalog
    checks.mkdir(parents=True)
    flows = max(1, links // HOPS_PER_FLOW)
    # Each flow runs through its own chain of nodes (HQ for the first half, then the province).
    nodes = []
    for f in range(flows):
        for h in range(HOPS_PER_FLOW + 1):
            side = "hq" if h <= HOPS_PER_FLOW // 2 else "gx"
            nodes.append({"id": f"{side}.uid_f{f:02d}_n{h:02d}", "title": f"统一身份库 {f}-{h}",
                          "side": "hq" if side == "hq" else "province",
                          "kind": "postgresql" if side == "hq" else "mysql"})
    table_entries = []
    for t in range(tables):
        name = f"{_PREFIXES[t % len(_PREFIXES)]}_t{t:04d}"
        entry: dict[str, object] = {"name": name, "key": ["id"] if t % 3 else ["dm", "lb"]}
        if t % 5:
            entry["window_column"] = "gxsj"
        if t % 7 == 0:
            entry["columns"] = ["id" if t % 3 else "dm", "mc", "zt", "gxsj"] + ([] if t % 3 else ["lb"])
        if t % 11 == 0:
            entry["masked_columns"] = ["nsrsbh"]
        table_entries.append(entry)
    dump = yaml.CSafeDumper if hasattr(yaml, "CSafeDumper") else yaml.SafeDumper
    (checks / "nodes.yaml").write_text(yaml.dump({"nodes": nodes}, Dumper=dump, allow_unicode=True), "utf-8")
    (checks / "tables.yaml").write_text(yaml.dump({"tables": table_entries}, Dumper=dump, allow_unicode=True),
                                        "utf-8")
    per_flow = [table_entries[i::flows] for i in range(flows)]
    csv_path = checks.parent / "uid_links.csv"
    hops: list[list[str]] = [[] for _ in range(flows)]
    with csv_path.open("w", newline="", encoding="utf-8") as fh:
        w = csv.writer(fh)
        w.writerow(["link_id", "source", "target", "tables", "kind"])
        for i in range(links):
            f, h = i % flows, i // flows
            if h >= HOPS_PER_FLOW:
                f, h = i % flows, HOPS_PER_FLOW - 1          # more links than chains: parallel last hops
            link_id = f"UID{i:03d}"
            src, dst = nodes[f * (HOPS_PER_FLOW + 1) + h]["id"], nodes[f * (HOPS_PER_FLOW + 1) + h + 1]["id"]
            carried = rng.sample(per_flow[f], min(TABLES_PER_LINK, len(per_flow[f])))
            w.writerow([link_id, src, dst, ";".join(str(t["name"]) for t in carried), "dsg"])
            hops[f].append(link_id)
    t0 = time.perf_counter()
    subprocess.run([str(BIN / "syncverify"), "catalog", "import", str(csv_path), "--out", str(checks),
                    "--catalog", str(checks)], check=True, cwd=ROOT, capture_output=True)
    imported = time.perf_counter() - t0
    flow_entries = [{"id": f"U{f + 1:02d}", "title": f"统一身份 {f + 1}",
                     "sources": [nodes[f * (HOPS_PER_FLOW + 1)]["id"]], "hops": hops[f]} for f in range(flows)]
    (checks / "flows.yaml").write_text(yaml.dump({"flows": flow_entries}, Dumper=dump, allow_unicode=True), "utf-8")
    return {"catalog_import_s": imported}


_LOAD = """
import json, sys, time
t0 = time.perf_counter()
from syncverify.catalog import load_catalog, render
t1 = time.perf_counter()
c = load_catalog(sys.argv[1])
t2 = time.perf_counter()
render.as_tree(c)
t3 = time.perf_counter()
print(json.dumps({"import_s": t1 - t0, "load_s": t2 - t1, "tree_s": t3 - t2, "links": len(c.links),
                  "tables": len(c.tables), "link_checks": len(c.link_checks()), "flows": len(c.flows)}))
"""

_DAGBAG = """
import json, time
t0 = time.perf_counter()
from airflow.dag_processing.dagbag import DagBag
t1 = time.perf_counter()
bag = DagBag(dag_folder=%r)
t2 = time.perf_counter()
files = {s.file: s.duration.total_seconds() if hasattr(s.duration, "total_seconds") else float(s.duration)
         for s in bag.dagbag_stats}
monthly = bag.dags.get("syncverify_monthly")
print(json.dumps({"airflow_import_s": t1 - t0, "dagbag_s": t2 - t1, "files": files,
                  "errors": {k: v.splitlines()[-1] for k, v in bag.import_errors.items()},
                  "monthly_tasks": len(monthly.tasks) if monthly else None}))
"""


def _json_run(code: str, *args: str, env: dict[str, str] | None = None) -> dict[str, object]:
    out = subprocess.run([sys.executable, "-c", code, *args], check=True, capture_output=True, text=True,
                         cwd=ROOT, env=env)
    return json.loads(out.stdout.strip().splitlines()[-1])


def measure(project: Path) -> dict[str, object]:
    checks = project / "checks"
    t0 = time.perf_counter()
    subprocess.run([str(BIN / "syncverify"), "topology", "--catalog", str(checks)], check=True,
                   capture_output=True, cwd=ROOT)
    topology = time.perf_counter() - t0
    inproc = _json_run(_LOAD, str(checks))
    home = Path(tempfile.mkdtemp(prefix="sv-bench-airflow-"))
    env = {**os.environ, "SYNCVERIFY_PROJECT": str(project), "AIRFLOW_HOME": str(home),
           "AIRFLOW__CORE__LOAD_EXAMPLES": "False", "AIRFLOW__CORE__DAGS_FOLDER": str(ROOT / "dags"),
           "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN": f"sqlite:///{home / 'airflow.db'}",
           "AIRFLOW__LOGGING__BASE_LOG_FOLDER": str(home / "logs")}
    try:
        dagbag = _json_run(_DAGBAG % str(ROOT / "dags"), env=env)
    finally:
        shutil.rmtree(home, ignore_errors=True)
    return {"topology_cli_s": topology, **inproc, **dagbag}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--links", type=int, default=400)
    parser.add_argument("--tables", type=int, default=2500)
    parser.add_argument("--out", help="project folder to write (default: a temporary one, removed after)")
    args = parser.parse_args()
    project = Path(args.out) if args.out else Path(tempfile.mkdtemp(prefix="sv-catalog-scale-"))
    try:
        timings = write_catalog(project / "checks", links=args.links, tables=args.tables)
        result = {**timings, **measure(project)}
    finally:
        if not args.out:
            shutil.rmtree(project, ignore_errors=True)
    files = result.pop("files", {})
    for key, value in result.items():
        print(f"{key:22} {value:.2f}" if isinstance(value, float) else f"{key:22} {value}")
    for file, seconds in sorted(files.items()):  # type: ignore[union-attr]
        print(f"parse {Path(file).name:32} {seconds:.2f} s")
    worst = max([float(result["topology_cli_s"]), *files.values()])  # type: ignore[arg-type]
    print(f"slowest: {worst:.2f} s (dagbag_import_timeout 30 s)")
    return 0 if worst < 30 and not result.get("errors") else 1


if __name__ == "__main__":
    sys.exit(main())
