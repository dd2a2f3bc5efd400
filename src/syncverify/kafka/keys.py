"""Message keys: JSON paths into a message, and the canonical text both sides are compared by.

A key path is a dotted path into the decoded JSON value (``"fphm"``, ``"data.fphm"``); a
composite key is a list of paths (``["fpdm", "fphm"]``). The canonical text of a key value is the
comparison engine's (:mod:`syncverify.dialects.base`) for the kinds a key can have: text as it
is, integers as decimal digits, exact decimals without trailing zeros, timestamps as
``YYYY-MM-DD HH:MM:SS``, dates as ``YYYY-MM-DD``, bytes as upper-case hex. So a key read from a
message and the same key read from a database produce the same text whatever the column type.

Inside the reconciliation a key travels as one line of text: the parts are escaped
(backslash, tab, newline) and joined by tabs, which is injective, so encoded keys are compared
directly and decoded only for the capped samples in the result.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import date, datetime, time
from decimal import Decimal
from typing import Any

from syncverify.errors import SyncverifyError
from syncverify.results import Key


class KeyPathError(SyncverifyError):
    """A key path that is empty or malformed."""


KeyPaths = tuple[tuple[str, ...], ...]


def parse_key_paths(key_path: str | Sequence[str]) -> KeyPaths:
    """``"fphm"`` / ``"fpdm,fphm"`` / ``["fpdm", "data.fphm"]`` -> tuple of segment tuples."""
    parts = [p.strip() for p in key_path.split(",")] if isinstance(key_path, str) else list(key_path)
    if not parts:
        raise KeyPathError("a key path needs at least one field")
    out = []
    for part in parts:
        segments = tuple(part.split(".")) if isinstance(part, str) else ()
        if not segments or any(not s for s in segments):
            raise KeyPathError(f"key path {part!r} is empty or has an empty segment")
        out.append(segments)
    return tuple(out)


def canonical_text(value: Any) -> str | None:
    """The engine's canonical text of one key value; None for NULL / a missing field."""
    if value is None:
        return None
    if isinstance(value, str):
        return value
    if isinstance(value, bool):
        return "1" if value else "0"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        if value.is_integer():
            return str(int(value))
        return _decimal_text(Decimal(repr(value)))
    if isinstance(value, Decimal):
        return _decimal_text(value)
    if isinstance(value, datetime):
        return value.strftime("%Y-%m-%d %H:%M:%S")
    if isinstance(value, date):
        return value.strftime("%Y-%m-%d")
    if isinstance(value, time):
        return value.strftime("%H:%M:%S")
    if isinstance(value, bytes | bytearray | memoryview):
        return bytes(value).hex().upper()
    return str(value)


def _decimal_text(value: Decimal) -> str:
    text = format(value, "f")
    if "." in text:
        text = text.rstrip("0").rstrip(".")
    return "0" if text in ("-0", "") else text


def _lookup(message: Mapping[str, Any], segments: tuple[str, ...]) -> Any:
    node: Any = message
    for segment in segments:
        if not isinstance(node, Mapping):
            return None
        node = node.get(segment)
    return node


def message_key(message: Mapping[str, Any], paths: KeyPaths) -> str | None:
    """The encoded key of a decoded message; None when a key field is missing or null."""
    if len(paths) == 1:
        text = canonical_text(_lookup(message, paths[0]))
        return None if text is None else _escape(text)
    parts = []
    for segments in paths:
        text = canonical_text(_lookup(message, segments))
        if text is None:
            return None
        parts.append(_escape(text))
    return "\t".join(parts)


def row_key(values: Sequence[Any]) -> str | None:
    """The encoded key of a database row's key columns; None when one of them is NULL."""
    parts = []
    for value in values:
        text = canonical_text(value)
        if text is None:
            return None
        parts.append(_escape(text))
    return "\t".join(parts)


def _escape(text: str) -> str:
    if "\\" in text or "\t" in text or "\n" in text or "\r" in text:
        text = text.replace("\\", "\\\\").replace("\t", "\\t").replace("\n", "\\n").replace("\r", "\\r")
    return text


_UNESCAPE = {"\\": "\\", "t": "\t", "n": "\n", "r": "\r"}


def _unescape(text: str) -> str:
    if "\\" not in text:
        return text
    out, i = [], 0
    while i < len(text):
        ch = text[i]
        if ch == "\\" and i + 1 < len(text):
            out.append(_UNESCAPE.get(text[i + 1], text[i + 1]))
            i += 2
        else:
            out.append(ch)
            i += 1
    return "".join(out)


def decode_key(encoded: str, composite: bool) -> Key:
    """Encoded key -> the result's key form: a string, or a tuple of strings for a composite key."""
    if not composite:
        return _unescape(encoded)
    return tuple(_unescape(part) for part in encoded.split("\t"))
