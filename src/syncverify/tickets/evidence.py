"""Evidence of a ticket: counts, masked sample keys, the flow trace and sync-log incidents.

Two views of the keys are kept in ``Ticket.evidence``:

* ``checks[check_id].sample_keys`` — a short sample for people, with every key part that is a
  taxpayer id masked (the table's ``masked_columns`` say which key columns are; without a
  catalog, anything that looks like a taxpayer id is masked);
* ``_keys`` — the unmasked differing keys (capped like a CheckResult), used only inside the
  verifier to re-verify and to build repair scripts. :func:`public_evidence` drops it, and every
  view for people or sinks goes through it.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from syncverify.catalog import Catalog, TableDef
from syncverify.masking import mask_taxpayer_id, mask_taxpayer_ids_in_text
from syncverify.results import KEY_SAMPLE_CAP, CheckResult, Key, key_to_json

SAMPLE_FOR_PEOPLE = 20
RAW_KEYS = "_keys"
KEY_LISTS = ("missing", "extra", "changed", "duplicate")
# Check kinds whose key lists are row keys (a totals check's keys are days, a count's windows).
ROW_LEVEL_KINDS = {"diff", "kafka_keys", "trace"}

EvidenceExtra = Mapping[str, Any] | Callable[[CheckResult], Mapping[str, Any] | None] | None


def mask_key(key: Key, table: TableDef | None) -> str | list[str]:
    """A key as people may see it: taxpayer-id parts masked, invoice numbers shown."""
    parts = list(key) if isinstance(key, tuple) else [key]
    if table is not None and len(table.key) == len(parts):
        masked = [mask_taxpayer_id(p) or "" if col in table.masked_columns else p
                  for col, p in zip(table.key, parts, strict=True)]
    else:
        # No catalog: we cannot tell an invoice number from a taxpayer id, so err on the safe side.
        masked = [mask_taxpayer_ids_in_text(str(p)) for p in parts]
    return masked if isinstance(key, tuple) else masked[0]


def mask_json(value: Any) -> Any:
    """Mask every taxpayer-id-looking token inside strings of a JSON-able structure."""
    if isinstance(value, str):
        return mask_taxpayer_ids_in_text(value)
    if isinstance(value, Mapping):
        return {str(k): mask_json(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [mask_json(v) for v in value]
    return value


def check_evidence(result: CheckResult, *, run_id: str, table: TableDef | None) -> dict[str, Any]:
    """What one check contributes to a ticket, as people may see it."""
    samples = {name: [mask_key(k, table) for k in getattr(result, f"{name}_keys")[:SAMPLE_FOR_PEOPLE]]
               for name in KEY_LISTS}
    details = {k: v for k, v in (result.details or {}).items() if k not in ("trace", "align_ddl")}
    return {
        "check_kind": result.kind.value,
        "run_id": run_id,
        "window_start": result.window_start.isoformat() if result.window_start else None,
        "window_end": result.window_end.isoformat() if result.window_end else None,
        "source_rows": result.source_rows,
        "target_rows": result.target_rows,
        "missing_count": result.missing_count,
        "extra_count": result.extra_count,
        "changed_count": result.changed_count,
        "duplicate_count": result.duplicate_count,
        "sample_keys": {k: v for k, v in samples.items() if v},
        "details": mask_json(details),
        # a schema check's aligning DDL names columns and types only, never a value: kept as
        # written (masking could garble an identifier that looks like a taxpayer id)
        **({"align_ddl": list(result.details["align_ddl"])} if (result.details or {}).get("align_ddl") else {}),
    }


def raw_keys(result: CheckResult) -> dict[str, list[Any]]:
    return {name: [key_to_json(k) for k in getattr(result, f"{name}_keys")[:KEY_SAMPLE_CAP]]
            for name in KEY_LISTS}


def merge_evidence(current: Mapping[str, Any] | None, result: CheckResult, *, run_id: str,
                   catalog: Catalog | None, extra: EvidenceExtra,
                   keys: Mapping[str, list[Key]] | None = None) -> dict[str, Any]:
    """The ticket's evidence after ``result``: its check replaced, row keys and trace refreshed.

    Row keys (``_keys``) come only from checks whose keys are rows (an exact diff, a Kafka key
    reconciliation, a flow trace): a totals check lists differing days and a count check
    windows, which are kept in that check's own evidence and never replace the rows, so the
    finest evidence a ticket ever had stays until a row-level check says otherwise. ``keys``
    overrides the result's keys (a trace's keys lost at this ticket's hop).
    """
    evidence: dict[str, Any] = dict(current or {})
    table = catalog.tables.get(result.table) if catalog is not None else None
    checks = dict(evidence.get("checks") or {})
    entry = check_evidence(result, run_id=run_id, table=table)
    if result.kind.value not in ROW_LEVEL_KINDS:
        entry["key_unit"] = "days" if result.kind.value == "totals" else "windows"
    checks[str(result.check_id)] = entry
    evidence["checks"] = checks
    if entry.get("align_ddl"):
        evidence["align_ddl"] = entry["align_ddl"]   # the target's DDL that clears a schema fault
    if result.kind.value in ROW_LEVEL_KINDS:
        found = ({name: [key_to_json(k) for k in keys.get(name, [])[:KEY_SAMPLE_CAP]] for name in KEY_LISTS}
                 if keys is not None else raw_keys(result))
        if any(found.values()):
            evidence[RAW_KEYS] = found
    trace = (result.details or {}).get("trace")
    if trace is None and result.kind.value == "trace":
        trace = result.details
    if trace:
        evidence["trace"] = mask_json(trace)
    more = extra(result) if callable(extra) else extra
    for k, v in (more or {}).items():
        if k not in {"checks", RAW_KEYS}:
            evidence[str(k)] = mask_json(v)
    return evidence


def attach_evidence(current: Mapping[str, Any] | None, result: CheckResult, *, role: str, because: str,
                    run_id: str, catalog: Catalog | None,
                    keys: Mapping[str, list[Key]] | None = None) -> dict[str, Any]:
    """A result that belongs to this ticket's fault without being a fault of its own: a flow
    trace (``traces``) or an echo downstream (``echoes``), with why it belongs here."""
    evidence: dict[str, Any] = dict(current or {})
    table = catalog.tables.get(result.table) if catalog is not None else None
    entry = check_evidence(result, run_id=run_id, table=table)
    entry["because"] = mask_taxpayer_ids_in_text(because)
    entry["where"] = result.link_id or result.source_node
    if keys is not None:
        entry["sample_keys"] = {name: [mask_key(k, table) for k in ks[:SAMPLE_FOR_PEOPLE]]
                                for name, ks in keys.items() if ks}
        entry["keys_here"] = {name: len(ks) for name, ks in keys.items()}
    if result.kind.value == "quality":
        entry["failed_rules"] = [
            {"rule": e.get("rule"), "expectation_type": e.get("expectation_type"),
             "unexpected_count": e.get("unexpected_count")}
            for e in (result.details or {}).get("expectations") or [] if isinstance(e, dict) and e.get("success") is False]
        entry["details"] = {}
    section = "traces" if role == "trace" else "echoes"
    attached = dict(evidence.get(section) or {})
    attached[str(result.check_id)] = mask_json(entry)
    evidence[section] = attached
    return evidence


def public_evidence(evidence: Mapping[str, Any] | None) -> dict[str, Any]:
    """Evidence without the unmasked keys: what people and sinks see."""
    return {k: v for k, v in (evidence or {}).items() if k != RAW_KEYS}


def differing_keys(evidence: Mapping[str, Any] | None,
                   lists: tuple[str, ...] = ("missing", "extra", "changed")) -> list[Key]:
    """Every unmasked differing key recorded on a ticket (by default missing, extra, changed;
    ``lists`` may add ``duplicate``), once each."""
    seen: dict[Any, None] = {}
    for name in lists:
        for k in ((evidence or {}).get(RAW_KEYS) or {}).get(name) or []:
            seen[tuple(k) if isinstance(k, list) else k] = None
    return list(seen)
