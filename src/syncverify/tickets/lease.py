"""The lease of a repair script being applied: one process at a time, and a dead one is noticed.

Claiming a script is ONE conditional UPDATE::

    UPDATE sv_repair_scripts SET outcome = 'applying', lease_owner = :me, lease_until = :until
     WHERE id = :id AND outcome allows it AND (lease_until IS NULL OR lease_until < :now)

checked by its row count. ``SELECT ... FOR UPDATE`` is not enough: SQLite (the default store)
ignores it, and two ``tickets apply`` both claimed the script. The UPDATE is atomic on every
store: SQLite takes its write lock for it; PostgreSQL makes the second UPDATE wait for the first
and re-checks the WHERE on the committed row.

The final write of the outcome is conditional on still holding the lease (``lease_owner = :me``),
so a process whose lease expired and was taken over never overwrites the new owner's outcome.
A process that died mid-apply leaves the state ``applying`` with a lease that expires; the next
attempt takes the stale lease over (again one conditional UPDATE) and decides from the target
what happened (see :func:`syncverify.tickets.repair.apply_repair_script`).

Lease times are wall-clock UTC (not the ``now`` of the ticket events, which tests freeze): the
lease is about processes being alive. Compared in SQL, as aware UTC.
"""

from __future__ import annotations

import os
import socket
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any, cast

import sqlalchemy as sa

from syncverify.store import Store
from syncverify.store.models import RepairScript

LEASE_ENV = "SYNCVERIFY_REPAIR_LEASE_S"
DEFAULT_LEASE = timedelta(minutes=15)
APPLYING, ROLLING_BACK = "applying", "rolling_back"
ACTIVE = (APPLYING, ROLLING_BACK)


def lease_duration(lease: timedelta | None = None) -> timedelta:
    """The argument, else ``$SYNCVERIFY_REPAIR_LEASE_S`` seconds, else 15 minutes.

    It must outlast the longest apply: a live apply whose lease ran out can be taken over.
    """
    if lease is not None:
        return lease
    text = os.environ.get(LEASE_ENV, "").strip()
    return timedelta(seconds=float(text)) if text else DEFAULT_LEASE


def lease_now() -> datetime:
    """Wall-clock UTC, aware: PostgreSQL compares it with its timestamptz column whatever the
    session's time zone; SQLite stores and compares the UTC wall time."""
    return datetime.now(UTC)


def new_token() -> str:
    """A lease owner unique per process and attempt (host, pid, random)."""
    return f"{socket.gethostname()[:40]}:{os.getpid()}:{uuid.uuid4().hex[:16]}"


def _update(store: Store, script_id: int, where: list[sa.ColumnElement[bool]], values: dict[str, Any]) -> bool:
    with store.session() as s:
        stmt = (sa.update(RepairScript).where(RepairScript.id == script_id, *where).values(**values)
                .execution_options(synchronize_session=False))
        result = cast(sa.CursorResult[Any], s.execute(stmt))
        return result.rowcount == 1


def _free(now: datetime) -> sa.ColumnElement[bool]:
    return sa.or_(RepairScript.lease_until.is_(None), RepairScript.lease_until < now)


def claim(store: Store, script_id: int, *, from_states: tuple[str | None, ...], to_state: str, token: str,
          lease: timedelta) -> bool:
    """Move the script from one of ``from_states`` (None: never applied) to ``to_state`` under a
    new lease, if no live lease holds it. True when this call won."""
    now = lease_now()
    named = [st for st in from_states if st is not None]
    state = sa.or_(RepairScript.outcome.in_(named), *([RepairScript.outcome.is_(None)] if None in from_states else []))
    return _update(store, script_id, [state, _free(now)],
                   {"outcome": to_state, "lease_owner": token, "lease_until": now + lease})


def take_over(store: Store, script_id: int, *, state: str, token: str, lease: timedelta) -> bool:
    """Take over the expired lease of a script left in ``state`` (a process died mid-apply);
    a state without any lease (written before leases existed) counts as expired."""
    now = lease_now()
    return _update(store, script_id, [RepairScript.outcome == state, _free(now)],
                   {"lease_owner": token, "lease_until": now + lease})


def release(store: Store, script_id: int, *, token: str, values: dict[str, Any]) -> bool:
    """Write the outcome and drop the lease, only if ``token`` still holds it."""
    return _update(store, script_id, [RepairScript.lease_owner == token],
                   {**values, "lease_owner": None, "lease_until": None})


def live_until(script: RepairScript) -> datetime | None:
    """When the script's lease runs out, if it is still running (aware UTC); None if free."""
    until = script.lease_until
    if until is None:
        return None
    aware = until.astimezone(UTC) if until.tzinfo else until.replace(tzinfo=UTC)
    return aware if aware >= lease_now() else None
