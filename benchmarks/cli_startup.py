"""How long the ``syncverify`` command takes to start: ``--help``, ``diff --help``, and the imports a
diff needs before its first query (the deterministic guard is tests/unit/test_cli_startup.py).

Runs each command ``--repeat`` times (default 7) as a fresh process and prints the fastest and the
median wall time; the fastest is the cost itself, the median shows the machine's noise.

    .venv/bin/python benchmarks/cli_startup.py
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import time
from pathlib import Path

BIN = Path(sys.executable).parent
CASES = {
    "syncverify --help": [str(BIN / "syncverify"), "--help"],
    "syncverify diff --help": [str(BIN / "syncverify"), "diff", "--help"],
    "python -c pass (interpreter alone)": [sys.executable, "-c", "pass"],
    "imports of a diff (engine, drivers)": [sys.executable, "-c",
                                            "import syncverify.cli, syncverify.compare.engine, "
                                            "syncverify.connect.engine, pymysql, psycopg2"],
}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--repeat", type=int, default=7)
    args = parser.parse_args()
    print(f"{'command':40} {'fastest s':>9} {'median s':>9}")
    for name, cmd in CASES.items():
        times = []
        for _ in range(args.repeat):
            started = time.perf_counter()
            subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL)
            times.append(time.perf_counter() - started)
        print(f"{name:40} {min(times):9.3f} {statistics.median(times):9.3f}", flush=True)


if __name__ == "__main__":
    main()
