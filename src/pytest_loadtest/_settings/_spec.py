"""One row of the settings table (:class:`SettingSpec`) and how a value shows in ``to_dict()``."""

from __future__ import annotations

import argparse
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, final

from pytest_loadtest._model._shapes import Stage, format_stages
from pytest_loadtest._model._sla import SLA
from pytest_loadtest._settings._parsers import ThinkTime

__all__ = [
    "SettingSpec",
    "app_text",
    "detectors_dict",
    "engine_names",
    "sla_dict",
    "stages_text",
    "think_time_text",
]


def _same(value: Any) -> object:
    return value


def think_time_text(value: ThinkTime) -> str:
    return value.describe()


def sla_dict(value: SLA | None) -> object:
    return value.to_dict() if value is not None else None


def stages_text(value: tuple[Stage, ...] | None) -> str | None:
    return format_stages(value) if value else None


def _engine_name(engine: Any) -> str:
    """An engine's URL without its password."""
    url = getattr(getattr(engine, "sync_engine", engine), "url", None)
    render = getattr(url, "render_as_string", None)
    return str(render(hide_password=True)) if callable(render) else repr(engine)


def engine_names(engines: tuple[Any, ...]) -> list[str]:
    return [_engine_name(engine) for engine in engines]


def detectors_dict(value: Mapping[str, Any] | None) -> dict[str, Any] | None:
    return dict(value) if value else None


@final
@dataclass(frozen=True, slots=True)
class SettingSpec:
    """One setting: default, parser, help, and where a user can give it."""

    name: str
    #: what an unset setting is; ``None`` for "none" (no limit, no SLA...) or "decided by the
    #: resolver" (``seed``: random)
    default: Any
    parse: Callable[[object], Any]
    help: str
    metavar: str = ""
    #: a ``--load-<name>`` command-line flag (see :attr:`option`)
    cli: bool = True
    #: a ``load_<name>`` ini key (see :attr:`ini_name`)
    ini: bool = True
    #: a keyword argument of ``@pytest.mark.load``/``soak``, listed in their signature
    marker: bool = True
    #: how a value shows in ``LoadSettings.to_dict()``: JSON-ready
    show: Callable[[Any], object] = _same

    @property
    def option(self) -> str:
        """The command-line flag, ``--load-ramp-up`` for ``ramp_up``."""
        return "--load-" + self.name.replace("_", "-")

    @property
    def ini_name(self) -> str:
        """The ini key, ``load_ramp_up`` for ``ramp_up``."""
        return "load_" + self.name

    @property
    def dest(self) -> str:
        """The ``config.option`` attribute."""
        return "load_" + self.name

    @property
    def literal(self) -> str:
        """The default as the marker signature writes it: ``10``, ``'5s'``, ``0``, ``None``."""
        value = self.default
        if isinstance(value, ThinkTime) and value.func is None and value.low == value.high:
            value = value.low
        if self.metavar.startswith("DURATION") and isinstance(value, float):
            return "0" if value == 0 else repr(f"{value:g}s")
        return repr(value)

    def option_kwargs(self) -> dict[str, Any]:
        """Keyword arguments of the command-line option (``group.addoption``)."""
        # argparse formats help with %: a literal percent sign must be doubled
        text = f"{self.help} Overrides markers and run() arguments.".replace("%", "%%")
        kwargs: dict[str, Any] = {"dest": self.dest, "default": None, "help": text}
        if self.metavar == "BOOL":  # --load-x / --no-load-x: a flag never takes a value
            kwargs["action"] = argparse.BooleanOptionalAction
        else:
            kwargs.update(metavar=self.metavar, type=_argtype(self))
        return kwargs

    @property
    def ini_help(self) -> str:
        """Help text of the ini key."""
        return f"load testing: {self.help}"


def _argtype(spec: SettingSpec) -> Callable[[str], object]:
    def parse(text: str) -> object:
        try:
            return spec.parse(text)
        except (ValueError, TypeError) as exc:
            raise argparse.ArgumentTypeError(f"invalid value {text!r}: {exc}") from None

    parse.__name__ = spec.name  # argparse names the type in some messages
    return parse


def app_text(value: Any) -> str | None:
    """An app as ``to_dict()`` shows it: its type's qualified name."""
    if value is None:
        return None
    kind = type(value)
    return (
        f"{kind.__module__}.{kind.__qualname__}" if kind.__module__ != "builtins" else repr(value)
    )
