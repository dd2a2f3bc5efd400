"""The exact diff of one table between two copies, with confirmation of in-flight rows."""

from __future__ import annotations

import time
from datetime import datetime

from syncverify.compare.bucketdiff import DiffStats, Findings, bucket_diff, classify, duplicate_scan, fetch_keys
from syncverify.compare.plan import InternalKey, Pair, resolve
from syncverify.compare.spec import CompareSpec, TableRef
from syncverify.results import KEY_SAMPLE_CAP, CheckKind, CheckResult, Key, ResultName

NULL_KEY_TEXT = "<NULL>"
_FIELDS = {"missing": "missing", "extra": "extra", "changed": "changed", "duplicate": "duplicate"}


def key_out(key: InternalKey) -> Key:
    """A key as results carry it: the canonical text, a tuple of texts for a composite key."""
    parts = tuple(NULL_KEY_TEXT if v is None else str(v) for v in key)
    return parts[0] if len(parts) == 1 else parts


def new_result(kind: CheckKind, source: TableRef, target: TableRef, spec: CompareSpec,
               link_id: str | None, name: ResultName | None = None) -> CheckResult:
    """The result of a comparison, filed under ``name`` when given (else the source copy's table)."""
    window = [v if isinstance(v, datetime) else None for v in (spec.window_start, spec.window_end)]
    return CheckResult(kind=kind, link_id=link_id, table=name.table if name else source.qualified,
                       source_node=source.label, target_node=target.label, window_start=window[0],
                       window_end=window[1], check_id=f"{kind.value}/{name.check}" if name else None,
                       details=dict(name.details) if name else {})


def fill(result: CheckResult, findings: Findings) -> None:
    for kind in _FIELDS:
        setattr(result, f"{kind}_count", findings.counts[kind])
        setattr(result, f"{kind}_keys", [key_out(k) for k in findings.held(kind)])


def confirm(pair: Pair, findings: Findings, stats: DiffStats) -> tuple[Findings, list[InternalKey], int]:
    """Re-check the differing keys held; returns the new findings, the keys that converged
    (in flight) and how many keys were re-checked. Keys beyond the held cap keep their count."""
    suspects = [k for kind in ("missing", "extra", "changed") for k in findings.held(kind)]
    src, tgt = fetch_keys(pair, list(dict.fromkeys(suspects)), stats)
    after = Findings(cap=findings.cap)
    for kind in ("missing", "extra", "changed"):
        after.counts[kind] = findings.counts[kind] - len(findings.keys[kind])
    after.keys["duplicate"] = dict(findings.keys["duplicate"])
    after.counts["duplicate"] = findings.counts["duplicate"]
    agree = classify(src, tgt, after, only=set(suspects))
    return after, [k for k in dict.fromkeys(suspects) if k in agree], len(suspects)


def diff_tables(source: TableRef, target: TableRef, spec: CompareSpec, link_id: str | None = None,
                confirm_delay_s: float = 0, key_sample_cap: int = KEY_SAMPLE_CAP, *,
                name: ResultName | None = None) -> CheckResult:
    """Exact differences of one table between a source and a target copy.

    Counts of missing (in the source only), extra (in the target only), changed (same key,
    different values) and duplicated keys are exact; the key lists are samples. With
    ``confirm_delay_s`` > 0, differing keys are re-checked after that delay and those that
    converged are reported as in flight (``in_flight_count``), not as differences.
    ``key_sample_cap`` bounds each key list of the result (at most ``spec.key_cap`` are held).

    Raises :class:`~syncverify.errors.SchemaError`, ``PredicateError``, ``UnreachableError`` or
    another :class:`~syncverify.errors.SyncverifyError` when the comparison cannot run.
    """
    started = time.perf_counter()
    pair = resolve(source, target, spec)
    result = new_result(CheckKind.DIFF, source, target, spec, link_id, name)
    stats = DiffStats(steps={"resolve": time.perf_counter() - started})
    findings = Findings(cap=spec.key_cap)
    result.source_rows, result.target_rows = bucket_diff(pair, spec, findings, stats)
    duplicate_scan(pair, spec, findings, stats)
    rechecked = 0
    in_flight: list[InternalKey] = []
    if confirm_delay_s > 0 and findings.total - findings.counts["duplicate"] > 0:
        time.sleep(confirm_delay_s)
        findings, in_flight, rechecked = confirm(pair, findings, stats)
        result.in_flight_count = len(in_flight)
        result.in_flight_keys = [key_out(k) for k in in_flight]
    fill(result, findings)
    result.details = {
        **result.details,
        **stats.as_dict(),
        "row_hash": pair.source.row_hash_name,
        "key": pair.key_names,
        "columns": pair.column_names,
        "kinds": {n: k.value for n, k in zip(pair.key_names + pair.column_names,
                                               pair.source.key_kinds + pair.source.value_kinds, strict=True)},
        "confirm_delay_s": confirm_delay_s,
        "rechecked_keys": rechecked,
        "elapsed_s": round(time.perf_counter() - started, 3),
    }
    result.finish()
    if key_sample_cap > KEY_SAMPLE_CAP:
        fill(result, findings)
        if result.in_flight_count:
            result.in_flight_keys = [key_out(k) for k in in_flight]
    return result.cap_keys(key_sample_cap)
