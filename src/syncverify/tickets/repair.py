"""Repair scripts: reviewable SQL in the target's dialect, applied only with an approval.

Generation reads, for the ticket's differing keys only (in chunks), the source rows (routing
predicate applied) and the target rows, and decides per key what the target needs:

* source has it, target not          -> INSERT with the source values (read now, at generation)
* target has it, source not          -> DELETE (the target row is captured for the rollback)
* both, values differ                -> UPDATE the compared columns to the source values
* already consistent                 -> nothing (listed as skipped)

Three texts come out, all in the target's dialect, with quoted identifiers and literals rendered
by SQLAlchemy for that dialect:

* ``precheck.sql``: SELECT COUNT(*) statements with the expected count: keys to insert are still
  absent; rows to delete or update still hold exactly the captured values (columns that cannot be
  compared exactly — floats, binary, JSON — are left out of this check);
* ``apply.sql``: DELETEs, UPDATEs, INSERTs between BEGIN and COMMIT;
* ``rollback.sql``: deletes the inserted rows, restores the updated values, re-inserts the
  deleted rows with their captured values. Its pre-check is by key presence only.

:func:`apply_repair_script` runs the pre-check and the statements in ONE transaction on a
writable engine that only the apply command resolves (the verifier's own connections are
read-only), aborts if any pre-check count differs, records who approved and when, marks the
ticket repaired and re-verifies. Nothing here runs on its own: generation never writes to a
database, and applying needs a named approver.

The scripts carry row values of the differing keys (they must, to insert and to restore), so the
files are written readable by their owner only, and ``tickets show`` never prints them.
"""

from __future__ import annotations

import copy
import datetime as dt
import os
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from datetime import datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import sqlalchemy as sa

from syncverify.catalog import Catalog
from syncverify.errors import SchemaError
from syncverify.masking import mask_taxpayer_ids_in_text, mask_text
from syncverify.store import Store
from syncverify.store.models import RepairScript, Ticket
from syncverify.tickets.clock import need_aware
from syncverify.tickets.evidence import differing_keys
from syncverify.tickets.keyrows import (
    Sides,
    canon_key,
    fetch_by_keys,
    find_link_check,
    rows_equal,
    sides,
    typed_key,
)
from syncverify.tickets.lifecycle import (
    ACKNOWLEDGED,
    OPEN,
    REOPENED,
    REPAIRED,
    REPAIRING,
    TicketError,
    get_ticket,
    mark_repaired,
    record,
    reopen,
    verify,
)

INSERT_ROWS_PER_STATEMENT = 100
ROWS_PER_CHECK = 100


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
            f"{self.deletes} delete(s); {self.skipped} key(s) already consistent",
            f"-- Run only with `{command}`, which runs the",
            "-- pre-check in the same transaction and aborts when a row is no longer as found.",
        ]
        lines += [f"-- note: {n}" for n in self.notes]
        return lines

    def _begin(self) -> str:
        return "START TRANSACTION;" if self.dialect in {"mysql", "mariadb"} else "BEGIN;"

    def _apply_command(self, rollback: bool = False) -> str:
        return (f"syncverify tickets apply {self.ticket_id} --approved-by NAME"
                + (" --rollback" if rollback else ""))

    def apply_text(self, generated_at: datetime) -> str:
        return "\n".join([*self._header("repair script", generated_at, self._apply_command()), self._begin(),
                          *(s + ";" for s in self.apply), "COMMIT;", ""])

    def rollback_text(self, generated_at: datetime) -> str:
        return "\n".join([*self._header("ROLLBACK of the repair script", generated_at,
                                        self._apply_command(rollback=True)),
                          self._begin(), *(s + ";" for s in self.rollback), "COMMIT;", ""])

    def precheck_text(self, generated_at: datetime) -> str:
        lines = self._header("pre-checks: each SELECT must return the expected count", generated_at,
                             self._apply_command())
        lines.append("-- ===== before apply.sql =====")
        for p in self.precheck:
            lines += [f"-- expect {p.expect}: {p.what}", p.sql + ";"]
        lines.append("-- ===== before rollback.sql (key presence only) =====")
        for p in self.rollback_precheck:
            lines += [f"-- expect {p.expect}: {p.what}", p.sql + ";"]
        return "\n".join([*lines, ""])


def _literal_dialect(engine: sa.Engine) -> sa.Dialect:
    """The engine's dialect, rendering '%' as itself: statements run without driver parameters."""
    dialect = copy.copy(engine.dialect)
    preparer = copy.copy(dialect.identifier_preparer)
    preparer._double_percents = False  # type: ignore[attr-defined]
    dialect.identifier_preparer = preparer
    return dialect


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
        self.dialect, self.table = _literal_dialect(engine), table

    def sql(self, stmt: sa.ClauseElement) -> str:
        return str(stmt.compile(dialect=self.dialect, compile_kwargs={"literal_binds": True}))

    def _check_values(self, values: dict[str, Any]) -> None:
        for name, v in values.items():
            if isinstance(v, bytes | bytearray | memoryview):
                raise SchemaError(f"column {name!r} of table {self.table.name!r} holds binary data, "
                                  "which repair scripts do not carry: repair it by hand")

    def key_cond(self, key_cols: Sequence[sa.Column[Any]], row: dict[str, Any]) -> sa.ColumnElement[bool]:
        return sa.and_(*[c == row[c.name] for c in key_cols])

    def row_cond(self, cols: Sequence[sa.Column[Any]], row: dict[str, Any]) -> sa.ColumnElement[bool]:
        return sa.and_(*[c.is_(None) if row[c.name] is None else c == row[c.name] for c in cols])

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


def _chunks(items: list[Any], n: int) -> list[list[Any]]:
    return [items[i:i + n] for i in range(0, len(items), n)]


def _recorded_differences(ticket: Ticket) -> int:
    """The largest number of differing rows any check of the ticket counted."""
    checks = (ticket.evidence or {}).get("checks") or {}
    return max((sum(int(c.get(f"{k}_count") or 0) for k in ("missing", "extra", "changed"))
                for c in checks.values()), default=0)


def build_plan(ticket: Ticket, catalog: Catalog, source_engine: sa.Engine,
               target_engine: sa.Engine) -> RepairPlan:
    """Read the ticket's keys on both sides and decide the statements (no store, no writes)."""
    if ticket.kind != "consistency":
        raise TicketError(f"ticket {ticket.id} is a {ticket.kind} finding: repair scripts are generated "
                          "for table copies (consistency tickets); repair a Kafka or quality finding at its "
                          "source")
    keys = differing_keys(ticket.evidence)
    if not keys:
        raise TicketError(f"ticket {ticket.id} carries no row keys (a {ticket.kind} finding without a diff): "
                          "run a diff check of the table first, then generate the script")
    check = find_link_check(catalog, ticket.link_id, ticket.table_name, ticket.source_node)
    s: Sides = sides(check, source_engine, target_engine)
    tgt = s.target
    src_keys = [typed_key(k, s.source_key) for k in keys]
    tgt_keys = [typed_key(k, s.target_key) for k in keys]
    src_rows = fetch_by_keys(source_engine, s.source, s.source_key, src_keys, [p[0] for p in s.common],
                             s.routing_sql(source_engine))
    tgt_rows = fetch_by_keys(target_engine, tgt, s.target_key, tgt_keys, list(tgt.columns))
    qualified = f"{tgt.schema}.{tgt.name}" if tgt.schema else tgt.name
    plan = RepairPlan(ticket_id=ticket.id, dialect=target_engine.dialect.name, target_node=check.target.id,
                      target_table=qualified, keys_on_ticket=len(keys))
    inserts: list[dict[str, Any]] = []
    deletes: list[dict[str, Any]] = []
    updates: list[tuple[dict[str, Any], dict[str, Any], dict[str, Any]]] = []   # (before, after, key row)
    for key in tgt_keys:
        ck = canon_key(key)
        src, cur = src_rows.get(ck), tgt_rows.get(ck)
        if src is not None and cur is None:
            inserts.append({tc.name: src[sc.name] for sc, tc in s.common})
        elif src is None and cur is not None:
            deletes.append(cur)
        elif src is not None and cur is not None and not rows_equal(src, cur, s.compared):
            after = {tc.name: src[sc.name] for sc, tc in s.compared}
            updates.append((cur, after, cur))
        else:
            plan.skipped += 1
    plan.inserts, plan.updates, plan.deletes = len(inserts), len(updates), len(deletes)
    plan.keys_found = len(inserts) + len(updates) + len(deletes)
    total = _recorded_differences(ticket)
    if total > len(keys):
        plan.notes.append(f"the ticket records {total} differing rows but carries {len(keys)} keys: this "
                          "script covers those keys only; run the diff again and generate another script "
                          "for the rest")

    r = _Renderer(target_engine, tgt)
    tkey = s.target_key
    exact = [c for c in tgt.columns if _exact(c)]
    for chunk in _chunks(inserts, ROWS_PER_CHECK):
        plan.precheck.append(Precheck(r.count(sa.or_(*[r.key_cond(tkey, row) for row in chunk])), 0,
                                      f"{len(chunk)} key(s) to insert are still absent"))
        plan.rollback_precheck.append(Precheck(r.count(sa.or_(*[r.key_cond(tkey, row) for row in chunk])),
                                               len(chunk), f"{len(chunk)} inserted key(s) are present"))
    for label, rows in (("to delete", deletes), ("to update", [u[0] for u in updates])):
        for chunk in _chunks(rows, ROWS_PER_CHECK):
            plan.precheck.append(Precheck(r.count(sa.or_(*[r.row_cond(exact, row) for row in chunk])),
                                          len(chunk),
                                          f"{len(chunk)} row(s) {label} still hold the values found"))
    for chunk in _chunks(deletes, ROWS_PER_CHECK):
        plan.rollback_precheck.append(Precheck(r.count(sa.or_(*[r.key_cond(tkey, row) for row in chunk])), 0,
                                               f"{len(chunk)} deleted key(s) are absent"))
    for chunk in _chunks([u[2] for u in updates], ROWS_PER_CHECK):
        plan.rollback_precheck.append(Precheck(r.count(sa.or_(*[r.key_cond(tkey, row) for row in chunk])),
                                               len(chunk), f"{len(chunk)} updated key(s) are present"))

    for chunk in _chunks(deletes, INSERT_ROWS_PER_STATEMENT):
        plan.apply.append(r.delete(tkey, chunk))
    for _before, after, key_row in updates:
        plan.apply.append(r.update(tkey, key_row, after))
    for chunk in _chunks(inserts, INSERT_ROWS_PER_STATEMENT):
        plan.apply.append(r.insert(chunk))

    for chunk in _chunks(inserts, INSERT_ROWS_PER_STATEMENT):
        plan.rollback.append(r.delete(tkey, chunk))
    for before, after, key_row in updates:
        plan.rollback.append(r.update(tkey, key_row, {name: before[name] for name in after}))
    for chunk in _chunks(deletes, INSERT_ROWS_PER_STATEMENT):
        plan.rollback.append(r.insert(chunk))
    return plan


def generate_repair_script(store: Store, ticket_id: int, *, source_engine: sa.Engine,
                           target_engine: sa.Engine, catalog: Catalog, now: datetime | None = None,
                           actor: str = "syncverify", sinks: Sequence[str] | None = None) -> RepairScript:
    """Build the ticket's repair script and attach it to the ticket (store + event). Never applies it."""
    at = need_aware(now)
    ticket, _ = get_ticket(store, ticket_id)
    if ticket.open_key is None:
        raise TicketError(f"ticket {ticket_id} is closed ({ticket.status}): nothing to repair")
    plan = build_plan(ticket, catalog, source_engine, target_engine)
    row = RepairScript(ticket_id=ticket_id, dialect=plan.dialect, target_node=plan.target_node,
                       apply_sql=plan.apply_text(at), rollback_sql=plan.rollback_text(at),
                       precheck_sql=plan.precheck_text(at), generated_at=at, plan=plan.to_json())
    with store.session() as s:
        s.add(row)
        s.flush()
        script_id = row.id
    # Preparing the repair script is the start of the repair (stops the 8-hour clock).
    record(store, ticket_id, "script_generated", actor=actor, now=at, sinks=sinks, start_repair_clock=True,
           detail={"script_id": script_id, "dialect": plan.dialect, "inserts": plan.inserts,
                   "updates": plan.updates, "deletes": plan.deletes, "skipped": plan.skipped,
                   "notes": plan.notes})
    return row


def latest_script(store: Store, ticket_id: int, script_id: int | None = None) -> RepairScript:
    with store.session() as s:
        q = sa.select(RepairScript).where(RepairScript.ticket_id == ticket_id)
        if script_id is not None:
            q = q.where(RepairScript.id == script_id)
        row = s.scalars(q.order_by(RepairScript.id.desc())).first()
    if row is None:
        what = f"repair script {script_id}" if script_id is not None else "a repair script"
        raise TicketError(f"ticket {ticket_id} has no {what}: "
                          f"run `syncverify tickets script {ticket_id}` first")
    return row


def write_script_files(script: RepairScript, folder: str | os.PathLike[str]) -> list[Path]:
    """Write apply.sql, rollback.sql and precheck.sql (owner-readable only: they carry row values)."""
    out = Path(folder)
    out.mkdir(parents=True, exist_ok=True)
    paths = []
    for name, text in (("apply", script.apply_sql), ("rollback", script.rollback_sql),
                       ("precheck", script.precheck_sql)):
        path = out / f"ticket-{script.ticket_id}-script-{script.id}-{name}.sql"
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            fh.write(text)
        paths.append(path)
    return paths


@dataclass
class ApplyOutcome:
    ticket_id: int
    script_id: int
    action: str                      # "apply" or "rollback"
    outcome: str                     # applied, rolled_back, precheck_failed, failed
    approved_by: str
    at: str
    detail: dict[str, Any] = field(default_factory=dict)
    ticket_status: str | None = None

    @property
    def ok(self) -> bool:
        return self.outcome in {"applied", "rolled_back"}

    def to_dict(self) -> dict[str, Any]:
        return {**asdict(self), "ok": self.ok}


class _PrecheckFailed(Exception):
    def __init__(self, check: Precheck, found: int) -> None:
        super().__init__(f"pre-check failed: expected {check.expect}, found {found}: {check.what}")
        self.check, self.found = check, found


def _execute(engine: sa.Engine, checks: Sequence[Precheck], statements: Sequence[str]) -> None:
    """Pre-check and statements in one transaction, through the raw DBAPI cursor.

    Without parameters the drivers pass the reviewed text unchanged (no '%' or ':name'
    interpretation), so what runs is byte for byte what was approved.
    """
    with engine.connect() as conn, conn.begin():
        cursor = conn.connection.cursor()
        try:
            for chk in checks:
                cursor.execute(chk.sql)
                found = cursor.fetchone()
                n = int(found[0]) if found else -1
                if n != chk.expect:
                    raise _PrecheckFailed(chk, n)
            for stmt in statements:
                cursor.execute(stmt)
        finally:
            cursor.close()


def apply_repair_script(store: Store, ticket_id: int, *, target_engine: sa.Engine, approved_by: str,
                        now: datetime | None = None, script_id: int | None = None,
                        reverify: Callable[[Ticket], bool | None] | None = None,
                        rollback: bool = False, sinks: Sequence[str] | None = None,
                        clock: Callable[[], datetime] | None = None) -> ApplyOutcome:
    """Apply (or, with ``rollback``, undo) an approved repair script on a WRITABLE target engine.

    Records the approver and the time on the script and as ticket events; after a successful
    apply, marks the ticket repaired and re-verifies it with ``reverify`` (verified when the keys
    match, reopened when not, left for the SLA watch when it cannot tell).
    """
    approver = (approved_by or "").strip()
    if not approver:
        raise TicketError("applying a repair script needs an approval: --approved-by NAME")
    at = need_aware(now)
    action = "rollback" if rollback else "apply"
    script = latest_script(store, ticket_id, script_id)
    if script.plan is None:
        raise TicketError(f"repair script {script.id} has no stored plan: generate it again")
    plan = RepairPlan.from_json(script.plan)
    if target_engine.dialect.name != script.dialect:
        raise TicketError(f"repair script {script.id} is written for {script.dialect}, "
                          f"but the target engine is {target_engine.dialect.name}")
    # Claim the script, so that two apply commands never both run it.
    with store.session() as s:
        row = s.scalars(sa.select(RepairScript).where(RepairScript.id == script.id).with_for_update()).one()
        if rollback:
            if row.outcome != "applied":
                raise TicketError(f"repair script {row.id} is {row.outcome or 'not applied'}: "
                                  "only an applied script can be rolled back")
        elif row.outcome is not None and row.outcome not in {"precheck_failed", "failed"}:
            raise TicketError(f"repair script {row.id} is already {row.outcome}")
        row.outcome = "rolling_back" if rollback else "applying"
        row.approved_by = approver
    record(store, ticket_id, f"script_{action}_approved", actor=approver, now=at, sinks=sinks,
           detail={"script_id": script.id})
    checks, statements = (plan.rollback_precheck, plan.rollback) if rollback else (plan.precheck, plan.apply)
    detail: dict[str, Any] = {"script_id": script.id, "statements": len(statements),
                              "inserts": plan.inserts, "updates": plan.updates, "deletes": plan.deletes}
    # Statements run on the raw DBAPI cursor, so its errors are the driver's own, not SQLAlchemy's.
    driver_error: type[Exception] = getattr(target_engine.dialect.loaded_dbapi, "Error", sa.exc.DBAPIError)
    try:
        _execute(target_engine, checks, statements)
        outcome = "rolled_back" if rollback else "applied"
    except _PrecheckFailed as exc:
        outcome = "precheck_failed"
        detail.update(error=str(exc), expected=exc.check.expect, found=exc.found)
    except (driver_error, sa.exc.DBAPIError) as exc:
        outcome = "failed"
        orig = getattr(exc, "orig", None) or exc
        first = str(orig).splitlines()[0] if str(orig) else exc.__class__.__name__
        # A database error may quote a key value (a duplicate entry): mask taxpayer ids in it.
        detail["error"] = mask_taxpayer_ids_in_text(mask_text(f"{orig.__class__.__name__}: {first}"))
    done_at = need_aware(clock() if clock else now)
    with store.session() as s:
        done = s.get(RepairScript, script.id)
        assert done is not None
        if outcome == "applied":
            done.outcome, done.applied_at, done.applied_by = outcome, done_at, approver
        elif outcome == "rolled_back":
            done.outcome = outcome
        else:
            # A failed rollback leaves the script applied; a failed apply may be retried.
            done.outcome = "applied" if rollback else outcome
    event = {"applied": "script_applied", "rolled_back": "script_rolled_back"}.get(
        outcome, f"script_{action}_failed")
    record(store, ticket_id, event, actor=approver, now=done_at, sinks=sinks, start_repair_clock=not rollback,
           detail={**detail, "outcome": outcome})
    result = ApplyOutcome(ticket_id, script.id, action, outcome, approver, done_at.isoformat(), detail)
    ticket = get_ticket(store, ticket_id)[0]
    if outcome == "applied" and ticket.status in {OPEN, ACKNOWLEDGED, REPAIRING, REOPENED}:
        ticket = mark_repaired(store, ticket_id, actor=approver, now=done_at, sinks=sinks,
                               note=f"repair script {script.id} applied")
    if outcome == "applied" and reverify is not None and ticket.status == REPAIRED:
        try:
            matches = reverify(ticket)
        except Exception as exc:  # the repair is committed: never lose that record; the watch retries
            matches = None
            text = mask_text(f"{exc.__class__.__name__}: {exc}")
            result.detail["reverify_error"] = mask_taxpayer_ids_in_text(text)
        if matches is True:
            ticket = verify(store, ticket_id, actor="apply:re-verify", now=done_at, sinks=sinks,
                            detail={"how": f"re-verified after repair script {script.id}"})
        elif matches is False:
            ticket = reopen(store, ticket_id, actor="apply:re-verify", now=done_at, sinks=sinks,
                            detail={"reason": f"keys still differ after repair script {script.id}"})
        result.detail["reverified"] = matches
    if outcome == "rolled_back" and ticket.status == REPAIRED:
        ticket = reopen(store, ticket_id, actor=approver, now=done_at, sinks=sinks,
                        detail={"reason": f"repair script {script.id} rolled back"})
    result.ticket_status = ticket.status
    return result
