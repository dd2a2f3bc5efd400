"""Repair scripts: generated for review, approved as a separate recorded step, applied under a lease.

* :func:`generate_repair_script` builds the plan of a ticket — SQL statements in the target's
  dialect (:mod:`syncverify.tickets.plans`), or, when the target node is a Kafka cluster, a
  re-publish plan (:mod:`syncverify.tickets.republish`) — stores it with its SHA-256
  (``plan_hash``) and never writes to a database. It does NOT start the repair clock: nothing has
  started until someone says so (``tickets start``) or a script is applied.
* :func:`approve_repair_script` records who approved, when (UTC), their note and the hash of the
  plan they approved. :func:`apply_repair_script` refuses a script without an approval, and one
  whose plan no longer has the approved hash.
* Applying (or rolling back) claims the script with one conditional UPDATE and a lease
  (:mod:`syncverify.tickets.lease`), runs the pre-check and the statements in ONE transaction on a
  writable engine that only the apply command resolves (the verifier's own connections are
  read-only), and writes the outcome only while it still holds the lease. An apply that died
  mid-way is found on the next attempt (state ``applying``, lease expired): the plan's pre-checks
  tell what the target holds — apply pre-check passes: nothing was applied, retry; rollback
  pre-check passes: it was applied, so it is recorded as applied (and a rollback may proceed).
* A rollback of an applied script reopens the ticket, also when it was verified and closed.

The scripts carry row values of the differing keys (they must, to insert and to restore), so the
files are written readable by their owner only, and ``tickets show`` never prints them.
"""

from __future__ import annotations

import os
import signal
from collections.abc import Callable, Mapping, Sequence
from dataclasses import asdict, dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any, Protocol

import sqlalchemy as sa

from syncverify.catalog import Catalog
from syncverify.errors import SyncverifyError
from syncverify.masking import mask_taxpayer_ids_in_text, mask_text
from syncverify.safefiles import PRIVATE_MODE, private_dir, refuse_symlink, write_file
from syncverify.store import Store
from syncverify.store.models import RepairScript, Ticket
from syncverify.tickets.clock import aware, need_aware
from syncverify.tickets.lease import (
    ACTIVE,
    APPLYING,
    ROLLING_BACK,
    claim,
    lease_duration,
    live_until,
    new_token,
    release,
    take_over,
)
from syncverify.tickets.lifecycle import (
    ACKNOWLEDGED,
    OPEN,
    REOPENED,
    REPAIRED,
    REPAIRING,
    VERIFIED,
    TicketError,
    get_ticket,
    mark_repaired,
    record,
    reopen,
    verify,
)
from syncverify.tickets.plans import SQL_PLAN, Precheck, RepairPlan, build_plan, plan_hash
from syncverify.tickets.republish import (
    KAFKA_DIALECT,
    REPUBLISH_PLAN,
    RepublishPlan,
    build_republish_plan,
    publish,
)

__all__ = ["ApplyOutcome", "Precheck", "RepairPlan", "RepublishPlan", "apply_repair_script",
           "approve_repair_script", "build_plan", "generate_repair_script", "latest_script", "plan_hash",
           "write_script_files"]

# Test hook: kill this process right after the target committed, before the store records it
# (the crash the lease recovery must survive). Never set outside tests.
CRASH_ENV = "SYNCVERIFY_TEST_CRASH_AFTER_TARGET_COMMIT"
APPLY_FROM = (None, "precheck_failed", "failed", "interrupted")
_OPEN_FOR_REPAIR = {OPEN, ACKNOWLEDGED, REPAIRING, REOPENED}


def _target_is_kafka(ticket: Ticket, catalog: Catalog) -> bool:
    node_id = ticket.target_node
    if node_id is None and ticket.link_id in catalog.links:
        node_id = catalog.links[ticket.link_id].target
    node = catalog.nodes.get(node_id or "")
    return node is not None and node.is_kafka


def generate_repair_script(store: Store, ticket_id: int, *, source_engine: sa.Engine,
                           target_engine: sa.Engine | None = None, catalog: Catalog,
                           now: datetime | None = None, actor: str = "syncverify",
                           sinks: Sequence[str] | None = None) -> RepairScript:
    """Build the ticket's repair plan and attach it to the ticket (store + event). Never applies it,
    and does not start the repair clock (preparing a script is not starting the repair)."""
    at = need_aware(now)
    ticket, _ = get_ticket(store, ticket_id)
    if ticket.open_key is None:
        raise TicketError(f"ticket {ticket_id} is closed ({ticket.status}): nothing to repair")
    if _target_is_kafka(ticket, catalog):
        kplan = build_republish_plan(ticket, catalog, source_engine)
        data = kplan.to_json()
        row = RepairScript(ticket_id=ticket_id, dialect=KAFKA_DIALECT, target_node=kplan.target_node,
                           apply_sql="", rollback_sql="", precheck_sql="", generated_at=at, plan=data,
                           plan_kind=REPUBLISH_PLAN, plan_hash=plan_hash(data))
        summary: dict[str, Any] = {"messages": len(kplan.messages), "topic": kplan.topic,
                                   "consumer_groups": [g["group"] for g in kplan.consumer_groups]}
    else:
        if target_engine is None:
            raise TicketError(f"ticket {ticket_id}: a SQL repair script needs the target database")
        plan = build_plan(ticket, catalog, source_engine, target_engine)
        data = plan.to_json()
        row = RepairScript(ticket_id=ticket_id, dialect=plan.dialect, target_node=plan.target_node,
                           apply_sql=plan.apply_text(at), rollback_sql=plan.rollback_text(at),
                           precheck_sql=plan.precheck_text(at), generated_at=at, plan=data, plan_kind=SQL_PLAN,
                           plan_hash=plan_hash(data))
        summary = {"dialect": plan.dialect, "inserts": plan.inserts, "updates": plan.updates,
                   "deletes": plan.deletes, "duplicate_copies_deleted": plan.duplicate_copies_deleted,
                   "skipped": plan.skipped}
    with store.session() as s:
        s.add(row)
        s.flush()
        script_id = row.id
    record(store, ticket_id, "script_generated", actor=actor, now=at, sinks=sinks,
           detail={"script_id": script_id, "kind": row.plan_kind, "plan_hash": row.plan_hash, **summary,
                   "notes": data.get("notes", [])})
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


def _reread(store: Store, script_id: int) -> RepairScript:
    with store.session() as s:
        row = s.get(RepairScript, script_id)
        assert row is not None
        return row


def write_script_files(script: RepairScript, folder: str | os.PathLike[str]) -> list[Path]:
    """Write the reviewable files, owner-readable only (0600: they carry row values): apply.sql,
    rollback.sql and precheck.sql for a SQL plan; republish.json for a re-publish plan.

    Each file is written to a temporary file and renamed into place; a symbolic link already at
    one of the paths is refused (:class:`~syncverify.safefiles.UnsafePathError` naming it) before
    anything is written, so a link planted in a shared folder cannot redirect a script."""
    out = private_dir(folder)
    if script.plan_kind == REPUBLISH_PLAN:
        assert script.plan is not None
        texts = [("republish.json", RepublishPlan.from_json(script.plan).text(aware(script.generated_at)
                                                                                or need_aware(None)))]
    else:
        texts = [(f"{name}.sql", text) for name, text in (
            ("apply", script.apply_sql), ("rollback", script.rollback_sql), ("precheck", script.precheck_sql))]
    paths = [out / f"ticket-{script.ticket_id}-script-{script.id}-{name}" for name, _ in texts]
    for path in paths:
        refuse_symlink(path)
    for path, (_, text) in zip(paths, texts, strict=True):
        write_file(path, text, PRIVATE_MODE)
    return paths


# ---- approval ----------------------------------------------------------------------------------------

def approve_repair_script(store: Store, ticket_id: int, *, by: str, note: str, script_id: int | None = None,
                          now: datetime | None = None, sinks: Sequence[str] | None = None) -> RepairScript:
    """Record the approval of a reviewed script: who, when (UTC), a note (e.g. the bureau's approval
    reference) and the hash of the plan approved. Applying needs it, for exactly that plan."""
    who, text = (by or "").strip(), (note or "").strip()
    if not who:
        raise TicketError("approving a repair script needs who approves it: --by NAME")
    if not text:
        raise TicketError("approving a repair script needs a note (e.g. the approval's reference): --note TEXT")
    at = need_aware(now)
    script = latest_script(store, ticket_id, script_id)
    if script.plan is None:
        raise TicketError(f"repair script {script.id} has no stored plan: generate it again")
    digest = plan_hash(script.plan)
    if script.plan_hash and script.plan_hash != digest:
        raise TicketError(f"repair script {script.id} changed since it was generated (plan hash {digest[:12]}, "
                          f"generated {script.plan_hash[:12]}): generate it again")
    if script.outcome in ACTIVE and live_until(script) is not None:
        raise TicketError(f"repair script {script.id} is being applied: approve it after that")
    with store.session() as s:
        row = s.get(RepairScript, script.id)
        assert row is not None
        row.approved_by, row.approved_at, row.approval_note, row.approved_hash = who[:100], at, text, digest
        if row.plan_hash is None:
            row.plan_hash = digest
    record(store, ticket_id, "script_approved", actor=who, now=at, sinks=sinks,
           detail={"script_id": script.id, "plan_hash": digest,
                   "note": mask_taxpayer_ids_in_text(mask_text(text))[:500]})
    return _reread(store, script.id)


def _require_approval(script: RepairScript) -> None:
    tid = script.ticket_id
    if not script.approved_hash or script.approved_at is None:
        raise TicketError(f"repair script {script.id} of ticket {tid} is not approved: review it, then "
                          f"`syncverify tickets approve {tid} --script {script.id} --by NAME --note TEXT`")
    assert script.plan is not None
    digest = plan_hash(script.plan)
    if digest != script.approved_hash:
        raise TicketError(f"repair script {script.id} changed since {script.approved_by} approved it (plan hash "
                          f"{digest[:12]}, approved {script.approved_hash[:12]}): review and approve it again")


# ---- running a plan -------------------------------------------------------------------------------------

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
    by: str | None = None            # who ran the apply (approved_by: who approved it)

    @property
    def ok(self) -> bool:
        return self.outcome in {"applied", "rolled_back"}

    def to_dict(self) -> dict[str, Any]:
        return {**asdict(self), "ok": self.ok}


class _PrecheckFailed(Exception):
    def __init__(self, check: Precheck, found: int) -> None:
        super().__init__(f"pre-check failed: expected {check.expect}, found {found}: {check.what}")
        self.check, self.found = check, found


class _Runner(Protocol):
    def run(self, rollback: bool) -> dict[str, Any]:
        """Do it; raise _PrecheckFailed, a driver error or a SyncverifyError when it did not happen."""

    def found_state(self) -> str:
        """What the target holds: ``not_applied``, ``applied`` or ``unknown``."""

    def errors(self) -> tuple[type[BaseException], ...]:
        """Errors that mean the run failed without changing anything."""


def _checks_pass(engine: sa.Engine, checks: Sequence[Precheck]) -> bool:
    """Whether every pre-check count is as expected (read only; the transaction is rolled back)."""
    with engine.connect() as conn:
        cursor = conn.connection.cursor()
        try:
            for chk in checks:
                cursor.execute(chk.sql)
                found = cursor.fetchone()
                if (int(found[0]) if found else -1) != chk.expect:
                    return False
            return True
        finally:
            cursor.close()
            conn.rollback()


class _SqlRunner:
    def __init__(self, plan: RepairPlan, engine: sa.Engine) -> None:
        self.plan, self.engine = plan, engine

    def run(self, rollback: bool) -> dict[str, Any]:
        """Pre-check and statements in one transaction, through the raw DBAPI cursor.

        Without parameters the drivers pass the reviewed text unchanged (no '%' or ':name'
        interpretation), so what runs is byte for byte what was approved.
        """
        p = self.plan
        checks, statements = (p.rollback_precheck, p.rollback) if rollback else (p.precheck, p.apply)
        with self.engine.connect() as conn, conn.begin():
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
        if os.environ.get(CRASH_ENV):
            os.kill(os.getpid(), signal.SIGKILL)
        return {"statements": len(statements), "inserts": p.inserts, "updates": p.updates, "deletes": p.deletes,
                "duplicate_copies_deleted": p.duplicate_copies_deleted}

    def found_state(self) -> str:
        if _checks_pass(self.engine, self.plan.precheck):
            return "not_applied"
        if _checks_pass(self.engine, self.plan.rollback_precheck):
            return "applied"
        return "unknown"

    def errors(self) -> tuple[type[BaseException], ...]:
        # Statements run on the raw DBAPI cursor, so its errors are the driver's own.
        return (getattr(self.engine.dialect.loaded_dbapi, "Error", sa.exc.DBAPIError), sa.exc.DBAPIError)


class _PublishRunner:
    def __init__(self, plan: RepublishPlan, bootstrap: str, config: Mapping[str, str] | None) -> None:
        self.plan, self.bootstrap, self.config = plan, bootstrap, config

    def run(self, rollback: bool) -> dict[str, Any]:
        out = publish(self.plan, self.bootstrap, self.config)
        if os.environ.get(CRASH_ENV):
            os.kill(os.getpid(), signal.SIGKILL)
        return out

    def found_state(self) -> str:
        return "unknown"           # a topic cannot be asked whether these messages went out

    def errors(self) -> tuple[type[BaseException], ...]:
        return (SyncverifyError,)


def _runner(script: RepairScript, target_engine: sa.Engine | None, kafka_bootstrap: str | None,
            kafka_config: Mapping[str, str] | None, rollback: bool) -> _Runner:
    assert script.plan is not None
    if (script.plan_kind or script.plan.get("kind") or SQL_PLAN) == REPUBLISH_PLAN:
        if rollback:
            raise TicketError(f"repair script {script.id} is a re-publish plan: published messages cannot be "
                              "rolled back (the consumers' targets are repaired by their own tickets)")
        if not kafka_bootstrap:
            raise TicketError(f"repair script {script.id} re-publishes to Kafka: give the cluster "
                              "(--target-url kafka://HOST:PORT, or the target node's connection)")
        return _PublishRunner(RepublishPlan.from_json(script.plan), kafka_bootstrap, kafka_config)
    if target_engine is None:
        raise TicketError(f"repair script {script.id} needs a writable connection to the target database")
    if target_engine.dialect.name != script.dialect:
        raise TicketError(f"repair script {script.id} is written for {script.dialect}, "
                          f"but the target engine is {target_engine.dialect.name}")
    return _SqlRunner(RepairPlan.from_json(script.plan), target_engine)


def _who_applied(store: Store, ticket_id: int, script_id: int) -> str:
    """The actor of the last apply start of a script (the process that died did not record it)."""
    _, events = get_ticket(store, ticket_id)
    for e in reversed(events):
        if e.event == "script_apply_approved" and (e.detail or {}).get("script_id") == script_id:
            return e.actor
    return "unknown"


def _recover(store: Store, script: RepairScript, runner: _Runner, *, actor: str, at: datetime,
             sinks: Sequence[str] | None, lease: timedelta) -> str | None:
    """Settle a script a dead process left ``applying`` / ``rolling_back``; returns its new state.

    Refuses while the lease is alive (another process may still be running it).
    """
    row = _reread(store, script.id)
    if row.outcome not in ACTIVE:
        return None
    doing = "rolled back" if row.outcome == ROLLING_BACK else "applied"
    until = live_until(row)
    if until is not None:
        raise TicketError(f"repair script {row.id} is being {doing} by another process (lease until "
                          f"{until:%Y-%m-%d %H:%M:%S} UTC): refused; if that process died, try again after then")
    token = new_token()
    if not take_over(store, row.id, state=row.outcome, token=token, lease=lease):
        raise TicketError(f"repair script {row.id} is being recovered by another process: try again")
    found = runner.found_state()
    values: dict[str, Any]
    if row.outcome == APPLYING:
        if found == "applied":
            values = {"outcome": "applied", "applied_at": at, "applied_by": _who_applied(store, row.ticket_id, row.id)}
        else:
            values = {"outcome": "interrupted"}
        how = {"applied": "the rollback pre-check passes: the statements were committed on the target",
               "not_applied": "the apply pre-check passes: nothing was applied; the apply may be retried",
               "unknown": "neither pre-check passes (or a topic cannot tell): check the target before retrying"}
    else:
        values = {"outcome": "rolled_back" if found == "not_applied" else "applied"}
        how = {"not_applied": "the apply pre-check passes: the rollback was committed on the target",
               "applied": "the rollback pre-check passes: the rollback did not happen; the script is applied",
               "unknown": "neither pre-check passes: the script stays applied; check the target"}
    if not release(store, row.id, token=token, values=values):
        raise TicketError(f"repair script {row.id}: lost its lease while recovering: try again")
    event = "script_apply_recovered" if row.outcome == APPLYING else "script_rollback_recovered"
    record(store, row.ticket_id, event, actor=actor, now=at, sinks=sinks,
           start_repair_clock=values["outcome"] == "applied",
           detail={"script_id": row.id, "interrupted": row.outcome, "found": found, "how": how[found],
                   "dead_lease": row.lease_owner, "now": values["outcome"]})
    _ticket_after(store, row.ticket_id, row.id, values["outcome"], actor=actor, at=at, sinks=sinks,
                  reason="found after an interrupted run")
    return str(values["outcome"])


def _ticket_after(store: Store, ticket_id: int, script_id: int, outcome: str, *, actor: str, at: datetime,
                  sinks: Sequence[str] | None, reason: str = "") -> Ticket:
    ticket = get_ticket(store, ticket_id)[0]
    if outcome == "applied" and ticket.status in _OPEN_FOR_REPAIR:
        ticket = mark_repaired(store, ticket_id, actor=actor, now=at, sinks=sinks,
                               note=f"repair script {script_id} applied" + (f" ({reason})" if reason else ""))
    if outcome == "rolled_back" and ticket.status in {REPAIRED, VERIFIED}:
        ticket = reopen(store, ticket_id, actor=actor, now=at, sinks=sinks,
                        detail={"reason": f"repair script {script_id} rolled back"})
    return ticket


def _refusal(store: Store, script_id: int, rollback: bool) -> TicketError:
    row = _reread(store, script_id)
    if row.outcome in ACTIVE:
        until = live_until(row)
        when = f" (lease until {until:%Y-%m-%d %H:%M:%S} UTC)" if until else ""
        return TicketError(f"repair script {row.id} is being applied by another process{when}: refused")
    if rollback:
        return TicketError(f"repair script {row.id} is {row.outcome or 'not applied'}: "
                           "only an applied script can be rolled back")
    return TicketError(f"repair script {row.id} is already {row.outcome}")


def apply_repair_script(store: Store, ticket_id: int, *, target_engine: sa.Engine | None = None,
                        by: str | None = None, approved_by: str | None = None, now: datetime | None = None,
                        script_id: int | None = None, reverify: Callable[[Ticket], bool | None] | None = None,
                        rollback: bool = False, sinks: Sequence[str] | None = None,
                        clock: Callable[[], datetime] | None = None, lease: timedelta | None = None,
                        kafka_bootstrap: str | None = None,
                        kafka_config: Mapping[str, str] | None = None) -> ApplyOutcome:
    """Apply (or, with ``rollback``, undo) an approved repair script.

    ``by`` names who runs it (``approved_by`` is its old name); the approval itself must have been
    recorded with :func:`approve_repair_script` for the plan as it is now. SQL plans run on a
    WRITABLE ``target_engine``; re-publish plans are produced to ``kafka_bootstrap``. ``lease``
    (default ``$SYNCVERIFY_REPAIR_LEASE_S`` or 15 min) bounds how long a dead apply blocks
    the script. After a successful apply the ticket is marked repaired and re-verified with
    ``reverify`` (SQL plans); a rollback reopens it, also when it was verified.
    """
    actor = (by or approved_by or "").strip()[:100]
    if not actor:
        raise TicketError("applying a repair script needs who applies it: --by NAME (after `tickets approve`)")
    at = need_aware(now)
    action = "rollback" if rollback else "apply"
    script = latest_script(store, ticket_id, script_id)
    if script.plan is None:
        raise TicketError(f"repair script {script.id} has no stored plan: generate it again")
    _require_approval(script)
    runner = _runner(script, target_engine, kafka_bootstrap, kafka_config, rollback)
    duration = lease_duration(lease)
    approver = script.approved_by or ""
    recovered = _recover(store, script, runner, actor=actor, at=at, sinks=sinks, lease=duration)
    if recovered is not None and recovered == ("rolled_back" if rollback else "applied"):
        ticket = get_ticket(store, ticket_id)[0]
        return ApplyOutcome(ticket_id, script.id, action, recovered, approver, at.isoformat(),
                            {"recovered": True, "script_id": script.id}, ticket.status, actor)
    token = new_token()
    if not claim(store, script.id, from_states=("applied",) if rollback else APPLY_FROM,
                 to_state=ROLLING_BACK if rollback else APPLYING, token=token, lease=duration):
        raise _refusal(store, script.id, rollback)
    record(store, ticket_id, f"script_{action}_approved", actor=actor, now=at, sinks=sinks,
           detail={"script_id": script.id, "approved_by": approver,
                   "approved_at": (aware(script.approved_at) or at).isoformat(), "plan_hash": script.approved_hash})
    detail: dict[str, Any] = {"script_id": script.id}
    try:
        detail.update(runner.run(rollback))
        outcome = "rolled_back" if rollback else "applied"
    except _PrecheckFailed as exc:
        outcome = "precheck_failed"
        detail.update(error=str(exc), expected=exc.check.expect, found=exc.found)
    except runner.errors() as exc:
        outcome = "failed"
        orig = getattr(exc, "orig", None) or exc
        first = str(orig).splitlines()[0] if str(orig) else exc.__class__.__name__
        # A database error may quote a key value (a duplicate entry): mask taxpayer ids in it.
        detail["error"] = mask_taxpayer_ids_in_text(mask_text(f"{orig.__class__.__name__}: {first}"))
    except BaseException:
        # Anything else (a bug, an interrupt): give the script back rather than leave it leased.
        release(store, script.id, token=token, values={"outcome": "applied" if rollback else "failed"})
        raise
    done_at = need_aware(clock() if clock else now)
    if outcome == "applied":
        values: dict[str, Any] = {"outcome": outcome, "applied_at": done_at, "applied_by": actor}
    else:
        # A failed rollback leaves the script applied; a failed apply may be retried.
        values = {"outcome": outcome if outcome == "rolled_back" or not rollback else "applied"}
    result = ApplyOutcome(ticket_id, script.id, action, outcome, approver, done_at.isoformat(), detail, None, actor)
    if not release(store, script.id, token=token, values=values):
        # Our lease ran out and another process took the script over: its record stands.
        record(store, ticket_id, "script_lease_lost", actor=actor, now=done_at, sinks=sinks,
               detail={**detail, "outcome": outcome, "lease_owner": token})
        result.detail["lease_lost"] = True
        result.ticket_status = get_ticket(store, ticket_id)[0].status
        return result
    event = {"applied": "script_applied", "rolled_back": "script_rolled_back"}.get(outcome, f"script_{action}_failed")
    record(store, ticket_id, event, actor=actor, now=done_at, sinks=sinks, start_repair_clock=outcome == "applied",
           detail={**detail, "outcome": outcome})
    ticket = _ticket_after(store, ticket_id, script.id, outcome, actor=actor, at=done_at, sinks=sinks)
    if outcome == "applied" and isinstance(runner, _SqlRunner) and reverify is not None and ticket.status == REPAIRED:
        try:
            matches = reverify(ticket)
        except Exception as exc:  # the repair is committed: never lose that record; the watch retries
            matches = None
            result.detail["reverify_error"] = mask_taxpayer_ids_in_text(mask_text(f"{exc.__class__.__name__}: {exc}"))
        if matches is True:
            ticket = verify(store, ticket_id, actor="apply:re-verify", now=done_at, sinks=sinks,
                            detail={"how": f"re-verified after repair script {script.id}"})
        elif matches is False:
            ticket = reopen(store, ticket_id, actor="apply:re-verify", now=done_at, sinks=sinks,
                            detail={"reason": f"keys still differ after repair script {script.id}"})
        result.detail["reverified"] = matches
    result.ticket_status = ticket.status
    return result
