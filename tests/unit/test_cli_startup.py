"""Start-up: building the ``syncverify`` parser loads no heavy library (timings: benchmarks/cli_startup.py)."""

from __future__ import annotations

import importlib
import json
import subprocess
import sys

import pytest

# Loaded only by the commands that use them (issue 23: `syncverify --help` took 1.3-1.9 s).
HEAVY = ("airflow", "great_expectations", "pandas", "pyarrow", "numpy", "sqlalchemy", "sqlglot",
         "confluent_kafka", "jinja2")
PACKAGES = ("catalog", "compare", "quality", "report", "schema", "tickets", "sandbox", "synclog", "kafka")

_PROBE = """
import json, sys
import syncverify.cli as cli
cli.build_parser()
print(json.dumps(sorted(m for m in {heavy!r} if m in sys.modules)))
"""


def _loaded_after(code: str) -> list[str]:
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120, check=True)
    return list(json.loads(out.stdout.strip().splitlines()[-1]))


def test_building_the_parser_loads_no_heavy_library() -> None:
    assert _loaded_after(_PROBE.format(heavy=HEAVY)) == []


def test_help_prints_without_heavy_libraries() -> None:
    code = ("import json, sys, contextlib, io\nimport syncverify.cli as cli\n"
            "with contextlib.redirect_stdout(io.StringIO()) as out:\n"
            "    try:\n        cli.main(['diff', '--help'])\n    except SystemExit:\n        pass\n"
            "assert '--key' in out.getvalue()\n"
            f"print(json.dumps(sorted(m for m in {HEAVY!r} if m in sys.modules)))")
    assert _loaded_after(code) == []


def test_the_probe_would_see_a_heavy_import() -> None:
    # The check above can fail: importing an engine module does load SQLAlchemy.
    code = "import json, sys\nimport syncverify.compare.engine\nprint(json.dumps(['sqlalchemy' in sys.modules]))"
    assert _loaded_after(code) == [True]


@pytest.mark.parametrize("package", PACKAGES)
def test_every_lazy_export_resolves(package: str) -> None:
    module = importlib.import_module(f"syncverify.{package}")
    for name in module.__all__:
        assert getattr(module, name) is not None, f"syncverify.{package}.{name}"
    with pytest.raises(AttributeError):
        module.no_such_name  # noqa: B018 - the lookup is the test


def test_sandbox_backends_spelled_alike() -> None:
    from syncverify.sandbox.cli import BACKENDS
    from syncverify.sandbox.storage import BACKENDS as STORAGE_BACKENDS

    assert BACKENDS == STORAGE_BACKENDS
