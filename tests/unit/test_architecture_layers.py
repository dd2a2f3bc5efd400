"""The package's layers hold (docs/architecture.md): the import contracts of .importlinter pass,
every package sits in a layer, no two packages import each other, and the contracts do catch
an upward import or a cycle (checked on a copy of the import graph with one import added).

Every import counts: module level, inside a function (imported lazily) and under TYPE_CHECKING.
"""

from __future__ import annotations

import copy
import subprocess
import sys
from pathlib import Path
from typing import Any

import grimp
import pytest
from importlinter.application.use_cases import read_user_options
from importlinter.configuration import configure
from importlinter.contracts.acyclic_siblings import AcyclicSiblingsContract
from importlinter.contracts.layers import LayersContract

ROOT = Path(__file__).resolve().parents[2]
CONFIG = ROOT / ".importlinter"
CONTRACT_TYPES: dict[str, Any] = {"layers": LayersContract, "acyclic_siblings": AcyclicSiblingsContract}


@pytest.fixture(scope="module")
def graph() -> grimp.ImportGraph:
    return grimp.build_graph("syncverify", cache_dir=None)


def _options() -> Any:
    configure()     # import-linter's readers (what its command sets up before reading a file)
    return read_user_options(str(CONFIG))


def _contract(kind: str) -> Any:
    options = _options()
    [entry] = [c for c in options.contracts_options if c["type"] == kind]
    return CONTRACT_TYPES[kind](name=entry["name"], session_options=options.session_options, contract_options=entry)


def _layers() -> list[list[str]]:
    """The layers of the contract, top first, each a list of its packages."""
    options = _options()
    [entry] = [c for c in options.contracts_options if c["type"] == "layers"]
    raw = entry["layers"]
    lines = raw if isinstance(raw, list) else raw.splitlines()
    return [[p.strip() for p in line.split("|")] for line in lines if line.strip()]


def test_lint_imports_passes() -> None:
    """What a developer runs: ``lint-imports`` over .importlinter, from the repository."""
    lint = Path(sys.executable).with_name("lint-imports")
    done = subprocess.run([str(lint), "--config", str(CONFIG), "--no-cache"], cwd=ROOT, capture_output=True,
                          text=True, timeout=120)
    assert done.returncode == 0, done.stdout[-4000:] + done.stderr[-2000:]
    assert "0 broken" in done.stdout


def test_every_package_is_in_one_layer(graph: grimp.ImportGraph) -> None:
    top = {m for m in graph.modules if m.count(".") == 1}
    placed = [p for layer in _layers() for p in layer]
    assert len(placed) == len(set(placed)), "a package is listed in two layers"
    assert set(placed) == top, (f"not in a layer: {sorted(top - set(placed))}; "
                                f"listed but missing: {sorted(set(placed) - top)}")


def test_no_import_cycle_between_packages(graph: grimp.ImportGraph) -> None:
    top = sorted(m for m in graph.modules if m.count(".") == 1)
    deps = {a: {b for b in top if b != a and graph.direct_import_exists(importer=a, imported=b, as_packages=True)}
            for a in top}
    for a in top:
        for b in deps[a]:
            chain = graph.find_shortest_chain(importer=b, imported=a, as_packages=True)
            assert chain is None, f"{a} imports {b} and {b} imports {a} (through {' -> '.join(chain)})"


def test_an_upward_import_breaks_the_layers(graph: grimp.ImportGraph) -> None:
    contract = _contract("layers")
    assert contract.check(copy.deepcopy(graph), verbose=False).kept
    # a lazy import inside a function is an import: the calendar (bottom) asking the runner
    upward = copy.deepcopy(graph)
    upward.add_import(importer="syncverify.calendar", imported="syncverify.runner.jobs", line_number=1,
                      line_contents="from syncverify.runner.jobs import start_run")
    assert not contract.check(upward, verbose=False).kept
    # two packages of one layer are independent
    sideways = copy.deepcopy(graph)
    sideways.add_import(importer="syncverify.quality.runner", imported="syncverify.synclog.model", line_number=1,
                        line_contents="from syncverify.synclog.model import Finding")
    assert not contract.check(sideways, verbose=False).kept


def test_a_cycle_inside_a_package_breaks_the_acyclic_contract(graph: grimp.ImportGraph) -> None:
    contract = _contract("acyclic_siblings")
    assert contract.check(copy.deepcopy(graph), verbose=False).kept
    cycle = copy.deepcopy(graph)
    # runner.verify imports runner.checks; the reverse closes a circle of two files
    assert cycle.direct_import_exists(importer="syncverify.runner.verify", imported="syncverify.runner.checks")
    cycle.add_import(importer="syncverify.runner.checks", imported="syncverify.runner.verify", line_number=1,
                     line_contents="from syncverify.runner.verify import plan")
    assert not contract.check(cycle, verbose=False).kept
