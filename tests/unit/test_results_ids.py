"""Results are built with the ids they are filed under (docs/architecture.md, "The one result type")."""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa

from syncverify.compare import CompareSpec, TableRef
from syncverify.compare.engine import new_result
from syncverify.results import CheckKind, CheckResult, ResultName


def test_a_comparison_is_built_under_the_catalogs_name() -> None:
    engine = sa.create_engine("sqlite://")
    spec = CompareSpec(key=["fphm"], window_column="kprq", window_start=datetime(2026, 10, 1),
                       window_end=datetime(2026, 11, 1))
    source, target = TableRef(engine, "ods.fp_fpxx_gx", label="gx.issue_db"), TableRef(engine, "fp", label="hq.db")
    unnamed = new_result(CheckKind.DIFF, source, target, spec, "zz11")
    assert (unnamed.table, unnamed.check_id) == ("ods.fp_fpxx_gx", "diff/zz11/ods.fp_fpxx_gx")
    named = new_result(CheckKind.DIFF, source, target, spec, "zz11",
                       ResultName("fp_fpxx", "zz11/fp_fpxx@gx.issue_db", {"link_check": "zz11/fp_fpxx@gx.issue_db"}))
    assert (named.table, named.check_id, named.details) == (
        "fp_fpxx", "diff/zz11/fp_fpxx@gx.issue_db", {"link_check": "zz11/fp_fpxx@gx.issue_db"})
    assert (named.link_id, named.source_node, named.target_node) == ("zz11", "gx.issue_db", "hq.db")
    assert (named.window_start, named.window_end) == (datetime(2026, 10, 1), datetime(2026, 11, 1))


def test_a_trace_names_its_flow_not_a_link() -> None:
    trace = CheckResult(kind=CheckKind.TRACE, link_id=None, flow_id="F1", table="fp_fpxx")
    assert trace.check_id == "trace/F1/fp_fpxx"
    again = CheckResult.from_dict(trace.to_dict())
    assert (again.flow_id, again.link_id, again.check_id) == ("F1", None, "trace/F1/fp_fpxx")


def test_a_trace_stored_before_the_flow_field_reads_its_flow_from_link_id() -> None:
    old = CheckResult(kind=CheckKind.TRACE, link_id="F2", table="fp_fpxx", check_id="trace/F2/fp_fpxx").to_dict()
    del old["flow_id"]
    trace = CheckResult.from_dict(old)
    assert (trace.flow_id, trace.link_id) == ("F2", None)
    diff = CheckResult(kind=CheckKind.DIFF, link_id="zz11", table="fp_fpxx").to_dict()
    del diff["flow_id"]
    assert (CheckResult.from_dict(diff).link_id, CheckResult.from_dict(diff).flow_id) == ("zz11", None)
