"""What tests share besides fixtures: the service URLs and the fail-under-CI / skip-loudly rule.

A module of its own (not conftest) so that test files can import it: several conftest.py files
exist under tests/, and `from conftest import ...` would pick whichever was loaded first.
"""

from __future__ import annotations

import os
import warnings

import pytest

MARIADB_ADMIN_URL = os.environ.get("SYNCVERIFY_TEST_MARIADB", "mysql+pymysql://root@127.0.0.1:3306/test")
POSTGRES_ADMIN_URL = os.environ.get("SYNCVERIFY_TEST_POSTGRES", "postgresql+psycopg2://postgres@127.0.0.1:5432/postgres")
IN_CI = os.environ.get("CI", "").lower() in {"1", "true", "yes"}


def service_unavailable(what: str, reason: object) -> None:
    """Fail under CI, skip loudly elsewhere."""
    message = f"{what} is not reachable: {reason}"
    if IN_CI:
        pytest.fail(f"{message} (CI=true: a missing service is a failure)", pytrace=False)
    warnings.warn(f"SKIPPED: {message}", stacklevel=2)
    pytest.skip(message)


