"""The pytest plugin: options, markers, selection, the ``load_runner`` fixture, reporting.

Every pytest hook of the project lives here, and only hooks and the glue between pytest and
plain modules: the session's state and work are :mod:`._session`'s, the settings and their
layers :mod:`._settings`'. Heavy modules (numpy, hdrh, the engine) are imported inside hooks and
the fixture, only when a load test actually runs.
"""

from __future__ import annotations

from collections.abc import Generator
from pathlib import Path
from typing import TYPE_CHECKING, Any, Final, NoReturn

import pytest

from pytest_loadtest._session import LoadSession, OptionError, check_markers, named_files
from pytest_loadtest._settings._layers import MARKERS, SettingError, marker_layer
from pytest_loadtest._settings._options import SESSION_OPTIONS
from pytest_loadtest._settings._table import OPTIONS, marker_signature

if TYPE_CHECKING:
    from pytest_loadtest._model._result import LoadResult
    from pytest_loadtest._runner import LoadRunner

_STATE: Final = pytest.StashKey[LoadSession]()
_RUNNER: Final = pytest.StashKey["LoadRunner"]()
#: each earlier attempt of a test that is confirming a breach (``confirm``): its runs in brief
_EARLIER: Final = pytest.StashKey[list[list[dict[str, Any]]]]()
#: this attempt failed on a breach that running the test again may not confirm
_BREACHED: Final = pytest.StashKey[list[dict[str, Any]]]()


# -- options and markers ----
def pytest_addhooks(pluginmanager: pytest.PytestPluginManager) -> None:
    """Declare the ``pytest_loadtest_*`` hooks."""
    from pytest_loadtest import hookspecs

    pluginmanager.add_hookspecs(hookspecs)


def pytest_addoption(parser: pytest.Parser) -> None:
    """Add the "load testing" option group and the ini twins of its settings."""
    group = parser.getgroup("loadtest", "load testing")
    for spec in OPTIONS:
        if spec.cli:
            group.addoption(spec.option, **spec.option_kwargs())
        if spec.ini:
            parser.addini(spec.ini_name, spec.ini_help, default="")
    for option in SESSION_OPTIONS:
        # argparse formats help with %: a literal percent sign must be doubled
        help_text = option.help.replace("%", "%%")
        group.addoption(option.flag, dest=option.dest, help=help_text, **option.kwargs)
        if option.ini:
            parser.addini(option.ini, f"load testing: {option.help}", default="")


def pytest_configure(config: pytest.Config) -> None:
    """Register markers, read the options and keep the session's state in the stash."""
    signature = marker_signature()
    for name in MARKERS:
        kind = "a soak (endurance) test" if name == "soak" else "a load test"
        config.addinivalue_line(
            "markers",
            f"{name}({signature}): {kind}; virtual users drive a target through the "
            f"load_runner fixture. Skipped unless selected with -m {name}, named on the command "
            "line, or run with --load-run-all.",
        )
    is_worker = hasattr(config, "workerinput")
    if is_worker:
        named = config.workerinput.get("loadtest_named_files", [])  # type: ignore[attr-defined]
        files = {Path(p) for p in named}
    elif config.args_source is pytest.Config.ArgsSource.ARGS:
        files = named_files(config.args, config.invocation_params.dir)
    else:
        files = set()
    spool = config.workerinput.get("loadtest_spool") if is_worker else None  # type: ignore[attr-defined]
    try:
        state = LoadSession.start(
            config,
            inifile=config.inipath.name if config.inipath else "ini file",
            root=config.invocation_params.dir,
            named=files,
            is_worker=is_worker,
            verbosity=config.get_verbosity(),
        )
    except OptionError as exc:
        raise pytest.UsageError(str(exc)) from None
    if spool:
        state.spool = Path(spool)
    config.stash[_STATE] = state
    if not is_worker:
        config.pluginmanager.register(_Reporter(state, config), "loadtest-reporter")


def pytest_unconfigure(config: pytest.Config) -> None:
    """Close the progress stream."""
    state = config.stash.get(_STATE, None)
    if state is not None:
        state.close()


@pytest.hookimpl(optionalhook=True)
def pytest_configure_node(node: Any) -> None:
    """pytest-xdist: tell workers which files the command line named."""
    state = node.config.stash[_STATE]
    node.workerinput["loadtest_named_files"] = sorted(str(p) for p in state.named_files)
    node.workerinput["loadtest_spool"] = state.spool_for_workers()


# -- collection ----
def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Validate marker arguments and skip load tests that the run did not ask for."""
    state = config.stash[_STATE]
    for item in items:
        markers = [(m.name, m.args, m.kwargs) for m in item.iter_markers()]
        kinds = [name for name, _, _ in markers if name in MARKERS]
        if not kinds:
            continue
        try:
            check_markers(item.nodeid, markers)
        except OptionError as exc:
            raise pytest.UsageError(str(exc)) from None
        if not state.selects(item.path, {name for name, _, _ in markers}, set(kinds)):
            kind = kinds[0]
            item.add_marker(
                pytest.mark.skip(
                    reason=f"{kind} test: run it with `pytest -m {kind}`, by naming it "
                    "(pytest path/to/test_file.py::test_name), or with --load-run-all"
                )
            )


# -- the fixture ----
def _fail(message: str) -> NoReturn:
    pytest.fail(message, pytrace=False)


@pytest.fixture
def load_runner(request: pytest.FixtureRequest) -> LoadRunner:
    """Drive a target with virtual users: ``result = load_runner.run(target, **settings)``.

    Settings come from, highest first: the command line, ``run()`` keyword arguments, the test's
    ``load``/``soak`` marker, ini options, defaults. SLA breaches fail the test after it ends.
    """
    from pytest_loadtest._runner import LoadRunner

    item = request.node
    state = request.config.stash[_STATE]
    markers = [(m.name, m.kwargs) for m in item.iter_markers()]
    layers = state.layers.with_marker(marker_layer(item.nodeid, markers))

    def on_result(result: LoadResult) -> None:
        item.ihook.pytest_loadtest_result(item=item, result=result)

    runner = LoadRunner(
        test_id=item.nodeid,
        layers_above=layers.above,
        layers_below=layers.below,
        on_result=on_result,
        on_interrupt=state.keep_interrupted,  # no report will carry the test's runs
        fail=_fail,
        progress=state.progress_printers(item.nodeid),
        soak=item.get_closest_marker("soak") is not None,
    )
    item.stash[_RUNNER] = runner
    return runner


# -- confirmation ----
def _confirm_of(item: pytest.Item) -> int:
    if "load_runner" not in getattr(item, "fixturenames", ()):
        return 0
    state = item.config.stash[_STATE]
    markers = [(m.name, m.kwargs) for m in item.iter_markers()]
    try:
        layer = marker_layer(item.nodeid, markers)
    except SettingError:
        return 0  # the test fails when it asks for its runner, saying why
    return state.confirm_of(state.layers.with_marker(layer))


@pytest.hookimpl(tryfirst=True)
def pytest_runtest_protocol(item: pytest.Item, nextitem: pytest.Item | None) -> bool | None:
    """``confirm``: a load test that fails on an SLA breach is run again (set-up, body,
    teardown: fresh fixtures), up to ``confirm`` more times; only the last attempt is reported,
    and its results carry the earlier ones (``result.attempts``)."""
    confirm = _confirm_of(item)
    if not confirm:
        return None
    from _pytest.runner import runtestprotocol  # what pytest-rerunfailures uses too

    item.ihook.pytest_runtest_logstart(nodeid=item.nodeid, location=item.location)
    earlier: list[list[dict[str, Any]]] = []
    item.stash[_EARLIER] = earlier
    while True:
        reports = runtestprotocol(item, nextitem=nextitem, log=False)
        breached = item.stash.get(_BREACHED, None)
        if breached is None or len(earlier) >= confirm:
            break
        del item.stash[_BREACHED]
        earlier.append(breached)
    for report in reports:
        item.ihook.pytest_runtest_logreport(report=report)
    item.ihook.pytest_runtest_logfinish(nodeid=item.nodeid, location=item.location)
    return True


# -- verdicts and reports ----
@pytest.hookimpl(wrapper=True)
def pytest_runtest_call(item: pytest.Item) -> Generator[None, object, object]:
    """After the test body: attach results as user properties; fail on SLA breaches."""
    from pytest_loadtest._scenario._file import ScenarioFileError
    from pytest_loadtest._scenario._target import TargetError

    problem = ""
    outcome: object = None
    try:
        outcome = yield
    except (ScenarioFileError, SettingError, TargetError) as exc:
        problem = str(exc)  # bad input of ours: a clear message, not a traceback
    except KeyboardInterrupt:  # outside a run (between two): keep the runs made before it
        interrupted = item.stash.get(_RUNNER, None)
        if interrupted is not None:
            interrupted.keep_on_interrupt()
        raise
    finally:  # a failing test body still reports what its runs measured
        runner = item.stash.get(_RUNNER, None)
        if runner is not None and runner.results:
            from pytest_loadtest._report._terminal import user_property

            earlier = item.stash.get(_EARLIER, [])
            for i, result in enumerate(runner.results):
                result.attempts = [attempt[i] for attempt in earlier if i < len(attempt)]

            item.user_properties.extend(user_property(r) for r in runner.results)
    if problem:
        _fail(problem)
    if runner is not None and runner.results:
        state = item.config.stash[_STATE]
        failure = state.test_failure(item.nodeid, runner.results)
        if failure:
            if state.to_confirm(runner.results):
                item.stash[_BREACHED] = [r.attempt() for r in runner.results]
            _fail(failure)
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

    def __init__(self, state: LoadSession, config: pytest.Config) -> None:
        self.state = state
        self.config = config

    @pytest.hookimpl(tryfirst=True)
    def pytest_runtest_logreport(self, report: pytest.TestReport) -> None:
        """Collect the results a call report carries. First, before the terminal reporter
        writes the outcome: after progress lines it must start a line of its own."""
        if self.state.take_progress_shown():
            reporter = self.config.pluginmanager.get_plugin("terminalreporter")
            if reporter is not None:
                # pytest's own marker of "the line I am writing": None makes it start a new
                # line headed by the file again (with -v: by the test id, when it writes the
                # outcome); without -v the outcome's letter follows at once, so head it now
                reporter.currentfspath = None
                if reporter.verbosity <= 0 and reporter.showfspath:
                    reporter.write_fspath_result(report.nodeid, "")
                elif reporter.verbosity < 0:  # -q: dots without a file, on a line of their own
                    reporter.write("\n")
        results = getattr(report, "loadtest_results", None)
        if report.when != "call" or not results:
            return
        from pytest_loadtest._model._result import LoadResult

        self.state.results.extend(LoadResult.from_dict(data) for data in results)

    @pytest.hookimpl(wrapper=True, tryfirst=True)
    def pytest_sessionfinish(self, session: pytest.Session) -> Generator[None, None, None]:
        """Compare and save, write the report and the GitHub job summary: before the terminal
        summary prints, and before pytest-benchmark (a wrapper too) saves its own results."""
        self.state.gather_spooled()  # xdist's workers are down by now
        self.state.finish(
            session.config,
            failed=session.testsfailed > 0,
            metadata={
                "pytest": pytest.__version__,
                "args": list(session.config.invocation_params.args),
            },
        )
        return (yield)

    def pytest_terminal_summary(self, terminalreporter: pytest.TerminalReporter) -> None:
        """Print the "load test results" section."""
        state = self.state
        if not state.results:
            return
        from pytest_loadtest._report._terminal import summary_lines

        terminalreporter.section("load test results")
        table = summary_lines(
            state.results,
            no_sla=state.no_sla,
            width=terminalreporter.config.get_terminal_writer().fullwidth,
            verbose=terminalreporter.config.get_verbosity(),
        )
        for line in [*table, *state.report_lines()]:
            terminalreporter.write_line(line)
        if state.report_problem:
            terminalreporter.write_line(state.report_problem, red=True)
        if state.baseline_lines:
            terminalreporter.section("load test baseline")
            for line in state.baseline_lines:
                terminalreporter.write_line(line)
