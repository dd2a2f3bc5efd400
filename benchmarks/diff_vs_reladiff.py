"""syncverify diff against reladiff -j 4 and against the scan limit, on real MariaDB and PostgreSQL.

Builds invoice tables of N rows (default 1,000,000) inside the databases (MariaDB's sequence
engine, PostgreSQL's generate_series), copies the source to a target and changes under 0.01 % of
the target's rows (missing, extra, changed). Source and target live in different databases, as
the headquarters and province copies do, so each tool must compare across connections (for
reladiff that is its hashdiff algorithm; its joindiff needs both tables in one database). Then,
in the same run, for each pair of databases:

* ``syncverify diff`` (a subprocess; its peak RSS via ``os.wait4``), checked against the exact
  expected set of differences;
* ``reladiff -j 4 -a hashdiff`` (integer key only: reladiff refuses text keys), its
  differences counted; stopped after ``--reladiff-timeout`` seconds (its cross-database run
  MariaDB -> PostgreSQL does not finish in 300 s) and then reported as ``>SECONDS``;
* the scan limit: both sides read every compared column once, concurrently,
  ``SELECT COUNT(*), SUM(LENGTH(CONCAT_WS(',', ...)))``.

Prints a table with seconds, ratios and peak memory, and a JSON line per pair. Uses its own
databases (``svbench_<pid>_s`` for sources, ``svbench_<pid>_t`` for targets) and drops them
afterwards.

    .venv/bin/python benchmarks/diff_vs_reladiff.py           # 1M rows, int + composite keys, MariaDB <-> PostgreSQL
    .venv/bin/python benchmarks/diff_vs_reladiff.py --keys text --pairs mariadb:mariadb   # key fphm VARCHAR(8)
    .venv/bin/python benchmarks/diff_vs_reladiff.py --rows 10000000 --no-reladiff
    .venv/bin/python benchmarks/diff_vs_reladiff.py --row-hash sha256  # no native hash (PostgreSQL)
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import threading
import time
from pathlib import Path

import sqlalchemy as sa

MARIADB = os.environ.get("SYNCVERIFY_BENCH_MARIADB", "mysql+pymysql://root@127.0.0.1:3306")
POSTGRES = os.environ.get("SYNCVERIFY_BENCH_POSTGRES", "postgresql+psycopg2://postgres@127.0.0.1:5432")
COLUMNS = ["fphm", "fpdm", "kprq", "xsfnsrsbh", "gmfnsrsbh", "je", "se", "jshj", "fpzt", "gmf_swjg_dm"]
VENV_BIN = Path(sys.executable).parent

DDL = """CREATE TABLE {t} (
  id BIGINT NOT NULL PRIMARY KEY,
  fphm VARCHAR(8) NOT NULL UNIQUE,
  fpdm VARCHAR(12) NOT NULL,
  kprq TIMESTAMP NULL,
  xsfnsrsbh VARCHAR(20),
  gmfnsrsbh VARCHAR(20),
  je DECIMAL(18,2),
  se DECIMAL(18,2),
  jshj DECIMAL(18,2),
  fpzt VARCHAR(2),
  gmf_swjg_dm VARCHAR(11),
  UNIQUE (fpdm, fphm)
)"""

# Row i of the invoice table, as SQL over an integer column n (same values on both databases).
ROW_MYSQL = """n, LPAD(n, 8, '0'), CONCAT('1450', LPAD(n DIV 1000, 8, '0')),
  TIMESTAMP('2024-01-01') + INTERVAL (n % 2678400) SECOND,
  CONCAT('91450100MA', LPAD(n % 99991, 8, '0')), CONCAT('91450200MB', LPAD(n % 77773, 8, '0')),
  (n % 100000) / 100, (n % 13000) / 100, (n % 100000) / 100 + (n % 13000) / 100,
  CAST(n % 3 AS CHAR), CONCAT('145', LPAD(n % 10000, 8, '0'))"""
ROW_PG = """n, lpad(n::text, 8, '0'), '1450' || lpad((n / 1000)::text, 8, '0'),
  TIMESTAMP '2024-01-01' + (n % 2678400) * INTERVAL '1 second',
  '91450100MA' || lpad((n % 99991)::text, 8, '0'), '91450200MB' || lpad((n % 77773)::text, 8, '0'),
  (n % 100000) / 100.0, (n % 13000) / 100.0, (n % 100000) / 100.0 + (n % 13000) / 100.0,
  (n % 3)::text, '145' || lpad((n % 10000)::text, 8, '0')"""


def server_url(kind: str, database: str | None = None) -> str:
    base = MARIADB if kind == "mariadb" else POSTGRES
    url = sa.engine.make_url(base + "/" + ("test" if kind == "mariadb" else "postgres"))
    return url.set(database=database).render_as_string(hide_password=False) if database else \
        url.render_as_string(hide_password=False)


def create_db(kind: str, name: str) -> str:
    admin = sa.create_engine(server_url(kind), isolation_level="AUTOCOMMIT")
    with admin.connect() as c:
        c.execute(sa.text(f"DROP DATABASE IF EXISTS {name}"))
        c.execute(sa.text(f"CREATE DATABASE {name}"))
    admin.dispose()
    return server_url(kind, name)


def drop_db(kind: str, name: str) -> None:
    admin = sa.create_engine(server_url(kind), isolation_level="AUTOCOMMIT")
    with admin.connect() as c:
        if kind == "postgresql":
            c.execute(sa.text("SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                              "WHERE datname = :n AND pid <> pg_backend_pid()"), {"n": name})
        c.execute(sa.text(f"DROP DATABASE IF EXISTS {name}"))
    admin.dispose()


def n_changes(rows: int) -> int:
    """Per kind (missing, extra, changed): together under 0.01 % of the rows."""
    return max(1, rows // 40_000)


def _insert(kind: str, table: str, first: int, last: int) -> str:
    if kind == "mariadb":
        return f"INSERT INTO {table} SELECT {ROW_MYSQL} FROM (SELECT seq AS n FROM seq_{first}_to_{last}) s"
    return f"INSERT INTO {table} SELECT {ROW_PG} FROM generate_series({first}, {last}) AS s(n)"


def build(kind: str, url: str, rows: int, table: str, mutate: bool) -> dict[str, list[int]]:
    """Create ``table`` with ``rows`` invoices; on the target, remove, add and change a few."""
    engine = sa.create_engine(url, isolation_level="AUTOCOMMIT")
    k = n_changes(rows)
    step = rows // (3 * k + 1)
    missing = [step * (i + 1) for i in range(k)]
    changed = [step * (k + i + 1) + 7 for i in range(k)]
    extra = list(range(rows + 1000, rows + 1000 + k))
    with engine.connect() as c:
        if kind == "mariadb":
            # MariaDB TIMESTAMP columns convert from the session's time zone; syncverify reads
            # them in the bureau's (+08:00), so write the same wall-clock times PostgreSQL holds.
            c.execute(sa.text("SET time_zone = '+08:00'"))
        c.execute(sa.text(DDL.format(t=table)))
        c.execute(sa.text(_insert(kind, table, 1, rows)))
        if mutate:
            c.execute(sa.text(f"DELETE FROM {table} WHERE id IN ({','.join(map(str, missing))})"))
            c.execute(sa.text(f"UPDATE {table} SET je = je + 0.01 WHERE id IN ({','.join(map(str, changed))})"))
            c.execute(sa.text(_insert(kind, table, extra[0], extra[-1])))
        c.execute(sa.text(f"VACUUM ANALYZE {table}" if kind == "postgresql" else f"ANALYZE TABLE {table}"))
        # The same rows keyed by (fpdm, fphm), stored in that key's order (InnoDB clusters by it).
        keyed = table.replace("inv_", "fp_")
        c.execute(sa.text(DDL.format(t=keyed).replace("id BIGINT NOT NULL PRIMARY KEY", "id BIGINT NOT NULL UNIQUE")
                          .replace("UNIQUE (fpdm, fphm)", "PRIMARY KEY (fpdm, fphm)")))
        c.execute(sa.text(f"INSERT INTO {keyed} SELECT * FROM {table} ORDER BY fpdm, fphm"))
        c.execute(sa.text(f"VACUUM ANALYZE {keyed}" if kind == "postgresql" else f"ANALYZE TABLE {keyed}"))
    engine.dispose()
    return {"missing": missing, "extra": extra, "changed": changed}


def fphm(n: int) -> str:
    return str(n).rjust(8, "0")


def fpdm(n: int) -> str:
    return "1450" + str(n // 1000).rjust(8, "0")


# --keys choices: the key columns compared (every other column is compared as a value), the
# tables (inv_*: PRIMARY KEY id; fp_*: the same rows with PRIMARY KEY (fpdm, fphm), the invoice
# table's real key) and extra syncverify options.
KEYS: dict[str, tuple[list[str], str, list[str]]] = {
    "int": (["id"], "inv", []),
    "text": (["fphm"], "inv", []),
    "composite": (["fpdm", "fphm"], "fp", []),
    "composite-ranges": (["fpdm", "fphm"], "fp", ["--key-ranges"]),
}
ALL_COLUMNS = ["id", *COLUMNS]


def run_syncverify(src_url: str, tgt_url: str, key: list[str], slices: int, row_hash: str = "auto",
                   tables: str = "inv", extra: list[str] | None = None) -> tuple[float, int, dict]:
    cmd = [str(VENV_BIN / "python"), "-m", "syncverify.compare.cli", src_url, tgt_url, "--table", f"{tables}_src",
           "--target-table", f"{tables}_tgt", "--key", ",".join(key), *(extra or []),
           "--columns", ",".join(c for c in ALL_COLUMNS if c not in key),
           "--hash-slices", str(slices), "--row-hash", row_hash, "--json"]
    started = time.perf_counter()
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    out_chunks: list[str] = []
    reader = threading.Thread(target=lambda: out_chunks.append(proc.stdout.read() if proc.stdout else ""))
    reader.start()
    _, status, usage = os.wait4(proc.pid, 0)
    seconds = time.perf_counter() - started
    reader.join()
    proc.returncode = os.waitstatus_to_exitcode(status)
    err = proc.stderr.read() if proc.stderr else ""
    if proc.returncode not in (0, 1):
        raise SystemExit(f"syncverify diff failed ({proc.returncode}): {err}")
    return seconds, usage.ru_maxrss // 1024, json.loads(out_chunks[0])


def run_reladiff(src_url: str, tgt_url: str, timeout_s: float) -> tuple[float, int | None]:
    """Seconds and differing keys; after ``timeout_s`` reladiff is stopped: (timeout_s, None)."""
    exe = shutil.which("reladiff", path=str(VENV_BIN)) or "reladiff"

    def rd(url: str) -> str:
        u = sa.engine.make_url(url)
        scheme = "mysql" if u.get_backend_name() == "mysql" else "postgresql"
        return u.set(drivername=scheme).render_as_string(hide_password=False)

    cmd = [exe, rd(src_url), "inv_src", rd(tgt_url), "inv_tgt", "-k", "id", "-j", "4", "-a", "hashdiff"]
    for c in COLUMNS:
        cmd += ["-c", c]
    started = time.perf_counter()
    try:
        proc = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout_s)
    except subprocess.TimeoutExpired:
        return timeout_s, None
    seconds = time.perf_counter() - started
    if proc.returncode != 0 or "ERROR" in proc.stderr:
        raise SystemExit(f"reladiff failed: {proc.stderr[-2000:]}")
    keys = {ln[2:].split(",")[0].strip() for ln in proc.stdout.splitlines() if ln[:2] in ("+ ", "- ")}
    return seconds, len(keys)


def scan_limit(src_url: str, tgt_url: str, tables: str = "inv") -> float:
    cols = ", ".join(COLUMNS)
    sql = f"SELECT COUNT(*), SUM(LENGTH(CONCAT_WS(',', id, {cols}))) FROM "
    engines = [sa.create_engine(src_url), sa.create_engine(tgt_url)]
    for e in engines:                     # connect first: time the scans, not the handshakes
        with e.connect() as c:
            c.execute(sa.text("SELECT 1"))

    def scan(engine: sa.Engine, table: str) -> None:
        with engine.connect() as c:
            c.execute(sa.text(sql + table)).fetchall()

    started = time.perf_counter()
    threads = [threading.Thread(target=scan, args=(engines[0], f"{tables}_src")),
               threading.Thread(target=scan, args=(engines[1], f"{tables}_tgt"))]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    seconds = time.perf_counter() - started
    for e in engines:
        e.dispose()
    return seconds


def check_exact(found: dict, expected: dict[str, list[int]], key: list[str]) -> bool:
    def as_key(n: int) -> object:
        parts = {"id": str(n), "fphm": fphm(n), "fpdm": fpdm(n)}
        return parts[key[0]] if len(key) == 1 else [parts[k] for k in key]
    want = {name: sorted(as_key(n) for n in ids) for name, ids in expected.items()}   # type: ignore[type-var]
    got = {"missing": sorted(found["missing_in_target"]), "extra": sorted(found["extra_in_target"]),
           "changed": sorted(found["changed"])}
    return want == got


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--keys", default="int,composite",
                        help="comma-separated, from: int (id BIGINT), text (fphm VARCHAR(8)), "
                             "composite (fpdm VARCHAR(12), fphm VARCHAR(8), the primary key), composite-ranges "
                             "(the same with --key-ranges); default int,composite")
    parser.add_argument("--pairs", default="mariadb:postgresql,postgresql:mariadb")
    parser.add_argument("--no-reladiff", action="store_true")
    parser.add_argument("--hash-slices", type=int, choices=(1, 2), default=1)
    parser.add_argument("--row-hash", choices=("auto", "sha256"), default="auto",
                        help="syncverify's --row-hash (sha256: the portable hash even where both sides "
                             "share a native one)")
    parser.add_argument("--reladiff-timeout", type=float, default=300, metavar="SECONDS",
                        help="stop reladiff after this long (its cross-database hashdiff MariaDB -> "
                             "PostgreSQL did not finish in 300 s); reported as '>SECONDS'")
    args = parser.parse_args()
    keys = [k.strip() for k in args.keys.split(",") if k.strip()]
    if not keys or any(k not in KEYS for k in keys):
        parser.error(f"--keys takes {', '.join(KEYS)}")
    pairs = [tuple(p.split(":")) for p in args.pairs.split(",")]
    kinds = sorted({k for p in pairs for k in p})
    tag = f"svbench_{os.getpid()}"
    urls: dict[str, tuple[str, str]] = {}
    expected: dict[str, list[int]] = {}
    try:
        for kind in kinds:
            t0 = time.perf_counter()
            urls[kind] = (create_db(kind, f"{tag}_s"), create_db(kind, f"{tag}_t"))
            build(kind, urls[kind][0], args.rows, "inv_src", mutate=False)
            expected = build(kind, urls[kind][1], args.rows, "inv_tgt", mutate=True)
            print(f"# built {args.rows:,} rows x2 in {kind} in {time.perf_counter() - t0:.1f} s", file=sys.stderr)
        print(f"rows={args.rows:,} hash_slices={args.hash_slices} differences={sum(map(len, expected.values()))}")
        print(f"{'key':16} {'pair':24} {'syncverify s':>12} {'scan s':>8} {'reladiff s':>10} {'sv/scan':>8} "
              f"{'reladiff/sv':>11} {'sv RSS MB':>9} exact row_hash")
        for name in keys:
            key, tables, extra = KEYS[name]
            for a, b in pairs:
                # The tables differ only in where they live: source from a, target from b.
                src, tgt = urls[a][0], urls[b][1]
                sv_s, rss, found = run_syncverify(src, tgt, key, args.hash_slices, args.row_hash, tables, extra)
                exact = check_exact(found, expected, key)
                scan_s = scan_limit(src, tgt, tables)
                rd_s, rd_n = (None, None) if args.no_reladiff or name != "int" else \
                    run_reladiff(src, tgt, args.reladiff_timeout)
                timed_out = rd_s is not None and rd_n is None
                over = ">" if timed_out else ""
                ratio_rd = f"{over}{rd_s / sv_s:.1f}x" if rd_s else "-"
                rd_text = "-" if rd_s is None else f"{over}{rd_s:.2f}"
                print(f"{name:16} {a + '->' + b:24} {sv_s:12.2f} {scan_s:8.2f} {rd_text:>10} "
                      f"{sv_s / scan_s:7.2f}x {ratio_rd:>11} {rss:9d} {exact!s:5} {found['stats'].get('row_hash')}",
                      flush=True)
                print(json.dumps({"pair": f"{a}->{b}", "rows": args.rows, "key": key,
                                  "hash_slices": args.hash_slices, "syncverify_s": round(sv_s, 3),
                                  "scan_limit_s": round(scan_s, 3), "reladiff_s": rd_s and round(rd_s, 3),
                                  "reladiff_keys_differing": rd_n, "reladiff_timed_out": timed_out,
                                  "syncverify_peak_rss_mb": rss, "exact": exact,
                                  "stats": found["stats"]}), flush=True)
    finally:
        for kind in urls:
            drop_db(kind, f"{tag}_s")
            drop_db(kind, f"{tag}_t")


if __name__ == "__main__":
    main()
