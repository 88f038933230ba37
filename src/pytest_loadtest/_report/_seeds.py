"""The seeds of a session's runs, for the end of the "load test results" section: what repeats
a run's ``vu.random`` choices (``--load-seed``, or pytest-randomly's ``--randomly-seed``)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Final

from pytest_loadtest._report._escape import name_text, one_line

if TYPE_CHECKING:
    from pytest_loadtest._model._result import LoadResult

__all__ = ["seed_lines"]

#: Runs listed by name at most; the rest are counted (every seed is in results.json too).
MAX_LISTED: Final = 20


def seed_lines(results: Sequence[LoadResult]) -> list[str]:
    """One line when every run used the same seed, else a line per run (up to
    :data:`MAX_LISTED`); nothing for results that carry no seed."""
    seeds = [(_label(r), r.settings.get("seed"), _source(r)) for r in results]
    seeds = [(name, seed, source) for name, seed, source in seeds if isinstance(seed, int)]
    if not seeds:
        return []
    distinct = {seed for _, seed, _ in seeds}
    if len(distinct) == 1:
        seed = distinct.pop()
        sources = sorted({source for _, _, source in seeds})
        where = f" ({one_line(', '.join(sources), 120)})" if sources else ""
        runs = "the run" if len(seeds) == 1 else f"all {len(seeds)} runs"
        return [f"seed {seed} for {runs}{where}: --load-seed={seed} repeats it"]
    lines = ["seeds (--load-seed=SEED repeats a run):"]
    lines += [f"  {seed:>11}  {name_text(name)}" for name, seed, _ in seeds[:MAX_LISTED]]
    if len(seeds) > MAX_LISTED:
        lines.append(f"  ... and {len(seeds) - MAX_LISTED} more runs (results.json has every seed)")
    return lines


def _label(result: LoadResult) -> str:
    """``test id [run name]`` as the results table names a run; the name alone outside a test."""
    return f"{result.test_id} [{result.name}]" if result.test_id else result.name


def _source(result: LoadResult) -> str:
    sources = result.settings.get("sources")
    source = str(sources.get("seed", "")) if isinstance(sources, dict) else ""
    return "chosen at random" if source == "default" else source
