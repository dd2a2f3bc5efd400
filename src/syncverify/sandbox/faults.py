"""Faults injected into the sandbox world, and the rows still in flight (which are not faults).

Most faults are hooks on one hop, applied while rows cross it (see :mod:`.propagate`), so a
fault shows exactly on its hop and downstream copies copy the faulty copy. Two effects depend on
the final Kafka message layout and are applied after propagation by *withdrawing* rows from a
target and, in cascade, from every copy that received them through it:

- a lagging consumer: a group whose committed offset on one partition is N messages behind;
- rows in flight: the last rows of the month not yet landed on a hop; they are written to a
  pending file and land later (:func:`syncverify.sandbox.world.land_in_flight`).

Every fault gets a manifest entry ``{id, kind, link, table, keys, detail}``; keys are strings
(one key column) or lists of strings (composite keys).
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

from syncverify.catalog import Catalog, LinkCheck
from syncverify.errors import SyncverifyError
from syncverify.sandbox import ids
from syncverify.sandbox.generate import Origins, Row, columns
from syncverify.sandbox.messages import Message, layout
from syncverify.sandbox.propagate import Copy, Hook, Key, State, compile_predicate, key_function

FAULT_KINDS = ("missing", "duplicate", "changed_amount", "changed_date", "extra", "misrouted",
               "lagging_consumer", "quality")


class FaultPlanError(SyncverifyError):
    """A fault cannot be placed (unknown hop, or too few rows at this scale)."""


@dataclass(frozen=True)
class FaultSpec:
    id: str
    kind: str
    link: str | None              # None for quality faults (they live in an origin node)
    table: str
    count: int
    source_node: str | None = None
    node: str | None = None       # origin node of a quality fault


# The faults of the demo world: every kind, on twelve different hops of seven flows.
DEFAULT_FAULTS: tuple[FaultSpec, ...] = (
    FaultSpec("F01", "missing", "GXJF-QUERY", "fp_fpxx", 8),
    FaultSpec("F02", "missing", "zz04", "hz_tzd", 4, source_node="hq.red_notice_db"),
    FaultSpec("F03", "missing", "SS31", "nsr_jcxx", 5),
    FaultSpec("F04", "duplicate", "GXJF-LEDGER", "fp_fpxx", 6),
    FaultSpec("F05", "duplicate", "SS22", "zsk_zsxx", 3),
    FaultSpec("F06", "changed_amount", "ZJJF-QUERY", "fp_fpxx", 5),
    FaultSpec("F07", "changed_date", "zz11", "fp_fpxx", 5),
    FaultSpec("F08", "extra", "ZZ15-1", "dm_csb", 3),
    FaultSpec("F09", "extra", "ZS01", "yp_ypxx", 4),
    FaultSpec("F10", "misrouted", "DD-QF", "fp_fpxx", 4),
    FaultSpec("F11", "lagging_consumer", "YP-ENTRY", "yp_ypxx", 10),
    FaultSpec("F12", "quality", None, "fp_fpxx", 3, node="gx.issue_db"),
    FaultSpec("F13", "quality", None, "nsr_jcxx", 2, node="hq.data_support_db"),
    FaultSpec("F14", "missing", "SS-ZNHD-XJ", "hd_hhjl", 5),
)

# Rows in flight at build time (not faults): (link, table, rows).
DEFAULT_IN_FLIGHT: tuple[tuple[str, str, int], ...] = (
    ("YP-USE", "fp_fpxx", 4),
    ("zz11", "fp_fpxx", 5),
    ("ZS01", "yp_ypxx", 3),
)


def key_json(key: Key) -> str | list[str]:
    texts = ["" if v is None else str(v) for v in key]
    return texts[0] if len(texts) == 1 else texts


def find_check(catalog: Catalog, link: str, table: str, source_node: str | None = None) -> LinkCheck:
    catalog.link(link)
    found = [lc for lc in catalog.link_checks(links=[link])
             if lc.table.name == table and (source_node is None or lc.source.id == source_node)]
    if len(found) != 1:
        raise FaultPlanError(f"hop {link!r} carries table {table!r} "
                             f"{'from ' + source_node + ' ' if source_node else ''}{len(found)} times; "
                             "name the source node")
    return found[0]


@dataclass
class _Placed:
    spec: FaultSpec
    keys: list[Key] = field(default_factory=list)
    detail: str = ""
    done: bool = False


class FaultPlanner:
    """Chooses the faulty rows (with its own random stream) and records what it did."""

    def __init__(self, catalog: Catalog, origins: Origins, *, seed: int, month_start: datetime,
                 month_end: datetime, faults: tuple[FaultSpec, ...] = DEFAULT_FAULTS,
                 in_flight: tuple[tuple[str, str, int], ...] = DEFAULT_IN_FLIGHT) -> None:
        self.catalog, self.origins = catalog, origins
        self.rng = random.Random(seed * 7 + 3)
        self.start, self.end = month_start, month_end
        self.specs, self.in_flight_specs = faults, in_flight
        self.placed = [_Placed(s) for s in faults]
        self.used: set[tuple[str, Key]] = set()
        self.pending: list[dict[str, Any]] = []
        self.offsets: dict[tuple[str, str, str, int], int] = {}   # (node, group, topic, partition) -> committed
        self.landed_offsets: dict[tuple[str, str, str, int], int] = {}
        self._keys: dict[str, Any] = {}
        for s in faults:
            if s.kind not in FAULT_KINDS:
                raise FaultPlanError(f"fault {s.id}: unknown kind {s.kind!r}; known: {', '.join(FAULT_KINDS)}")

    # ------------------------------------------------------------------ eligibility
    def _key(self, table: str) -> Any:
        if table not in self._keys:
            self._keys[table] = key_function(self.catalog, table)
        return self._keys[table]

    def _eligible(self, table: str, row: Row) -> bool:
        key = self._key(table)(row)
        if (table, key) in self.used or key in self.origins.protected.get(table, set()):
            return False
        if table == "fp_fpxx" and key in self.origins.late_keys:
            return False
        window = self.catalog.table(table).window_column
        if window:
            value = row[columns(table).index(window)]
            # Away from the month's edges: shifted dates stay inside, in-flight rows stay apart.
            return self.start + timedelta(days=2) <= value < self.end - timedelta(days=4)
        return True

    def _take(self, table: str, rows: list[Row], n: int, *, burst: bool = False) -> list[Row]:
        pool = [r for r in rows if self._eligible(table, r)]
        if len(pool) < n:
            return []
        if burst:
            window = self.catalog.table(table).window_column
            idx = columns(table).index(window) if window else 0
            pool.sort(key=lambda r: (r[idx], str(r)))
            first = self.rng.randrange(len(pool) - n + 1)
            chosen = pool[first:first + n]
        else:
            chosen = self.rng.sample(pool, n)
        key = key_function(self.catalog, table)
        for r in chosen:
            self.used.add((table, key(r)))
        return chosen

    # ------------------------------------------------------------------ origin faults
    def apply_quality(self) -> None:
        """Quality violations written by an origin system; propagated consistently everywhere."""
        for placed in self.placed:
            spec = placed.spec
            if spec.kind != "quality":
                continue
            rows = self.origins.rows.get((spec.node or "", spec.table))
            if not rows:
                raise FaultPlanError(f"fault {spec.id}: node {spec.node!r} holds no {spec.table} rows")
            key = key_function(self.catalog, spec.table)
            if spec.table == "fp_fpxx":
                chosen = self._take(spec.table, rows, spec.count)
                bad = {key(r) for r in chosen}
                for i, r in enumerate(rows):
                    if key(r) in bad:          # 价税合计 off by one cent: je + se != jshj
                        rows[i] = (*r[:11], r[11] + Decimal("0.01"), *r[12:])
                placed.detail = "jshj = je + se + 0.01 in the issuing system; every copy carries it"
            elif spec.table == "nsr_jcxx":
                chosen = []
                for _ in range(spec.count):
                    office = ids.tax_office(ids.GUANGXI, 1, 2)
                    code = ids.corrupt_check_character(ids.make_credit_code(self.rng, ids.division_of(office)))
                    row = (code, ids.company_name(self.rng, ids.GUANGXI, 1), office,
                           self.start.date() - timedelta(days=30), "03", "5211",
                           self.start - timedelta(days=3))
                    rows.append(row)
                    chosen.append(row)
                placed.detail = "taxpayer ids with a wrong GB 32100 check character, as registered"
            else:
                raise FaultPlanError(f"fault {spec.id}: no quality violation defined for table {spec.table!r}")
            if len(chosen) < spec.count:
                raise FaultPlanError(f"fault {spec.id}: too few {spec.table} rows at this scale")
            placed.keys = [key(r) for r in chosen]
            placed.done = True

    # ------------------------------------------------------------------ hop hooks
    def hooks(self, state: State) -> dict[str, Hook]:
        out: dict[str, Hook] = {}
        for placed in self.placed:
            spec = placed.spec
            if spec.kind in {"quality", "lagging_consumer"}:
                continue
            assert spec.link is not None
            lc = find_check(self.catalog, spec.link, spec.table, spec.source_node)
            if lc.id in out:
                raise FaultPlanError(f"fault {spec.id}: hop {lc.id} already has a fault hook")
            if spec.kind in {"changed_amount", "changed_date"} and spec.table != "fp_fpxx":
                raise FaultPlanError(f"fault {spec.id}: {spec.kind} is defined for fp_fpxx only")
            if spec.kind == "duplicate":
                state.copy(lc.target.id, spec.table).no_pk = True
            out[lc.id] = self._hook(placed, lc)
        return out

    def _hook(self, placed: _Placed, lc: LinkCheck) -> Hook:
        spec, table = placed.spec, placed.spec.table
        key = key_function(self.catalog, table)
        cols = columns(table)
        chosen: set[Key] = set()
        emitted: set[Key] = set()
        scope = compile_predicate(lc.spec.target_scope, table)

        def hook(routed: list[Row], rejected: list[Row]) -> tuple[list[Row], list[Row]]:
            nonlocal chosen
            dups: list[Row] = []
            if not placed.done:
                pool = rejected if spec.kind == "misrouted" else routed
                if spec.kind == "misrouted":
                    # A row for another province: inside the hop's target scope, buyer not in Guangxi.
                    gi = cols.index("gmf_swjg_dm")
                    pool = [r for r in pool if scope(r) and not str(r[gi]).startswith("145")]
                if spec.kind == "extra":
                    picked = self._fabricate(spec, routed)
                else:
                    picked = self._take(table, pool, spec.count, burst=spec.kind == "missing")
                if picked:
                    placed.done = True
                    placed.keys = [key(r) for r in picked]
                    chosen = set(placed.keys)
                    placed.detail = _DETAILS[spec.kind].format(link=lc.link.id, target=lc.target.id)
                    if spec.kind in {"extra", "misrouted"}:
                        routed = routed + picked
            if not chosen:
                return routed, dups
            out: list[Row] = []
            for row in routed:
                k = key(row)
                if k not in chosen:
                    out.append(row)
                elif spec.kind == "missing":
                    continue
                elif spec.kind == "changed_amount":
                    delta = Decimal(1 + zlib_hash(k) % 9999).scaleb(-2)
                    out.append((*row[:9], row[9] + delta, row[10], row[11] + delta, *row[12:]))
                elif spec.kind == "changed_date":
                    eight = timedelta(hours=8)   # a time-zone conversion on the link (UTC+8 applied twice)
                    out.append((*row[:4], row[4] + eight, *row[5:20], row[20] + eight))
                elif spec.kind == "duplicate":
                    out.append(row)
                    if k not in emitted:
                        emitted.add(k)
                        dups.append(row)
                else:
                    out.append(row)
            return out, dups

        return hook

    def _fabricate(self, spec: FaultSpec, routed: list[Row]) -> list[Row]:
        """Rows that exist downstream only (deleted upstream; the delete never replicated)."""
        if spec.table == "dm_csb":
            return [("SWJG", f"14599{i:02d}0000", f"国家税务总局广西壮族自治区已撤并税务分局{i}", "N",
                     self.start - timedelta(days=200 + i)) for i in range(1, spec.count + 1)]
        if spec.table == "yp_ypxx":
            picked = self._take("yp_ypxx", routed, spec.count)
            return [(f"{r[5]}{r[4]}{r[6]:%Y%m%d}{9 * 10**19 + i:020d}", *r[1:])
                    for i, r in enumerate(picked)]
        raise FaultPlanError(f"fault {spec.id}: no extra rows defined for table {spec.table!r}")

    # ------------------------------------------------------------------ after propagation
    def after_propagation(self, state: State, *, with_faults: bool) -> None:
        """Lagging consumers and rows in flight: withdraw rows that have not landed."""
        if with_faults:
            for placed in self.placed:
                if placed.spec.kind == "lagging_consumer":
                    self._lag(placed, state)
        for link, table, n in self.in_flight_specs if with_faults else ():
            self._in_flight(link, table, n, state)
        for placed in self.placed if with_faults else ():
            if not placed.done:
                raise FaultPlanError(f"fault {placed.spec.id} ({placed.spec.kind} on {placed.spec.link}) "
                                     "found no rows to use: the scale is too small")

    def _topic_tail(self, lc: LinkCheck, state: State, n: int, *, landed_before: datetime) -> tuple[int, list[Message]]:
        """The last ``n`` messages of a partition whose messages all carry a timestamp before
        ``landed_before``, among those the hop delivers (the partition with most such rows)."""
        src = state.copies[(lc.source.id, lc.table.name)]
        key = key_function(self.catalog, lc.table.name)
        msgs = layout(lc.table.name, list(src.rows.values()) + src.duplicates, key, node=lc.source.id)
        target = state.copies[(lc.target.id, lc.table.name)]
        ranked: list[tuple[bool, int, int, list[Message]]] = []
        for p in sorted({m.partition for m in msgs}):
            tail = [m for m in msgs if m.partition == p][-n:]
            protected = self.origins.protected.get(lc.table.name, set())
            if len(tail) < n or any((lc.table.name, m.key) in self.used or m.key in protected for m in tail):
                continue     # rows other rows refer to stay put: only the hop may differ
            hits = sum(1 for m in tail if target.via.get(m.key) == lc.id)
            if hits:
                # Prefer a tail older than ``landed_before``, then the most rows the hop delivers.
                ranked.append((all(m.ts < landed_before for m in tail), hits, -p, tail))
        if not ranked:
            raise FaultPlanError(f"hop {lc.id}: no partition of {lc.source_table} has {n} suitable messages")
        best = max(ranked, key=lambda c: c[:3])
        return -best[2], best[3]

    def _lag(self, placed: _Placed, state: State) -> None:
        spec = placed.spec
        assert spec.link is not None
        lc = find_check(self.catalog, spec.link, spec.table, spec.source_node)
        group = lc.link.consumer_group
        if not group:
            raise FaultPlanError(f"fault {spec.id}: hop {lc.link.id} names no consumer_group")
        partition, tail = self._topic_tail(lc, state, spec.count, landed_before=self.end - lc.link.grace)
        target = state.copies[(lc.target.id, spec.table)]
        keys = [m.key for m in tail if target.via.get(m.key) == lc.id]
        withdraw(self.catalog, state, lc.target.id, spec.table, keys, via=lc.id)
        for k in keys:
            self.used.add((spec.table, k))
        self.offsets[(lc.source.id, group, lc.source_table, partition)] = tail[0].offset
        placed.keys, placed.done = keys, True
        placed.detail = (f"consumer group {group} committed offset {tail[0].offset} on {lc.source_table} "
                         f"partition {partition}: its last {len(tail)} messages (before "
                         f"{tail[-1].ts:%Y-%m-%d %H:%M}) never landed in {lc.target.id}")

    def _in_flight(self, link: str, table: str, n: int, state: State) -> None:
        lc = find_check(self.catalog, link, table)
        target = state.copies[(lc.target.id, table)]
        key = key_function(self.catalog, table)
        group = lc.link.consumer_group if lc.source.is_kafka else None
        if group:
            partition, tail = self._topic_tail(lc, state, n, landed_before=self.end + timedelta(hours=1))
            keys = [m.key for m in tail if target.via.get(m.key) == lc.id]
            place = (lc.source.id, group, lc.source_table, partition)
            self.offsets[place] = tail[0].offset
            self.landed_offsets[place] = tail[-1].offset + 1
        else:
            window = self.catalog.table(table).window_column
            if not window:
                raise FaultPlanError(f"in-flight rows need a windowed table; {table} has no window column")
            idx = columns(table).index(window)
            mine = [r for k, r in target.rows.items() if target.via.get(k) == lc.id
                    and (table, k) not in self.used]
            mine.sort(key=lambda r: (r[idx], str(key(r))))
            keys = [key(r) for r in mine[-n:]]
        for k in keys:
            self.used.add((table, k))
        withdrawn = withdraw(self.catalog, state, lc.target.id, table, keys, via=lc.id)
        self.pending.append({"link": link, "table": table, "keys": [key_json(k) for k in keys],
                             "rows": withdrawn})

    # ------------------------------------------------------------------ manifest
    def manifest_faults(self) -> list[dict[str, Any]]:
        out = []
        for placed in self.placed:
            if not placed.done:
                continue
            s = placed.spec
            entry: dict[str, Any] = {"id": s.id, "kind": s.kind, "link": s.link, "table": s.table,
                                     "keys": [key_json(k) for k in placed.keys], "detail": placed.detail}
            if s.source_node:
                entry["source_node"] = s.source_node
            if s.node:
                entry["node"] = s.node
            out.append(entry)
        return out

    def manifest_in_flight(self) -> list[dict[str, Any]]:
        return [{"link": p["link"], "table": p["table"], "keys": p["keys"]} for p in self.pending]


_DETAILS = {
    "missing": "rows lost on {link}: never written to {target} (error burst in the link's log)",
    "duplicate": "rows written twice into {target} by {link} (table created without its primary key)",
    "changed_amount": "je and jshj altered by {link} in {target}",
    "changed_date": "kprq and gxsj shifted by +8 h by {link} in {target} (time zone applied twice)",
    "extra": "rows present in {target} but not upstream of {link} (a delete never replicated)",
    "misrouted": "invoices for another province delivered into {target} by {link}",
}


def zlib_hash(key: Key) -> int:
    import zlib
    return zlib.crc32("|".join(str(v) for v in key).encode("utf-8"))


def withdraw(catalog: Catalog, state: State, node: str, table: str, keys: list[Key], *, via: str) -> list[
        tuple[str, str, Row]]:
    """Remove ``keys`` from a copy (those written by hop ``via``) and, in cascade, from every copy
    that received them through it. Returns the withdrawn (node, table, row) in landing order."""
    copy: Copy = state.copies[(node, table)]
    out: list[tuple[str, str, Row]] = []
    gone = []
    for k in keys:
        if copy.via.get(k) == via and k in copy.rows:
            out.append((node, table, copy.rows.pop(k)))
            copy.via.pop(k)
            gone.append(k)
    if not gone:
        return out
    for lc in catalog.link_checks():
        if lc.source.id == node and lc.table.name == table:
            out.extend(withdraw(catalog, state, lc.target.id, table, gone, via=lc.id))
    return out
