"""The pytest plugin: options, markers, selection, the ``load_runner`` fixture, reporting.

Every pytest hook of the project lives here. Heavy modules (numpy, hdrh, the engine) are imported
inside hooks and the fixture, only when a load test actually runs.
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Callable, Generator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Final, NoReturn, TextIO

import pytest

from pytest_loadtest._settings._layers import SettingError, check_layer
from pytest_loadtest._settings._selection import markexpr_selects
from pytest_loadtest._settings._session import SESSION_OPTIONS
from pytest_loadtest._settings._table import OPTIONS, SettingSpec, marker_signature

if TYPE_CHECKING:
    from pytest_loadtest._baseline import BaselineSession
    from pytest_loadtest._model._result import LoadResult
    from pytest_loadtest._report._progress import ProgressMode
    from pytest_loadtest._runner import LoadRunner

MARKERS: Final = ("load", "soak")


@dataclass
class _State:
    cli: dict[str, tuple[str, object]] = field(default_factory=dict)  # name -> (source, value)
    ini: dict[str, tuple[str, object]] = field(default_factory=dict)
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
    written: list[Path] = field(default_factory=list)
    report_problem: str = ""
    baseline: BaselineSession | None = None
    baseline_lines: list[str] = field(default_factory=list)


_STATE: Final = pytest.StashKey[_State]()
_RUNNER: Final = pytest.StashKey["LoadRunner"]()


# -- options and markers ----
def _argtype(spec: SettingSpec) -> Callable[[str], object]:
    def parse(text: str) -> object:
        try:
            return spec.parse(text)
        except (ValueError, TypeError) as exc:
            raise argparse.ArgumentTypeError(f"invalid value {text!r}: {exc}") from None

    parse.__name__ = spec.name
    return parse


def pytest_addhooks(pluginmanager: pytest.PytestPluginManager) -> None:
    """Declare the ``pytest_loadtest_*`` hooks."""
    from pytest_loadtest import hookspecs

    pluginmanager.add_hookspecs(hookspecs)


def pytest_addoption(parser: pytest.Parser) -> None:
    """Add the "load testing" option group and the ini twins of its settings."""
    group = parser.getgroup("loadtest", "load testing")
    for spec in OPTIONS:
        if spec.cli:
            help_text = f"{spec.help} Overrides markers and run() arguments.".replace("%", "%%")
            if spec.metavar == "BOOL":  # --load-x / --no-load-x: a flag never takes a value
                kind: dict[str, Any] = {"action": argparse.BooleanOptionalAction}
            else:
                kind = {"metavar": spec.metavar, "type": _argtype(spec)}
            group.addoption(spec.option, dest=spec.dest, default=None, help=help_text, **kind)
        if spec.ini:
            parser.addini(spec.ini_name, f"load testing: {spec.help}", default="")
    for option in SESSION_OPTIONS:
        # argparse formats help with %: a literal percent sign must be doubled
        help_text = option.help.replace("%", "%%")
        group.addoption(option.flag, dest=option.dest, help=help_text, **option.kwargs)
        if option.ini:
            parser.addini(option.ini, f"load testing: {option.help}", default="")


def _configure_baseline(config: pytest.Config, state: _State) -> None:
    """Load the baseline and parse the checks (on xdist workers too: they fail their tests)."""
    names = ("load_save", "load_autosave", "load_compare", "load_compare_fail")
    if all(config.getoption(name) in (None, False) for name in names):
        return  # keep numpy and the baseline code out of sessions that do not ask for them
    from pytest_loadtest._baseline import (
        BaselineError,
        BaselineSession,
        CheckSpecError,
        check_save_name,
        machine_id,
        storage_path,
    )

    save = config.getoption("load_save")
    try:
        if save is not None:
            check_save_name(save)
        state.baseline = BaselineSession.create(
            storage=storage_path(config.getoption("benchmark_storage", None)),
            machine=machine_id(),
            save=save,
            autosave=bool(config.getoption("load_autosave")),
            save_failed=bool(config.getoption("load_save_failed")),
            compare_with=config.getoption("load_compare"),
            compare_fail=config.getoption("load_compare_fail"),
        )
    except CheckSpecError as exc:
        raise pytest.UsageError(f"--load-compare-fail: {exc}") from None
    except BaselineError as exc:
        raise pytest.UsageError(f"--load-compare: {exc}") from None
    except ValueError as exc:  # a save name
        raise pytest.UsageError(f"--load-save: {exc}") from None


def pytest_configure(config: pytest.Config) -> None:
    """Register markers, validate ini settings and keep the session state in the stash."""
    for name in MARKERS:
        kind = "a soak (endurance) test" if name == "soak" else "a load test"
        config.addinivalue_line(
            "markers",
            f"{name}({marker_signature()}): {kind}; virtual users drive a target through the "
            f"load_runner fixture. Skipped unless selected with -m {name}, named on the command "
            "line, or run with --load-run-all.",
        )
    state = _State(
        run_all=bool(config.getoption("load_run_all")),
        no_sla=bool(config.getoption("load_no_sla")),
        markexpr=str(config.getoption("markexpr", "") or ""),
        is_worker=hasattr(config, "workerinput"),
    )
    inifile = config.inipath.name if config.inipath else "ini file"
    for spec in OPTIONS:
        if spec.cli and (value := config.getoption(spec.dest)) is not None:
            state.cli[spec.name] = (f"command line option {spec.option}", value)
        if spec.ini and (raw := config.getini(spec.ini_name)):
            source = f"{inifile} option {spec.ini_name}"
            try:
                state.ini[spec.name] = (source, check_layer(source, {spec.name: raw})[spec.name])
            except SettingError as exc:
                raise pytest.UsageError(str(exc)) from None
    if state.is_worker:
        named = config.workerinput.get("loadtest_named_files", [])  # type: ignore[attr-defined]
        state.named_files = {Path(p) for p in named}
    else:
        state.named_files = _named_files(config)
        _configure_output(config, state, inifile)
    _configure_baseline(config, state)
    config.stash[_STATE] = state
    if not state.is_worker:
        config.pluginmanager.register(_Reporter(state), "loadtest-reporter")


def _configure_output(config: pytest.Config, state: _State, inifile: str) -> None:
    """Report directory and progress mode (controller only: xdist workers show no progress)."""
    from pytest_loadtest._model._units import parse_duration
    from pytest_loadtest._report._progress import (
        choose_progress_mode,
        parse_progress_mode,
        real_stdout,
    )

    report = config.getoption("load_report") or config.getini("load_report")
    if report:
        path = config.invocation_params.dir / str(report)
        if path.exists() and not path.is_dir():
            source = "--load-report" if config.getoption("load_report") else inifile
            raise pytest.UsageError(f"{source}: {report!r} is a file, not a directory")
        state.report_dir = path
    requested = config.getoption("load_progress") or config.getini("load_progress") or None
    try:
        mode = parse_progress_mode(requested) if requested else None
    except ValueError as exc:
        raise pytest.UsageError(f"{inifile} option load_progress: {exc}") from None
    interval = config.getoption("load_progress_interval") or config.getini("load_progress_interval")
    if interval:
        source = (
            "--load-progress-interval"
            if config.getoption("load_progress_interval")
            else f"{inifile} option load_progress_interval"
        )
        try:
            state.progress_interval = parse_duration(interval)
            if state.progress_interval <= 0:
                raise ValueError(f"{interval!r} must be longer than 0")
        except ValueError as exc:
            raise pytest.UsageError(f"{source}: {exc}") from None
    isatty = bool(getattr(sys.stdout, "isatty", lambda: False)())
    state.progress = choose_progress_mode(mode, isatty=isatty, verbosity=config.get_verbosity())
    if state.progress != "off":  # only then a descriptor of our own on the real output
        state.stream = real_stdout()


def pytest_unconfigure(config: pytest.Config) -> None:
    """Close the progress stream."""
    state = config.stash.get(_STATE, None)
    if state is not None and state.stream is not None and state.stream is not sys.stdout:
        state.stream.close()
        state.stream = None


def _named_files(config: pytest.Config) -> set[Path]:
    """Test files named on the command line (what an IDE passes when one test is clicked)."""
    if config.args_source is not pytest.Config.ArgsSource.ARGS:
        return set()
    root = config.invocation_params.dir
    files = set()
    for arg in config.args:
        path = (root / arg.split("::", 1)[0]).resolve()
        if path.is_file():
            files.add(path)
    return files


@pytest.hookimpl(optionalhook=True)
def pytest_configure_node(node: Any) -> None:
    """pytest-xdist: tell workers which files the command line named."""
    state = node.config.stash[_STATE]
    node.workerinput["loadtest_named_files"] = sorted(str(p) for p in state.named_files)


# -- collection ----
def _marker_settings(item: pytest.Item) -> tuple[str, dict[str, object]]:
    """Merged keyword arguments of the item's load/soak markers, closest first; and a source."""
    merged: dict[str, object] = {}
    names = []
    for marker in reversed(list(item.iter_markers())):
        if marker.name in MARKERS:
            names.append(marker.name)
            merged.update(marker.kwargs)
    label = names[-1] if names else "load"
    return f"@pytest.mark.{label} of {item.nodeid}", merged


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Validate marker arguments and skip load tests that the run did not ask for."""
    state = config.stash[_STATE]
    for item in items:
        kinds = [m.name for m in item.iter_markers() if m.name in MARKERS]
        if not kinds:
            continue
        for marker in item.iter_markers():
            if marker.name in MARKERS and marker.args:
                raise pytest.UsageError(
                    f"@pytest.mark.{marker.name} of {item.nodeid} takes keyword arguments only, "
                    f"got positional {marker.args!r}"
                )
        source, values = _marker_settings(item)
        from pytest_loadtest._validate import check_layer_deeply

        try:
            check_layer_deeply(source, values)
        except SettingError as exc:
            raise pytest.UsageError(str(exc)) from None
        if not _selected(item, state, set(kinds)):
            kind = kinds[0]
            item.add_marker(
                pytest.mark.skip(
                    reason=f"{kind} test: run it with `pytest -m {kind}`, by naming it "
                    "(pytest path/to/test_file.py::test_name), or with --load-run-all"
                )
            )


def _selected(item: pytest.Item, state: _State, kinds: set[str]) -> bool:
    if state.run_all or item.path.resolve() in state.named_files:
        return True
    markers = {m.name for m in item.iter_markers()}
    return markexpr_selects(state.markexpr, markers, kinds)


# -- the fixture ----
def _fail(message: str) -> NoReturn:
    pytest.fail(message, pytrace=False)


def _layers(values: Mapping[str, tuple[str, object]]) -> list[tuple[str, dict[str, object]]]:
    return [(source, {name: value}) for name, (source, value) in values.items()]


@pytest.fixture
def load_runner(request: pytest.FixtureRequest) -> LoadRunner:
    """Drive a target with virtual users: ``result = load_runner.run(target, **settings)``.

    Settings come from, highest first: the command line, ``run()`` keyword arguments, the test's
    ``load``/``soak`` marker, ini options, defaults. SLA breaches fail the test after it ends.
    """
    from pytest_loadtest._report._progress import progress_factory
    from pytest_loadtest._runner import LoadRunner

    item = request.node
    state = request.config.stash[_STATE]
    source, marker_values = _marker_settings(item)

    def on_result(result: LoadResult) -> None:
        item.ihook.pytest_loadtest_result(item=item, result=result)
        if result.interrupted and not state.is_worker:
            state.results.append(result)  # no report will carry it: the session is stopping

    runner = LoadRunner(
        test_id=item.nodeid,
        layers_above=_layers(state.cli),
        layers_below=[(source, marker_values), *_layers(state.ini)],
        on_result=on_result,
        fail=_fail,
        progress=(
            progress_factory(state.stream, state.progress, state.progress_interval)
            if state.stream
            else None
        ),
        soak=item.get_closest_marker("soak") is not None,
    )
    item.stash[_RUNNER] = runner
    return runner


# -- verdicts and reports ----
@pytest.hookimpl(wrapper=True)
def pytest_runtest_call(item: pytest.Item) -> Generator[None, object, object]:
    """After the test body: attach results as user properties; fail on SLA breaches."""
    from pytest_loadtest._scenario._file import ScenarioFileError
    from pytest_loadtest._scenario._target import TargetError
    from pytest_loadtest._settings._layers import SettingError

    problem = ""
    outcome: object = None
    try:
        outcome = yield
    except (ScenarioFileError, SettingError, TargetError) as exc:
        problem = str(exc)  # bad input of ours: a clear message, not a traceback
    finally:  # a failing test body still reports what its runs measured
        runner = item.stash.get(_RUNNER, None)
        if runner is not None and runner.results:
            from pytest_loadtest._report._terminal import user_property

            item.user_properties.extend(user_property(r) for r in runner.results)
    if problem:
        _fail(problem)
    if runner is not None and runner.results:
        from pytest_loadtest._report._terminal import failure_message

        state = item.config.stash[_STATE]
        failed = [r for r in runner.results if not r.passed and r.probe is None]
        messages = [failure_message(failed)] if failed and not state.no_sla else []
        if state.baseline is not None:
            messages.append(state.baseline.test_failure(item.nodeid, runner.results))
        if any(messages):
            _fail("\n".join(m for m in messages if m))
    return outcome


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(
    item: pytest.Item, call: pytest.CallInfo[None]
) -> Generator[None, pytest.TestReport, pytest.TestReport]:
    """Carry every result of the test on its call report (this is how xdist workers send them)."""
    report = yield
    runner = item.stash.get(_RUNNER, None)
    if call.when == "call" and runner is not None and runner.results:
        report.loadtest_results = [r.to_dict() for r in runner.results]  # type: ignore[attr-defined]
    return report


class _Reporter:
    """Gathers results from call reports, locally or from xdist workers, and prints the summary.

    Registered as a plugin on the controller only (like xdist's ``DSession``).
    """

    def __init__(self, state: _State) -> None:
        self.state = state

    def pytest_runtest_logreport(self, report: pytest.TestReport) -> None:
        """Collect the results a call report carries."""
        results = getattr(report, "loadtest_results", None)
        if report.when != "call" or not results:
            return
        from pytest_loadtest._model._result import LoadResult

        self.state.results.extend(LoadResult.from_dict(data) for data in results)

    @pytest.hookimpl(wrapper=True, tryfirst=True)
    def pytest_sessionfinish(self, session: pytest.Session) -> Generator[None, None, None]:
        """Compare and save, write the report and the GitHub job summary: before the terminal
        summary prints, and before pytest-benchmark (a wrapper too) saves its own results."""
        self._finish(session)
        return (yield)

    def _finish(self, session: pytest.Session) -> None:
        state = self.state
        if not state.results:
            return
        from pytest_loadtest._baseline import contribute, entries_from_results
        from pytest_loadtest._report._html import ReportError
        from pytest_loadtest._report._markdown import append_step_summary
        from pytest_loadtest._report._write import write_report

        if state.baseline is not None:
            state.baseline_lines = state.baseline.finish(
                state.results, failed=session.testsfailed > 0
            )
        # into pytest-benchmark's own session when it saves, writes JSON or compares
        contribute(session.config, entries_from_results(state.results))
        try:
            if state.report_dir is not None:
                metadata = {
                    "pytest": pytest.__version__,
                    "args": list(session.config.invocation_params.args),
                }
                state.written = write_report(state.report_dir, state.results, metadata=metadata)
            summary = os.environ.get("GITHUB_STEP_SUMMARY")
            if summary:
                append_step_summary(summary, state.results)
        except (ReportError, OSError) as exc:
            state.report_problem = f"load report not written: {exc}"

    def pytest_terminal_summary(self, terminalreporter: pytest.TerminalReporter) -> None:
        """Print the "load test results" section."""
        state = self.state
        if not state.results:
            return
        from pytest_loadtest._report._terminal import summary_lines

        terminalreporter.section("load test results")
        for line in summary_lines(state.results, no_sla=state.no_sla):
            terminalreporter.write_line(line)
        if state.written:
            from pytest_loadtest._report._write import charts_note

            index = next((p for p in state.written if p.name == "index.html"), state.written[0])
            terminalreporter.write_line(f"load report: {index}")
            note = charts_note()
            if note:
                terminalreporter.write_line(note)
        if state.report_problem:
            terminalreporter.write_line(state.report_problem, red=True)
        if state.baseline_lines:
            terminalreporter.section("load test baseline")
            for line in state.baseline_lines:
                terminalreporter.write_line(line)
