"""Sync-log reading on hostile files: a broken gzip or a symbolic link costs only that file (named
in the analysis), a pathological line costs bounded memory, and no sample shows a line unmasked."""

from __future__ import annotations

import gzip
import io
import time
import tracemalloc
import zlib
from pathlib import Path

import pytest

from syncverify.synclog.analysis import analyse
from syncverify.synclog.formats import load_formats
from syncverify.synclog.parallel import read_logs
from syncverify.synclog.parsers import ParseStats, parse_files
from syncverify.synclog.parsers.files import MAX_LINE_BYTES, SYMLINK_SKIPPED, expand_paths, iter_chunks
from syncverify.synclog.parsers.stats import sample_text

FORMATS = load_formats()
GOOD = (b"2026-10-09 09:31:02.117 [zz11] INFO APPLY table=FP_FPXX ins=120 upd=3 del=0 batch=123 "
        b"lag_ms=850 backlog=42\n")


def _good_log(path: Path, lines: int = 50) -> Path:
    path.write_bytes(GOOD * lines)
    return path


def _bad_header_gzip(path: Path) -> Path:
    """Valid gzip magic and header, then a deflate stream zlib rejects ("Error -3 ...")."""
    path.write_bytes(b"\x1f\x8b\x08\x00\x00\x00\x00\x00\x00\x03" + b"\xff" * 64)
    return path


def _truncated_gzip(path: Path) -> Path:
    data = gzip.compress(GOOD * 2000)
    path.write_bytes(data[: len(data) // 2])
    return path


def test_bad_gzip_header_is_named_and_the_rest_is_analysed(tmp_path: Path) -> None:
    logs = tmp_path / "logs"
    logs.mkdir()
    bad = _bad_header_gzip(logs / "dsg-zz11.log.2.gz")
    _good_log(logs / "dsg-zz11.log")
    with pytest.raises(zlib.error):          # what used to stop the whole analysis
        gzip.decompress(bad.read_bytes())
    result = analyse(logs, "2026-10", FORMATS, workers=1)
    st = result.parse_stats
    assert st.events == 50                    # the good file was analysed
    assert any(w.startswith(str(bad)) and "Error -3" in w for w in st.warnings), st.warnings
    assert st.malformed["unreadable_file"] == 1
    assert next(f.error or "" for f in st.files if f.path == str(bad)).startswith("error: Error -3")
    assert st.to_dict()["warnings"] == st.warnings


def test_truncated_gzip_keeps_what_was_read_and_is_named(tmp_path: Path) -> None:
    cut = _truncated_gzip(tmp_path / "dsg-zz11.log.1.gz")
    parsed = parse_files(cut, FORMATS)
    assert 0 < parsed.stats.events < 2000
    assert len(parsed.stats.warnings) == 1 and str(cut) in parsed.stats.warnings[0]
    assert "EOFError" in parsed.stats.warnings[0]


def test_unreadable_file_is_named(tmp_path: Path) -> None:
    locked = _good_log(tmp_path / "dsg-zz11.log")
    locked.chmod(0)
    try:
        try:
            locked.read_bytes()
            pytest.skip("running as a user who can read mode-000 files")
        except PermissionError:
            pass
        parsed = parse_files(locked, FORMATS)
        assert parsed.stats.events == 0
        assert "PermissionError" in parsed.stats.warnings[0] and str(locked) in parsed.stats.warnings[0]
    finally:
        locked.chmod(0o600)


def test_parallel_readers_name_the_bad_file_too(tmp_path: Path) -> None:
    bad = _bad_header_gzip(tmp_path / "dsg-zz11.log.2.gz")
    good = _good_log(tmp_path / "dsg-zz11.log")
    from syncverify.synclog.timebase import month_range_ms

    _agg, stats = read_logs([bad, good], FORMATS, month_range_ms("2026-10"), workers=2)
    assert stats.events == 50
    assert len(stats.warnings) == 1 and str(bad) in stats.warnings[0]


def test_one_huge_gzipped_line_costs_bounded_memory_and_time(tmp_path: Path) -> None:
    """64 MB in one line (a 64 kB gzip): counted as too long, never held whole."""
    huge = tmp_path / "dsg-zz11.log.1.gz"
    with gzip.open(huge, "wb", compresslevel=1) as fh:
        fh.write(GOOD * 3)
        block = b"x" * (1 << 20)
        for _ in range(64):
            fh.write(block)
        fh.write(b"\n" + GOOD * 3)
    tracemalloc.start()
    started = time.perf_counter()
    try:
        parsed = parse_files(huge, FORMATS)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    elapsed = time.perf_counter() - started
    st = parsed.stats
    assert st.malformed == {"line_too_long": 1}
    assert st.events == 6 and st.lines == 7
    assert st.events + st.malformed_total + st.blank == st.lines
    assert peak < 24 << 20, peak          # chunk (4 MB) + cap, not 64 MB
    assert elapsed < 20, elapsed
    sample = st.samples["line_too_long"][0]
    assert sample.startswith("dsg-zz11.log.1.gz:4: ") and "bytes; the limit is" in sample
    assert len(sample) < 400


def test_long_line_inside_a_chunk_is_counted_and_line_numbers_stay(tmp_path: Path) -> None:
    log = tmp_path / "dsg-zz11.log"
    log.write_bytes(GOOD + b"2026-10-09 09:31:02.117 [zz11] INFO APPLY msg=" + b"y" * (MAX_LINE_BYTES + 10) + b"\n"
                    + b"garbage\n" + GOOD)
    st = parse_files(log, FORMATS).stats
    assert st.malformed["line_too_long"] == 1
    assert st.samples["line_too_long"][0].startswith("dsg-zz11.log:2: ")
    others = [s for reason, samples in st.samples.items() if reason != "line_too_long" for s in samples]
    assert [s[:16] for s in others] == ["dsg-zz11.log:3: "]    # the line after it keeps its number
    assert st.events == 2 and st.lines == 4


def test_iter_chunks_never_carries_more_than_the_cap() -> None:
    data = b"a\n" + b"z" * 5000 + b"\nb\n" + b"q" * 3000          # the last long line has no newline
    chunks = list(iter_chunks(io.BytesIO(data), size=256, max_line=1000))
    text = b"".join(c for c, _ in chunks)
    assert text == b"a\n\nb\n\n"
    longs = [ll for _, lls in chunks for ll in lls]
    assert [ll.length for ll in longs] == [5000, 3000]
    assert all(len(ll.head) <= 800 for ll in longs)


def test_symlinks_are_skipped_and_named_never_read(tmp_path: Path) -> None:
    secret = tmp_path / "secret.txt"
    secret.write_text("root:SECRET-FIRST-LINE-91450100MA5K8X2Q3D\n")
    logs = tmp_path / "logs"
    (logs / "sub").mkdir(parents=True)
    _good_log(logs / "dsg-zz11.log")
    (logs / "dsg-zz04.log").symlink_to(secret)
    (logs / "linked-dir").symlink_to(tmp_path)          # a folder link: not walked either
    skipped: list[Path] = []
    assert expand_paths(logs, skipped) == [logs / "dsg-zz11.log"]
    assert sorted(skipped) == [logs / "dsg-zz04.log", logs / "linked-dir"]

    result = analyse(logs, "2026-10", FORMATS, workers=1)
    text = str(result.to_dict())
    assert "SECRET-FIRST-LINE" not in text
    assert f"{logs / 'dsg-zz04.log'}: {SYMLINK_SKIPPED}" in result.parse_stats.warnings
    # a link given directly is refused too
    direct = parse_files(logs / "dsg-zz04.log", FORMATS)
    assert direct.stats.events == 0 and "SECRET" not in str(direct.stats.to_dict())
    assert direct.stats.warnings == [f"{logs / 'dsg-zz04.log'}: {SYMLINK_SKIPPED}"]


def test_open_refuses_a_link_swapped_in_after_listing(tmp_path: Path) -> None:
    from syncverify.synclog.parsers import iter_file_events

    secret = tmp_path / "secret.txt"
    secret.write_text("SECRET-LINE\n")
    link = tmp_path / "dsg-zz11.log"
    link.symlink_to(secret)
    stats = ParseStats()
    source = FORMATS.source_for(link)
    assert source is not None
    assert list(iter_file_events(link, source, stats)) == []
    assert stats.files[0].error == SYMLINK_SKIPPED and "SECRET" not in str(stats.to_dict())


def test_samples_are_masked_and_cut() -> None:
    line = b"oops postgresql://sv:Hunter2pw@db/x taxpayer 91450100MA5K8X2Q3D " + b"w" * 5000
    text = sample_text(line)
    assert "Hunter2pw" not in text and "91450100MA5K8X2Q3D" not in text
    assert text.endswith("…") and len(text) <= 201


def test_malformed_samples_mask_url_passwords(tmp_path: Path) -> None:
    log = tmp_path / "dsg-zz11.log"
    log.write_bytes(b"not a log line mysql://u:TopSecretPw@h/db\n")
    st = parse_files(log, FORMATS).stats
    assert st.malformed_total == 1
    assert "TopSecretPw" not in str(st.to_dict())
