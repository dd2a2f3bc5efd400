"""Only ``syncverify.dialects`` may name a database: nowhere else does code branch on one.

Every module of the package (and the DAG files) is parsed with :mod:`ast`; a branch is a
comparison (``==``, ``!=``, ``in``, ``not in``, ``is``), a ``case`` pattern, a ``startswith`` /
``endswith`` call, or a lookup (``d["mysql"]``, ``d.get("mysql")``, a dict display keyed by names)
where a string literal names a database (``mysql``, ``postgresql``, ``sqlite+pysqlite://...``,
any case, also inside a tuple, list or set). What differs between databases is asked of the
dialect instead (session settings, bulk loads, case sensitivity ...).
"""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
PACKAGE = ROOT / "src" / "syncverify"
ALLOWED = PACKAGE / "dialects"
SCANNED = (PACKAGE, ROOT / "dags")

DATABASE_NAMES = ("mysql", "mariadb", "postgres", "postgresql", "pgsql", "sqlite", "sqlite3", "tdsql", "tbase",
                  "tdpg", "oracle", "mssql")
# The whole literal is the name, or it starts with the name and a URL's '+driver' or ':'.
_NAMES = re.compile(r"\s*(?:" + "|".join(DATABASE_NAMES) + r")\s*(?:[+:].*)?", re.IGNORECASE | re.DOTALL)


def _names_database(node: ast.AST | None) -> bool:
    """A string literal naming a database, or a tuple / list / set holding one."""
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        return _NAMES.fullmatch(node.value) is not None
    if isinstance(node, ast.Tuple | ast.List | ast.Set):
        return any(_names_database(e) for e in node.elts)
    return False


def _pattern_names_database(pattern: ast.pattern) -> bool:
    if isinstance(pattern, ast.MatchValue):
        return _names_database(pattern.value)
    if isinstance(pattern, ast.MatchOr):
        return any(_pattern_names_database(p) for p in pattern.patterns)
    if isinstance(pattern, ast.MatchAs) and pattern.pattern is not None:
        return _pattern_names_database(pattern.pattern)
    return False


_LOOKUPS = {"startswith", "endswith", "removeprefix", "get", "pop", "setdefault"}


def _branches(node: ast.AST) -> bool:
    """Whether ``node`` branches on (or looks up by) a database name."""
    if isinstance(node, ast.Compare):
        return any(_names_database(side) for side in [node.left, *node.comparators])
    if isinstance(node, ast.match_case):
        return _pattern_names_database(node.pattern)
    if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and node.func.attr in _LOOKUPS:
        return any(_names_database(a) for a in node.args[:1])
    if isinstance(node, ast.Subscript):
        return _names_database(node.slice)
    if isinstance(node, ast.Dict):
        return any(_names_database(k) for k in node.keys)
    return False


def branches_on_database_names(source: str, filename: str = "<snippet>") -> list[str]:
    """``line: code`` of every branch on a database name in ``source``."""
    lines = source.splitlines()
    found = {node.pattern.lineno if isinstance(node, ast.match_case) else node.lineno  # type: ignore[attr-defined]
             for node in ast.walk(ast.parse(source, filename=filename)) if _branches(node)}
    return [f"{n}: {lines[n - 1].strip()}" for n in sorted(found)]


def _modules() -> list[Path]:
    return sorted(p for root in SCANNED for p in root.rglob("*.py") if ALLOWED not in p.parents)


def test_no_branch_on_a_database_name_outside_dialects() -> None:
    offenders = [f"{path.relative_to(ROOT)}:{hit}" for path in _modules()
                 for hit in branches_on_database_names(path.read_text(encoding="utf-8"), str(path))]
    assert not offenders, "branches on a database name outside syncverify.dialects:\n" + "\n".join(offenders)


def test_the_scan_reads_the_package() -> None:
    modules = _modules()
    assert PACKAGE / "quality" / "runner.py" in modules and PACKAGE / "sandbox" / "storage.py" in modules
    assert not any(ALLOWED in p.parents for p in modules)
    assert len(modules) > 100


@pytest.mark.parametrize("snippet,line", [
    ("if engine.dialect.name == 'postgresql':\n    pass", 1),
    ("if 'MySQL' != name:\n    pass", 1),
    ("ok = dialect.name in {'mysql', 'mariadb'}", 1),
    ("ok = name not in ('sqlite',)", 1),
    ("ok = backend in ['TBase', 'other']", 1),
    ("ok = url.startswith('sqlite')", 1),
    ("ok = url.startswith(('postgresql+psycopg2://', 'x'))", 1),
    ("ok = url == 'sqlite:///:memory:'", 1),
    ("match kind:\n    case 'tdsql':\n        pass", 2),
    ("match kind:\n    case 'a' | 'Postgres':\n        pass", 2),
    ("x = settings['mariadb']", 1),
    ("x = settings.get('postgresql', 1)", 1),
    ("SCHEMES = {'mysql': 'mysql+pymysql'}", 1),
])
def test_the_checker_catches_a_planted_branch(snippet: str, line: int) -> None:
    assert branches_on_database_names(snippet) == [f"{line}: {snippet.splitlines()[line - 1].strip()}"]


def test_a_branch_planted_in_a_real_module_is_caught() -> None:
    source = (PACKAGE / "quality" / "runner.py").read_text(encoding="utf-8")
    assert branches_on_database_names(source) == []
    planted = source + "\n\nif sa.create_engine('x').dialect.name == 'mariadb':\n    pass\n"
    [hit] = branches_on_database_names(planted)
    assert hit.endswith("if sa.create_engine('x').dialect.name == 'mariadb':")


@pytest.mark.parametrize("snippet", [
    "if dialect.case_sensitive(x) == y:\n    pass",
    "'''Reads MySQL and PostgreSQL.'''",
    "backend = 'services' if services else name",
    "ok = backend == 'services'",
    "ok = name in ('mysqldump_dir', 'sqlite_like')",
    "MYSQL = 'mysql'",
    "print('sqlite')",
])
def test_the_checker_lets_other_code_be(snippet: str) -> None:
    assert branches_on_database_names(snippet) == []
