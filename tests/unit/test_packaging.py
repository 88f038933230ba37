"""What the package declares (issue 18): SPDX licence and its file, no placeholder URLs, developer
tools out of the public extras, the sdist's contents, and one list of supported Pythons that the
classifiers, tox and the GitHub workflow agree on."""

from __future__ import annotations

import re
import sys
from pathlib import Path
from typing import Any

import pytest

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - Python 3.10
    import tomli as tomllib

ROOT = Path(__file__).resolve().parents[2]
SUPPORTED = ("3.10", "3.11", "3.12", "3.13", "3.14")


@pytest.fixture(scope="module")
def project() -> dict[str, Any]:
    pyproject = ROOT / "pyproject.toml"
    if not pyproject.is_file():
        pytest.skip("not run from a source tree (an installed wheel has no pyproject.toml)")
    data: dict[str, Any] = tomllib.loads(pyproject.read_text(encoding="utf-8"))
    return data


def test_licence_is_an_spdx_expression_with_its_file_shipped(project: dict[str, Any]) -> None:
    meta = project["project"]
    assert meta["license"] == "MIT"
    assert meta["license-files"] == ["LICENSE"]
    text = (ROOT / "LICENSE").read_text(encoding="utf-8")
    assert text.startswith("MIT License")
    assert "Permission is hereby granted" in text
    assert not any(c.startswith("License ::") for c in meta["classifiers"])  # SPDX replaces them


def test_no_placeholder_urls(project: dict[str, Any]) -> None:
    urls = project["project"].get("urls", {})
    assert not [u for u in urls.values() if "example" in u or "invalid" in u]


def test_developer_tools_are_a_dependency_group_not_an_extra(project: dict[str, Any]) -> None:
    tools = {"mypy", "ruff", "import-linter", "types-psutil", "tox"}
    extras = project["project"]["optional-dependencies"]
    for name, requirements in extras.items():
        names = {re.split(r"[<>=!~;\[ ]", r, maxsplit=1)[0].lower() for r in requirements}
        assert not names & tools, name
    dev = {re.split(r"[<>=!~;\[ ]", r, maxsplit=1)[0] for r in project["dependency-groups"]["dev"]}
    assert tools <= dev


def test_classifiers_status_os_and_pythons(project: dict[str, Any]) -> None:
    classifiers = project["project"]["classifiers"]
    assert any(c.startswith("Development Status ::") for c in classifiers)
    assert any(c.startswith("Operating System ::") for c in classifiers)
    prefix = "Programming Language :: Python :: "
    versions = tuple(c.removeprefix(prefix) for c in classifiers if re.fullmatch(r".*3\.\d+", c))
    assert versions == SUPPORTED
    assert project["project"]["requires-python"] == f">={SUPPORTED[0]}"


def test_tox_and_the_workflow_test_every_supported_python() -> None:
    tox = (ROOT / "tox.ini").read_text(encoding="utf-8")
    wanted = ",".join(v.replace(".", "") for v in SUPPORTED)
    assert f"py{{{wanted}}}-{{plain,xdist}}" in tox
    workflow = (ROOT / ".github" / "workflows" / "ci.yml").read_text(encoding="utf-8")
    matrix = ", ".join(f'"{v}"' for v in SUPPORTED)
    assert f"python-version: [{matrix}]" in workflow


def test_the_sdist_carries_the_tests_and_the_changelog() -> None:
    manifest = (ROOT / "MANIFEST.in").read_text(encoding="utf-8").split()
    for name in ("CHANGELOG.md", "LICENSE", "conftest.py"):
        assert name in manifest
    assert "tests" in manifest[manifest.index("graft") + 1 :]


def test_the_core_dependencies_are_the_projects_four(project: dict[str, Any]) -> None:
    """pytest, hdrhistogram, numpy and psutil (the project's rule); everything else an extra."""
    core = {
        re.split(r"[<>=~; ]", r, maxsplit=1)[0].lower() for r in project["project"]["dependencies"]
    }
    assert core == {"pytest", "hdrhistogram", "numpy", "psutil", "tomli"}  # tomli: 3.10 only
    assert "monitor" not in project["project"]["optional-dependencies"]


def test_no_docstring_holds_a_lone_surrogate() -> None:
    """Python 3.13 cleans docstrings when it compiles a module, encoding them as UTF-8: a lone
    surrogate in one (``"\\udcff"`` not written ``"\\\\udcff"``) fails the import under pytest's
    assertion rewriting, which compiles our package from its AST."""
    import ast

    found = []
    for path in sorted((ROOT / "src").rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if not isinstance(node, ast.Module | ast.ClassDef | ast.FunctionDef):
                continue
            doc = ast.get_docstring(node, clean=False) or ""
            if any(0xD800 <= ord(c) <= 0xDFFF for c in doc):
                found.append(f"{path.relative_to(ROOT)}:{getattr(node, 'lineno', 1)}")
    assert found == []
