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


def ticket_kind(result: CheckResult) -> str:
    """The ticket family of a check: the table-comparison levels share one ticket per table."""
    if result.kind.value in {"count", "totals", "checksum", "diff"}:
        return "consistency"
    return result.kind.value


def check_evidence(result: CheckResult, *, run_id: str, table: TableDef | None) -> dict[str, Any]:
    """What one check contributes to a ticket, as people may see it."""
    samples = {name: [mask_key(k, table) for k in getattr(result, f"{name}_keys")[:SAMPLE_FOR_PEOPLE]]
               for name in KEY_LISTS}
    details = {k: v for k, v in (result.details or {}).items() if k != "trace"}
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
    }


def raw_keys(result: CheckResult) -> dict[str, list[Any]]:
    return {name: [key_to_json(k) for k in getattr(result, f"{name}_keys")[:KEY_SAMPLE_CAP]]
            for name in ("missing", "extra", "changed")}


def merge_evidence(current: Mapping[str, Any] | None, result: CheckResult, *, run_id: str,
                   catalog: Catalog | None, extra: EvidenceExtra) -> dict[str, Any]:
    """The ticket's evidence after ``result``: its check replaced, keys and trace refreshed."""
    evidence: dict[str, Any] = dict(current or {})
    table = catalog.tables.get(result.table) if catalog is not None else None
    checks = dict(evidence.get("checks") or {})
    checks[str(result.check_id)] = check_evidence(result, run_id=run_id, table=table)
    evidence["checks"] = checks
    keys = raw_keys(result)
    if any(keys.values()):
        # The most precise (key-level) result wins; a COUNT result never erases DIFF keys.
        evidence[RAW_KEYS] = keys
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


def public_evidence(evidence: Mapping[str, Any] | None) -> dict[str, Any]:
    """Evidence without the unmasked keys: what people and sinks see."""
    return {k: v for k, v in (evidence or {}).items() if k != RAW_KEYS}


def differing_keys(evidence: Mapping[str, Any] | None) -> list[Key]:
    """Every unmasked differing key recorded on a ticket (missing, extra, changed), once each."""
    seen: dict[Any, None] = {}
    for name in ("missing", "extra", "changed"):
        for k in ((evidence or {}).get(RAW_KEYS) or {}).get(name) or []:
            seen[tuple(k) if isinstance(k, list) else k] = None
    return list(seen)
