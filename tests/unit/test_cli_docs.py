"""Every command of the CLI has help text, is listed in the README, and bad input exits 2 with
one line (sqlite-utils habit: a test keeps the documentation honest)."""

from __future__ import annotations

import argparse
from pathlib import Path

import pytest

from helpers import ROOT
from syncverify.cli import AREAS, build_parser, main


def _commands(parser: argparse.ArgumentParser, prefix: str = "") -> list[tuple[str, argparse.ArgumentParser, str]]:
    out = []
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            helps = {a.dest: a.help for a in action._choices_actions}
            seen: set[int] = set()
            for name, sub in action.choices.items():
                if id(sub) in seen:   # an alias (synclog analyze = analyse)
                    continue
                seen.add(id(sub))
                full = f"{prefix}{name}"
                out.append((full, sub, helps.get(name) or ""))
                out.extend(_commands(sub, full + " "))
    return out


def test_every_area_registers() -> None:
    import importlib.util

    assert all(importlib.util.find_spec(area) is not None for area in AREAS)


def test_every_command_has_help_and_is_in_readme() -> None:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    commands = _commands(build_parser())
    top = [c for c in commands if " " not in c[0]]
    assert {"topology", "discover", "connections", "diff", "run", "demo", "sandbox", "kafka", "quality",
            "synclog", "tickets", "report", "airflow-pools"} <= {c[0] for c in top}
    for name, sub, help_text in commands:
        assert help_text.strip(), f"command {name!r} has no help"
        assert sub.format_help().strip()
        parent, _, child = name.partition(" ")
        lines = [line for line in readme.splitlines() if f"syncverify {parent}" in line]
        assert lines, f"README does not document `syncverify {parent}`"
        if child:
            assert any(child in line for line in lines), f"README does not document `syncverify {name}`"


def test_bad_input_is_one_line_exit_2(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    (tmp_path / "x.yaml").write_text("nodes: [{id: bad id}]\n", encoding="utf-8")
    assert main(["topology", "--catalog", str(tmp_path / "x.yaml")]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "catalog error" in err[0] and "x.yaml" in err[0] and "Traceback" not in err[0]
