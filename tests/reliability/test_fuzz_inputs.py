"""Fuzzing (hypothesis): the catalog loader, the sync-log parsers and the CLI's argument
handling never crash on hostile input — only their clear errors (CatalogError; malformed lines
counted; exit status 0/1/2 with no traceback)."""

from __future__ import annotations

import contextlib
import io
import shutil
import tempfile
from pathlib import Path

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from helpers import ROOT
from syncverify.catalog import load_catalog
from syncverify.cli import main
from syncverify.errors import CatalogError
from syncverify.synclog.formats import load_formats
from syncverify.synclog.parsers import parse_files


def fuzz(n: int) -> settings:
    return settings(max_examples=n, deadline=None, suppress_health_check=list(HealthCheck), derandomize=True)

# ---- the catalog loader ---------------------------------------------------------------------------
WORDS = ["nodes", "tables", "links", "flows", "id", "kind", "side", "title", "name", "key", "source", "target",
         "table", "tables", "hops", "sources", "routing", "target_scope", "column", "equals", "prefix", "in",
         "any", "all", "not", "grace", "max_concurrency", "columns", "window_column", "totals", "column_map",
         "hq.query_db", "gx.query_db", "mysql", "postgresql", "kafka", "dsg", "hq", "province", "fp_fpxx",
         "zz11", "schema", "log_sources", "enabled", "source_node", "consumer_group", "key_path"]
scalars = (st.sampled_from(WORDS) | st.text(max_size=12) | st.integers(-5, 10**12) | st.booleans() | st.none()
           | st.floats(allow_nan=True) | st.just("1h") | st.just("145"))
docs = st.recursive(scalars, lambda kids: st.lists(kids, max_size=4)
                    | st.dictionaries(st.sampled_from(WORDS) | st.text(max_size=6), kids, max_size=5), max_leaves=25)


def _load(files: dict[str, str]) -> None:
    folder = Path(tempfile.mkdtemp(prefix="svrel-fuzz-"))
    try:
        for name, text in files.items():
            (folder / name).write_text(text, encoding="utf-8", errors="surrogatepass")
        try:
            load_catalog(folder)
        except CatalogError as exc:
            assert str(exc)          # a message, naming what is wrong
    finally:
        shutil.rmtree(folder)


@fuzz(100)
@given(st.dictionaries(st.sampled_from(["nodes", "tables", "links", "flows", "log_sources", "other"]), docs,
                       max_size=4))
def test_catalog_loader_structures(doc):
    _load({"a.yaml": yaml.safe_dump(doc, allow_unicode=True)})


REAL = (ROOT / "checks" / "links_invoice.yaml").read_text(encoding="utf-8")


@fuzz(30)
@given(st.integers(0, len(REAL) - 1), st.integers(0, 40), st.text(max_size=20))
def test_catalog_loader_mutated_real_files(at, cut, insert):
    """The real catalog with a slice replaced by random text (broken YAML, broken entries)."""
    mutated = REAL[:at] + insert + REAL[at + cut:]
    files = {p.name: p.read_text(encoding="utf-8") for p in (ROOT / "checks").glob("*.yaml")}
    files["links_invoice.yaml"] = mutated
    _load(files)


@fuzz(60)
@given(st.binary(max_size=300))
def test_catalog_loader_raw_bytes(data):
    folder = Path(tempfile.mkdtemp(prefix="svrel-fuzz-"))
    try:
        (folder / "x.yaml").write_bytes(data)
        with contextlib.suppress(CatalogError):
            load_catalog(folder)
    finally:
        shutil.rmtree(folder)


# ---- the sync-log parsers -------------------------------------------------------------------------
FORMATS = load_formats(ROOT / "checks" / "synclog.yaml")
GOOD = [b"2026-10-09 09:31:02.117 [zz11] INFO APPLY table=FP_FPXX ins=120 upd=3 del=0 batch=123 lag_ms=850 backlog=42",
        b'2026-10-09 09:31:05.004 [zz11] ERROR APPLY table=FP_FPXX batch=120 code=ORA-00001 msg="unique (HX.PK) x" retry=2',
        b'{"ts": "2026-10-09 09:31:02", "event": "apply", "count": 5}']
line_parts = st.sampled_from([*GOOD, b"=", b'"', b"\xff\xfe", b"\xe4\xb8\xad", b"\t", b"\r", b"ins=-1",
                              b"lag_ms=99999999999999999999999", b"2026-13-45 99:99:99", b"{", b"}", b"\x00",
                              b" 914501006194879876 ", b"msg=\"", b"[", b"]", b" "]) | st.binary(max_size=30)
log_lines = st.lists(st.lists(line_parts, max_size=6).map(b"".join), max_size=40)


@fuzz(100)
@given(log_lines, st.sampled_from(["dsg-zz11.log", "dsgpipe-ZZ25.log", "consumer-GXJF-QUERY.log",
                                   "consumer-GXJF-QUERY.jsonl"]))
def test_synclog_parsers_never_crash(lines, name):
    folder = Path(tempfile.mkdtemp(prefix="svrel-fuzz-"))
    try:
        lines = [ln.replace(b"\n", b" ") for ln in lines]
        (folder / name).write_bytes(b"\n".join(lines) + (b"\n" if lines else b""))
        parsed = parse_files(folder / name, FORMATS)
        stats = parsed.stats
        assert stats.events + stats.malformed_total <= stats.lines <= len(lines) + 1
        assert parsed.events.num_rows == stats.events
        for samples in stats.samples.values():
            for s in samples:
                assert "914501006194879876" not in s      # taxpayer ids masked in samples
    finally:
        shutil.rmtree(folder)


# ---- the CLI's argument handling ------------------------------------------------------------------
# (airflow-pools, demo and sandbox are left out: they write Airflow pools or build a world)
COMMANDS = ["topology", "connections", "diff", "run", "quality", "synclog", "tickets", "report",
            "discover", "--version", "-h", "nonsense", ""]
TOKENS = ["--catalog", "checks", "--format", "json", "tree", "--profile", "embedded", "--month", "2026-10",
          "2026-13", "--links", "zz11", "--depth", "diff", "count", "--json", "--table", "fp_fpxx", "--key", "id",
          "--where", "1=1; drop", "sqlite:///nowhere/x.db", "list", "show", "1", "--store", "--replay-spool",
          "analyse", "write", "--out", "=", "-", "--", "x'y", "名", "\x00"]
argv_lists = st.tuples(st.sampled_from(COMMANDS), st.lists(st.sampled_from(TOKENS) | st.text(max_size=8), max_size=6))


@pytest.fixture(scope="module")
def sandbox_dir():
    folder = Path(tempfile.mkdtemp(prefix="svrel-cli-"))
    (folder / "checks").symlink_to(ROOT / "checks")
    (folder / "connections").symlink_to(ROOT / "connections")
    yield folder
    shutil.rmtree(folder)


@fuzz(60)
@given(argv=argv_lists)
def test_cli_argument_handling(argv, sandbox_dir, monkeypatch_module):
    args = [a for a in [argv[0], *argv[1]] if a != ""]
    if "\x00" in "".join(args):
        args = [a.replace("\x00", "") for a in args]
    err, out = io.StringIO(), io.StringIO()
    with contextlib.redirect_stderr(err), contextlib.redirect_stdout(out):
        try:
            code = main(args)
        except SystemExit as exc:        # argparse: --help, --version, a usage error
            code = exc.code
    assert code in (0, 1, 2), (args, code, err.getvalue()[-500:])
    assert "Traceback" not in err.getvalue() and "Traceback" not in out.getvalue(), args
    if code == 2 and err.getvalue():
        assert err.getvalue().strip().split("\n")[-1].startswith(("syncverify: error:", "usage:", "syncverify "))


@pytest.fixture(scope="module")
def monkeypatch_module(sandbox_dir):
    mp = pytest.MonkeyPatch()
    mp.chdir(sandbox_dir)
    mp.setenv("SYNCVERIFY_HOME", str(sandbox_dir / "home"))
    mp.setenv("SYNCVERIFY_STORE_URL", f"sqlite:///{sandbox_dir / 'home' / 'results.sqlite'}")
    yield mp
    mp.undo()
