"""Package exports imported on first use (PEP 562), so that ``syncverify --help`` stays fast.

A package ``__init__`` lists its public names as usual, but inside ``if TYPE_CHECKING:`` (type
checkers and readers see ordinary imports) and ends with::

    __getattr__ = lazy_exports(__name__)

The first ``from syncverify.tickets import get_ticket`` then imports ``syncverify.tickets.lifecycle``
only. Why: every area's ``cli.py`` lives inside its package, so building the command's parser
ran every package ``__init__``, and those imported pandas, pyarrow, SQLAlchemy and sqlglot
eagerly: 1.3-1.9 s before ``--help`` printed anything. The names are read from the
``TYPE_CHECKING`` block itself (one list, no second table to keep in step).
"""

from __future__ import annotations

import ast
import importlib
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any


def _exports(package: str) -> dict[str, str]:
    """Exported name -> module, from the ``if TYPE_CHECKING:`` imports of the package's source."""
    path = Path(sys.modules[package].__file__ or "")
    tree = ast.parse(path.read_text(encoding="utf-8"))
    out: dict[str, str] = {}
    for node in tree.body:
        if isinstance(node, ast.If) and isinstance(node.test, ast.Name) and node.test.id == "TYPE_CHECKING":
            for stmt in node.body:
                if isinstance(stmt, ast.ImportFrom) and stmt.module and stmt.level == 0:
                    for alias in stmt.names:
                        out[alias.asname or alias.name] = stmt.module
    return out


def lazy_exports(package: str) -> Callable[[str], Any]:
    """The module ``__getattr__`` of ``package``: imports an exported name's module on first use."""
    table: dict[str, str] | None = None

    def __getattr__(name: str) -> Any:
        nonlocal table
        if table is None:
            table = _exports(package)
        module = table.get(name)
        if module is None:
            raise AttributeError(f"module {package!r} has no attribute {name!r}")
        value = getattr(importlib.import_module(module), name)
        setattr(sys.modules[package], name, value)       # later look-ups skip __getattr__
        return value

    return __getattr__
