"""Airflow failures and SLA breaches, posted where the tickets already go.

Operators watch the ticket sinks (the webhook of the bureau's ticket system, or the file drop),
not the Airflow UI. :class:`SinkNotifier` is an Airflow notifier — usable as any
``on_failure_callback`` — that sends one JSON document per event to the sinks
``SYNCVERIFY_TICKET_SINKS`` configures, with an idempotency key per task try so a repeated
callback does not alert twice.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Any

from airflow.sdk import BaseNotifier

from syncverify.masking import mask_text
from syncverify.tickets.sinks import Sink, SinkError, configured_sinks

log = logging.getLogger("syncverify.notify")


def _get(obj: Any, name: str) -> Any:
    return obj.get(name) if isinstance(obj, Mapping) else getattr(obj, name, None)


def alert_payload(context: Mapping[str, Any], *, event: str, message: str | None) -> tuple[dict[str, Any], str]:
    """The document and idempotency key of an alert, from an Airflow callback context."""
    ti = context.get("ti") or context.get("task_instance")
    dag_run = context.get("dag_run")
    dag = context.get("dag")
    dag_id = _get(ti, "dag_id") or _get(dag, "dag_id") or _get(dag_run, "dag_id") or "?"
    run_id = _get(ti, "run_id") or _get(dag_run, "run_id") or context.get("run_id") or "?"
    task_id = _get(ti, "task_id")
    try_number = _get(ti, "try_number")
    exception = context.get("exception")
    text = message or (str(exception) if exception else None) or context.get("reason") or event
    payload = {"kind": "airflow_alert", "event": event, "dag_id": dag_id, "run_id": run_id, "task_id": task_id,
               "try_number": try_number, "message": mask_text(str(text))}
    key = f"airflow-{event}-{dag_id}-{run_id}-{task_id or 'dag'}-{try_number or 0}"
    return payload, key


class SinkNotifier(BaseNotifier):
    """Sends a failure (or an SLA breach) to the ticket sinks; ``message`` may be templated."""

    template_fields = ("message",)

    def __init__(self, *, event: str = "failure", message: str | None = None,
                 sinks: Mapping[str, Sink] | None = None) -> None:
        super().__init__()
        self.event, self.message, self._sinks = event, message, sinks

    def notify(self, context: Any) -> None:
        payload, key = alert_payload(context, event=self.event, message=self.message)
        sinks = self._sinks if self._sinks is not None else configured_sinks()
        failed = []
        for name, sink in sinks.items():
            try:
                sink.send(payload, key)
            except SinkError as exc:
                failed.append(f"{name}: {exc}")
        if failed:
            raise SinkError("alert not delivered to " + "; ".join(failed))
        log.info("alert %s sent to %s", key, ", ".join(sinks) or "no sink")
