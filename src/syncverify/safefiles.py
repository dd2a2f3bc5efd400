"""Writing files that hold data: owner-only modes, never through a symbolic link.

Results, spools and repair scripts carry taxpayer ids, names and row values; reports carry
masked data for a group of readers. Files are therefore created with an explicit mode that does
not depend on the umask (0600 for data, 0640 for reports), and a path that is a symbolic link is
refused: someone who can write the folder could otherwise point ``apply.sql`` at another file and
have it overwritten (or read) with our rights. Whole files are written to a temporary file in the
same folder and ``os.replace``-d into place (a rename never follows a link at the destination,
and readers never see half a file); append-only files are opened with ``O_NOFOLLOW``.
"""

from __future__ import annotations

import contextlib
import errno
import os
import tempfile
from pathlib import Path
from typing import Any

from syncverify.errors import SyncverifyError

PRIVATE_MODE = 0o600     # results store, spool, repair scripts and plans
REPORT_MODE = 0o640      # report files (HTML/JSON/MD/CSV/Parquet)
PRIVATE_DIR_MODE = 0o700
_NOFOLLOW = getattr(os, "O_NOFOLLOW", 0)
_CLOEXEC = getattr(os, "O_CLOEXEC", 0)


class UnsafePathError(SyncverifyError):
    """A data file would have been written through a symbolic link."""


def refuse_symlink(path: str | os.PathLike[str]) -> None:
    """Raise :class:`UnsafePathError` naming ``path`` when it is a symbolic link."""
    if os.path.islink(path):
        raise UnsafePathError(
            f"refusing to write {os.fspath(path)!r}: it is a symbolic link (to {os.readlink(path)!r}); "
            "remove it and write again")


def write_file(path: str | os.PathLike[str], data: str | bytes, mode: int = PRIVATE_MODE) -> Path:
    """Write ``data`` to ``path`` with exactly ``mode``: temporary file in the same folder, then
    ``os.replace``. A symbolic link at ``path`` is refused and left as it is (so is its target)."""
    target = Path(path)
    refuse_symlink(target)
    raw = data.encode("utf-8") if isinstance(data, str) else data
    fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=target.parent)
    try:
        os.fchmod(fd, mode)
        with os.fdopen(fd, "wb") as fh:
            fh.write(raw)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, target)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise
    return target


def open_append(path: str | os.PathLike[str], mode: int = PRIVATE_MODE) -> int:
    """A file descriptor appending to ``path`` (created with ``mode``); a symbolic link at
    ``path`` is refused. An existing file of ours that is readable by others is tightened."""
    try:
        fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT | _NOFOLLOW | _CLOEXEC, mode)
    except OSError as exc:
        if exc.errno == errno.ELOOP:
            refuse_symlink(path)
        raise
    _tighten(fd, mode)
    return fd


def _tighten(fd: int, mode: int) -> None:
    st = os.fstat(fd)
    if st.st_uid == os.geteuid() and (st.st_mode & 0o777) != mode:
        os.fchmod(fd, mode)


def private_dir(path: str | os.PathLike[str]) -> Path:
    """``mkdir -p`` whose new leaf folder is owner-only (existing folders are left alone)."""
    folder = Path(path)
    folder.mkdir(parents=True, exist_ok=True, mode=PRIVATE_DIR_MODE)
    return folder


def create_private_database_file(database: str | os.PathLike[str]) -> None:
    """Create a file database's file empty and 0600 before its driver opens it (SQLite would
    create it with the umask's mode, and its -wal/-shm copy that mode)."""
    path = Path(database)
    refuse_symlink(path)     # SQLite would follow it, also a dangling one, and create its target
    path.parent.mkdir(parents=True, exist_ok=True)
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | _NOFOLLOW | _CLOEXEC, PRIVATE_MODE)
    except FileExistsError:
        return
    try:
        os.fchmod(fd, PRIVATE_MODE)
    finally:
        os.close(fd)


def private_sqlite_sidecars(engine: Any) -> None:
    """After every new connection, give the database file's ``-wal``, ``-shm`` and ``-journal``
    companions the owner-only mode whatever the umask was (they hold the same data)."""
    from sqlalchemy import event

    def on_connect(dbapi_conn: Any, _record: Any) -> None:
        rows = dbapi_conn.execute("PRAGMA database_list").fetchall()
        for row in rows:
            if row[2]:
                tighten_sqlite_files(row[2])

    event.listen(engine, "connect", on_connect)


def tighten_sqlite_files(database: str | os.PathLike[str]) -> None:
    """chmod 0600 the database file and its sidecars, when they are ours and regular files."""
    for suffix in ("", "-wal", "-shm", "-journal"):
        candidate = f"{os.fspath(database)}{suffix}"
        try:
            st = os.lstat(candidate)
        except FileNotFoundError:
            continue
        if st.st_uid == os.geteuid() and (st.st_mode & 0o170000) == 0o100000 and st.st_mode & 0o077:
            with contextlib.suppress(OSError):
                os.chmod(candidate, PRIVATE_MODE)
