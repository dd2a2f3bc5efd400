"""``syncverify airflow-pools``: one Airflow pool per database node, for a deployment."""

from __future__ import annotations

import argparse
from typing import Any

from syncverify.exitcodes import ExitCode


def _pools(args: argparse.Namespace) -> int:
    from syncverify.catalog import load_catalog
    from syncverify.dagkit.deployment import ensure_pools

    for name, slots in ensure_pools(load_catalog(args.catalog)).items():
        print(f"{name}: {slots} slots")
    return ExitCode.OK


def register(sub: Any) -> None:
    p = sub.add_parser("airflow-pools", help="create one Airflow pool per database node",
                       description="Create or resize the Airflow pools (sv_<node>) that cap concurrent checks per "
                                   "node; run after `airflow db migrate`.")
    p.add_argument("--catalog", default="checks")
    p.set_defaults(func=_pools)
