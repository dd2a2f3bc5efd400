"""Re-verification of a ticket: its keys row by row, and its check re-run, inside the databases.

Only the ticket's differing keys are looked up, on both sides, in chunks, with the comparison
engine (:mod:`syncverify.compare`, the engine behind ``syncverify diff`` and the runs): the same
columns, routing predicate, target scope and equality rules as the check that raised the ticket.
A key is consistent when it is absent on both sides or present once on each with equal values.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any

import sqlalchemy as sa

from syncverify.catalog import Catalog, LinkCheck
from syncverify.catalog.table_refs import check_refs
from syncverify.results import Key
from syncverify.store.models import Ticket
from syncverify.tickets.evidence import differing_keys
from syncverify.tickets.keyrows import (
    canon_key,
    fetch_by_keys,
    find_link_check,
    rows_equal,
    sides,
    typed_key,
)

EngineForNode = Callable[[str], sa.Engine]
NULL_KEY_TEXT = "<NULL>"      # how the engine writes a NULL key part (syncverify.compare.engine)


def _internal(key: Key) -> tuple[str | None, ...]:
    parts = key if isinstance(key, tuple) else (key,)
    return tuple(None if p == NULL_KEY_TEXT else str(p) for p in parts)


def keys_consistent(ticket: Ticket, catalog: Catalog, source_engine: sa.Engine,
                    target_engine: sa.Engine) -> bool | None:
    """True if every key of the ticket now matches; None if the ticket has no row keys.

    A key matches when it is absent on both sides (after routing and target scope) or present
    once on each side with equal values. The comparison engine looks the keys up and compares
    the row hashes inside the databases; without it (an older install), the rows of the keys
    are compared here (:mod:`syncverify.tickets.keyrows`).
    """
    keys = differing_keys(ticket.evidence)
    if not keys:
        return None
    check = find_link_check(catalog, ticket.link_id, ticket.table_name, ticket.source_node)
    try:
        from syncverify.compare.bucketdiff import DiffStats, Findings, classify, fetch_keys
        from syncverify.compare.plan import resolve
    except ImportError:
        return _keys_consistent_rows(check, keys, source_engine, target_engine)
    source, target, spec = check_refs(check, source_engine, target_engine)
    wanted = list(dict.fromkeys(_internal(k) for k in keys))
    src, tgt = fetch_keys(resolve(source, target, spec), wanted, DiffStats())
    agree = classify(src, tgt, Findings(cap=len(wanted)), only=set(wanted))
    return len(agree) == len(wanted)


def _keys_consistent_rows(check: LinkCheck, keys: list[Key], source_engine: sa.Engine,
                          target_engine: sa.Engine) -> bool:
    s = sides(check, source_engine, target_engine)
    src_keys = [typed_key(k, s.source_key) for k in keys]
    tgt_keys = [typed_key(k, s.target_key) for k in keys]
    src_rows = fetch_by_keys(source_engine, s.source, s.source_key, src_keys, [p[0] for p in s.compared],
                             s.routing)
    tgt_rows = fetch_by_keys(target_engine, s.target, s.target_key, tgt_keys, [p[1] for p in s.compared],
                             s.scope)
    for key in tgt_keys:
        ck = canon_key(key)
        src, tgt = src_rows.get(ck), tgt_rows.get(ck)
        if (src is None) != (tgt is None):
            return False
        if src is not None and tgt is not None and not rows_equal(src, tgt, s.compared):
            return False
    return True


def _check_window(ticket: Ticket) -> tuple[str, datetime | None, datetime | None]:
    """The kind and window of the check that raised the ticket (its most precise one)."""
    kind = (ticket.check_id or "diff").split("/")[0]
    entry = ((ticket.evidence or {}).get("checks") or {}).get(ticket.check_id) or {}

    def when(value: Any) -> datetime | None:
        return datetime.fromisoformat(value) if isinstance(value, str) and value else None
    return kind, when(entry.get("window_start")), when(entry.get("window_end"))


def scope_consistent(ticket: Ticket, catalog: Catalog, source_engine: sa.Engine,
                     target_engine: sa.Engine) -> bool | None:
    """Re-run the ticket's own check (same level, same link and table, same window) now.

    True when it finds nothing; None when the ticket's check is not a table comparison. Rows
    still in flight count as differences here: a repair is proved by data that is equal now.
    """
    from syncverify.compare import business_totals, checksum, count_rows, diff_tables

    kind, start, end = _check_window(ticket)
    runs = {"count": count_rows, "totals": business_totals, "checksum": checksum}
    if kind not in runs and kind not in ("diff", "kafka_keys"):
        return None
    check = find_link_check(catalog, ticket.link_id, ticket.table_name, ticket.source_node)
    window = (start, end) if start is not None and end is not None else None
    source, target, spec = check_refs(check, source_engine, target_engine, window=window)
    if kind == "totals" and not (spec.window_column and spec.totals):
        kind = "count"
    result = (runs[kind](source, target, spec, link_id=check.link.id) if kind in runs
              else diff_tables(source, target, spec, link_id=check.link.id))
    return not result.is_anomaly


def reverify_with_engines(ticket: Ticket, catalog: Catalog, engine_for_node: EngineForNode) -> bool | None:
    """The SLA watch's re-verification of a table-copy ticket: its own keys, row by row, AND its
    check re-run over its scope. Verified (True) only when both hold; False when either finds a
    difference; None when there is nothing to compare (not a table-copy ticket)."""
    if not ticket.link_id or not ticket.source_node or not ticket.target_node:
        return None
    if ticket.kind != "consistency":
        return None          # Kafka and quality findings: the next run's result decides
    return reverify_pair(ticket, catalog, engine_for_node(ticket.source_node), engine_for_node(ticket.target_node))


def reverify_pair(ticket: Ticket, catalog: Catalog, source_engine: sa.Engine,
                  target_engine: sa.Engine) -> bool | None:
    """:func:`reverify_with_engines` on engines already at hand (``tickets apply`` has them)."""
    keys_ok = (keys_consistent(ticket, catalog, source_engine, target_engine)
               if differing_keys(ticket.evidence) else None)
    if keys_ok is False:
        return False
    scope_ok = scope_consistent(ticket, catalog, source_engine, target_engine)
    if scope_ok is False:
        return False
    if scope_ok is None:
        return None          # the keys alone never prove a ticket: its check must agree
    return True


def reverifier(catalog: Catalog, engine_for_node: EngineForNode) -> Callable[[Ticket], bool | None]:
    """A ``reverify`` callable for :func:`syncverify.tickets.sla.sla_watch`."""
    return lambda ticket: reverify_with_engines(ticket, catalog, engine_for_node)
