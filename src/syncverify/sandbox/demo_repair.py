"""The demo repairs one ticket end to end, as an operator would with ``syncverify tickets``:
generate the plan, approve it (a named approver), apply it (a named operator, the only writable
connection), re-verify — through the tickets API, so the monthly report's repair and maintenance
record lists it. Then the month's reports are written again, with that record.

The ticket is one with missing rows only if the month has it (the simplest plan to review: insert
the rows the source holds), else a duplicate-only one, on a database target (a Kafka target gets a
re-publish plan, which needs a broker the embedded demo does not run; a Kafka source is read
from its message table, so the demo keeps to a link between two databases).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from syncverify.catalog import Catalog, load_catalog
from syncverify.store import Store
from syncverify.store.models import Ticket

DEMO_OPERATOR = "demo-operator 王工"          # who generates and applies the script
DEMO_APPROVER = "demo-approver 李科长"         # who approves it (a different person)
DEMO_NOTE = "demo: plan reviewed against the ticket's evidence (change request DEMO-0001)"


@dataclass
class RepairedTicket:
    ticket_id: int
    script_id: int
    outcome: str                 # applied / precheck_failed / failed
    reverified: bool | None
    status: str                  # the ticket's status after the repair
    # the ticket as the scoring reads it, once closed by its re-verification (an open one is listed already)
    views: list[dict[str, Any]] = field(default_factory=list)

    @property
    def verified(self) -> bool:
        return self.outcome == "applied" and self.reverified is True and self.status == "verified"


def _counts(t: Ticket) -> dict[str, int]:
    checks = [c for c in ((t.evidence or {}).get("checks") or {}).values()
              if isinstance(c, dict) and c.get("check_kind") in {"diff", "kafka_keys"}]
    return {k: max((int(c.get(f"{k}_count") or 0) for c in checks), default=0)
            for k in ("missing", "extra", "changed", "duplicate")}


def _nodes(t: Ticket, catalog: Catalog) -> tuple[str | None, str | None]:
    link = catalog.links.get(t.link_id or "")
    return t.source_node or (link.source if link else None), t.target_node or (link.target if link else None)


def pick_ticket(tickets: list[Ticket], catalog: Catalog) -> Ticket | None:
    """An open consistency ticket between two databases: missing rows only first, else duplicates only;
    a copy no later hop reads from first."""
    def on_database(t: Ticket) -> bool:
        nodes = [catalog.nodes.get(n or "") for n in _nodes(t, catalog)]
        return all(n is not None and not n.is_kafka for n in nodes)

    def feeds_another_hop(t: Ticket) -> bool:
        # The sandbox runs no replication: rows written into a copy that a later hop reads from would
        # show up missing on that hop at the next run. A copy at the end of its flow repairs cleanly.
        _, target = _nodes(t, catalog)
        return any(lt.table == t.table_name and (lt.source_node or link.source) == target
                   for link in catalog.links.values() if link.id != t.link_id for lt in link.tables)

    usable = [t for t in tickets if t.kind == "consistency" and t.link_id and on_database(t)]
    for only in ("missing", "duplicate"):
        alone = [t for t in usable if _counts(t)[only] and not any(v for k, v in _counts(t).items() if k != only)]
        for t in sorted(alone, key=feeds_another_hop):        # stable: ticket order within each group
            return t
    return None


def repair_one_ticket(store: Store, *, profile: str | Path, catalog_path: str, month: str,
                      reports: str | Path) -> RepairedTicket | None:
    """Repair one ticket of the demo's month through the tickets API and rewrite the month's reports."""
    from syncverify.connect.resolve import engine_for_node
    from syncverify.report import write_reports
    from syncverify.tickets import (
        apply_repair_script,
        approve_repair_script,
        generate_repair_script,
        get_ticket,
        list_tickets,
        ticket_view,
    )
    from syncverify.tickets.reverify import reverify_pair

    catalog = load_catalog(catalog_path)
    ticket = pick_ticket(list_tickets(store, open_only=True), catalog)
    if ticket is None:
        return None
    source_node, target_node = _nodes(ticket, catalog)
    assert source_node and target_node
    source = engine_for_node(source_node, profile=profile, read_only=True)
    reader = engine_for_node(target_node, profile=profile, read_only=True)
    script = generate_repair_script(store, ticket.id, source_engine=source, target_engine=reader, catalog=catalog,
                                    actor=DEMO_OPERATOR)
    approve_repair_script(store, ticket.id, by=DEMO_APPROVER, note=DEMO_NOTE, script_id=script.id)
    # The one writable connection: resolved for the apply only, as `tickets apply` does.
    writer = engine_for_node(target_node, profile=profile, read_only=False)
    outcome = apply_repair_script(store, ticket.id, target_engine=writer, by=DEMO_OPERATOR, script_id=script.id,
                                  reverify=lambda t: reverify_pair(t, catalog, source, writer))
    after, events = get_ticket(store, ticket.id)
    write_reports(store, month, reports, catalog)
    reverified = outcome.detail.get("reverified")
    return RepairedTicket(ticket.id, script.id, outcome.outcome, reverified if isinstance(reverified, bool) else None,
                          after.status, [ticket_view(after, events=events)] if after.open_key is None else [])
