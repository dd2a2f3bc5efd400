"""No import circle inside ``syncverify.synclog``: module A never imports B when B (directly or
through others) imports A, counting every import — at the top, lazy inside functions, and under
``TYPE_CHECKING`` (a circle hidden that way is still one)."""

from __future__ import annotations

import ast
from pathlib import Path

import syncverify.synclog

PACKAGE = "syncverify.synclog"
ROOT = Path(syncverify.synclog.__file__).parent


def _modules() -> dict[str, Path]:
    out = {}
    for path in sorted(ROOT.rglob("*.py")):
        parts = list(path.relative_to(ROOT).with_suffix("").parts)
        if parts[-1] == "__init__":
            parts = parts[:-1]
        out[".".join(parts)] = path  # "" is the package itself
    return out


def _resolve(dotted: str, modules: dict[str, Path]) -> str | None:
    """The module of ``dotted`` inside the package (longest existing prefix), None outside it."""
    if dotted != PACKAGE and not dotted.startswith(PACKAGE + "."):
        return None
    name = dotted[len(PACKAGE) + 1 :]
    while name not in modules:
        name = name.rpartition(".")[0]
    return name


def import_graph() -> dict[str, set[str]]:
    modules = _modules()
    graph: dict[str, set[str]] = {}
    for name, path in modules.items():
        deps: set[str] = set()
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
                # "from pkg.mod import x": x itself when it is a module, else pkg.mod
                targets = [_resolve(f"{node.module}.{alias.name}", modules) for alias in node.names]
            elif isinstance(node, ast.Import):
                targets = [_resolve(alias.name, modules) for alias in node.names]
            else:
                continue
            deps.update(t for t in targets if t is not None)
        deps.discard(name)
        graph[name] = deps
    return graph


def circles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components of more than one module (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    found: list[list[str]] = []

    def visit(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        for w in sorted(graph.get(v, ())):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            component = []
            while True:
                w = stack.pop()
                component.append(w)
                if w == v:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for v in sorted(graph):
        if v not in index:
            visit(v)
    return found


def test_no_import_circle_inside_synclog() -> None:
    graph = import_graph()
    # the scan sees the package: its analysis imports the detectors and the parallel reader
    assert {"detectors.failures", "parallel", "findings"} <= graph["analysis"]
    assert circles(graph) == []


def test_the_scan_finds_a_circle() -> None:
    # the check itself: analysis <-> findings, the circle this package once had
    graph = import_graph()
    graph["findings"] = graph["findings"] | {"analysis"}
    assert ["analysis", "findings"] in circles(graph)
