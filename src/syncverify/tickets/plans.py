"""SQL repair plans: what a table copy needs, as reviewable statements in the target's dialect.

Generation reads, for the ticket's differing keys only (in chunks), the source rows (routing
predicate applied) and the target rows, and decides per key what the target needs:

* source has it, target not          -> INSERT with the source values (read now, at generation)
* target has it, source not          -> DELETE (the target row is captured for the rollback)
* both, values differ                -> UPDATE the compared columns to the source values
* key duplicated on the target       -> DELETE the extra copies, keeping one (the copy equal to
                                        the source when there is one), by the dialect's row
                                        identity (:meth:`Dialect.delete_some`); the rollback
                                        re-inserts the deleted copies with their captured values
* key duplicated on the source       -> nothing: a note says to repair it at the source
* already consistent                 -> nothing (listed as skipped)

Three texts come out, all in the target's dialect, with quoted identifiers and literals rendered
by SQLAlchemy for that dialect:

* ``precheck.sql``: SELECT COUNT(*) statements with the expected count: keys to insert are still
  absent; rows to delete or update still hold exactly the captured values (columns that cannot be
  compared exactly — floats, binary, JSON — are left out of this check); a duplicated key still
  has exactly the copies found. A row read from a table is matched with the values as the table
  stores them (:class:`~syncverify.tickets.keyrows.StoredRow`: SQLite's DATETIME text
  '2026-10-19 09:21:10' rather than SQLAlchemy's rendering with '.000000'), and the ticket's keys
  (text in the evidence) are typed like the key columns before they are matched with rows;
* ``apply.sql``: DELETEs, UPDATEs, INSERTs between BEGIN and COMMIT;
* ``rollback.sql``: deletes the inserted rows, restores the updated values, re-inserts the
  deleted rows and copies with their captured values (as stored). Its pre-check is by key
  presence only.

The plan is also the thing approved: :func:`plan_hash` is a SHA-256 over its canonical JSON, so
an approval names exactly these statements.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, field
from datetime import datetime
from decimal import Decimal
from typing import Any

import sqlalchemy as sa

from syncverify.catalog import Catalog
from syncverify.dialects import for_engine, for_name
from syncverify.errors import SchemaError
from syncverify.results import Key
from syncverify.store.models import Ticket
from syncverify.tickets.evidence import differing_keys
from syncverify.tickets.keyrows import (
    Sides,
    StoredRow,
    canon_key,
    fetch_by_keys,
    fetch_copies,
    find_link_check,
    rows_equal,
    sides,
    typed_key,
)
from syncverify.tickets.lifecycle import TicketError

INSERT_ROWS_PER_STATEMENT = 100
ROWS_PER_CHECK = 100
SQL_PLAN = "sql"


def plan_hash(plan: Mapping[str, Any]) -> str:
    """SHA-256 of the plan's canonical JSON (sorted keys, no spaces): what an approval names."""
    text = json.dumps(plan, sort_keys=True, separators=(",", ":"), ensure_ascii=False, default=str)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def apply_command(ticket_id: int, rollback: bool = False) -> str:
    return f"syncverify tickets apply {ticket_id} --by NAME" + (" --rollback" if rollback else "")


@dataclass
class Precheck:
    sql: str
    expect: int
    what: str


@dataclass
class RepairPlan:
    """The statements of one repair script, exactly as written to the files."""

    ticket_id: int
    dialect: str
    target_node: str | None
    target_table: str
    inserts: int = 0
    updates: int = 0
    deletes: int = 0
    skipped: int = 0
    keys_on_ticket: int = 0
    keys_found: int = 0
    precheck: list[Precheck] = field(default_factory=list)
    apply: list[str] = field(default_factory=list)
    rollback_precheck: list[Precheck] = field(default_factory=list)
    rollback: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    duplicate_copies_deleted: int = 0
    kind: str = SQL_PLAN

    def to_json(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> RepairPlan:
        data = dict(data)
        data["precheck"] = [Precheck(**p) for p in data.get("precheck", [])]
        data["rollback_precheck"] = [Precheck(**p) for p in data.get("rollback_precheck", [])]
        return cls(**data)

    # ---- texts ----------------------------------------------------------------------------------
    def _header(self, what: str, generated_at: datetime, command: str) -> list[str]:
        lines = [
            f"-- syncverify {what} for ticket {self.ticket_id}",
            f"-- target node {self.target_node or '?'}, table {self.target_table}, dialect {self.dialect}",
            f"-- generated {generated_at.isoformat()}: {self.inserts} insert(s), {self.updates} update(s), "
            f"{self.deletes} delete(s), {self.duplicate_copies_deleted} duplicate copy(ies) removed; "
            f"{self.skipped} key(s) already consistent",
            f"-- Approve with `syncverify tickets approve {self.ticket_id} --by NAME --note TEXT`, then run",
            f"-- only with `{command}`, which runs the pre-check in the same transaction and aborts",
            "-- when a row is no longer as found.",
        ]
        lines += [f"-- note: {n}" for n in self.notes]
        return lines

    def _begin(self) -> str:
        return for_name(self.dialect).begin_transaction() + ";"

    def apply_text(self, generated_at: datetime) -> str:
        return "\n".join([*self._header("repair script", generated_at, apply_command(self.ticket_id)),
                          self._begin(), *(s + ";" for s in self.apply), "COMMIT;", ""])

    def rollback_text(self, generated_at: datetime) -> str:
        return "\n".join([*self._header("ROLLBACK of the repair script", generated_at,
                                        apply_command(self.ticket_id, rollback=True)),
                          self._begin(), *(s + ";" for s in self.rollback), "COMMIT;", ""])

    def precheck_text(self, generated_at: datetime) -> str:
        lines = self._header("pre-checks: each SELECT must return the expected count", generated_at,
                             apply_command(self.ticket_id))
        lines.append("-- ===== before apply.sql =====")
        for p in self.precheck:
            lines += [f"-- expect {p.expect}: {p.what}", p.sql + ";"]
        lines.append("-- ===== before rollback.sql (key presence only) =====")
        for p in self.rollback_precheck:
            lines += [f"-- expect {p.expect}: {p.what}", p.sql + ";"]
        return "\n".join([*lines, ""])


def _exact(col: sa.Column[Any]) -> bool:
    """Whether a column can take part in an exact-equality pre-check."""
    if isinstance(col.type, sa.Float | sa.LargeBinary | sa.JSON | sa.ARRAY):
        return False
    try:
        return col.type.python_type in (int, Decimal, str, bool, dt.datetime, dt.date, dt.time)
    except NotImplementedError:
        return False


class _Renderer:
    def __init__(self, engine: sa.Engine, table: sa.Table) -> None:
        self.ours = for_engine(engine)
        self.dialect, self.table = self.ours.literal_dialect(engine.dialect), table

    def sql(self, stmt: sa.ClauseElement) -> str:
        return self.ours.literal_sql(self.dialect, stmt)

    def _check_values(self, values: dict[str, Any]) -> None:
        for name, v in values.items():
            if isinstance(v, bytes | bytearray | memoryview):
                raise SchemaError(f"column {name!r} of table {self.table.name!r} holds binary data, "
                                  "which repair scripts do not carry: repair it by hand")

    @staticmethod
    def as_stored(row: Mapping[str, Any], name: str) -> Any:
        """The value of a row read from a table, as that table holds it: its stored text where
        the column type would render it otherwise (:class:`StoredRow`), else the typed value."""
        stored = row.stored if isinstance(row, StoredRow) else {}
        return sa.literal(stored[name], sa.String()) if name in stored else row[name]

    def key_cond(self, key_cols: Sequence[sa.Column[Any]], row: Mapping[str, Any]) -> sa.ColumnElement[bool]:
        return sa.and_(*[c == self.as_stored(row, c.name) for c in key_cols])

    def row_cond(self, cols: Sequence[sa.Column[Any]], row: Mapping[str, Any]) -> sa.ColumnElement[bool]:
        return sa.and_(*[c.is_(None) if row[c.name] is None else c == self.as_stored(row, c.name) for c in cols])

    def restored(self, row: Mapping[str, Any], names: Sequence[str] | None = None) -> dict[str, Any]:
        """Values that put back a captured row (or some of its columns) exactly as it was stored."""
        return {n: self.as_stored(row, n) for n in (row if names is None else names)}

    def count(self, cond: sa.ColumnElement[bool]) -> str:
        return self.sql(sa.select(sa.func.count().label("n")).select_from(self.table).where(cond))

    def insert(self, rows: list[dict[str, Any]]) -> str:
        for r in rows:
            self._check_values(r)
        return self.sql(sa.insert(self.table).values(rows))

    def update(self, key_cols: Sequence[sa.Column[Any]], key_row: dict[str, Any],
               values: dict[str, Any]) -> str:
        self._check_values(values)
        return self.sql(sa.update(self.table).where(self.key_cond(key_cols, key_row)).values(values))

    def delete(self, key_cols: Sequence[sa.Column[Any]], rows: list[dict[str, Any]]) -> str:
        return self.sql(sa.delete(self.table).where(sa.or_(*[self.key_cond(key_cols, r) for r in rows])))

    def delete_some(self, cond: sa.ColumnElement[bool], limit: int) -> str:
        """At most ``limit`` rows matching ``cond``, by the dialect's row identity."""
        table_sql = self.dialect.identifier_preparer.format_table(self.table)
        return self.ours.delete_some(table_sql, self.sql(cond), limit)


def _chunks(items: list[Any], n: int) -> list[list[Any]]:
    return [items[i:i + n] for i in range(0, len(items), n)]


def recorded_differences(ticket: Ticket) -> int:
    """The largest number of differing rows any check of the ticket counted."""
    checks = (ticket.evidence or {}).get("checks") or {}
    return max((sum(int(c.get(f"{k}_count") or 0) for k in ("missing", "extra", "changed", "duplicate"))
                for c in checks.values()), default=0)


@dataclass
class _Decisions:
    inserts: list[dict[str, Any]] = field(default_factory=list)
    deletes: list[dict[str, Any]] = field(default_factory=list)
    updates: list[tuple[dict[str, Any], dict[str, Any]]] = field(default_factory=list)   # (before, after)
    # (key row, copies found, [(value row, copies with these values, copies of them to delete)])
    duplicates: list[tuple[dict[str, Any], int, list[tuple[dict[str, Any], int, int]]]] = field(
        default_factory=list)


def _shown(key: Key) -> str:
    return json.dumps(list(key) if isinstance(key, tuple) else key, ensure_ascii=False, default=str)


def _decide_duplicate(key: Key, src_copies: Sequence[StoredRow], tgt_copies: Sequence[StoredRow],
                      s: Sides, exact: list[sa.Column[Any]], plan: RepairPlan, d: _Decisions) -> None:
    """A key the ticket lists as duplicated: where are the copies, and which to remove."""
    if len(src_copies) > 1:
        plan.notes.append(f"key {_shown(key)} has {len(src_copies)} copies at the source: repair at the source "
                          "(no statements for this key)")
        return
    if len(tgt_copies) <= 1:
        if len(tgt_copies) == 1 and src_copies and not rows_equal(src_copies[0], tgt_copies[0], s.compared):
            d.updates.append((tgt_copies[0], {tc.name: src_copies[0][sc.name] for sc, tc in s.compared}))
        elif len(tgt_copies) == 1 and not src_copies:
            d.deletes.append(tgt_copies[0])
        elif not tgt_copies and src_copies:
            d.inserts.append({tc.name: src_copies[0][sc.name] for sc, tc in s.common})
        else:
            plan.skipped += 1
        return
    if not src_copies:
        d.deletes.extend(tgt_copies)             # not at the source at all: every copy goes
        return
    src = src_copies[0]
    keep = next((c for c in tgt_copies if rows_equal(src, c, s.compared)), None)
    if keep is None:
        keep = tgt_copies[0]
        plan.notes.append(f"key {_shown(key)}: no copy on the target equals the source; one copy is kept "
                          "as it is: generate a script again after applying this one")
    groups: dict[str, tuple[dict[str, Any], int, int]] = {}
    for c in tgt_copies:
        text = json.dumps({col.name: c[col.name] for col in exact}, sort_keys=True, default=str)
        row, n, drop = groups.get(text, (c, 0, 0))
        groups[text] = (row, n + 1, drop + (0 if c is keep else 1))
    d.duplicates.append((keep, len(tgt_copies), [g for g in groups.values() if g[2] > 0]))


def build_plan(ticket: Ticket, catalog: Catalog, source_engine: sa.Engine,
               target_engine: sa.Engine) -> RepairPlan:
    """Read the ticket's keys on both sides and decide the statements (no store, no writes)."""
    if ticket.kind != "consistency":
        raise TicketError(f"ticket {ticket.id} is a {ticket.kind} finding: repair scripts are generated "
                          "for table copies (consistency tickets); repair a Kafka or quality finding at its "
                          "source")
    keys = differing_keys(ticket.evidence, lists=("missing", "extra", "changed", "duplicate"))
    if not keys:
        raise TicketError(f"ticket {ticket.id} carries no row keys (a {ticket.kind} finding without a diff): "
                          "run a diff check of the table first, then generate the script")
    check = find_link_check(catalog, ticket.link_id, ticket.table_name, ticket.source_node)
    s: Sides = sides(check, source_engine, target_engine)
    # Typed like the keys read back: an integer key arrives as the text "900004" in the evidence
    # and as 900004 from the table; compared untyped, a duplicated key was never seen as one.
    duplicated = {canon_key(typed_key(k, s.target_key))
                  for k in differing_keys(ticket.evidence, lists=("duplicate",))}
    tgt = s.target
    src_keys = [typed_key(k, s.source_key) for k in keys]
    tgt_keys = [typed_key(k, s.target_key) for k in keys]
    routing = s.routing
    src_rows = fetch_by_keys(source_engine, s.source, s.source_key, src_keys, [p[0] for p in s.common], routing)
    tgt_rows = fetch_by_keys(target_engine, tgt, s.target_key, tgt_keys, list(tgt.columns))
    dup_src: dict[tuple[Any, ...], list[StoredRow]] = {}
    dup_tgt: dict[tuple[Any, ...], list[StoredRow]] = {}
    if duplicated:
        is_dup = [canon_key(k) in duplicated for k in tgt_keys]
        dup_src = fetch_copies(source_engine, s.source, s.source_key,
                               [k for k, d in zip(src_keys, is_dup, strict=True) if d], [p[0] for p in s.common],
                               routing)
        dup_tgt = fetch_copies(target_engine, tgt, s.target_key,
                               [k for k, d in zip(tgt_keys, is_dup, strict=True) if d], list(tgt.columns))
    qualified = f"{tgt.schema}.{tgt.name}" if tgt.schema else tgt.name
    plan = RepairPlan(ticket_id=ticket.id, dialect=target_engine.dialect.name, target_node=check.target.id,
                      target_table=qualified, keys_on_ticket=len(keys))
    exact = [c for c in tgt.columns if _exact(c)]
    d = _Decisions()
    for key, raw in zip(tgt_keys, keys, strict=True):
        ck = canon_key(key)
        if ck in duplicated and (len(dup_src.get(ck, [])) > 1 or len(dup_tgt.get(ck, [])) > 1):
            _decide_duplicate(raw, dup_src.get(ck, []), dup_tgt.get(ck, []), s, exact, plan, d)
            continue
        src, cur = src_rows.get(ck), tgt_rows.get(ck)
        if src is not None and cur is None:
            d.inserts.append({tc.name: src[sc.name] for sc, tc in s.common})
        elif src is None and cur is not None:
            d.deletes.append(cur)
        elif src is not None and cur is not None and not rows_equal(src, cur, s.compared):
            d.updates.append((cur, {tc.name: src[sc.name] for sc, tc in s.compared}))
        else:
            plan.skipped += 1
    _render(plan, d, _Renderer(target_engine, tgt), s.target_key, exact)
    total = recorded_differences(ticket)
    if total > len(keys):
        plan.notes.append(f"the ticket records {total} differing rows but carries {len(keys)} keys: this "
                          "script covers those keys only; run the diff again and generate another script "
                          "for the rest")
    return plan


def _render(plan: RepairPlan, d: _Decisions, r: _Renderer, tkey: list[sa.Column[Any]],
            exact: list[sa.Column[Any]]) -> None:
    """The decisions as pre-checks, statements and their rollback."""
    plan.inserts, plan.updates, plan.deletes = len(d.inserts), len(d.updates), len(d.deletes)
    plan.duplicate_copies_deleted = sum(drop for _, _, groups in d.duplicates for _, _, drop in groups)
    plan.keys_found = (len({json.dumps([row[c.name] for c in tkey], default=str)
                            for row in [*d.inserts, *d.deletes, *(u[0] for u in d.updates)]})
                       + len(d.duplicates))
    present = lambda rows: sa.or_(*[r.key_cond(tkey, row) for row in rows])  # noqa: E731
    for chunk in _chunks(d.inserts, ROWS_PER_CHECK):
        plan.precheck.append(Precheck(r.count(present(chunk)), 0, f"{len(chunk)} key(s) to insert are still absent"))
        plan.rollback_precheck.append(Precheck(r.count(present(chunk)), len(chunk),
                                               f"{len(chunk)} inserted key(s) are present"))
    for label, rows in (("to delete", d.deletes), ("to update", [u[0] for u in d.updates])):
        for chunk in _chunks(rows, ROWS_PER_CHECK):
            plan.precheck.append(Precheck(r.count(sa.or_(*[r.row_cond(exact, row) for row in chunk])),
                                          len(chunk), f"{len(chunk)} row(s) {label} still hold the values found"))
    for keep, copies, groups in d.duplicates:
        key_sql = r.count(r.key_cond(tkey, keep))
        plan.precheck.append(Precheck(key_sql, copies, f"a duplicated key still has the {copies} copies found"))
        for row, n, _drop in groups:
            plan.precheck.append(Precheck(r.count(r.row_cond(exact, row)), n,
                                          f"{n} copy(ies) of a duplicated key still hold the values found"))
        plan.rollback_precheck.append(Precheck(key_sql, 1, "a de-duplicated key has its one copy"))
    deleted_keys = {json.dumps([row[c.name] for c in tkey], default=str): row for row in d.deletes}
    for chunk in _chunks(list(deleted_keys.values()), ROWS_PER_CHECK):
        plan.rollback_precheck.append(Precheck(r.count(present(chunk)), 0, f"{len(chunk)} deleted key(s) are absent"))
    for chunk in _chunks([u[0] for u in d.updates], ROWS_PER_CHECK):
        plan.rollback_precheck.append(Precheck(r.count(present(chunk)), len(chunk),
                                               f"{len(chunk)} updated key(s) are present"))

    for _keep, _copies, groups in d.duplicates:
        for row, _n, drop in groups:
            plan.apply.append(r.delete_some(r.row_cond(exact, row), drop))
    for chunk in _chunks(d.deletes, INSERT_ROWS_PER_STATEMENT):
        plan.apply.append(r.delete(tkey, chunk))
    for before, after in d.updates:
        plan.apply.append(r.update(tkey, before, after))
    for chunk in _chunks(d.inserts, INSERT_ROWS_PER_STATEMENT):
        plan.apply.append(r.insert(chunk))

    for chunk in _chunks(d.inserts, INSERT_ROWS_PER_STATEMENT):
        plan.rollback.append(r.delete(tkey, chunk))
    for before, after in d.updates:
        plan.rollback.append(r.update(tkey, before, r.restored(before, list(after))))
    for chunk in _chunks(d.deletes, INSERT_ROWS_PER_STATEMENT):
        plan.rollback.append(r.insert([r.restored(row) for row in chunk]))
    copies_back = [row for _keep, _c, groups in d.duplicates for row, _n, drop in groups for _ in range(drop)]
    for chunk in _chunks(copies_back, INSERT_ROWS_PER_STATEMENT):
        plan.rollback.append(r.insert([r.restored(row) for row in chunk]))
