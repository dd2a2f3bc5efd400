"""Propagate origin rows along the catalog's links: every copy is derived, none hand-written.

For each link check (link, table, source node) the target receives the source rows that match
the hop's routing predicate (after its column map), upserted by the table's key; a target fed by
several hops holds the union. The topology has cycles at node level (gx.kafka -> gx.query_db ->
hq.delivery_kafka -> ... -> hq.clearing_kafka -> gx.kafka) but not at row level, because the
routing rules partition the rows, so propagation is a worklist of changed keys run to a fixpoint:
each row crosses each hop it is routed over once, and a row is re-sent only when its value in the
source copy changed. Faults are applied by hooks on chosen hops while rows cross them, so a
fault shows exactly on its hop and every downstream copy copies the faulty copy.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from operator import itemgetter
from typing import Any

from syncverify.catalog import Catalog, LinkCheck
from syncverify.catalog.predicates import Group, Leaf, Predicate
from syncverify.errors import SyncverifyError
from syncverify.sandbox.generate import Origins, Row, columns

Key = tuple[Any, ...]
RowTest = Callable[[Row], bool]
# A fault hook on one hop: (routed rows, rows the routing rejected) -> (rows to deliver, duplicates).
Hook = Callable[[list[Row], list[Row]], tuple[list[Row], list[Row]]]

_MAX_BATCHES = 100_000


class PropagationError(SyncverifyError):
    """The catalog makes the sandbox's propagation impossible (unknown column, endless cycle)."""


@dataclass
class Copy:
    """One (node, table) copy: rows by key in arrival order, and what else a store must know."""

    node: str
    table: str
    rows: dict[Key, Row] = field(default_factory=dict)
    via: dict[Key, str] = field(default_factory=dict)       # key -> link check that last wrote it
    duplicates: list[Row] = field(default_factory=list)     # rows written a second time
    no_pk: bool = False                                      # created without its primary key


@dataclass
class State:
    copies: dict[tuple[str, str], Copy] = field(default_factory=dict)

    def copy(self, node: str, table: str) -> Copy:
        found = self.copies.get((node, table))
        if found is None:
            found = self.copies[(node, table)] = Copy(node, table)
        return found


def compile_predicate(pred: Predicate | None, table: str) -> RowTest:
    """The predicate as a function of a row tuple; same semantics as ``Predicate.matches``."""
    if pred is None:
        return lambda row: True
    index = {c: i for i, c in enumerate(columns(table))}

    def build(p: Predicate) -> RowTest:
        if isinstance(p, Group):
            if p.not_ is not None:
                inner = build(p.not_)
                return lambda row: not inner(row)
            parts = [build(q) for q in (p.any if p.any is not None else p.all or [])]
            if p.any is not None:
                return lambda row: any(t(row) for t in parts)
            return lambda row: all(t(row) for t in parts)
        assert isinstance(p, Leaf)
        if p.column not in index:
            raise PropagationError(f"predicate column {p.column!r} is not a column of table {table!r}")
        i = index[p.column]
        if p.is_null is not None:
            want_null = p.is_null
            return lambda row: (row[i] is None) == want_null

        def text(row: Row) -> str | None:
            v = row[i]
            return None if v is None else v if isinstance(v, str) else str(v)

        if p.equals is not None:
            eq = p.equals
            return lambda row: text(row) == eq
        if p.not_equals is not None:
            ne = p.not_equals
            return lambda row: (t := text(row)) is not None and t != ne
        if p.prefix is not None:
            pre = p.prefix
            return lambda row: (t := text(row)) is not None and t.startswith(pre)
        if p.not_prefix is not None:
            npre = p.not_prefix
            return lambda row: (t := text(row)) is not None and not t.startswith(npre)
        if p.in_ is not None:
            values = frozenset(p.in_)
            return lambda row: text(row) in values
        assert p.not_in is not None
        excluded = frozenset(p.not_in)
        return lambda row: (t := text(row)) is not None and t not in excluded

    return build(pred)


def key_function(catalog: Catalog, table: str) -> Callable[[Row], Key]:
    cols = columns(table)
    try:
        idx = [cols.index(c) for c in catalog.table(table).key]
    except ValueError:
        raise PropagationError(f"key of table {table!r} names a column the sandbox schema lacks") from None
    if len(idx) == 1:
        only = idx[0]
        return lambda row: (row[only],)
    return itemgetter(*idx)   # a tuple of the key columns, computed in C


def _mapper(lc: LinkCheck) -> Callable[[Row], Row] | None:
    """Apply the hop's column map (source column -> target column) to a row."""
    if not lc.spec.column_map:
        return None
    cols = columns(lc.table.name)
    inverse = {t: s for s, t in lc.spec.column_map.items()}
    for s in lc.spec.column_map:
        if s not in cols:
            raise PropagationError(f"link {lc.link.id}: column_map names unknown column {s!r}")
    order = [cols.index(inverse.get(c, c)) for c in cols]
    return lambda row: tuple(row[i] for i in order)


def origin_state(catalog: Catalog, origins: Origins) -> State:
    state = State()
    for (node, table), rows in origins.rows.items():
        key = key_function(catalog, table)
        copy = state.copy(node, table)
        for row in rows:
            copy.rows[key(row)] = row
    return state


def propagate(catalog: Catalog, state: State, hooks: dict[str, Hook] | None = None,
              local_changes: dict[str, Callable[[Row], Row]] | None = None) -> State:
    """Run every link check to a fixpoint, starting from the copies already in ``state``.

    ``hooks`` maps a link check id to a fault hook; ``local_changes`` maps a link check id to a
    function applied to each delivered row (writes the target makes itself, e.g. view counters).
    """
    hooks = hooks or {}
    local_changes = local_changes or {}
    checks = catalog.link_checks()
    by_source: dict[tuple[str, str], list[LinkCheck]] = {}
    for lc in checks:
        by_source.setdefault((lc.source.id, lc.table.name), []).append(lc)
        state.copy(lc.target.id, lc.table.name)            # every target exists, even if empty
        state.copy(lc.source.id, lc.table.name)
    tests = {lc.id: compile_predicate(lc.spec.routing, lc.table.name) for lc in checks}
    mappers = {lc.id: _mapper(lc) for lc in checks}
    keys = {t: key_function(catalog, t) for t in {lc.table.name for lc in checks}}
    queue: deque[tuple[str, str, list[Key]]] = deque(
        (node, table, list(copy.rows)) for (node, table), copy in list(state.copies.items()) if copy.rows)
    batches = 0
    while queue:
        batches += 1
        if batches > _MAX_BATCHES:
            raise PropagationError("propagation does not converge: the routing rules let rows cycle")
        node, table, changed = queue.popleft()
        source = state.copies[(node, table)]
        rows = [source.rows[k] for k in changed if k in source.rows]
        for lc in by_source.get((node, table), ()):
            test = tests[lc.id]
            routed: list[Row] = []
            rejected: list[Row] = []
            for row in rows:
                (routed if test(row) else rejected).append(row)
            mapper = mappers[lc.id]
            if mapper is not None:
                routed = [mapper(r) for r in routed]
                rejected = [mapper(r) for r in rejected]
            duplicates: list[Row] = []
            hook = hooks.get(lc.id)
            if hook is not None:
                routed, duplicates = hook(routed, rejected)
            change = local_changes.get(lc.id)
            if change is not None:
                routed = [change(r) for r in routed]
            target = state.copy(lc.target.id, table)
            key = keys[table]
            landed = []
            for row in routed:
                k = key(row)
                old = target.rows.get(k)
                if old is not row and old != row:
                    target.rows[k] = row
                    target.via[k] = lc.id
                    landed.append(k)
                elif k not in target.via:
                    target.via[k] = lc.id
            target.duplicates.extend(duplicates)
            if landed:
                queue.append((lc.target.id, table, landed))
    return state


def leaf_for(catalog: Catalog, node: str, table: str) -> bool:
    """True when no hop reads ``table`` from ``node`` (rows withheld there affect no other copy)."""
    return not any(lc.source.id == node and lc.table.name == table for lc in catalog.link_checks())


def expected_rows(catalog: Catalog, lc: LinkCheck, source_rows: Iterable[Row]) -> list[Row]:
    """The rows a fault-free hop delivers from ``source_rows`` (for tests and invariants)."""
    test = compile_predicate(lc.spec.routing, lc.table.name)
    mapper = _mapper(lc)
    out = [r for r in source_rows if test(r)]
    return [mapper(r) for r in out] if mapper else out
