"""The plugin's session: its state, and the plain work its hooks do (pytest is not imported here).

``plugin.py`` keeps the hooks. It hands this module what pytest knows (option and ini values
through a :class:`ConfigReader`, which ``pytest.Config`` is; the command-line arguments; the
verbosity), keeps the :class:`LoadSession` in ``config.stash``, and turns an :class:`OptionError`
into ``pytest.UsageError`` with the same message. Heavy modules (the baseline, the report
writers) are imported only when a session uses them.
"""

from __future__ import annotations

import contextlib
import os
import sys
from collections.abc import Callable, Mapping, Sequence, Set
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any, Final, TextIO, final

from pytest_loadtest._settings._layers import (
    MARKERS,
    Layer,
    Layers,
    SettingError,
    check_alone,
    marker_layer,
)
from pytest_loadtest._settings._options import ConfigReader, session_option
from pytest_loadtest._settings._parsers import DEFAULT_HISTORY, parse_history
from pytest_loadtest._settings._selection import markexpr_selects, named_files
from pytest_loadtest._validate import check_layer_deeply

if TYPE_CHECKING:
    from pytest_loadtest._baseline._session import BaselineSession
    from pytest_loadtest._model._progress import Progress
    from pytest_loadtest._model._result import LoadResult
    from pytest_loadtest._report._progress import ProgressMode

__all__ = ["ConfigReader", "LoadSession", "OptionError", "check_markers", "named_files"]

#: A marker as plain values: its name, positional and keyword arguments.
Marker = tuple[str, Sequence[object], Mapping[str, object]]


class OptionError(ValueError):
    """A bad option, ini value or marker: the plugin stops the session with this message."""


def check_markers(test_id: str, markers: Sequence[Marker]) -> None:
    """:class:`OptionError` unless the test's load/soak markers take valid settings only."""
    for name, args, _ in markers:
        if name in MARKERS and args:
            raise OptionError(
                f"@pytest.mark.{name} of {test_id} takes keyword arguments only, "
                f"got positional {args!r}"
            )
    source, values = marker_layer(test_id, [(name, kwargs) for name, _, kwargs in markers])
    try:
        check_layer_deeply(source, values)
        check_alone(source, values)
    except SettingError as exc:
        raise OptionError(str(exc)) from None


#: Longest report directory path, and longest part of it (bytes): what Linux and macOS accept.
MAX_PATH: Final = 4096
MAX_PATH_PART: Final = 255


def _report_dir(root: Path, report: str, source: str) -> Path:
    """The report directory ``report`` names (relative to ``root``); :class:`OptionError` for a
    path the system would refuse or that is a file."""
    shown = report if len(report) <= 80 else f"{report[:60]}...({len(report)} characters)"
    path = root / report
    if "\x00" in report:
        raise OptionError(f"{source}: {shown!r} contains a NUL character")
    encoded = os.fsencode(path)
    longest = max((len(os.fsencode(part)) for part in path.parts), default=0)
    if len(encoded) > MAX_PATH or longest > MAX_PATH_PART:
        raise OptionError(
            f"{source}: {shown!r} is too long for a directory path (at most {MAX_PATH} bytes, "
            f"{MAX_PATH_PART} for each name in it)"
        )
    try:
        if path.exists() and not path.is_dir():
            raise OptionError(f"{source}: {shown!r} is a file, not a directory")
    except OSError as exc:
        raise OptionError(f"{source}: {shown!r} cannot be used: {exc.strerror or exc}") from None
    return path


@final
@dataclass
class LoadSession:
    """The state of one pytest session of the plugin (on the controller, or an xdist worker)."""

    layers: Layers = field(default_factory=Layers)  # the command line's and the ini file's
    run_all: bool = False
    no_sla: bool = False
    markexpr: str = ""
    named_files: set[Path] = field(default_factory=set)
    is_worker: bool = False
    results: list[LoadResult] = field(default_factory=list)
    report_dir: Path | None = None
    progress: ProgressMode = "off"
    progress_interval: float = 10.0
    stream: TextIO | None = None  # the real standard output, for progress during a test
    progress_shown: bool = False  # progress was written since pytest last wrote (see plugin)
    written: list[Path] = field(default_factory=list)
    report_problem: str = ""
    baseline: BaselineSession | None = None
    baseline_lines: list[str] = field(default_factory=list)
    #: under xdist: where workers leave the runs of a test a Ctrl-C cut short (no report carries
    #: them), for the controller to print and report
    spool: Path | None = None
    places: tuple[Any, ...] = ()  # --load-tx: where worker processes start (_scale._places)
    #: puts SIGINT's handler back once a Ctrl-C shield was raised (see keep_interrupted)
    _unshield: Callable[[], None] | None = None

    @classmethod
    def start(
        cls,
        config: ConfigReader,
        *,
        inifile: str,
        root: Path,
        named: set[Path],
        is_worker: bool,
        verbosity: int,
    ) -> LoadSession:
        """Read the options into a new session; :class:`OptionError` for a bad one.

        ``inifile`` names the ini file in messages, ``root`` is the directory pytest was
        invoked in, ``named`` the test files the command line named."""
        session = cls(
            run_all=bool(config.getoption("load_run_all")),
            no_sla=bool(config.getoption("load_no_sla")),
            markexpr=str(config.getoption("markexpr", "") or ""),
            named_files=named,
            is_worker=is_worker,
        )
        try:
            session.layers = Layers.from_options(config.getoption, config.getini, inifile)
        except SettingError as exc:
            raise OptionError(str(exc)) from None
        if not is_worker:  # xdist workers show no progress and write no report
            session._configure_output(config, inifile, root, verbosity)
        session._configure_baseline(config, inifile)
        return session

    def _configure_output(
        self, config: ConfigReader, inifile: str, root: Path, verbosity: int
    ) -> None:
        """Report directory and progress mode."""
        from pytest_loadtest._model._units import parse_duration
        from pytest_loadtest._report._progress import (
            choose_progress_mode,
            parse_progress_mode,
            real_stdout,
        )

        report = config.getoption("load_report") or config.getini("load_report")
        if report:
            source = "--load-report" if config.getoption("load_report") else inifile
            self.report_dir = _report_dir(root, str(report), source)
        requested = config.getoption("load_progress") or config.getini("load_progress") or None
        try:
            mode = parse_progress_mode(requested) if requested else None
        except ValueError as exc:
            raise OptionError(f"{inifile} option load_progress: {exc}") from None
        interval, source = session_option(config, "--load-progress-interval", inifile)
        if interval:
            try:
                self.progress_interval = parse_duration(interval)
                if self.progress_interval <= 0:
                    raise ValueError(f"{interval!r} must be longer than 0")
            except ValueError as exc:
                raise OptionError(f"{source}: {exc}") from None
        isatty = bool(getattr(sys.stdout, "isatty", lambda: False)())
        self.progress = choose_progress_mode(mode, isatty=isatty, verbosity=verbosity)
        if self.progress != "off":  # only then a descriptor of our own on the real output
            self.stream = real_stdout()

    def _configure_baseline(self, config: ConfigReader, inifile: str) -> None:
        """Load the baseline and parse the checks (on xdist workers too: they fail their tests).
        ``--load-compare-history`` is checked even when nothing is compared."""
        given, source = session_option(config, "--load-compare-history", inifile)
        try:
            history = DEFAULT_HISTORY if given is None else parse_history(given)
        except ValueError as exc:
            raise OptionError(f"{source}: {exc}") from None
        names = ("load_save", "load_autosave", "load_compare", "load_compare_fail")
        if all(config.getoption(name) in (None, False) for name in names):
            return  # keep numpy and the baseline code out of sessions that do not ask for them
        from pytest_loadtest._baseline._benchmark_compat import machine_id, storage_path
        from pytest_loadtest._baseline._checks import CheckSpecError
        from pytest_loadtest._baseline._session import BaselineSession
        from pytest_loadtest._baseline._storage import BaselineError, check_save_name

        save = config.getoption("load_save")
        try:
            if save is not None:
                check_save_name(save)
            self.baseline = BaselineSession.create(
                storage=storage_path(config.getoption("benchmark_storage", None)),
                machine=machine_id(),
                save=save,
                autosave=bool(config.getoption("load_autosave")),
                save_failed=bool(config.getoption("load_save_failed")),
                compare_with=config.getoption("load_compare"),
                compare_fail=config.getoption("load_compare_fail"),
                history=history,
            )
        except CheckSpecError as exc:
            raise OptionError(f"--load-compare-fail: {exc}") from None
        except BaselineError as exc:
            raise OptionError(f"--load-compare: {exc}") from None
        except ValueError as exc:  # a save name
            raise OptionError(f"--load-save: {exc}") from None

    def close(self) -> None:
        """Close the progress stream; put SIGINT's handler back."""
        if self.stream is not None and self.stream is not sys.stdout:
            self.stream.close()
            self.stream = None
        if self._unshield is not None:
            self._unshield()
            self._unshield = None

    def selects(self, path: Path, markers: Set[str], kinds: Set[str]) -> bool:
        """Does the session run a load test (in file ``path``, with ``markers``, of ``kinds``)?"""
        if self.run_all or path.resolve() in self.named_files:
            return True
        return markexpr_selects(self.markexpr, markers, kinds)

    def test_layers(self, marker: Layer, randomly_seed: int | None = None) -> Layers:
        """The session's layers with a test's ``marker``; with pytest-randomly active, its seed
        (``randomly_seed``) as the seed of runs that set none, so that ``--randomly-seed=N``
        repeats ``vu.random`` too."""
        layers = self.layers.with_marker(marker)
        if randomly_seed is None:
            return layers
        source = f"pytest-randomly (--randomly-seed={randomly_seed})"
        return replace(layers, below=(*layers.below, (source, {"seed": randomly_seed})))

    def progress_printers(self, test_id: str = "") -> Callable[[], Progress] | None:
        """A maker of one progress printer per run of ``test_id``, or ``None`` when progress
        is off. What it writes sets :attr:`progress_shown`."""
        if self.stream is None:
            return None
        from pytest_loadtest._report._progress import progress_factory

        def shown() -> None:
            self.progress_shown = True

        return progress_factory(
            self.stream, self.progress, self.progress_interval, label=test_id, on_write=shown
        )

    def take_progress_shown(self) -> bool:
        """Whether progress was written since the last call: pytest's current line was left."""
        shown, self.progress_shown = self.progress_shown, False
        return shown

    def keep_interrupted(self, results: Sequence[LoadResult]) -> None:
        """Keep the runs of a test that was interrupted (the last of them was): no report will
        carry them, the session is stopping. Two more Ctrl-Cs while it stops do not cut the
        summary and the report short (a third one does)."""
        if not self.is_worker:
            self.results.extend(results)
        elif self.spool is not None and results:
            self._spool_results(results)
        if self._unshield is None:
            from pytest_loadtest._engine._interrupts import shield_interrupts

            self._unshield = shield_interrupts()

    def confirm_of(self, layers: Layers) -> int:
        """How many times a test with these settings layers is run again to confirm a breach
        (``confirm``); 0 when its settings do not resolve (the test then fails saying why)."""
        try:
            return layers.resolve().confirm
        except SettingError:
            return 0

    def to_confirm(self, test_id: str, results: Sequence[LoadResult]) -> bool:
        """Does this attempt of a test fail on an SLA breach or a regression against the
        baseline (``--load-compare-fail``) that a run of the test again may not confirm? Not
        on a breach when breaches do not fail (``--load-no-sla``), nor after a run that was
        interrupted, stopped or left calls hung. (Regressions as :meth:`test_failure` marked
        them: ``result.regressed``.)"""
        runs = [r for r in results if r.probe is None]
        if any(r.interrupted or r.stopped_by or r.hung for r in runs):
            return False
        if not self.no_sla and any(not r.passed for r in runs):
            return True
        return any(r.regressed for r in runs)

    def attempts(self, test_id: str, results: Sequence[LoadResult]) -> list[dict[str, Any]]:
        """This attempt of a test's runs in brief (``result.attempts`` of the next one): each
        run's SLA breaches, and the test's regressions against the baseline on its first run."""
        attempts = [r.attempt() for r in results]
        if self.baseline is not None and attempts and any(r.regressed for r in results):
            attempts[0]["regressions"] = self.baseline.regressions(test_id, results)
        return attempts

    def spool_for_workers(self) -> str:
        """The directory xdist workers leave interrupted runs in (made on first use)."""
        if self.spool is None:
            import tempfile

            self.spool = Path(tempfile.mkdtemp(prefix="pytest-loadtest-"))
        return str(self.spool)

    def _spool_results(self, results: Sequence[LoadResult]) -> None:
        import json

        from pytest_loadtest._report._files import atomic_write_text

        assert self.spool is not None
        text = json.dumps([r.to_dict() for r in results])
        # OSError: the controller's directory is gone, it has stopped waiting for us
        with contextlib.suppress(OSError):
            atomic_write_text(self.spool / f"worker-{os.getpid()}-{id(results)}.json", text)

    def gather_spooled(self) -> None:
        """On the controller: take in what workers left (a Ctrl-C stopped them), then remove
        the directory."""
        if self.spool is None:
            return
        import json
        import shutil

        paths = sorted(self.spool.glob("worker-*.json"))
        if paths:  # numpy and hdrh with it: not in every xdist run (pytester re-runs break)
            from pytest_loadtest._model._result import LoadResult
        for path in paths:
            try:
                data = json.loads(path.read_text(encoding="utf-8"))
                self.results.extend(LoadResult.from_dict(item) for item in data)
            except (OSError, ValueError, TypeError, KeyError):
                continue  # half a file cannot be: written atomically; anything else is not ours
        shutil.rmtree(self.spool, ignore_errors=True)
        self.spool = None

    def test_failure(self, test_id: str, results: Sequence[LoadResult]) -> str:
        """Why the test fails once its body has run: SLA breaches and regressions, or ``""``."""
        from pytest_loadtest._report._terminal import failure_message

        failed = [r for r in results if not r.passed and r.probe is None]
        messages = [failure_message(failed)] if failed and not self.no_sla else []
        if self.baseline is not None and (
            regressed := self.baseline.test_failure(test_id, results)
        ):
            messages.append(regressed)
            for result in results:
                result.regressed = True
        return "\n".join(m for m in messages if m)

    def finish(self, config: object, *, failed: bool, metadata: Mapping[str, Any]) -> None:
        """At the end of the session: compare and save the baseline, hand the results to
        pytest-benchmark (``config``), write the report and the GitHub job summary."""
        if not self.results:
            return
        from pytest_loadtest._baseline._benchmark_compat import contribute
        from pytest_loadtest._baseline._entry import entries_from_results
        from pytest_loadtest._report._html import ReportError
        from pytest_loadtest._report._markdown import append_step_summary
        from pytest_loadtest._report._write import write_report

        if self.baseline is not None:
            self.baseline_lines = self.baseline.finish(self.results, failed=failed)
        # into pytest-benchmark's own session when it saves, writes JSON or compares
        contribute(config, entries_from_results(self.results))
        try:
            if self.report_dir is not None:
                self.written = write_report(self.report_dir, self.results, metadata=metadata)
            summary = os.environ.get("GITHUB_STEP_SUMMARY")
            if summary:
                append_step_summary(summary, self.results)
        except (ReportError, OSError) as exc:
            self.report_problem = f"load report not written: {exc}"

    def report_lines(self) -> list[str]:
        """Where the report was written, and what it lacks: lines for the terminal summary."""
        if not self.written:
            return []
        from pytest_loadtest._report._write import charts_note

        index = next((p for p in self.written if p.name == "index.html"), self.written[0])
        note = charts_note()
        return [f"load report: {index}", *([note] if note else [])]
