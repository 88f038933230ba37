"""What virtual users run: a callable, a mapping of names to callables, or a :class:`Scenario`."""

from __future__ import annotations

import inspect
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, TypeVar, final, overload

from pytest_loadtest._model._text import safe_text
from pytest_loadtest._scenario._file import ScenarioFileError, read_scenario_file

__all__ = ["Plan", "Scenario", "TargetError", "Task", "build_plan"]

F = TypeVar("F", bound=Callable[..., Any])
#: Longest name of a task or scenario kept (characters).
MAX_NAME = 1000
#: Largest weight of a task: weights are summed in floats to pick tasks.
MAX_WEIGHT = 1e12


class TargetError(TypeError):
    """The target given to ``load_runner.run`` cannot be run; the message says why."""


def _callable_name(func: Callable[..., Any]) -> str:
    name = getattr(func, "__name__", None)
    if name is None:
        inner = getattr(func, "func", None)  # functools.partial
        name = getattr(inner, "__name__", None) or type(func).__name__
    return str(name)


def _takes_user(func: Callable[..., Any], name: str) -> bool:
    """True when ``func`` wants the virtual user as its one argument, False for none."""
    try:
        signature = inspect.signature(func)
    except (TypeError, ValueError):
        return False  # builtins without a signature: call them with no arguments
    required = [
        p
        for p in signature.parameters.values()
        if p.default is p.empty and p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD)
    ]
    keyword_only = [
        p.name
        for p in signature.parameters.values()
        if p.default is p.empty and p.kind is p.KEYWORD_ONLY
    ]
    if keyword_only:
        raise TargetError(
            f"target {name!r} requires keyword arguments {keyword_only}; a load target takes none, "
            "or one: the virtual user"
        )
    if len(required) > 1:
        raise TargetError(
            f"target {name!r} takes {len(required)} arguments; a load target takes none, "
            "or one: the virtual user"
        )
    if required:
        return True
    return any(p.kind is p.VAR_POSITIONAL for p in signature.parameters.values())


def _is_async(func: Callable[..., Any]) -> bool:
    target = getattr(func, "func", func)
    return inspect.iscoroutinefunction(target) or inspect.iscoroutinefunction(
        getattr(target, "__call__", None)  # noqa: B004 - instances with async __call__
    )


@final
@dataclass(frozen=True, slots=True)
class Task:
    """One weighted operation of a scenario."""

    name: str
    func: Callable[..., Any]
    weight: float = 1.0
    takes_user: bool = False
    is_async: bool = False

    @classmethod
    def of(cls, func: object, name: str | None = None, weight: float = 1.0) -> Task:
        """Make a task of a callable, checking what it takes."""
        if not callable(func):
            what = f"{name!r}: " if name else ""
            raise TargetError(
                f"load target {what}{func!r} is not callable (give a function, a mapping of "
                "names to functions, or a Scenario)"
            )
        # names reach every report: valid text (no lone surrogates) of a sane length
        label = safe_text(name if name is not None else _callable_name(func), MAX_NAME)
        if isinstance(weight, bool) or not isinstance(weight, (int, float)) or not weight > 0:
            raise TargetError(
                f"task {label!r}: weight must be a number above 0, got {repr(weight)[:60]}"
            )
        if not weight <= MAX_WEIGHT:  # inf, or an int too large for a float
            raise TargetError(
                f"task {label!r}: weight must be a finite number up to {MAX_WEIGHT:g}, "
                f"got {repr(weight)[:60]}"
            )
        return cls(label, func, float(weight), _takes_user(func, label), _is_async(func))


@final
class Scenario:
    """Weighted tasks with per-user ``on_start`` / ``on_stop`` hooks, like a Locust user class.

    >>> shop = Scenario()
    >>> @shop.task(weight=3)
    ... def browse(vu): ...
    """

    def __init__(self, name: str = "scenario") -> None:
        self.name = safe_text(str(name), MAX_NAME)
        self.tasks: list[Task] = []
        self.on_start_hooks: list[Task] = []
        self.on_stop_hooks: list[Task] = []
        #: Settings that come with the scenario (from a scenario file); they rank between
        #: ``run()`` keyword arguments and the marker.
        self.settings: dict[str, object] = {}
        self.source = f"scenario {name!r}"
        self.description = ""

    @classmethod
    def from_file(cls, path: object, actions: Mapping[str, Callable[..., Any]]) -> Scenario:
        """Load a TOML scenario file, mapping its action names to ``actions``' callables.

        Raises :class:`~pytest_loadtest.ScenarioFileError` naming the file, key and value of
        anything wrong. See the README for the format.
        """
        spec = read_scenario_file(path, actions)
        scenario = cls(spec.name)
        scenario.source = spec.source
        scenario.description = spec.description
        scenario.settings = spec.settings
        try:
            for name, func, weight in spec.tasks:
                scenario.add_task(func, weight=weight, name=name)  # type: ignore[arg-type]
            for func in spec.on_start:
                scenario.on_start(func)
            for func in spec.on_stop:
                scenario.on_stop(func)
        except TargetError as exc:
            raise ScenarioFileError(f"{spec.source}: {exc}") from None
        return scenario

    @overload
    def task(self, func: F, /, *, weight: float = 1.0, name: str | None = None) -> F: ...

    @overload
    def task(
        self, func: None = None, /, *, weight: float = 1.0, name: str | None = None
    ) -> Callable[[F], F]: ...

    def task(
        self,
        func: Callable[..., Any] | None = None,
        /,
        *,
        weight: float = 1.0,
        name: str | None = None,
    ) -> Any:
        """Register a task; use as ``@scenario.task`` or ``@scenario.task(weight=3)``."""

        def register(f: Callable[..., Any]) -> Callable[..., Any]:
            self.add_task(f, weight=weight, name=name)
            return f

        return register(func) if func is not None else register

    def add_task(self, func: object, *, weight: float = 1.0, name: str | None = None) -> Task:
        """Add a task without decorating; returns it."""
        task = Task.of(func, name, weight)
        if any(t.name == task.name for t in self.tasks):
            raise TargetError(f"scenario {self.name!r} already has a task named {task.name!r}")
        self.tasks.append(task)
        return task

    def on_start(self, func: F) -> F:
        """Run ``func(vu)`` once per virtual user before its first iteration."""
        self.on_start_hooks.append(Task.of(func))
        return func

    def on_stop(self, func: F) -> F:
        """Run ``func(vu)`` once per virtual user after its last iteration."""
        self.on_stop_hooks.append(Task.of(func))
        return func

    def __repr__(self) -> str:
        tasks = ", ".join(f"{t.name}x{t.weight:g}" for t in self.tasks)
        return f"Scenario({self.name!r}, tasks=[{tasks}])"


@final
@dataclass(frozen=True, slots=True)
class Plan:
    """A normalised target: tasks with cumulative weights, and per-user hooks."""

    name: str
    tasks: tuple[Task, ...]
    cumulative: tuple[float, ...]
    on_start: tuple[Task, ...] = field(default=())
    on_stop: tuple[Task, ...] = field(default=())

    @property
    def simple(self) -> bool:
        """One synchronous task that takes no user and no hooks: the fastest loop applies."""
        return (
            len(self.tasks) == 1
            and not self.tasks[0].takes_user
            and not self.tasks[0].is_async
            and not self.on_start
            and not self.on_stop
        )

    @property
    def is_async(self) -> bool:
        """Every task is a coroutine function: the users are tasks on a shared event loop."""
        return all(t.is_async for t in self.tasks)


def _plan(name: str, tasks: list[Task], on_start: list[Task], on_stop: list[Task]) -> Plan:
    if not tasks:
        raise TargetError(f"{name!r} has no tasks to run")
    names = [t.name for t in tasks]
    if len(set(names)) != len(names):
        raise TargetError(f"{name!r} has several tasks named alike: {names}")
    kinds = {t.is_async for t in tasks}
    if len(kinds) > 1:
        sync = [t.name for t in tasks if not t.is_async]
        coroutines = [t.name for t in tasks if t.is_async]
        raise TargetError(
            f"{name!r} mixes async tasks {coroutines} with sync tasks {sync}: async users run "
            "as tasks on one event loop, where a sync call blocks every user; make them all "
            "async def (wrap blocking calls in asyncio.to_thread) or all plain functions"
        )
    cumulative = []
    running = 0.0
    for task in tasks:
        running += task.weight
        cumulative.append(running)
    return Plan(name, tuple(tasks), tuple(cumulative), tuple(on_start), tuple(on_stop))


def build_plan(target: object) -> Plan:
    """Normalise a target, raising :class:`TargetError` with a clear message when it is unusable."""
    if isinstance(target, Scenario):
        return _plan(target.name, target.tasks, target.on_start_hooks, target.on_stop_hooks)
    if isinstance(target, Mapping):
        tasks = [Task.of(func, str(name)) for name, func in target.items()]
        return _plan("+".join(t.name for t in tasks) or "mapping", tasks, [], [])
    task = Task.of(target)
    return _plan(task.name, [task], [], [])
