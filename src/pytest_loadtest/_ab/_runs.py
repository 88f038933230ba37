"""The runs of ``pytest-loadtest-ab``: each side's pytest session in a subprocess, what it saved
read back, and how many rounds the checks need."""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Final, final

from pytest_loadtest._ab._options import PROG, SIDES, Options, UsageProblem
from pytest_loadtest._baseline._paired import checks_held, pairs_needed
from pytest_loadtest._baseline._storage import Baseline, BaselineError, load_run, saved_runs

__all__ = ["HeadFailed", "Session", "order", "side_env"]

#: Seconds a run interrupted by Ctrl-C has to finish its teardown before it is killed (a second
#: Ctrl-C kills it at once).
STOP_WAIT: Final = 60.0


class HeadFailed(Exception):
    """A head run failed before it saved any load result: exit status 1, with this message."""


def side_env(folder: Path, given: dict[str, str]) -> dict[str, str]:
    """The environment of a side's runs: ours, ``given`` over it, and ``folder/src`` first on
    ``PYTHONPATH`` when it exists and ``given`` sets no ``PYTHONPATH``, so that a src-layout
    project installed in editable mode (which points at the head's ``src``) imports each side's
    own code."""
    env = {**os.environ, **given}
    src = folder / "src"
    if "PYTHONPATH" not in given and src.is_dir():
        paths = [str(src.resolve()), *filter(None, [os.environ.get("PYTHONPATH")])]
        env["PYTHONPATH"] = os.pathsep.join(paths)
    return env


def order(rng: random.Random) -> tuple[str, str]:
    """The sides of a round in the order they run, drawn at random: whatever a machine does to
    the first or the second run of a round, the same code on both sides is then as likely to be
    worse as better in each pair, which the sign test assumes."""
    return SIDES if rng.random() < 0.5 else (SIDES[1], SIDES[0])


def _call(command: list[str], cwd: Path, env: dict[str, str], log: Path) -> int:
    """Run ``command``, its output to ``log``; its exit status. The run has a session of its
    own, so that a Ctrl-C reaches it once, from here: it gets SIGINT and :data:`STOP_WAIT`
    seconds to finish its teardown (a second Ctrl-C kills it at once), then the interrupt goes
    on."""
    posix = sys.platform != "win32"
    with log.open("wb") as output:
        process = subprocess.Popen(
            command, cwd=cwd, env=env, stdout=output, stderr=output, start_new_session=posix
        )
        try:
            return process.wait()
        except KeyboardInterrupt:
            if posix:
                process.send_signal(signal.SIGINT)
            else:
                process.terminate()
            try:
                process.wait(timeout=STOP_WAIT)
            except (KeyboardInterrupt, subprocess.TimeoutExpired):
                process.kill()
                process.wait()
            raise


@final
@dataclass
class Session:
    """The runs so far: their saved results by side, and which runs failed their tests."""

    options: Options
    folder: Path
    total: int | None = None  # rounds, once known
    runs: dict[str, list[Baseline]] = field(default_factory=lambda: {s: [] for s in SIDES})
    failed: dict[str, list[int]] = field(default_factory=lambda: {s: [] for s in SIDES})

    @property
    def storage(self) -> Path:
        """Where the runs save their results."""
        return self.folder / "storage"

    def _saved(self, side: str) -> set[Path]:
        found: set[Path] = set()
        if self.storage.is_dir():
            for machine in sorted(self.storage.iterdir()):
                if machine.is_dir():
                    runs = saved_runs(self.storage, machine.name)
                    found.update(run.path for run in runs if run.name == f"ab-{side}")
        return found

    def run(self, side: str, index: int) -> None:
        """Run pytest once for ``side`` and read back what it saved."""
        options = self.options
        log = self.folder / f"{side}-{index}.log"
        command = [
            sys.executable,
            "-m",
            "pytest",
            *options.pytest_args,
            f"--load-save=ab-{side}",
            "--load-save-failed",
            f"--benchmark-storage={self.storage.resolve()}",
        ]
        cwd = options.base if side == "base" else Path.cwd()
        before = self._saved(side)
        began = time.monotonic()
        status = _call(command, cwd, side_env(cwd, options.env[side]), log)
        took = time.monotonic() - began
        if status < 0:
            raise UsageProblem(f"{side} run {index} was killed by signal {-status}: see {log}")
        if status >= 2:
            raise UsageProblem(
                f"{side} run {index} ended with pytest's exit status {status} (interrupted, "
                f"internal or usage error, or no tests collected): see {log}"
            )
        new = sorted(self._saved(side) - before)
        if not new and status == 1:
            message = f"{side} run {index} failed before it saved any load result: see {log}"
            raise HeadFailed(message) if side == "head" else UsageProblem(message)
        if len(new) != 1:
            found = "no load results" if not new else f"{len(new)} runs named ab-{side}"
            raise UsageProblem(f"{side} run {index} saved {found}, not 1: see {log}")
        try:
            saved = load_run(self.storage, new[0].parent.name, new[0], include_failed=True)
        except BaselineError as exc:
            raise UsageProblem(f"{side} run {index}: {exc}") from None
        self.runs[side].append(saved)
        shown = "passed"
        if status == 1:
            self.failed[side].append(index)
            shown = f"failed its tests (see {log})"
        of = f" of {self.total}" if self.total else ""
        print(f"{PROG}: {side} run {index}{of}: {shown} in {took:.0f}s", flush=True)

    def plan(self) -> None:
        """After each round: how many rounds the checks held so far need. A test or operation
        first seen in a later round adds its checks, and rounds with them. ``--pairs`` fixes
        the rounds, once the first round shows that it gives the checks held a chance to fail
        (:class:`UsageProblem` if not)."""
        options = self.options
        held = checks_held(self.pairs(), options.checks)
        if not held:
            return  # nothing compared yet
        needed = pairs_needed(options.alpha / held)
        if options.pairs is not None:
            if self.total is not None:
                return
            if options.pairs < needed:
                raise UsageProblem(
                    f"--pairs: {options.pairs} pairs can never fail any of the {held} checks "
                    f"(tests and operations x checks) at --alpha {options.alpha:g}, each judged "
                    f"at {options.alpha / held:.2g}: needs at least {needed} (or fewer checks)"
                )
            needed = options.pairs
        elif needed <= (self.total or 0):
            return
        self.total = needed
        print(
            f"{PROG}: {held} checks, each judged at alpha {options.alpha / held:.2g}: "
            f"{self.total} pairs",
            flush=True,
        )

    def pairs(self) -> list[tuple[Baseline, Baseline]]:
        """(base run, head run) of each round."""
        return list(zip(self.runs["base"], self.runs["head"], strict=True))
