"""Does a ``-m`` expression ask for load tests? A small evaluator of pytest's marker expressions.

A load or soak test runs under ``-m EXPR`` only when its load/soak marker is what selects it:
``EXPR`` matches the test's markers, and would not match them without that marker. So ``-m load``
runs load tests, while ``-m "not soak"`` or ``-m slow`` does not start them.

Grammar (pytest's): ``expr := and ('or' and)*``, ``and := not ('and' not)*``,
``not := 'not' not | '(' expr ')' | ident [ '(' ... ')' ]``. Keyword arguments of a marker in the
expression (``load(users=1)``) are accepted and ignored.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Set
from pathlib import Path
from typing import Any, Final, Protocol

__all__ = [
    "marker_help",
    "markexpr_selects",
    "named_files",
    "randomly_seed",
    "rerun_ids",
    "skip_reason",
]

_TOKEN: Final = re.compile(r"\s*(\(|\)|[^\s()]+)")


class _Unparsable(ValueError):
    pass


class _Evaluator:
    def __init__(self, expression: str, markers: Set[str]) -> None:
        self.tokens = [m.group(1) for m in _TOKEN.finditer(expression)]
        self.position = 0
        self.markers = markers

    def peek(self) -> str | None:
        return self.tokens[self.position] if self.position < len(self.tokens) else None

    def take(self) -> str:
        token = self.peek()
        if token is None:
            raise _Unparsable("unexpected end")
        self.position += 1
        return token

    def evaluate(self) -> bool:
        value = self.or_expr()
        if self.peek() is not None:
            raise _Unparsable(f"unexpected {self.peek()!r}")
        return value

    def or_expr(self) -> bool:
        value = self.and_expr()
        while self.peek() == "or":
            self.take()
            right = self.and_expr()
            value = value or right
        return value

    def and_expr(self) -> bool:
        value = self.not_expr()
        while self.peek() == "and":
            self.take()
            right = self.not_expr()
            value = value and right
        return value

    def not_expr(self) -> bool:
        token = self.take()
        if token == "not":
            return not self.not_expr()
        if token == "(":
            value = self.or_expr()
            if self.take() != ")":
                raise _Unparsable("missing )")
            return value
        if token in ("and", "or", ")"):
            raise _Unparsable(f"unexpected {token!r}")
        if self.peek() == "(":  # marker keyword arguments: skip to the matching parenthesis
            depth = 0
            while True:
                part = self.take()
                depth += part == "("
                depth -= part == ")"
                if depth == 0:
                    break
        return token in self.markers


def _matches(expression: str, markers: Set[str]) -> bool:
    return _Evaluator(expression, markers).evaluate()


def markexpr_selects(expression: str, markers: Set[str], kinds: Set[str]) -> bool:
    """True when ``expression`` matches ``markers`` only thanks to the markers in ``kinds``."""
    if not expression.strip():
        return False
    try:
        return _matches(expression, markers) and not _matches(expression, markers - kinds)
    except _Unparsable:
        # pytest itself rejects what it cannot parse; be conservative and do not start load
        return False


def named_files(args: Iterable[str], root: Path) -> set[Path]:
    """Test files named on the command line (what an IDE passes when one test is clicked)."""
    files = set()
    for arg in args:
        path = (root / arg.split("::", 1)[0]).resolve()
        if path.is_file():
            files.add(path)
    return files


class _Cache(Protocol):
    def get(self, key: str, default: Any) -> Any: ...


def rerun_ids(option: Callable[[str, Any], Any], cache: _Cache | None) -> set[str]:
    """The tests that ``--lf`` / ``--ff`` (the last failures) or ``--sw`` (the failure it
    resumes from) run again, from pytest's ``cache`` (``None`` under -p no:cacheprovider);
    ``option(dest, default)`` reads the command line."""
    if cache is None:
        return set()
    ids: set[str] = set()
    if option("lf", False) or option("failedfirst", False):
        ids.update(cache.get("cache/lastfailed", {}))
    if option("stepwise", False) or option("stepwise_skip", False):
        stepwise = cache.get("cache/stepwise", None)
        if isinstance(stepwise, dict):  # pytest >= 8.4 keeps more than the test id
            stepwise = stepwise.get("last_failed")
        if isinstance(stepwise, str):
            ids.add(stepwise)
    return ids


def marker_help(name: str, signature: str) -> str:
    """The ``markers`` ini line of marker ``name`` (``load`` or ``soak``)."""
    kind = "a soak (endurance) test" if name == "soak" else "a load test"
    return (
        f"{name}({signature}): {kind}; virtual users drive a target through the "
        f"load_runner fixture. Skipped unless selected with -m {name}, named on the command "
        "line, re-run by --lf/--ff/--sw, or run with --load-run-all. Only tests that use "
        f"load_runner are pytest-loadtest's: a test marked {name} without it runs exactly as "
        "it would without this plugin (another project's own marker)."
    )


def randomly_seed(
    hasplugin: Callable[[str], bool], option: Callable[[str, Any], Any]
) -> int | None:
    """pytest-randomly's seed of this run (``--randomly-seed``), when that plugin is active."""
    if not hasplugin("randomly"):
        return None
    seed = option("randomly_seed", None)  # an int once pytest-randomly configured
    return seed if isinstance(seed, int) and not isinstance(seed, bool) else None


def skip_reason(kind: str) -> str:
    """Why a load (or soak) test the run did not ask for is skipped, and how to run it."""
    return (
        f"{kind} test: run it with `pytest -m {kind}`, by naming it "
        "(pytest path/to/test_file.py::test_name), or with --load-run-all"
    )
