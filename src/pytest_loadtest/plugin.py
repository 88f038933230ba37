"""The pytest plugin: options, markers, selection, the ``load_runner`` fixture, reporting.

Every pytest hook of the project lives here, and only hooks and the glue between pytest and
plain modules: the session's state and work are :mod:`._session`'s, the settings and their
layers :mod:`._settings`'.

Loading it costs next to nothing: this module imports only plain data (the options as
:mod:`._settings._cli` writes them out, the session options, the selection helpers). The
session's state is made when a test that uses ``load_runner`` is collected, or at start-up when
an option or ini key of ours is set (a bad value stops the session at once); numpy, hdrh and the
engine only when a load test runs. In a load test worker process (``processes=N``, see
:mod:`._scale`) the same hooks run one test, its runs driven by the coordinator.
"""

from __future__ import annotations

from collections.abc import Generator
from pathlib import Path
from typing import TYPE_CHECKING, Any, Final, NoReturn

import pytest

from pytest_loadtest._settings import _options, _selection
from pytest_loadtest._settings._cli import MARKER_SIGNATURE, MARKERS, SETTING_OPTIONS

if TYPE_CHECKING:
    from pytest_loadtest._model._result import LoadResult
    from pytest_loadtest._runner import LoadRunner
    from pytest_loadtest._scale._worker import LoadWorker, WorkerLink
    from pytest_loadtest._session import LoadSession

_STATE: Final = pytest.StashKey["LoadSession"]()
#: the test files the command line named (xdist hands them to its workers)
_NAMED: Final = pytest.StashKey[set[Path]]()
#: on an xdist worker: where the controller takes in runs a Ctrl-C cut short
_SPOOL: Final = pytest.StashKey[Path]()
_RUNNER: Final = pytest.StashKey["LoadRunner"]()
#: in a load test worker process (processes=N): its line to the coordinator
_LINK: Final = pytest.StashKey["WorkerLink"]()
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
    for row in SETTING_OPTIONS:
        _, flag, _, _, ini, ini_help = row
        if flag:
            group.addoption(flag, **_options.setting_option_kwargs(row))
        if ini:
            parser.addini(ini, ini_help, default="")
    for option in _options.SESSION_OPTIONS:
        # argparse formats help with %: a literal percent sign must be doubled
        help_text = option.help.replace("%", "%%")
        group.addoption(option.flag, dest=option.dest, help=help_text, **option.kwargs)
        if option.ini:
            parser.addini(option.ini, f"load testing: {option.help}", default="")


@pytest.hookimpl(tryfirst=True)  # a load test worker's outputs are off before others configure
def pytest_configure(config: pytest.Config) -> None:
    """Register markers; read the options now if any of ours is set, else on first need."""
    for name in MARKERS:
        config.addinivalue_line("markers", _selection.marker_help(name, MARKER_SIGNATURE))
    plugins = config.pluginmanager.get_plugins()
    holder = next((p for p in plugins if hasattr(p, "loadtest_worker_channel")), None)
    if holder is not None:  # a load test worker process (processes=N): see _scale._wire
        from pytest_loadtest._scale._session import worker_options
        from pytest_loadtest._scale._worker import WorkerLink

        channel, session = holder.loadtest_worker_channel, holder.loadtest_worker_session
        link = holder.link = WorkerLink(channel, session)
        worker_options(config.option)
        config.stash[_LINK] = link
        config.pluginmanager.register(_WorkerReports(link), "loadtest-worker-reports")
    workerinput = getattr(config, "workerinput", None)  # an xdist worker's
    if workerinput is not None:
        files = {Path(p) for p in workerinput.get("loadtest_named_files", [])}
    elif config.args_source is pytest.Config.ArgsSource.ARGS:
        files = _selection.named_files(config.args, config.invocation_params.dir)
    else:
        files = set()
    config.stash[_NAMED] = files
    if workerinput is not None and (spool := workerinput.get("loadtest_spool")):
        config.stash[_SPOOL] = Path(spool)
    if _options.any_option_set(config.getoption, config.getini):
        _state(config)  # a bad option or ini value stops the session now
    if not _is_worker(config):
        config.pluginmanager.register(_Reporter(config), "loadtest-reporter")


def _is_worker(config: pytest.Config) -> bool:
    """An xdist worker or a load test worker: no progress, no summary, no report."""
    return hasattr(config, "workerinput") or _LINK in config.stash


def _state(config: pytest.Config) -> LoadSession:
    """The session's state, read from the options on first use (the progress stream with it:
    first use is at start-up or collection, when pytest captures no output)."""
    if (state := config.stash.get(_STATE, None)) is not None:
        return state
    from pytest_loadtest._scale._places import PlaceError, places_of
    from pytest_loadtest._session import LoadSession, OptionError

    inifile = config.inipath.name if config.inipath else "ini file"
    try:
        state = LoadSession.start(
            config,
            inifile=inifile,
            root=config.invocation_params.dir,
            named=config.stash.get(_NAMED, set()),
            is_worker=_is_worker(config),
            verbosity=config.get_verbosity(),
        )
        state.places = places_of(config.getoption, config.getini, inifile)
    except (OptionError, PlaceError) as exc:
        raise pytest.UsageError(str(exc)) from None
    state.spool = config.stash.get(_SPOOL, None)
    config.stash[_STATE] = state
    return state


def pytest_unconfigure(config: pytest.Config) -> None:
    """Close the progress stream."""
    if (state := config.stash.get(_STATE, None)) is not None:
        state.close()


@pytest.hookimpl(optionalhook=True)
def pytest_configure_node(node: Any) -> None:
    """pytest-xdist: tell workers which files the command line named."""
    files = node.config.stash.get(_NAMED, None)
    if files is None:  # a config that pytest_configure never saw (xdist's own tests make them)
        return
    node.workerinput["loadtest_named_files"] = sorted(str(p) for p in files)
    # where workers leave runs a Ctrl-C cut short: the controller's state makes it (xdist runs
    # make the controller's state at once, whether or not a load test will run)
    node.workerinput["loadtest_spool"] = _state(node.config).spool_for_workers()


# -- collection ----
def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Validate marker arguments and skip load tests that the run did not ask for.

    A test is ours only when it uses ``load_runner`` (directly or through its fixtures): other
    projects mark tests ``load`` or ``soak`` for their own reasons, and those run untouched."""
    ours = [item for item in items if "load_runner" in getattr(item, "fixturenames", ())]
    if not ours:
        return
    from pytest_loadtest._session import OptionError, check_markers

    state = _state(config)
    rerun = _selection.rerun_ids(config.getoption, getattr(config, "cache", None))
    for item in ours:
        markers = [(m.name, m.args, m.kwargs) for m in item.iter_markers()]
        kinds = [name for name, _, _ in markers if name in MARKERS]
        if not kinds:
            continue
        try:
            check_markers(item.nodeid, markers)
        except OptionError as exc:
            raise pytest.UsageError(str(exc)) from None
        if item.nodeid in rerun:
            continue  # --lf, --ff, --sw chose it again: it runs like a test named on the line
        if not state.selects(item.path, {name for name, _, _ in markers}, set(kinds)):
            item.add_marker(pytest.mark.skip(reason=_selection.skip_reason(kinds[0])))


# -- the fixture ----
def _fail(message: str) -> NoReturn:
    pytest.fail(message, pytrace=False)


@pytest.fixture
def load_runner(request: pytest.FixtureRequest) -> Generator[LoadRunner, None, None]:
    """Drive a target with virtual users: ``result = load_runner.run(target, **settings)``.

    Settings come from, highest first: the command line, ``run()`` keyword arguments, the test's
    ``load``/``soak`` marker, ini options, defaults. SLA breaches fail the test after it ends.
    """
    from pytest_loadtest._runner import LoadRunner
    from pytest_loadtest._scale._session import coordinator
    from pytest_loadtest._settings._layers import marker_layer

    item, config = request.node, request.config
    state = _state(config)
    markers = [(m.name, m.kwargs) for m in item.iter_markers()]
    seed = _selection.randomly_seed(config.pluginmanager.hasplugin, config.getoption)
    layers = state.test_layers(marker_layer(item.nodeid, markers), seed)

    def on_result(result: LoadResult) -> None:
        if _LINK not in config.stash:  # once per run: in the coordinator, not in its workers
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
        scale=config.stash.get(_LINK, None)
        or coordinator(item.path, item.nodeid, config, state.places),
        # xdist's workers take turns (the spool is the session's directory)
        turns=None if config.getoption("load_xdist_parallel") else state.spool,
    )
    item.stash[_RUNNER] = runner
    yield runner
    if (problems := runner.close_workers()) is not None:  # a worker's teardown failed
        _fail(problems)


@pytest.fixture(scope="session")
def load_worker(request: pytest.FixtureRequest) -> LoadWorker:
    """Where this process runs a load test spread over worker processes (``processes=N``): the
    coordinator (the pytest process you started) or worker ``index``. One-time set-up and
    checks belong in the coordinator: ``if load_worker.is_coordinator: seed()``."""
    from pytest_loadtest._scale._worker import LoadWorker

    link = request.config.stash.get(_LINK, None)
    return LoadWorker() if link is None else LoadWorker(link.index, link.count)


# -- confirmation ----
def _confirm_of(item: pytest.Item) -> int:
    if "load_runner" not in getattr(item, "fixturenames", ()) or _LINK in item.config.stash:
        return 0  # a load test worker's coordinator confirms
    from pytest_loadtest._settings._layers import SettingError, marker_layer

    state = _state(item.config)
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

    from pytest_loadtest._confirm import run_attempts

    def breached() -> list[dict[str, Any]] | None:
        found = item.stash.get(_BREACHED, None)
        if found is not None:
            del item.stash[_BREACHED]
        return found

    item.stash[_EARLIER] = []
    return run_attempts(item, nextitem, confirm, runtestprotocol, item.stash[_EARLIER], breached)


# -- verdicts and reports ----
@pytest.hookimpl(wrapper=True)
def pytest_runtest_call(item: pytest.Item) -> Generator[None, object, object]:
    """After the test body: attach results as user properties; fail on SLA breaches."""
    if _RUNNER not in item.stash:  # not a load test: nothing of ours to do
        return (yield)
    from pytest_loadtest._scenario._file import ScenarioFileError
    from pytest_loadtest._scenario._target import TargetError
    from pytest_loadtest._settings._layers import SettingError

    problem = ""
    outcome: object = None
    try:
        outcome = yield
    except (ScenarioFileError, SettingError, TargetError) as exc:
        problem = str(exc)  # bad input of ours: a clear message, not a traceback
    except KeyboardInterrupt as exc:  # outside a run (between two): keep the runs made before it
        from pytest_loadtest._engine._interrupts import readable_traceback

        if (interrupted := item.stash.get(_RUNNER, None)) is not None:
            interrupted.keep_on_interrupt()
        exc.__traceback__ = readable_traceback(exc.__traceback__)
        raise
    finally:  # a failing test body still reports what its runs measured
        runner = item.stash.get(_RUNNER, None)
        if runner is not None and runner.results:
            from pytest_loadtest._report._pytest_terminal import attach

            attach(item.user_properties, runner.results, item.stash.get(_EARLIER, []))
    if problem or (runner is not None and (problem := runner.workers_failed())):
        _fail(problem)  # bad input of ours, or a worker's body failed where this one passed
    if runner is not None and runner.results and _LINK not in item.config.stash:
        state = _state(item.config)
        failure = state.test_failure(item.nodeid, runner.results)
        if failure:
            if state.to_confirm(item.nodeid, runner.results):
                item.stash[_BREACHED] = state.attempts(item.nodeid, runner.results)
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


class _WorkerReports:
    """In a load test worker process: each phase of its test, told to the coordinator."""

    def __init__(self, link: WorkerLink) -> None:
        self.link = link

    def pytest_runtest_logreport(self, report: pytest.TestReport) -> None:
        """Send the phase's outcome and, when it failed, why."""
        self.link.report(report.when, report.outcome, str(report.longrepr or ""))


class _Reporter:
    """Gathers results from call reports, locally or from xdist workers, and prints the summary.

    Registered as a plugin on the controller only (like xdist's ``DSession``).
    """

    def __init__(self, config: pytest.Config) -> None:
        self.config = config

    @property
    def state(self) -> LoadSession | None:
        """The session's state; ``None`` while no load test has been seen."""
        return self.config.stash.get(_STATE, None)

    @pytest.hookimpl(tryfirst=True)
    def pytest_runtest_logreport(self, report: pytest.TestReport) -> None:
        """Collect the results a call report carries. First, before the terminal reporter
        writes the outcome: after progress lines it must start a line of its own."""
        state = self.state
        if state is not None and state.take_progress_shown():
            from pytest_loadtest._report._pytest_terminal import leave_progress_line

            leave_progress_line(self.config.pluginmanager.get_plugin("terminalreporter"), report)
        results = getattr(report, "loadtest_results", None)
        if report.when != "call" or not results:
            return
        from pytest_loadtest._model._result import LoadResult

        _state(self.config).results.extend(LoadResult.from_dict(data) for data in results)

    @pytest.hookimpl(wrapper=True, tryfirst=True)
    def pytest_sessionfinish(self, session: pytest.Session) -> Generator[None, None, None]:
        """Compare and save, write the report and the GitHub job summary: before the terminal
        summary prints, and before pytest-benchmark (a wrapper too) saves its own results."""
        if self.state is None:
            return (yield)
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
        if self.state is not None and self.state.results:
            from pytest_loadtest._report._pytest_terminal import write_summary

            write_summary(terminalreporter, self.state)
