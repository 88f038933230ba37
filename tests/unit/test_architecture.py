"""The dependency rule of ARCHITECTURE.md, checked on the source as it is.

``lint-imports`` (in .ci/run) checks the layers; these tests add what a contract does not say:
no import cycle at all among the package's modules (imports inside functions and under
``TYPE_CHECKING`` counted), modules of a readable size, and pytest imported by the plugin (and
its hook specifications) alone.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

import pytest_loadtest

grimp = pytest.importorskip("grimp", reason="grimp comes with import-linter (the test extra)")

PACKAGE = Path(pytest_loadtest.__file__).parent
#: Modules may not grow past this many lines (ARCHITECTURE.md).
MAX_LINES = 400


def _modules() -> list[Path]:
    return sorted(PACKAGE.rglob("*.py"))


def _cycles(edges: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components of more than one module (Tarjan, iterative)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    on_stack: set[str] = set()
    stack: list[str] = []
    found: list[list[str]] = []
    counter = 0
    for root in sorted(edges):
        if root in index:
            continue
        work = [(root, iter(sorted(edges[root])))]
        index[root] = low[root] = counter
        counter += 1
        stack.append(root)
        on_stack.add(root)
        while work:
            node, children = work[-1]
            child = next(children, None)
            if child is not None:
                if child not in index:
                    index[child] = low[child] = counter
                    counter += 1
                    stack.append(child)
                    on_stack.add(child)
                    work.append((child, iter(sorted(edges.get(child, ())))))
                elif child in on_stack:
                    low[node] = min(low[node], index[child])
                continue
            work.pop()
            if work:
                parent = work[-1][0]
                low[parent] = min(low[parent], low[node])
            if low[node] == index[node]:
                component = []
                while True:
                    member = stack.pop()
                    on_stack.discard(member)
                    component.append(member)
                    if member == node:
                        break
                if len(component) > 1:
                    found.append(sorted(component))
    return found


def test_the_cycle_finder_finds_a_cycle() -> None:
    edges = {"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}
    assert _cycles(edges) == [["a", "b", "c"]]
    assert _cycles({"a": {"b"}, "b": set()}) == []


def test_no_import_cycle_between_any_modules() -> None:
    graph = grimp.build_graph(
        "pytest_loadtest", exclude_type_checking_imports=False, cache_dir=None
    )
    edges = {
        module: {
            imported
            for imported in graph.find_modules_directly_imported_by(module)
            # a package's __init__ importing its own submodules is how facades work
            if not imported.startswith(module + ".")
        }
        for module in graph.modules
    }
    assert _cycles(edges) == []


def test_modules_stay_readable() -> None:
    long = {
        str(path.relative_to(PACKAGE)): n
        for path in _modules()
        if (n := len(path.read_text(encoding="utf-8").splitlines())) > MAX_LINES
    }
    assert long == {}


def test_only_the_plugin_and_its_hookspecs_import_pytest() -> None:
    importers = []
    for path in _modules():
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for node in ast.walk(tree):
            names = (
                [alias.name for alias in node.names]
                if isinstance(node, ast.Import)
                else [node.module or ""]
                if isinstance(node, ast.ImportFrom)
                else []
            )
            if any(name == "pytest" or name.startswith(("pytest.", "_pytest")) for name in names):
                importers.append(str(path.relative_to(PACKAGE)))
    assert sorted(set(importers)) == ["hookspecs.py", "plugin.py"]
