"""Schema snapshots: what each copy of a table looked like, per month and per change.

A schema result carries the two shapes it compared (``details["shapes"]``); when the store
records the result, :func:`track` keeps a snapshot of each (node, table) whose shape changed
since the last snapshot — and one per month even without a change, so every month's report
can say what the schemas were — and lists in ``details["changes"]`` what changed since the
previous shape of that copy (column added, dropped, retyped, nullability) and when the new
shape was first seen. A change stays listed for the rest of the month it was first seen in.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

import sqlalchemy as sa

from syncverify.results import CheckResult
from syncverify.shapes.table import TableShape
from syncverify.store.models import Run, SchemaSnapshot

if TYPE_CHECKING:
    from syncverify.store import Store


def _aware(value: datetime) -> datetime:
    return value if value.tzinfo else value.replace(tzinfo=UTC)


def shape_changes(before: TableShape, after: TableShape) -> list[dict[str, Any]]:
    """Columns added, dropped, retyped or with another nullability; keys changed."""
    out: list[dict[str, Any]] = []
    old = {n.lower(): c for n, c in before.columns.items()}
    new = {n.lower(): c for n, c in after.columns.items()}
    for low, c in new.items():
        if low not in old:
            out.append({"column": c.name, "change": "added", "before": None, "after": c.type.declared})
    for low, c in old.items():
        if low not in new:
            out.append({"column": c.name, "change": "dropped", "before": c.type.declared, "after": None})
            continue
        n = new[low]
        a, b = c.type.to_dict(), n.type.to_dict()
        a.pop("declared", None)
        b.pop("declared", None)
        if a != b:
            out.append({"column": c.name, "change": "retyped", "before": c.type.declared, "after": n.type.declared})
        if c.nullable != n.nullable:
            out.append({"column": c.name, "change": "nullability", "before": "NULL" if c.nullable else "NOT NULL",
                        "after": "NULL" if n.nullable else "NOT NULL"})
    if sorted(map(sorted, before.unique_sets())) != sorted(map(sorted, after.unique_sets())):
        out.append({"column": "*", "change": "keys", "before": sorted(map(sorted, before.unique_sets())),
                    "after": sorted(map(sorted, after.unique_sets()))})
    return out


def record_snapshot(store: Store, node: str, table: str, shape: TableShape, *, month: str | None,
                    run_id: str | None, now: datetime | None = None) -> list[dict[str, Any]]:
    """Keep ``shape`` as the node's copy of ``table`` (when it changed, or first this month) and
    return the changes of this month's new shape against the previous one."""
    at = now or datetime.now(UTC)
    digest = shape.digest()
    with store.session() as s:
        rows = list(s.scalars(sa.select(SchemaSnapshot).where(
            SchemaSnapshot.node == node, SchemaSnapshot.table_name == table).order_by(
            SchemaSnapshot.captured_at.desc(), SchemaSnapshot.id.desc())))
        latest = rows[0] if rows else None
        if latest is None or latest.hash != digest or latest.month != month:
            row = SchemaSnapshot(node=node, table_name=table, month=month, captured_at=at, run_id=run_id,
                                 columns=shape.to_dict(), hash=digest)
            s.add(row)
            s.flush()
            rows.insert(0, row)
        first_seen = rows[0]
        previous = None
        for r in rows[1:]:
            if r.hash != digest:
                previous = r
                break
            first_seen = r
        if previous is None or first_seen.month != month:
            return []
        changes = shape_changes(TableShape.from_dict(previous.columns), shape)
        when = _aware(first_seen.captured_at).isoformat()
        since = _aware(previous.captured_at).isoformat()
        return [{"node": node, **c, "first_seen": when, "previous_snapshot": since} for c in changes]


def track(store: Store, run_id: str, result: CheckResult) -> None:
    """Snapshot the shapes a schema result carries and list their changes in its details.

    Called by the store when it records a schema result; the shapes are then dropped from the
    result (the snapshot table keeps them). Recording the same result again is harmless: an
    unchanged shape adds no snapshot and reports the same changes.
    """
    shapes = (result.details or {}).pop("shapes", None)
    if not isinstance(shapes, dict):
        return
    with store.session() as s:
        run = s.get(Run, run_id)
        month = run.month if run is not None else None
    changes: list[dict[str, Any]] = []
    hashes: dict[str, str] = {}
    for side in ("source", "target"):
        entry = shapes.get(side)
        if not isinstance(entry, dict) or not entry.get("node"):
            continue
        shape = TableShape.from_dict(entry["shape"])
        hashes[side] = shape.digest()
        changes += record_snapshot(store, str(entry["node"]), result.table, shape, month=month, run_id=run_id)
    result.details["changes"] = changes
    result.details["shape_hashes"] = hashes


def snapshots(store: Store, *, node: str | None = None, table: str | None = None,
              month: str | None = None) -> list[dict[str, Any]]:
    """Stored snapshots, oldest first (for the report and people)."""
    q = sa.select(SchemaSnapshot).order_by(SchemaSnapshot.captured_at, SchemaSnapshot.id)
    if node:
        q = q.where(SchemaSnapshot.node == node)
    if table:
        q = q.where(SchemaSnapshot.table_name == table)
    if month:
        q = q.where(SchemaSnapshot.month == month)
    with store.session() as s:
        return [{"node": r.node, "table": r.table_name, "month": r.month, "captured_at": _aware(r.captured_at).isoformat(),
                 "run_id": r.run_id, "hash": r.hash, "shape": r.columns} for r in s.scalars(q)]
