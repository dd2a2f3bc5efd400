"""Huge differences: half of 200,000 rows differ. The diff runs in a separate process whose peak
memory (RSS) is measured: it stays bounded, the counts are exact and the key lists are capped."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest
from rel_helpers import pg_big_table

from syncverify.results import KEY_SAMPLE_CAP

ROWS = 200_000
RSS_BUDGET_MB = 250

CHILD = r"""
import json, sys

def hwm_mb():  # the process's own peak RSS (VmHWM; ru_maxrss may carry the parent's across exec)
    for line in open("/proc/self/status"):
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
from syncverify.compare import CompareSpec, TableRef, diff_tables
from syncverify.connect.engine import make_engine
e = make_engine(sys.argv[1], max_concurrency=2)
with e.connect() as c:
    pass
base = hwm_mb()
r = diff_tables(TableRef(e, "big_src"), TableRef(e, "big_dst"), CompareSpec(key=["id"]))
peak = hwm_mb()
print(json.dumps({"changed": r.changed_count, "missing": r.missing_count, "extra": r.extra_count,
                  "held": len(r.changed_keys), "source_rows": r.source_rows, "target_rows": r.target_rows,
                  "base_mb": round(base, 1), "peak_mb": round(peak, 1), "stats": r.details.get("rows_fetched"),
                  "payload_bytes": len(json.dumps(r.to_dict(), default=str))}))
"""


@pytest.mark.postgres
@pytest.mark.slow
def test_half_the_rows_differ_memory_bounded(postgres_url):
    pg_big_table(postgres_url, "big_src", ROWS)
    pg_big_table(postgres_url, "big_dst", ROWS, differ_every=2)
    out = subprocess.run([sys.executable, "-c", CHILD, postgres_url], capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stderr[-2000:]
    got = json.loads(out.stdout.strip().splitlines()[-1])
    print("huge-diff measurement:", got)
    assert got["changed"] == ROWS // 2 and got["missing"] == 0 and got["extra"] == 0
    assert got["source_rows"] == got["target_rows"] == ROWS
    assert got["held"] == KEY_SAMPLE_CAP                      # what is stored and shown is capped
    assert got["payload_bytes"] < 200_000                     # the stored result stays small
    assert got["peak_mb"] - got["base_mb"] < RSS_BUDGET_MB, got
