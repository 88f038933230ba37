"""``LoadSettings``: the resolved settings of one run (the resolver is in :mod:`._layers`)."""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, final

from pytest_loadtest._model._shapes import Profile, Stage
from pytest_loadtest._model._sla import SLA
from pytest_loadtest._settings._parsers import ThinkTime
from pytest_loadtest._settings._table import DEFAULTS, SETTINGS

__all__ = ["LoadSettings"]


@final
@dataclass(frozen=True, slots=True)
class LoadSettings:
    """Fully resolved settings of one run.

    One field per row of the settings table, in its order and with its default (a test holds
    them together), then where each value came from.
    """

    users: int = DEFAULTS["users"]
    duration: float = DEFAULTS["duration"]
    iterations: int | None = DEFAULTS["iterations"]
    ramp_up: float = DEFAULTS["ramp_up"]
    think_time: ThinkTime = DEFAULTS["think_time"]
    warmup: float = DEFAULTS["warmup"]
    stop_timeout: float = DEFAULTS["stop_timeout"]
    # The table's None is "drawn at random by the resolver"; settings built directly (as tests
    # build them) start from 0.
    seed: int = 0
    sla: SLA | None = DEFAULTS["sla"]
    ramp_down: float = DEFAULTS["ramp_down"]
    stages: tuple[Stage, ...] | None = DEFAULTS["stages"]
    pacing: float = DEFAULTS["pacing"]
    rate: float | None = DEFAULTS["rate"]
    rate_stages: tuple[Stage, ...] | None = DEFAULTS["rate_stages"]
    max_users: int = DEFAULTS["max_users"]
    abort_on_breach: bool = DEFAULTS["abort_on_breach"]
    abort_grace: float = DEFAULTS["abort_grace"]
    abort_window: float = DEFAULTS["abort_window"]
    monitor_interval: float = DEFAULTS["monitor_interval"]
    tracemalloc: bool = DEFAULTS["tracemalloc"]
    watch: tuple[Any, ...] = DEFAULTS["watch"]
    detectors: Mapping[str, Any] | None = DEFAULTS["detectors"]
    min_samples: int = DEFAULTS["min_samples"]
    confirm: int = DEFAULTS["confirm"]
    loops: int = DEFAULTS["loops"]
    loop: str = DEFAULTS["loop"]
    base_url: str | None = DEFAULTS["base_url"]
    app: Any = DEFAULTS["app"]
    processes: int = DEFAULTS["processes"]
    sources: Mapping[str, str] = field(default_factory=dict)

    @property
    def model(self) -> str:
        """``"open"`` (an arrival rate) or ``"closed"`` (a number of users)."""
        return "open" if self.rate is not None or self.rate_stages is not None else "closed"

    def profile(self) -> Profile:
        """Users (closed model) or iterations per second (open model) as a function of time."""
        if self.rate_stages is not None:
            return Profile.from_stages(self.rate_stages)
        if self.stages is not None:
            return Profile.from_stages(self.stages)
        value = float(self.rate if self.rate is not None else self.users)
        return Profile.constant(
            value, duration=self.duration, ramp_up=self.ramp_up, ramp_down=self.ramp_down
        )

    @property
    def most_users(self) -> int:
        """Users that may be busy at once: the closed model's peak, the open model's
        ``max_users``."""
        return self.peak_users if self.model == "closed" else self.max_users

    @property
    def peak_users(self) -> int:
        """Threads a closed-model run needs: the profile's highest number of users."""
        if self.stages is None:
            return self.users
        return max(1, math.ceil(max(target for _, target in self.stages)))

    def to_dict(self) -> dict[str, object]:
        """JSON-ready form: the model, every setting as its row shows it, the profile, sources."""
        data: dict[str, object] = {"model": self.model}
        for spec in SETTINGS:
            if spec.name == "monitor_interval":  # where results.json has always had it
                data["profile"] = self.profile().describe()
            data[spec.name] = spec.show(getattr(self, spec.name))
        data["sources"] = dict(self.sources)
        return data
