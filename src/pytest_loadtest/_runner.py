"""``LoadRunner``: what the ``load_runner`` fixture hands a test."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any, NoReturn, final

from pytest_loadtest._config import SettingError, resolve_settings
from pytest_loadtest._engine import Clock, Engine
from pytest_loadtest._result import LoadResult
from pytest_loadtest._scenario import TargetError, build_plan

__all__ = ["LoadRunner"]

Layer = tuple[str, Mapping[str, object]]


def _raise(message: str) -> NoReturn:
    raise SettingError(message)


@final
class LoadRunner:
    """Runs targets under load with the test's settings; may be used several times per test.

    ``layers_above`` are the settings that beat ``run()``'s keyword arguments (the command line);
    ``layers_below`` those that yield to them (marker, ini), each as ``(source, values)``.
    """

    def __init__(
        self,
        *,
        test_id: str = "",
        layers_above: Sequence[Layer] = (),
        layers_below: Sequence[Layer] = (),
        on_result: Callable[[LoadResult], None] = lambda result: None,
        fail: Callable[[str], NoReturn] = _raise,
        clock: Clock | None = None,
    ) -> None:
        self.test_id = test_id
        self.results: list[LoadResult] = []
        self.clock = clock
        self._above = list(layers_above)
        self._below = list(layers_below)
        self._on_result = on_result
        self._fail = fail

    def run(self, target: Any, **settings: Any) -> LoadResult:
        """Drive ``target`` with virtual users and return what was measured.

        ``target``: a callable taking no argument or the virtual user, a mapping of names to such
        callables (equal weights), or a :class:`~pytest_loadtest.Scenario`. Keyword arguments are
        settings (``users``, ``duration``, ``iterations``, ``ramp_up``, ``think_time``, ``warmup``,
        ``stop_timeout``, ``seed``, ``sla``); the command line still overrides them.

        SLA breaches are collected on the result and fail the test when it ends.
        """
        try:
            plan = build_plan(target)
            resolved = resolve_settings(
                [*self._above, ("load_runner.run() argument", settings), *self._below]
            )
        except (SettingError, TargetError) as exc:
            problem = str(exc)
        else:
            problem = ""
        if problem:  # failed outside the except block: one message, no chained traceback
            self._fail(problem)
        name = plan.name if not self.results else f"{plan.name} (run {len(self.results) + 1})"
        result = Engine(plan, resolved, clock=self.clock, name=name).run()
        result.test_id = self.test_id
        self.results.append(result)
        self._on_result(result)
        if result.interrupted:
            raise KeyboardInterrupt
        return result
