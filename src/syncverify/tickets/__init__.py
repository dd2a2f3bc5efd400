"""Anomalies to repair tickets, the 8 h / 24 h SLA clock, sinks and reviewable repair scripts.

See ``docs/tickets.md``. Main entry points:

* :func:`open_or_update` — every INCONSISTENT check result opens or updates one ticket per
  (link, table, kind); CONSISTENT results move open tickets towards verification;
* :func:`acknowledge`, :func:`start_repair`, :func:`mark_repaired`, :func:`verify`, :func:`reopen`;
* :func:`sla_watch` — escalations, re-verification of repaired tickets, outbox delivery;
* :func:`deliver_pending` with :class:`WebhookSink` / :class:`FileDropSink`;
* :func:`generate_repair_script`, :func:`approve_repair_script`, :func:`apply_repair_script` —
  SQL or Kafka re-publish plans, approved by hash, applied under a lease, never automatically.
"""

from typing import TYPE_CHECKING

from syncverify.lazyexports import lazy_exports

if TYPE_CHECKING:
    from syncverify.tickets.clock import CORRECTION_SLA, REPAIR_START_SLA, FrozenClock, utcnow
    from syncverify.tickets.lifecycle import (
        OPEN_STATUSES,
        STATUSES,
        TicketError,
        acknowledge,
        get_ticket,
        list_tickets,
        mark_repaired,
        open_or_update,
        record,
        reopen,
        start_repair,
        verify,
    )
    from syncverify.tickets.outbox import DeliveryReport, deliver_pending, pending_count
    from syncverify.tickets.plans import RepairPlan, build_plan, plan_hash
    from syncverify.tickets.repair import (
        ApplyOutcome,
        apply_repair_script,
        approve_repair_script,
        generate_repair_script,
        latest_script,
        write_script_files,
    )
    from syncverify.tickets.republish import RepublishPlan, build_republish_plan
    from syncverify.tickets.reverify import keys_consistent, reverifier, reverify_with_engines
    from syncverify.tickets.sinks import FileDropSink, Sink, SinkError, WebhookSink, configured_sinks
    from syncverify.tickets.sla import SlaReport, escalate, reverify_repaired, sla_watch
    from syncverify.tickets.views import ticket_view

__all__ = [
    "CORRECTION_SLA", "OPEN_STATUSES", "REPAIR_START_SLA", "STATUSES", "ApplyOutcome", "DeliveryReport",
    "FileDropSink", "FrozenClock", "RepairPlan", "RepublishPlan", "Sink", "SinkError", "SlaReport", "TicketError",
    "WebhookSink", "acknowledge", "apply_repair_script", "approve_repair_script", "build_plan",
    "build_republish_plan", "configured_sinks", "deliver_pending",
    "escalate", "generate_repair_script", "get_ticket", "keys_consistent", "latest_script", "list_tickets",
    "mark_repaired", "open_or_update", "pending_count", "plan_hash", "record", "reopen", "reverifier", "reverify_repaired",
    "reverify_with_engines", "sla_watch", "start_repair", "ticket_view", "utcnow", "verify",
    "write_script_files",
]

# Imported on first use: building the command-line parser must not load them (syncverify/lazyexports.py).
__getattr__ = lazy_exports(__name__)
