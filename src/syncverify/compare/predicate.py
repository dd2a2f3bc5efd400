"""Validation of free SQL predicates (``--where``, routing predicates, window filters).

A predicate is spliced into the WHERE clause of read-only queries, so it must be one boolean
expression: no statement separator, no comment that could hide the rest of the query, no
data-changing keyword, balanced quotes and parentheses. (The catalog's structured predicates are
compiled to SQL with quoted names and are valid by construction.)
"""

from __future__ import annotations

import re

from syncverify.errors import PredicateError

_FORBIDDEN = frozenset([
    "insert", "update", "delete", "merge", "upsert", "drop", "alter", "create", "truncate",
    "rename", "grant", "revoke", "call", "exec", "execute", "copy", "load", "into", "outfile",
    "dumpfile", "handler", "lock", "unlock", "commit", "rollback", "savepoint", "begin", "declare",
    "prepare", "deallocate", "sleep", "pg_sleep", "benchmark",
])
_WORD = re.compile(r"[A-Za-z_][A-Za-z_0-9$]*")


def _strip_literals(sql: str, label: str) -> str:
    """The predicate with the contents of quoted strings and identifiers blanked out."""
    out: list[str] = []
    i, n = 0, len(sql)
    while i < n:
        ch = sql[i]
        if ch in "'\"`":
            j = i + 1
            while True:
                if j >= n:
                    raise PredicateError(f"{label}: unbalanced {ch} quote")
                if sql[j] == ch:
                    if j + 1 < n and sql[j + 1] == ch:   # doubled quote inside the literal
                        j += 2
                        continue
                    break
                if sql[j] == "\\" and ch == "'":
                    raise PredicateError(f"{label}: backslash escapes are not allowed in string literals")
                j += 1
            out.append(ch + " " * (j - i - 1) + ch)
            i = j + 1
        else:
            out.append(ch)
            i += 1
    return "".join(out)


def validate_predicate(sql: str | None, label: str = "predicate") -> str | None:
    """Return the predicate (stripped) if it is one safe boolean expression; else raise
    :class:`~syncverify.errors.PredicateError` naming ``label`` and what is wrong."""
    if sql is None:
        return None
    text = sql.strip()
    if not text:
        return None
    if len(text) > 4000:
        raise PredicateError(f"{label}: longer than 4000 characters")
    bare = _strip_literals(text, label)
    if ";" in bare:
        raise PredicateError(f"{label}: ';' is not allowed (one boolean expression only)")
    if "--" in bare or "/*" in bare or "*/" in bare or "#" in bare:
        raise PredicateError(f"{label}: comments are not allowed")
    depth = 0
    for ch in bare:
        depth += (ch == "(") - (ch == ")")
        if depth < 0:
            raise PredicateError(f"{label}: unbalanced parentheses")
    if depth:
        raise PredicateError(f"{label}: unbalanced parentheses")
    for word in _WORD.findall(bare):
        if word.lower() in _FORBIDDEN:
            raise PredicateError(f"{label}: keyword {word.upper()} is not allowed in a predicate")
    return text
