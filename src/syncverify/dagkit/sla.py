"""SLA breaches of the ticket clock as alerts, next to the ticket events the watch delivers.

The SLA watch escalates tickets whose 8 h / 24 h deadlines pass; an overdue one is also an
operations incident of its own (someone missed the clock), so it is posted through the same
notifier as a failed run — once per ticket and breach kind, the idempotency key says so.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from syncverify.dagkit.notify import SinkNotifier

BREACHES = ("repair_start_overdue", "correction_overdue")


def breaches(report: Mapping[str, Any]) -> list[dict[str, Any]]:
    """The escalations of a watch report that are breaches (a deadline passed)."""
    return [dict(e) for e in report.get("escalations") or [] if str(e.get("event")) in BREACHES]


def notify_breaches(report: Mapping[str, Any], context: Mapping[str, Any], notifier: SinkNotifier | None = None) -> int:
    """Post each breach of ``report``; returns how many were posted."""
    found = breaches(report)
    for breach in found:
        ticket, kind = breach.get("ticket_id"), breach.get("event")
        message = f"ticket #{ticket}: {kind}, deadline {breach.get('deadline')}, status {breach.get('status')}"
        (notifier or SinkNotifier(event=f"sla_breach-{kind}-{ticket}", message=message)).notify(dict(context))
    return len(found)
