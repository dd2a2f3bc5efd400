"""`syncverify run` runs the whole month through the one pipeline, and a month's report is the
month's state: after a full month, the README's re-run of zz11 alone updates zz11's items (their
run id changes) and leaves every other item, the GX results and the sync-log report as they were.

The embedded sandbox world (small scale, in-flight rows landed first so every run sees the same
data), the real CLI in subprocesses, the store and reports in a temporary folder.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from helpers import ROOT

MONTH = "2026-10"
SYNCVERIFY = str(Path(sys.executable).parent / "syncverify")
pytestmark = [pytest.mark.e2e, pytest.mark.slow]


class Month:
    def __init__(self, root: Path) -> None:
        from syncverify.sandbox import build_world, land_in_flight

        self.root = root
        self.world = build_world(root / "world", scale=0.05, seed=5, month=MONTH, catalog_path=str(ROOT / "checks"))
        land_in_flight(self.world)
        self.store = f"sqlite:///{root / 'results.sqlite'}"
        self.env = {**os.environ, "SYNCVERIFY_HOME": str(root / "home"), "SYNCVERIFY_TICKET_SINKS": "file"}
        self.env.pop("SYNCVERIFY_STORE_URL", None)

    def cli(self, *args: str) -> subprocess.CompletedProcess[str]:
        common = ["--store", self.store, "--catalog", str(ROOT / "checks")]
        return subprocess.run([SYNCVERIFY, *args, *common], cwd=self.root, env=self.env, capture_output=True,
                              text=True, timeout=1200)

    def run(self, *args: str) -> dict[str, Any]:
        done = self.cli("run", "--month", MONTH, "--profile", str(self.world.connections), "--confirm-delay", "0",
                        "--json", *args)
        assert done.returncode in (0, 1), done.stdout[-2000:] + done.stderr[-2000:]
        assert done.stderr == ""        # --json, stderr a pipe: no progress drawn, nothing else said
        out: dict[str, Any] = json.loads(done.stdout)
        return out


@pytest.fixture(scope="module")
def month(tmp_path_factory: pytest.TempPathFactory) -> Month:
    return Month(tmp_path_factory.mktemp("pipeline-month"))


def _doc(folder: Path, name: str) -> dict[str, Any]:
    data: dict[str, Any] = json.loads((folder / MONTH / name).read_text(encoding="utf-8"))
    return data


def _items(doc: dict[str, Any]) -> dict[tuple[str, str, str | None], dict[str, Any]]:
    return {(i["link_id"], i["table"], i["source_node"]): i for i in doc["items"]}


def test_run_then_report_has_every_section(month: Month) -> None:
    full = month.run("--logs", str(month.world.logs_dir), "--reports", str(month.root / "reports"),
                     "--strategy", "processes")
    assert full["steps"] == ["start", "checks", "quality", "finish", "sync_logs", "tickets", "reports"]
    assert full["anomalies"] and full["sync_logs"]["analysed"] and full["tickets"]["open"]
    month.full_run_id = full["run_id"]                                  # type: ignore[attr-defined]
    month.open_tickets = full["tickets"]["open"]                        # type: ignore[attr-defined]

    done = month.cli("report", "--month", MONTH, "--out", str(month.root / "by-hand"))
    assert done.returncode == 0, done.stderr
    assert "+08:00" in done.stdout                                      # the runs' times, zone shown
    doc = _doc(month.root / "by-hand", "consistency.json")
    assert doc["quality"] and sum(q["evaluated"] for q in doc["quality"]) > 0        # the GX section
    assert doc["items"] and {i["run_id"] for i in doc["items"]} == {full["run_id"]}
    synclog = _doc(month.root / "by-hand", "synclog.json")
    assert synclog["available"] and synclog["links"] and synclog["findings"]   # the sync-log section


def test_a_rerun_of_one_link_updates_its_items_and_keeps_every_other(month: Month) -> None:
    reports = month.root / "reports"
    before = _doc(reports, "consistency.json")
    synclog_before = _doc(reports, "synclog.json")
    assert before["run_id"] == month.full_run_id                        # type: ignore[attr-defined]

    again = month.run("--links", "zz11", "--reports", str(reports))     # no --logs: the README's re-run
    assert again["run_id"] != month.full_run_id                         # type: ignore[attr-defined]
    # the re-run's GX failures downstream of hops it did not re-check stay evidence, not new tickets
    assert again["tickets"]["open"] == month.open_tickets               # type: ignore[attr-defined]
    after = _doc(reports, "consistency.json")

    old, new = _items(before), _items(after)
    assert set(new) == set(old) and len(new) > 20                       # nothing erased
    zz11 = {k for k in new if k[0] == "zz11"}
    assert zz11
    for key in set(new) - zz11:
        assert new[key] == old[key], key                                # untouched, run id included
    for key in zz11:
        assert new[key]["run_id"] == again["run_id"] and new[key]["run_at"].endswith("+08:00")
        same = {k: v for k, v in new[key].items() if k not in ("run_id", "run_at", "seconds", "tickets")}
        assert same == {k: v for k, v in old[key].items() if k not in ("run_id", "run_at", "seconds", "tickets")}
    assert after["overall"] == before["overall"]                        # same data, same month
    assert [r["id"] for r in after["runs"]] == [month.full_run_id, again["run_id"]]  # type: ignore[attr-defined]
    assert len(after["quality"]) == len(before["quality"])              # the other nodes' suites stay
    assert _doc(reports, "synclog.json") == {**synclog_before, "generated_at": _doc(reports, "synclog.json")["generated_at"]}
    index = (reports / "index.html").read_text(encoding="utf-8")
    assert f"{before['overall']['rate'] * 100:.2f}%" in index
