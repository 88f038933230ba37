"""The README's Flask example works as printed (shortened to a quick run)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

pytest.importorskip("flask", reason="the README example is a Flask app")

README = Path(__file__).resolve().parents[2] / "README.md"


def readme_example() -> str:
    text = README.read_text(encoding="utf-8")
    start = text.index("A Flask app in process:")
    match = re.search(r"```python\n(.*?)```", text[start:], re.S)
    assert match is not None
    return match.group(1)


def test_the_readme_flask_example_passes(pytester: pytest.Pytester) -> None:
    example = readme_example().replace('users=20, duration="10s"', "users=4, iterations=200")
    assert "iterations=200" in example  # the marker is where this test expects it
    pytester.makepyfile(test_example=example)
    # as this repository's own load tests do: a breach on a busy machine is run once more
    result = pytester.runpytest("-m", "load", "-p", "no:cacheprovider", "--load-confirm=1")
    result.assert_outcomes(passed=1)
    result.stdout.fnmatch_lines(["*test_flask_items*", "*GET /items/{id}*0.00*"])
