"""Airflow test setup: the metadata database (in the throw-away AIRFLOW_HOME that the root
conftest sets up) migrated once per session, with the syncverify pools."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from helpers import ROOT


@pytest.fixture(scope="session")
def airflow_db() -> Path:
    bin_dir = Path(sys.executable).parent
    env = {**os.environ, "PATH": f"{bin_dir}:{os.environ.get('PATH', '')}"}
    subprocess.run([str(bin_dir / "airflow"), "db", "migrate"], check=True, env=env, capture_output=True)
    subprocess.run([str(bin_dir / "syncverify"), "airflow-pools", "--catalog", str(ROOT / "checks")],
                   check=True, env=env, capture_output=True, cwd=ROOT)
    return Path(os.environ["AIRFLOW_HOME"])
