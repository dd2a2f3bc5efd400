"""The one pipeline definition: its steps, their order, what each waits for, and the checks
step's units flow by flow in hop order — what `syncverify run`, the demo and the DAGs share."""

from __future__ import annotations

import pytest

from helpers import ROOT
from syncverify.catalog import load_catalog
from syncverify.runner import jobs
from syncverify.runner.pipeline import STEP_NAMES, STEPS, PipelineConfig, Strategy, steps, units


def test_steps_in_run_order() -> None:
    assert STEP_NAMES == ("start", "checks", "quality", "finish", "sync_logs", "tickets", "reports")


def test_every_step_waits_only_for_earlier_steps_and_names_a_job() -> None:
    seen: set[str] = set()
    for step in STEPS:
        assert set(step.after) <= seen, f"{step.name} waits for a later step: {step.after}"
        assert callable(getattr(jobs, step.job)), step.job
        assert step.why
        seen.add(step.name)
    by_name = {s.name: s for s in STEPS}
    # the traces read every hop's missing keys, the tickets the analysis's root causes, the
    # reports the tickets: the order the DAG must keep
    assert {"checks", "quality"} <= set(by_name["finish"].after)
    assert {"finish", "sync_logs"} <= set(by_name["tickets"].after)
    assert "tickets" in by_name["reports"].after
    assert [s.name for s in STEPS if s.per_unit] == ["checks"]


@pytest.mark.parametrize(("changes", "left_out"), [
    ({}, {"sync_logs"}),                                     # no log folder: the stored analysis stays
    ({"logs_dir": "/logs"}, set()),
    ({"quality": False, "tickets": False, "reports_dir": None}, {"quality", "sync_logs", "tickets", "reports"}),
])
def test_a_configuration_leaves_out_the_steps_it_switches_off(changes: dict, left_out: set[str]) -> None:
    config = PipelineConfig(month="2026-10", **changes)
    chosen = [s.name for s in steps(config)]
    assert chosen == [n for n in STEP_NAMES if n not in left_out]


def test_params_are_what_the_job_functions_read() -> None:
    config = PipelineConfig(month="2026-10", links=["zz11"], depth="count", logs_dir="/logs", tickets=False,
                            strategy=Strategy.SERIAL)
    options = jobs.options_from(config.params())
    assert (options.month, options.links, options.depth.value, options.open_tickets) == ("2026-10", ["zz11"],
                                                                                          "count", False)
    assert config.params()["logs_dir"] == "/logs"


def test_units_follow_each_flow_hop_by_hop_and_check_a_shared_hop_once() -> None:
    catalog = load_catalog(ROOT / "checks")
    options = jobs.options_from({"month": "2026-10", "catalog_path": str(ROOT / "checks")})
    got = units(catalog, options)
    pairs = [(u.link, u.table) for u in got]
    assert len(pairs) == len(set(pairs))                     # every (hop, table) once
    assert sum(u.checks for u in got) == len(catalog.link_checks())
    position = {lt: i for i, lt in enumerate(pairs)}
    for flow in catalog.flows.values():
        mine = [u for u in got if u.flow == flow.id]
        hops = [u.link for u in mine]
        assert hops == sorted(hops, key=flow.hops.index), flow.id      # in the flow's hop order
        for earlier, later in zip(flow.hops, flow.hops[1:], strict=False):
            a = [position[p] for p in pairs if p[0] == earlier]
            b = [position[p] for p in pairs if p[0] == later]
            if a and b and all(u.flow == flow.id for u in got if u.link in (earlier, later)):
                assert max(a) < min(b), (flow.id, earlier, later)


def test_units_of_a_selection() -> None:
    catalog = load_catalog(ROOT / "checks")
    options = jobs.options_from({"month": "2026-10", "links": ["zz11"], "catalog_path": str(ROOT / "checks")})
    got = units(catalog, options)
    assert got and {u.link for u in got} == {"zz11"}
    assert sum(u.checks for u in got) == len(catalog.link_checks(links=["zz11"]))
