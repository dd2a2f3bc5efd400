"""Log files: which files to read (symbolic links refused), opening gzip by its magic bytes, and
reading them in chunks of whole lines with over-long lines cut out (memory stays bounded)."""

from __future__ import annotations

import gzip
import io
import os
import zlib
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from syncverify.synclog.formats import LogInputError
from syncverify.synclog.parsers.stats import SAMPLE_CHARS

CHUNK_BYTES = 4 << 20
# No log line is longer than this: a longer one is counted as malformed (``line_too_long``) and
# only its first bytes are kept, so one pathological line (a 1 GB line in a 4 MB gzip) cannot
# make the reader hold or re-copy it (measured before the cap: 110 s, 2.1 GB, then MemoryError).
MAX_LINE_BYTES = 64 << 10
_HEAD_BYTES = 4 * SAMPLE_CHARS

SYMLINK_SKIPPED = "symbolic link: not followed, skipped"


def open_log(path: Path) -> tuple[io.BufferedIOBase, bool]:
    """Open a log file for reading bytes; gzip is recognised by its magic number, not its name.

    A symbolic link is refused (``O_NOFOLLOW``), also one swapped in after the folder was listed:
    a link planted in a log folder must not make the analysis read (and sample) another file.
    """
    fd = os.open(path, os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0))
    fh = os.fdopen(fd, "rb")  # returned to the caller, who closes it
    magic = fh.read(2)
    fh.seek(0)
    if magic == b"\x1f\x8b":
        return gzip.GzipFile(fileobj=fh, mode="rb"), True
    return fh, False


@dataclass
class LongLine:
    """A line over :data:`MAX_LINE_BYTES`, replaced by an empty line in its chunk."""

    line: int  # index of the line in its chunk
    length: int  # bytes (at least; a line cut by the end of the file counts what was read)
    head: bytes  # its first bytes, for the masked sample


def iter_chunks(
    fh: io.BufferedIOBase, size: int = CHUNK_BYTES, max_line: int = MAX_LINE_BYTES
) -> Iterator[tuple[bytes, list[LongLine]]]:
    """Chunks of whole lines (the last one may lack its newline), each with the over-long lines
    that were cut out of it.

    A partial line is carried over at most until it exceeds ``max_line``; then the rest of it is
    skipped up to its newline without being kept, and it becomes an empty line of the next chunk
    (so line numbers stay right). Memory is bounded by ``size + max_line`` whatever the input.
    """
    rest = b""
    skipping: LongLine | None = None
    blocks = _blocks(fh, size)
    while True:
        block = next(blocks, b"")
        if not block:
            if skipping is not None:
                yield b"\n", [skipping]
            elif rest:
                yield rest, []
            return
        found: list[LongLine] = []
        if skipping is not None:
            nl = block.find(b"\n")
            if nl < 0:
                skipping.length += len(block)
                continue
            skipping.length += nl
            found, skipping = [skipping], None
            block = block[nl:]  # starts with the newline that ends the skipped (now empty) line
        block = rest + block if rest else block
        cut = block.rfind(b"\n")
        if cut < 0:
            if len(block) > max_line:
                skipping, rest = LongLine(0, len(block), block[:_HEAD_BYTES]), b""
            else:
                rest = block
            continue
        rest = block[cut + 1 :]
        yield block[: cut + 1], found


def _blocks(fh: io.BufferedIOBase, size: int) -> Iterator[bytes]:
    """Blocks of about ``size`` bytes. From gzip, decompressed pieces are gathered with
    ``read1`` so that a stream cut short (a rotated file still being written) first gives what
    it decompressed, then its error — ``read(size)`` would drop up to ``size`` bytes with it."""
    if not isinstance(fh, gzip.GzipFile):
        while block := fh.read(size):
            yield block
        return
    parts: list[bytes] = []
    have = 0
    try:
        while piece := fh.read1(size - have):
            parts.append(piece)
            have += len(piece)
            if have >= size:
                yield b"".join(parts)
                parts, have = [], 0
    except (OSError, EOFError, zlib.error):
        if parts:
            yield b"".join(parts)
        raise
    if parts:
        yield b"".join(parts)


def cut_long_lines(buf: bytes, starts: np.ndarray, ends: np.ndarray, max_line: int) -> tuple[bytes, list[LongLine]]:
    """``buf`` with every line over ``max_line`` emptied (its newline kept), and those lines."""
    long_idx = np.flatnonzero(ends - starts > max_line)
    if not len(long_idx):
        return buf, []
    parts, found, prev = [], [], 0
    for i in long_idx:
        s, e = int(starts[i]), int(ends[i])
        parts.append(buf[prev:s])
        found.append(LongLine(int(i), e - s, buf[s : s + _HEAD_BYTES]))
        prev = e
    parts.append(buf[prev:])
    return b"".join(parts), found


def _walk(folder: Path, skipped: list[Path]) -> Iterator[Path]:
    """Regular files under ``folder``; symbolic links (to files or folders) are not followed."""
    for root, dirs, files in os.walk(folder, followlinks=False):
        base = Path(root)
        for name in list(dirs):
            if (base / name).is_symlink():
                skipped.append(base / name)
                dirs.remove(name)
        for name in files:
            f = base / name
            if f.is_symlink():
                skipped.append(f)
            elif f.is_file():
                yield f


def expand_paths(paths: str | Path | Iterable[str | Path], skipped: list[Path] | None = None) -> list[Path]:
    """Files under directories (recursively) and files given directly, sorted by name.

    Symbolic links are not followed — neither a linked file nor a linked folder inside the tree,
    nor a linked file given directly — and are appended to ``skipped`` instead: a link planted in
    a log folder would otherwise have the analysis read, and quote, any file the user can read.
    A folder given directly may itself be a link (``/var/log/dsg`` -> a data disk).
    """
    items = [paths] if isinstance(paths, (str, Path)) else list(paths)
    out: list[Path] = []
    links: list[Path] = [] if skipped is None else skipped
    for item in items:
        p = Path(item)
        if p.is_dir():
            out.extend(sorted(_walk(p, links)))
        elif p.is_symlink():
            links.append(p)
        elif p.is_file():
            out.append(p)
        else:
            raise LogInputError(f"log path not found: {p}")
    return out
