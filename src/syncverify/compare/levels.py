"""The cheaper levels of checking, each usable alone: row counts, business totals per day and a
full checksum. Each is one aggregate query per side, both sides at once."""

from __future__ import annotations

import dataclasses
import time
from decimal import Decimal
from typing import Any

from syncverify.compare.bucketdiff import DiffStats, bucket_sums, on_both
from syncverify.compare.buckets import HashLevel
from syncverify.compare.engine import new_result
from syncverify.compare.plan import SidePlan, resolve
from syncverify.compare.spec import CompareSpec, TableRef
from syncverify.results import CheckKind, CheckResult, ResultName

TOTALS_DECIMALS = 6     # sums of float columns are compared at this many decimal places


def _net(result: CheckResult) -> None:
    s, t = result.source_rows or 0, result.target_rows or 0
    result.missing_count, result.extra_count = max(0, s - t), max(0, t - s)


def count_rows(source: TableRef, target: TableRef, spec: CompareSpec, link_id: str | None = None, *,
               name: ResultName | None = None) -> CheckResult:
    """Row count of each side within the window and predicates. ``missing_count`` /
    ``extra_count`` hold the net difference (counts cannot say which keys)."""
    started = time.perf_counter()
    pair = resolve(source, target, spec, need_values=False)
    result = new_result(CheckKind.COUNT, source, target, spec, link_id, name)
    stats = DiffStats()

    def count(plan: SidePlan) -> int:
        sql, params = plan.count_sql()
        return int(plan.run(sql, params)[0][0])

    result.source_rows, result.target_rows = on_both(pair, stats, count, "count")
    _net(result)
    result.details = {**result.details, **stats.as_dict(), "elapsed_s": round(time.perf_counter() - started, 3)}
    return result.finish()


def _number(value: Any) -> Decimal:
    if value is None:
        return Decimal(0)
    number = Decimal(str(value))
    return round(number, TOTALS_DECIMALS).normalize() + 0


def business_totals(source: TableRef, target: TableRef, spec: CompareSpec,
                    link_id: str | None = None, *, name: ResultName | None = None) -> CheckResult:
    """Count and SUM of ``spec.totals`` (e.g. je, se) per day of ``spec.window_column``: a cheap
    business sign-off. ``changed_count`` is the number of days whose totals differ, the days
    are the result's ``changed_keys``, ``details["days"]`` holds both sides' figures for those days
    and ``details["daily"]`` the row counts of every day."""
    started = time.perf_counter()
    pair = resolve(source, target, dataclasses.replace(spec, columns=list(spec.totals)))
    result = new_result(CheckKind.TOTALS, source, target, spec, link_id, name)
    stats = DiffStats()

    def totals(plan: SidePlan) -> dict[str, tuple[int, list[Decimal]]]:
        day = (plan.dialect.day_text(plan.col(plan.window_col), plan.window_col)
               if plan.window_col is not None else "'all'")
        sums = "".join(f", SUM({plan.col(c)})" for c in plan.value_cols)
        where, params = plan.where_sql()
        sql = f"SELECT {day} AS d, COUNT(*){sums} FROM {plan.table_sql}{where} GROUP BY {day}"
        return {str(r[0]): (int(r[1]), [_number(v) for v in r[2:]]) for r in plan.run(sql, params)}

    src, tgt = on_both(pair, stats, totals, "totals")
    result.source_rows = sum(v[0] for v in src.values())
    result.target_rows = sum(v[0] for v in tgt.values())
    zero = (0, [Decimal(0)] * len(pair.column_names))
    days: list[dict[str, Any]] = []
    for day in sorted(src.keys() | tgt.keys()):
        s, t = src.get(day, zero), tgt.get(day, zero)
        if s != t:
            days.append({"day": day, "source_count": s[0], "target_count": t[0],
                         "source_sums": dict(zip(pair.column_names, map(str, s[1]), strict=True)),
                         "target_sums": dict(zip(pair.column_names, map(str, t[1]), strict=True))})
    result.changed_count = len(days)
    result.changed_keys = [str(d["day"]) for d in days]
    # Every day's row counts on both sides (the report's daily volume chart per link).
    daily = [{"day": day, "source_count": src.get(day, zero)[0], "target_count": tgt.get(day, zero)[0]}
             for day in sorted(src.keys() | tgt.keys())]
    result.details = {**result.details, **stats.as_dict(), "amounts": pair.column_names, "days": days, "daily": daily,
                      "days_compared": len(src.keys() | tgt.keys()),
                      "elapsed_s": round(time.perf_counter() - started, 3)}
    return result.finish()


def checksum(source: TableRef, target: TableRef, spec: CompareSpec, link_id: str | None = None, *,
             name: ResultName | None = None) -> CheckResult:
    """Count and hash sums of every compared column per hash bucket (one scan per side).
    ``changed_count`` is the number of buckets that differ (rows cannot be named at this level);
    ``missing_count`` / ``extra_count`` hold the net row-count difference."""
    started = time.perf_counter()
    pair = resolve(source, target, spec)
    result = new_result(CheckKind.CHECKSUM, source, target, spec, link_id, name)
    stats = DiffStats()
    src, tgt = on_both(pair, stats, lambda p: bucket_sums(p, HashLevel(spec.bucket_count), None), "checksum")
    result.source_rows = sum(v[0] for v in src.values())
    result.target_rows = sum(v[0] for v in tgt.values())
    zero: tuple[int, ...] = (0,)
    mismatched = [b for b in src.keys() | tgt.keys() if src.get(b, zero) != tgt.get(b, zero)]
    _net(result)
    result.changed_count = len(mismatched) if mismatched and not (result.missing_count or result.extra_count) else 0
    result.details = {**result.details, **stats.as_dict(), "buckets": spec.bucket_count,
                      "mismatched_buckets": len(mismatched),
                      "row_hash": pair.source.row_hash_name,
                      "columns": pair.column_names, "elapsed_s": round(time.perf_counter() - started, 3)}
    return result.finish()
