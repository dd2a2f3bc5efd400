"""Conclusions and recommendations of the consistency report: rules over the numbers, each
stated with the numbers it rests on (an i18n key and its parameters, :class:`Note`).

Counts carry their unit (``unit``: invoices, taxpayers or records, by the table's family) so a
sentence never counts taxpayers as invoices. A failing quality suite filed as an echo of another
ticket's fault gets no action of its own: the fault is repaired where it was born.
"""

from __future__ import annotations

from syncverify.report.views import ConsistencyData, Item, Note
from syncverify.results import Outcome


def _differing(i: Item) -> int:
    return i.missing + i.extra + i.changed + i.duplicate


def conclude(data: ConsistencyData) -> tuple[list[Note], list[Note]]:
    """Conclusions and recommendations, from the numbers only (rule-based, stated with them)."""
    o = data.overall
    conclusion: list[Note] = []
    recs: list[Note] = []
    if data.run_id is None:
        # Nothing verified is not "all consistent": the contract asks for a verification a month.
        return [Note("n_no_run", {"month": data.month})], [Note("r_no_run", {"month": data.month})]
    if o.items and o.consistent == o.items:
        conclusion.append(Note("n_all_consistent", {"items": o.items}))
    else:
        conclusion.append(Note("n_rate", {"items": o.items, "consistent": o.consistent, "inconsistent": o.inconsistent,
                                          "not_run": o.not_run, "rate": o.rate, "rate_after": o.rate_after_repair}))
    if o.rows_compared:
        conclusion.append(Note("n_row_rate", {"rows": o.rows_compared, "differing": o.rows_differing,
                                              "rate_rows": o.row_rate}))
    if data.sla["tickets"]:
        conclusion.append(Note("n_sla", dict(data.sla)))
    s = data.repair_summary
    if s.initially_out_of_sync:
        conclusion.append(Note("n_repairs", {"out_of_sync": s.initially_out_of_sync, "repaired": s.repaired,
                                             "failed": s.failed, "not_repaired": s.not_repaired}))
    if len(data.history) >= 2:
        prev = data.history[-2]
        conclusion.append(Note("n_trend", {"month": prev.month, "prev": prev.rate.rate, "rate": o.rate}))
    bad = sorted((i for i in data.items if i.status == Outcome.INCONSISTENT.value), key=lambda i: -_differing(i))
    if bad:
        w = bad[0]
        conclusion.append(Note("n_worst_link", {"link": w.link_id, "title": w.link_title, "table": w.table,
                                                "missing": w.missing, "extra": w.extra, "changed": w.changed,
                                                "duplicate": w.duplicate, "unit": w.unit}))
    for i in bad[:5]:
        tickets = ", ".join(f"#{t}" for t in i.tickets) or "-"
        recs.append(Note("r_fix_link", {"link": i.link_id, "title": i.link_title, "table": i.table,
                                        "missing": i.missing, "extra": i.extra, "changed": i.changed,
                                        "duplicate": i.duplicate, "unit": i.unit, "tickets": tickets}))
    for t in data.traces:
        for hop in t.hops[:1]:
            recs.append(Note("r_trace", {"flow": f"{t.flow_id} {t.flow_title}".strip(), "keys": hop["keys"],
                                         "link": hop["link"], "unit": t.unit}))
    for nr in data.not_run[:5]:
        recs.append(Note("r_not_run", {"link": nr["link_id"] or "-", "table": nr["table"], "error": nr["error"]}))
    if data.sla["late"]:
        recs.append(Note("r_sla", {"missed": data.sla["late"]}))
    for q in data.quality:
        if q.failed and q.echo_of is None:
            recs.append(Note("r_quality", {"suite": q.suite, "table": q.table, "node": q.node or "-", "failed": q.failed}))
    if not recs:
        recs.append(Note("r_keep"))
    return conclusion, recs
