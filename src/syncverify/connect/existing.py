"""Refuse to open a database that a connect would create.

Reading must never create anything: SQLite creates a missing file on connect, so
``syncverify diff sqlite:///nope.sqlite …`` used to compare against a new, empty database and
leave the file behind. The dialect knows whether its databases can be created by connecting
(:meth:`~syncverify.dialects.base.Dialect.missing_database`); this helper asks it before any
engine is made, so no caller branches on the database name.
"""

from __future__ import annotations

import sqlalchemy as sa

from syncverify.dialects import for_url
from syncverify.errors import UnreachableError
from syncverify.masking import mask_url


def require_existing(url: str) -> str:
    """``url`` itself when its database exists (or a server will say so on connect); else an
    :class:`UnreachableError` naming the database, before anything is created."""
    dialect = for_url(url)
    problem = dialect.missing_database(sa.engine.make_url(url))
    if problem:
        raise UnreachableError(f"cannot use database {mask_url(url)}: {problem} (nothing was created)")
    return url


__all__ = ["require_existing"]
