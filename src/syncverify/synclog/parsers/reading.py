"""Files -> event batches: each file read by the parser of its log source, chunk by chunk; an
unreadable file is recorded and skipped, never fatal."""

from __future__ import annotations

import errno
import zlib
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pyarrow as pa

from syncverify.masking import mask_text
from syncverify.synclog.formats import LogFormats, LogSource
from syncverify.synclog.parsers.chunk import Chunk, empty_batch
from syncverify.synclog.parsers.files import (
    CHUNK_BYTES,
    MAX_LINE_BYTES,
    SYMLINK_SKIPPED,
    LongLine,
    cut_long_lines,
    expand_paths,
    iter_chunks,
    open_log,
)
from syncverify.synclog.parsers.jsonl import parse_jsonl
from syncverify.synclog.parsers.keyvalue import parse_keyvalue
from syncverify.synclog.parsers.regex import parse_regex
from syncverify.synclog.parsers.stats import SAMPLES_PER_REASON, FileStats, ParseStats, sample_text


@dataclass
class ParsedLogs:
    """All events of some files in one table (small inputs; :func:`iter_events` streams)."""

    events: pa.Table
    stats: ParseStats


_PARSERS = {"keyvalue": parse_keyvalue, "regex": parse_regex, "jsonl": parse_jsonl}


def iter_file_events(
    path: Path,
    source: LogSource,
    stats: ParseStats,
    time_range: tuple[int, int] | None = None,
    chunk_bytes: int = CHUNK_BYTES,
    max_line: int = MAX_LINE_BYTES,
) -> Iterator[pa.Table]:
    """Event batches of one file; an unreadable file is recorded in ``stats`` and skipped.

    A bad gzip header, a gzip cut short, a read error or a symbolic link ends this file only:
    what was read is kept, the file is named in ``stats.warnings`` and the next file is read.
    Lines over ``max_line`` bytes are counted as ``line_too_long`` and never held whole.
    """
    fstats = FileStats(str(path), source.name, False)
    stats.files.append(fstats)
    parser = _PARSERS[source.kind]
    link_default = source.link_for_path(path)
    try:
        fh, fstats.compressed = open_log(path)
        with fh:
            for buf, long_lines in iter_chunks(fh, chunk_bytes, max_line):
                ch = Chunk(buf, path, fstats.lines, stats)
                if ch.n and int((ch.ends - ch.starts).max()) > max_line:
                    buf, more = cut_long_lines(buf, ch.starts, ch.ends, max_line)
                    long_lines = long_lines + more
                    ch = Chunk(buf, path, fstats.lines, stats)
                fstats.bytes += len(buf)
                fstats.lines += ch.n
                stats.bytes += len(buf)
                stats.lines += ch.n
                batch = parser(ch, source, link_default, time_range)
                if long_lines:
                    _count_long_lines(ch, long_lines, max_line)
                if batch.num_rows:
                    yield batch
    except (OSError, EOFError, zlib.error) as exc:
        # e.g. a gzip file cut short by rotation or with a broken header (zlib "Error -3"):
        # keep what was read, name the file, go on with the next one
        if isinstance(exc, OSError) and exc.errno == errno.ELOOP:
            fstats.error = SYMLINK_SKIPPED
        else:
            fstats.error = f"{type(exc).__name__}: {mask_text(str(exc))}"
        stats.add_malformed("unreadable_file", 1, [f"{path.name}: {fstats.error}"])
        stats.warnings.append(f"{path}: {fstats.error}" + (f" (after {fstats.lines} lines)" if fstats.lines else ""))


def _count_long_lines(ch: Chunk, long_lines: list[LongLine], max_line: int) -> None:
    """Over-long lines are malformed, not blank (the parser saw them as empty lines)."""
    ch.stats.blank -= len(long_lines)
    ch.stats.add_malformed("line_too_long", len(long_lines), (
        f"{ch.path.name}:{ch.first_line + ll.line + 1}: {sample_text(ll.head)} "
        f"({ll.length} bytes; the limit is {max_line})" for ll in long_lines[:SAMPLES_PER_REASON]))


def iter_events(
    paths: str | Path | Iterable[str | Path],
    formats: LogFormats,
    stats: ParseStats,
    time_range: tuple[int, int] | None = None,
    chunk_bytes: int = CHUNK_BYTES,
) -> Iterator[pa.Table]:
    """Stream event batches of every file; files no source matches are listed in ``stats``,
    symbolic links are named in ``stats.warnings`` and skipped."""
    skipped: list[Path] = []
    found = expand_paths(paths, skipped)
    for link in skipped:
        stats.skip_file(link, SYMLINK_SKIPPED)
    for path in found:
        source = formats.source_for(path)
        if source is None:
            stats.files.append(FileStats(str(path), None, False, error="no log source matches this file"))
            continue
        yield from iter_file_events(path, source, stats, time_range, chunk_bytes)


def parse_files(
    paths: str | Path | Iterable[str | Path], formats: LogFormats, time_range: tuple[int, int] | None = None
) -> ParsedLogs:
    """Parse files (or directories) into one event table and the parse statistics.

    Holds every event in memory: for a month of logs use :func:`syncverify.synclog.analyse`,
    which streams.
    """
    stats = ParseStats()
    batches = list(iter_events(paths, formats, stats, time_range))
    table = pa.concat_tables(batches) if batches else empty_batch()
    return ParsedLogs(table, stats)
