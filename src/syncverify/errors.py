"""Errors that name the thing that is wrong.

Every error syncverify raises on bad input derives from :class:`SyncverifyError`; the CLI turns
them into one line on stderr and exit status 2. Messages never contain a password: build them
with :func:`syncverify.masking.mask_url` when a URL is involved.
"""

from __future__ import annotations


class SyncverifyError(Exception):
    """Base class: a clear, user-facing message; no traceback is shown for it."""


class CatalogError(SyncverifyError):
    """The catalog (checks/*.yaml) is broken. Names the file, the entry and the field."""

    def __init__(self, message: str, *, file: str | None = None, entry: str | None = None,
                 field: str | None = None) -> None:
        self.file, self.entry, self.field, self.reason = file, entry, field, message
        where = ", ".join(
            f"{label} {value}" for label, value in
            (("file", file), ("entry", entry), ("field", field)) if value
        )
        super().__init__(f"catalog error ({where}): {message}" if where else f"catalog error: {message}")


class ConnectionConfigError(SyncverifyError):
    """A node has no usable connection, or a profile is malformed."""


class UnreachableError(SyncverifyError):
    """A database or broker could not be reached. The message carries the masked URL."""


class SchemaError(SyncverifyError):
    """A table or column named in the catalog or on the command line does not exist."""


class KeyNotUniqueError(SyncverifyError):
    """A declared key is not unique on one side (reported as a finding by the engine)."""


class PredicateError(SyncverifyError):
    """A routing or window predicate is not a single, safe boolean expression."""


class IdentifierError(SyncverifyError):
    """A table or column name that cannot be quoted safely."""
