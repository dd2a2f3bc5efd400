"""Sync-log analysis throughput: MB/s, ratio to ``grep -c`` (the I/O floor) and peak memory.

Generates a month of logs with the sandbox generator (a base set, then copies under other link
ids until the target size is reached), analyses subsets of growing size in a fresh process, and
reports for each size: uncompressed MB, seconds, MB/s, ``grep -c`` seconds over the same files,
the ratio, and the peak RSS of the analysing process tree (memory must stay flat in file size).

    .venv/bin/python benchmarks/synclog_throughput.py --sizes 0.25,1.0 --workers 2

Writes under a temporary directory in /tmp and deletes it afterwards (unless ``--keep``).
"""

from __future__ import annotations

import argparse
import gzip
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from datetime import datetime
from pathlib import Path

import psutil

from syncverify.sandbox.synclogs import Incident, generate_month_logs

MONTH = "2026-10"
BASE_LINKS = [
    ("zz11", "dsg", ["FP_FPXX", "FP_FPMX", "FP_HZXX"], 2.0),
    ("zz04", "dsg", ["FP_YPXX", "FP_RZXX"], 1.5),
    ("ZS01", "dsg", ["FP_FPXX"], 1.0),
    ("ZZ25", "dsg", ["FP_FPXX"], 1.0),
    ("GXJF-QUERY", "kafka-consumer", ["fp_fpxx"], 1.5),
    ("YP-USE", "kafka-consumer", ["fp_ypxx"], 1.0),
]
INCIDENTS = [
    Incident("error_burst", "zz11", datetime(2026, 10, 13, 10), datetime(2026, 10, 13, 10, 40), "FP_FPXX"),
    Incident("stall", "ZS01", datetime(2026, 10, 15, 14), datetime(2026, 10, 15, 16)),
    Incident("latency_spike_peak", "GXJF-QUERY", datetime(2026, 10, 20, 9), datetime(2026, 10, 20, 11)),
    Incident("restart_loop", "zz04", datetime(2026, 10, 22, 3), datetime(2026, 10, 22, 4)),
]

_ANALYSE = """
import json, resource, sys, time
from syncverify.synclog import analyse
paths = json.loads(sys.argv[1]); workers = int(sys.argv[2])
t = time.perf_counter()
a = analyse(paths, "{month}", workers=workers)
d = time.perf_counter() - t
cpu = sum(getattr(resource.getrusage(w), f) for w in (resource.RUSAGE_SELF, resource.RUSAGE_CHILDREN)
          for f in ("ru_utime", "ru_stime"))
s = a.parse_stats
print(json.dumps({{"seconds": d, "cpu_seconds": cpu, "bytes": s.bytes, "lines": s.lines, "events": s.events,
                  "malformed": s.malformed_total, "findings": len(a.findings), "links": len(a.links)}}))
"""


def make_logs(root: Path, target_bytes: int, volume: float) -> list[Path]:
    """Base month from the generator, then older rotations of the same links (plain text copies)
    up to ``target_bytes``: the links stay the same, only the amount of log grows."""
    base = generate_month_logs(root, MONTH, BASE_LINKS, INCIDENTS, seed=11, volume=volume)
    files = list(base)
    total = sum(p.stat().st_size for p in files)
    raw = {p: (gzip.decompress(p.read_bytes()) if p.suffix == ".gz" else p.read_bytes()) for p in base}
    generation = 3
    while total < target_bytes:
        for p, data in raw.items():
            if total >= target_bytes:
                break
            stem = p.name.split(".log")[0] + ".log"
            out = root / f"{stem}.{generation}"
            out.write_bytes(data)
            files.append(out)
            total += len(data)
        generation += 1
    return files


def run_analyse(paths: list[Path], workers: int) -> dict:
    proc = subprocess.Popen(
        [
            sys.executable,
            "-c",
            _ANALYSE.format(month=MONTH),
            json.dumps([str(p) for p in paths]),
            str(workers),
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    peak = 0
    ps = psutil.Process(proc.pid)
    while proc.poll() is None:
        try:
            tree = [ps, *ps.children(recursive=True)]
            peak = max(peak, sum(p.memory_info().rss for p in tree if p.is_running()))
        except psutil.Error:
            pass
        time.sleep(0.05)
    out, err = proc.communicate()
    if proc.returncode:
        raise SystemExit(f"analyse failed: {err}")
    result = json.loads(out.strip().splitlines()[-1])
    result["peak_rss_mb"] = round(peak / 2**20, 1)
    return result


def grep_floor(paths: list[Path]) -> float:
    plain = [str(p) for p in paths if p.suffix != ".gz"]
    zipped = [str(p) for p in paths if p.suffix == ".gz"]
    t = time.perf_counter()
    if plain:
        subprocess.run(["grep", "-c", "2026-10", *plain], stdout=subprocess.DEVNULL, check=False)
    if zipped:
        subprocess.run(["zgrep", "-c", "2026-10", *zipped], stdout=subprocess.DEVNULL, check=False)
    return time.perf_counter() - t


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="0.25,1.0", help="GB of logs to analyse, comma-separated")
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--volume", type=float, default=4.0, help="generator volume of the base month")
    parser.add_argument("--keep", action="store_true")
    parser.add_argument("--out", type=Path, default=None, help="write the results as JSON here")
    args = parser.parse_args()
    sizes = sorted(float(s) for s in args.sizes.split(","))
    root = Path(tempfile.mkdtemp(prefix="synclog_bench_", dir="/tmp"))
    results = []
    try:
        t = time.perf_counter()
        files = make_logs(root, int(sizes[-1] * 1e9), args.volume)
        print(
            f"generated {sum(p.stat().st_size for p in files) / 1e6:.0f} MB on disk in "
            f"{time.perf_counter() - t:.0f} s ({len(files)} files: base month + older rotations)",
            flush=True,
        )
        for size in sizes:
            chosen, total = [], 0
            for p in files:
                if total >= size * 1e9:
                    break
                chosen.append(p)
                total += p.stat().st_size
            subprocess.run(["cat", *map(str, chosen)], stdout=subprocess.DEVNULL, check=True)  # warm cache
            res = run_analyse(chosen, args.workers)
            floor = grep_floor(chosen)
            mb = res["bytes"] / 1e6
            row = {
                "size_gb": size,
                "files": len(chosen),
                "mb_uncompressed": round(mb, 1),
                "seconds": round(res["seconds"], 2),
                "mb_per_s": round(mb / res["seconds"], 1),
                # CPU time of the process tree (imports included): what the parser costs whatever
                # else the shared machine runs; MB per CPU-second x cores = idle-machine estimate
                "cpu_seconds": round(res["cpu_seconds"], 1),
                "mb_per_cpu_s": round(mb / res["cpu_seconds"], 1),
                "load_avg_1m": round(os.getloadavg()[0], 2),
                "grep_seconds": round(floor, 2),
                "grep_mb_per_s": round(mb / floor, 1),
                "ratio_to_grep": round(res["seconds"] / floor, 1),
                "peak_rss_mb": res["peak_rss_mb"],
                "workers": args.workers,
                "lines": res["lines"],
                "malformed": res["malformed"],
                "findings": res["findings"],
                "links": res["links"],
            }
            results.append(row)
            print(json.dumps(row), flush=True)
    finally:
        if not args.keep:
            shutil.rmtree(root, ignore_errors=True)
    if args.out:
        args.out.write_text(json.dumps(results, indent=1), encoding="utf-8")


if __name__ == "__main__":
    main()
