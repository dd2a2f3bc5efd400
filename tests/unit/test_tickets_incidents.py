"""One root fault, one ticket: which results head an incident and which are its evidence
(traces, echoes downstream, quality rules broken by a consistency fault), on the real catalog."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from helpers import ROOT
from syncverify.catalog import load_catalog
from syncverify.results import CheckKind, CheckResult
from syncverify.store import Store
from syncverify.tickets import get_ticket, list_tickets, open_or_update
from syncverify.tickets.incidents import attribute

CATALOG = load_catalog(ROOT / "checks")
T0 = datetime(2026, 11, 1, 9, 0, tzinfo=UTC)
LOST = [("045002620410", "00014975"), ("045002610110", "00006733")]


def diff(link: str, table: str, **kw: Any) -> CheckResult:
    lc = CATALOG.link_checks(links=[link], tables=[table])[0]
    return CheckResult(kind=CheckKind.DIFF, link_id=link, table=table, source_node=lc.source.id,
                       target_node=lc.target.id, started_at=T0, check_id=f"diff/{lc.id}", **kw).finish()


def trace(flow: str, table: str, first: dict[str, list[Any]]) -> CheckResult:
    keys = [k for ks in first.values() for k in ks]
    return CheckResult(kind=CheckKind.TRACE, link_id=None, flow_id=flow, table=table, missing_count=len(keys),
                       missing_keys=keys,
                       details={"first_missing_hop": {h: [list(k) for k in ks] for h, ks in first.items()}},
                       check_id=f"trace/{flow}/{table}", started_at=T0).finish()


def quality(node: str, table: str, *rules: dict[str, Any]) -> CheckResult:
    failing = [{"success": False, "unexpected_count": 3, **r} for r in rules]
    r = CheckResult(kind=CheckKind.QUALITY, link_id=None, table=table, source_node=node, started_at=T0,
                    details={"expectations": failing, "failed": len(failing)}, check_id=f"quality/{node}/{table}")
    r.changed_count = len(failing)
    return r.finish()


SUM_RULE = {"expectation_type": "expect_column_sum_to_equal_column", "rule": "je + se = jshj",
            "columns": ["jshj", "je", "se"]}
UNIQUE_RULE = {"expectation_type": "expect_compound_columns_to_be_unique", "rule": "(fpdm, fphm) unique",
               "columns": ["fpdm", "fphm"]}
REF_RULE = {"expectation_type": "expect_column_values_to_reference", "rule": "taxpayer exists",
            "columns": ["nsrsbh"], "kwargs": {"ref_table": "nsr_jcxx"}}


def roles(results: list[CheckResult]) -> dict[str, tuple[str, str]]:
    return {f"{a.result.check_id}>{a.unit.key}": (a.role, a.unit.key) for a in attribute(results, CATALOG)
            if a.result.is_anomaly}


def heads(results: list[CheckResult]) -> set[str]:
    return {a.unit.key for a in attribute(results, CATALOG) if a.role == "head" and a.result.is_anomaly}


def test_traces_are_evidence_of_the_hop_that_lost_the_keys_first() -> None:
    lost = diff("GXJF-QUERY", "fp_fpxx", missing_count=2, missing_keys=LOST)
    got = roles([lost, trace("F1", "fp_fpxx", {"GXJF-QUERY": LOST})])
    assert got == {"diff/GXJF-QUERY/fp_fpxx>GXJF-QUERY/fp_fpxx/consistency": ("head", "GXJF-QUERY/fp_fpxx/consistency"),
                   "trace/F1/fp_fpxx>GXJF-QUERY/fp_fpxx/consistency": ("trace", "GXJF-QUERY/fp_fpxx/consistency")}


def test_a_trace_that_no_hop_check_saw_heads_the_hop_where_the_keys_were_lost() -> None:
    [a] = [a for a in attribute([trace("F1", "fp_fpxx", {"GXJF-QUERY": LOST})], CATALOG)]
    assert (a.role, a.unit.key, a.unit.link_id, a.unit.target_node) == (
        "head", "GXJF-QUERY/fp_fpxx/consistency", "GXJF-QUERY", "gx.query_db")
    assert a.keys == {"missing": LOST}


def test_a_later_hop_that_sees_the_same_duplicates_is_an_echo() -> None:
    # DD-QF duplicates rows into the province topic; GXJF-QUERY reads that topic and sees them again.
    root = diff("DD-QF", "fp_fpxx", duplicate_count=2, duplicate_keys=LOST)
    echo = diff("GXJF-QUERY", "fp_fpxx", duplicate_count=2, duplicate_keys=LOST)
    assert heads([root, echo]) == {"DD-QF/fp_fpxx/consistency"}
    # ... but a later hop with a difference of its own heads its own incident.
    own = diff("GXJF-QUERY", "fp_fpxx", duplicate_count=2, duplicate_keys=LOST, missing_count=1,
               missing_keys=[("1", "2")])
    assert heads([root, own]) == {"DD-QF/fp_fpxx/consistency", "GXJF-QUERY/fp_fpxx/consistency"}
    # ... and so does one whose duplicates are not the upstream ones.
    other = diff("GXJF-QUERY", "fp_fpxx", duplicate_count=1, duplicate_keys=[("9", "9")])
    assert heads([root, other]) == {"DD-QF/fp_fpxx/consistency", "GXJF-QUERY/fp_fpxx/consistency"}


def test_quality_rules_broken_by_a_consistency_fault_are_its_echoes() -> None:
    dup = diff("GXJF-LEDGER", "fp_fpxx", duplicate_count=2, duplicate_keys=LOST)
    lost_parents = diff("SS31", "nsr_jcxx", missing_count=2, missing_keys=["a", "b"])
    unique = quality("gx.ledger_db", "fp_fpxx", UNIQUE_RULE)
    ref = quality("gx.taxpayer_db", "nsr_kzxx", REF_RULE)
    got = roles([dup, lost_parents, unique, ref])
    assert got["quality/gx.ledger_db/fp_fpxx>GXJF-LEDGER/fp_fpxx/consistency"][0] == "echo"
    assert got["quality/gx.taxpayer_db/nsr_kzxx>SS31/nsr_jcxx/consistency"][0] == "echo"
    assert heads([dup, lost_parents, unique, ref]) == {"GXJF-LEDGER/fp_fpxx/consistency", "SS31/nsr_jcxx/consistency"}
    # Without the consistency faults the same rules are faults of their own copies.
    assert heads([unique, ref]) == {"gx.ledger_db/fp_fpxx/quality", "gx.taxpayer_db/nsr_kzxx/quality"}


def test_bad_rows_are_a_fault_where_they_were_born_and_echoes_downstream() -> None:
    born = quality("gx.issue_db", "fp_fpxx", SUM_RULE)
    copies = [quality(n, "fp_fpxx", SUM_RULE) for n in ("gx.query_db", "hq.query_db", "hq.ledger_db")]
    assert heads([born, *copies]) == {"gx.issue_db/fp_fpxx/quality"}
    # A copy that breaks the rule and another one too is still a fault of its own.
    worse = quality("gx.query_db", "fp_fpxx", SUM_RULE, {"expectation_type": "expect_column_values_to_not_be_null",
                                                         "rule": "fphm present", "columns": ["fphm"]})
    assert heads([born, worse]) == {"gx.issue_db/fp_fpxx/quality", "gx.query_db/fp_fpxx/quality"}
    # Two copies in a cycle (hq.query_db → zz11 → hq.ledger_db → ZZ25 → hq.query_db) never
    # explain each other away: one of them is the origin.
    cycle = [quality(n, "fp_fpxx", SUM_RULE) for n in ("hq.query_db", "hq.ledger_db")]
    assert len(heads(cycle)) == 1


def test_kafka_checks_of_a_hop_share_its_incident() -> None:
    lc = CATALOG.link_checks(links=["YP-ENTRY"], tables=["yp_ypxx"])[0]
    backlog = CheckResult(kind=CheckKind.KAFKA_BACKLOG, link_id="YP-ENTRY", table="yp_ypxx", source_node=lc.source.id,
                          target_node=lc.target.id, missing_count=120, started_at=T0).finish()
    missing = diff("YP-ENTRY", "yp_ypxx", missing_count=3, missing_keys=["k1", "k2", "k3"])
    assert heads([backlog, missing]) == {"YP-ENTRY/yp_ypxx/consistency"}


def test_one_ticket_per_fault_with_its_traces_and_echoes(store: Store) -> None:
    results = [
        diff("GXJF-QUERY", "fp_fpxx", missing_count=2, missing_keys=LOST),
        trace("F1", "fp_fpxx", {"GXJF-QUERY": LOST}),
        diff("GXJF-LEDGER", "fp_fpxx", duplicate_count=2, duplicate_keys=LOST),
        quality("gx.ledger_db", "fp_fpxx", UNIQUE_RULE),
        quality("gx.issue_db", "fp_fpxx", SUM_RULE),
        quality("hq.query_db", "fp_fpxx", SUM_RULE),
    ]
    open_or_update(store, results, run_id="r1", now=T0, catalog=CATALOG, sinks=[])
    tickets = {t.open_key: t for t in list_tickets(store, open_only=True)}
    assert set(tickets) == {"GXJF-QUERY/fp_fpxx/consistency", "GXJF-LEDGER/fp_fpxx/consistency",
                            "gx.issue_db/fp_fpxx/quality"}
    query = tickets["GXJF-QUERY/fp_fpxx/consistency"].evidence
    assert set(query["traces"]) == {"trace/F1/fp_fpxx"} and "echoes" not in query
    assert set(tickets["GXJF-LEDGER/fp_fpxx/consistency"].evidence["echoes"]) == {"quality/gx.ledger_db/fp_fpxx"}
    born = tickets["gx.issue_db/fp_fpxx/quality"]
    assert set(born.evidence["echoes"]) == {"quality/hq.query_db/fp_fpxx"}
    assert (born.kind, born.source_node, born.link_id) == ("quality", "gx.issue_db", None)
    # A second run with the same findings updates the same three tickets.
    open_or_update(store, results, run_id="r2", now=T0, catalog=CATALOG, sinks=[])
    assert {t.open_key for t in list_tickets(store, open_only=True)} == set(tickets)
    # An echo that is consistent again does not close the root's ticket on its own.
    _, events = get_ticket(store, born.id)
    assert [e.event for e in events] == ["opened", "seen_again"]
