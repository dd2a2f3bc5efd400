"""Reading the log files into aggregates, in this process alone or with spawned helpers.

Files are parsed chunk by chunk and folded into an :class:`~syncverify.synclog.aggregate.Aggregator`
at once, so memory does not grow with the logs. With helpers, every process takes files from one
shared queue (largest first) and the partial aggregates merge into exactly the result of one
process: aggregation does not depend on who read what, and parse statistics are kept per file and
merged in input order.
"""

from __future__ import annotations

import contextlib
import multiprocessing
import os
from collections.abc import Callable, Sequence
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path
from queue import Empty
from typing import Any

from syncverify.synclog.aggregate import Aggregator
from syncverify.synclog.formats import LogFormats
from syncverify.synclog.parsers.reading import iter_events
from syncverify.synclog.parsers.stats import ParseStats

Task = tuple[int, str]  # (position of the file in the input, path)

_TASKS: Any = None  # a worker process's task queue (set by _init_worker)


def _aggregate_file(agg: Aggregator, index: int, path: str, formats: LogFormats, time_range: tuple[int, int]) -> ParseStats:
    stats = ParseStats()
    for batch in iter_events([path], formats, stats, time_range):
        agg.add(batch, index)
    return stats


def _drain(
    next_task: Callable[[], Task | None], formats: LogFormats, time_range: tuple[int, int]
) -> tuple[Aggregator, dict[int, ParseStats]]:
    """Aggregate files until there are no more tasks; parse statistics are kept per file so
    that they merge in input order (the first samples of each reason are those of the first
    files, whichever process read them)."""
    agg = Aggregator(time_range)
    stats: dict[int, ParseStats] = {}
    while (task := next_task()) is not None:
        index, path = task
        stats[index] = _aggregate_file(agg, index, path, formats, time_range)
    agg.trim()
    return agg, stats


def _init_worker(tasks: Any) -> None:
    global _TASKS
    _TASKS = tasks


def _worker(formats: LogFormats, time_range: tuple[int, int]) -> tuple[Aggregator, dict[int, ParseStats]]:
    return _drain(_TASKS.get, formats, time_range)


def _merge_stats(into: ParseStats, other: ParseStats) -> None:
    for name in ("lines", "bytes", "events", "blank", "other_events", "out_of_range"):
        setattr(into, name, getattr(into, name) + getattr(other, name))
    for reason, count in other.malformed.items():
        into.add_malformed(reason, count, other.samples.get(reason, []))
    for enc, count in other.encodings.items():
        into.add_encoding(enc, count)
    into.files.extend(other.files)
    into.warnings.extend(other.warnings)


def _read_size(path: Path) -> int:
    """Bytes to parse: the uncompressed size of a gzip file (its trailer holds it modulo 2**32)."""
    size = path.stat().st_size
    try:
        with open(path, "rb") as fh:
            if fh.read(2) != b"\x1f\x8b" or size < 18:
                return size
            fh.seek(-4, os.SEEK_END)
            isize = int.from_bytes(fh.read(4), "little")
    except OSError:
        return size
    return isize if isize >= size else 4 * size


def read_logs(
    paths: Sequence[Path], formats: LogFormats, time_range: tuple[int, int], workers: int | None = None
) -> tuple[Aggregator, ParseStats]:
    """Parse and aggregate files. With ``workers`` > 1, this process and ``workers - 1`` spawned
    ones take files from a shared queue, largest first, so that they finish together whatever
    the mix of sizes and compression; their partial aggregates merge into exactly the result of
    one process (aggregation does not depend on who read what)."""
    sizes = [_read_size(p) for p in paths]
    if workers is None:
        workers = min(2, os.cpu_count() or 1) if sum(sizes) > (256 << 20) else 1
    workers = max(1, min(workers, len(paths)))
    tasks = [(i, str(p)) for i, p in enumerate(paths)]
    if workers == 1:
        pending = iter(tasks)
        agg, per_file = _drain(lambda: next(pending, None), formats, time_range)
    else:
        agg, per_file = _read_in_parallel(tasks, sizes, workers, formats, time_range)
    stats = ParseStats()
    for index in sorted(per_file):
        _merge_stats(stats, per_file[index])
    return agg, stats


def _cancel(queue: Any, helpers: int) -> None:
    """Drop the files nobody has started, so that the helpers stop after their current one."""
    with contextlib.suppress(Empty):
        while True:
            queue.get_nowait()
    for _ in range(helpers):
        queue.put(None)


def _read_in_parallel(
    tasks: list[Task], sizes: list[int], workers: int, formats: LogFormats, time_range: tuple[int, int]
) -> tuple[Aggregator, dict[int, ParseStats]]:
    ctx = multiprocessing.get_context("spawn")  # no fork: pyarrow's thread pools do not survive it
    queue = ctx.Queue()
    for task in sorted(tasks, key=lambda t: -sizes[t[0]]):
        queue.put(task)
    for _ in range(workers):
        queue.put(None)  # one end mark per reader, this process included
    with ProcessPoolExecutor(workers - 1, mp_context=ctx, initializer=_init_worker, initargs=(queue,)) as pool:
        # the helpers start (import) while this process already reads
        futures = [pool.submit(_worker, formats, time_range) for _ in range(workers - 1)]
        try:
            agg, per_file = _drain(queue.get, formats, time_range)
        except BaseException:
            _cancel(queue, workers - 1)
            raise
        for future in futures:
            part, part_stats = future.result()
            agg.merge(part)
            per_file.update(part_stats)
    return agg, per_file
