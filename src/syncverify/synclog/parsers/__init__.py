"""Log lines -> event batches (Arrow tables), streaming over gzip and rotated files.

Files are read in chunks of whole lines, so memory stays flat whatever the file size. A line that
cannot be parsed is counted under a reason with a few masked samples, never fatal. One module per
log format family: ``keyvalue`` (numpy over raw bytes, the fast path), ``regex`` (RE2 through
``pyarrow.compute.extract_regex``) and ``jsonl`` (``pyarrow.json`` with a per-line fallback); the
last two share :mod:`.fields`. Around them: :mod:`.files` (which files, chunks of whole lines),
:mod:`.chunk` (a chunk being parsed, the event batch), :mod:`.stats` (what was read) and
:mod:`.reading` (files -> batches).

Every event batch has the columns of :data:`~.chunk.EVENT_SCHEMA`; text columns are raw bytes
(decoded only when they reach the report, with a UTF-8 then GBK fallback).
"""

from typing import TYPE_CHECKING

from syncverify.lazyexports import lazy_exports

if TYPE_CHECKING:
    from syncverify.synclog.parsers.reading import ParsedLogs, iter_events, iter_file_events, parse_files
    from syncverify.synclog.parsers.stats import FileStats, ParseStats

__all__ = ["FileStats", "ParseStats", "ParsedLogs", "iter_events", "iter_file_events", "parse_files"]

# Imported on first use: ``ParseStats`` (for the analysis model) does not need the parsers loaded.
__getattr__ = lazy_exports(__name__)
