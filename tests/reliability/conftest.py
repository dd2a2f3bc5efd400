"""Fixtures of the reliability suite (helpers live in rel_helpers.py)."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from syncverify.connect.resolve import dispose_engines


@pytest.fixture
def sv_home(tmp_path, monkeypatch) -> Iterator[Path]:
    """A private $SYNCVERIFY_HOME (spool, embedded store) and no engine/profile cache leaking."""
    home = tmp_path / "home"
    home.mkdir()
    monkeypatch.setenv("SYNCVERIFY_HOME", str(home))
    monkeypatch.delenv("SYNCVERIFY_STORE_URL", raising=False)
    for name in list(os.environ):
        if name.startswith("SYNCVERIFY_CONN_") or name.startswith("AIRFLOW_CONN_"):
            monkeypatch.delenv(name)
    dispose_engines()
    yield home
    dispose_engines()
