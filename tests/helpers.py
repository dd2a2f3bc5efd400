"""Plain constants and builders that many test files use (fixtures are in conftest.py).

A module of its own, like service_support: test files import it by name (``tests`` is on the
path), whichever conftest.py was loaded first. It imports nothing of syncverify when loaded, so
the root conftest.py can take ROOT from it before it points Airflow at its test home.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from syncverify.results import CheckResult

ROOT = Path(__file__).resolve().parents[1]     # the repository: checks/, dags/, docs/, README.md
T0 = datetime(2026, 10, 5, 8, 0, tzinfo=UTC)   # when the tickets tests' clocks start


def anomaly(keys: Sequence[str] = ("1",), started: datetime = T0, *, link: str = "zz11",
            source_node: str | None = None, target_node: str | None = None) -> CheckResult:
    """A finished difference on ``fp_fpxx`` with ``keys`` missing in the target: what opens a ticket."""
    from syncverify.results import CheckKind, CheckResult  # not at import: conftest sets Airflow up first

    return CheckResult(kind=CheckKind.DIFF, link_id=link, table="fp_fpxx", source_node=source_node,
                       target_node=target_node, missing_count=len(keys), missing_keys=list(keys),
                       started_at=started).finish()
