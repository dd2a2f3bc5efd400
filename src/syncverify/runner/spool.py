"""A local append-only spool of results, written before the store.

If the results store is unavailable at the end of a run, nothing is lost: every result is already
in ``$SYNCVERIFY_HOME/spool/<run_id>.jsonl`` and ``syncverify run --replay-spool`` writes it to
the store when it is back. A spool file is removed once all of its results are stored.

Results carry taxpayer ids and names: the spool folder is created owner-only and each spool
file 0600 whatever the umask, opened with ``O_NOFOLLOW`` (a symbolic link put in its place is
refused, not followed).
"""

from __future__ import annotations

import json
import os
import threading
from pathlib import Path

from syncverify.results import CheckResult
from syncverify.safefiles import open_append, private_dir
from syncverify.store import home


class Spool:
    def __init__(self, run_id: str, directory: Path | None = None) -> None:
        self.directory = directory or home() / "spool"
        private_dir(self.directory)
        self.path = self.directory / f"{run_id}.jsonl"
        self._lock = threading.Lock()

    def append(self, result: CheckResult) -> None:
        line = json.dumps(result.to_dict(), ensure_ascii=False, default=str)
        with self._lock, os.fdopen(open_append(self.path), "a", encoding="utf-8") as fh:
            fh.write(line + "\n")
            fh.flush()

    def read(self) -> list[CheckResult]:
        if not self.path.exists():
            return []
        out = []
        for line in self.path.read_text(encoding="utf-8").splitlines():
            if line.strip():
                out.append(CheckResult.from_dict(json.loads(line)))
        return out

    def discard(self) -> None:
        self.path.unlink(missing_ok=True)

    @classmethod
    def pending(cls, directory: Path | None = None) -> list[Spool]:
        folder = directory or home() / "spool"
        if not folder.is_dir():
            return []
        return [cls(p.stem, folder) for p in sorted(folder.glob("*.jsonl"))]
