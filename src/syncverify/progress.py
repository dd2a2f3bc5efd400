"""Progress of long commands on stderr, for a person watching a terminal.

A monthly run takes minutes and one large ``diff`` half a minute, and nothing showed that they
were working. A bar (checks done / total) or a spinner (the current step) is drawn with rich on
stderr — never on stdout, which scripts read — and only when stderr is a terminal and the
command was not asked for ``--json``: logs, pipes and CI output stay exactly as before.
"""

from __future__ import annotations

import sys
from collections.abc import Iterator
from contextlib import contextmanager
from typing import IO

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, SpinnerColumn, TaskID, TextColumn, TimeElapsedColumn


def wanted(json_output: bool, stream: IO[str] | None = None) -> bool:
    """Draw progress only for a person: not under ``--json``, only on a terminal."""
    stream = stream if stream is not None else sys.stderr
    isatty = getattr(stream, "isatty", None)
    return not json_output and bool(isatty and isatty())


class Bar:
    """Steps of a command; a step with a total gets a bar, one without a spinner."""

    def __init__(self, progress: Progress | None) -> None:
        self._progress = progress
        self._task: TaskID | None = None

    def step(self, name: str, total: int | None = None) -> None:
        if self._progress is None:
            return
        if self._task is not None:
            self._progress.remove_task(self._task)
        self._task = self._progress.add_task(name.replace("_", " "), total=total)

    def advance(self, n: int = 1) -> None:
        if self._progress is not None and self._task is not None:
            self._progress.advance(self._task, n)


@contextmanager
def progress(enabled: bool, stream: IO[str] | None = None) -> Iterator[Bar]:
    """A :class:`Bar` that draws on ``stream`` (stderr) when ``enabled``, and does nothing
    otherwise; the drawing is removed when the command ends."""
    if not enabled:
        yield Bar(None)
        return
    console = Console(file=stream if stream is not None else sys.stderr, force_terminal=True)
    columns = (SpinnerColumn(), TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(),
               TimeElapsedColumn())
    with Progress(*columns, console=console, transient=True) as drawn:
        yield Bar(drawn)


__all__ = ["Bar", "progress", "wanted"]
