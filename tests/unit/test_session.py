"""The plugin's session as plain code: options read through a fake config, plain errors."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest

from pytest_loadtest._session import LoadSession, OptionError, check_markers, named_files


class FakeConfig:
    """What ``pytest.Config`` offers the session: ``getoption`` and ``getini``."""

    def __init__(self, options: dict[str, Any] | None = None, ini: dict[str, str] | None = None):
        self.options = options or {}
        self.ini = ini or {}

    def getoption(self, name: str, default: Any = None, skip: bool = False) -> Any:
        return self.options.get(name, default)

    def getini(self, name: str) -> Any:
        return self.ini.get(name, "")


def _start(config: FakeConfig, root: Path = Path("."), **kwargs: Any) -> LoadSession:
    kwargs = {"named": set(), "is_worker": False, "verbosity": -1, **kwargs}
    return LoadSession.start(config, inifile="tox.ini", root=root, **kwargs)


def test_a_session_without_options() -> None:
    session = _start(FakeConfig())
    assert list(session.layers) == []
    assert (session.run_all, session.no_sla, session.markexpr) == (False, False, "")
    assert (session.progress, session.stream, session.report_dir) == ("off", None, None)
    assert session.baseline is None
    assert session.progress_printers() is None


def test_the_session_reads_its_settings_layers() -> None:
    config = FakeConfig(
        {"load_users": 3, "load_run_all": True, "markexpr": "load"}, {"load_seed": "5"}
    )
    session = _start(config)
    assert list(session.layers) == [
        ("command line option --load-users", {"users": 3}),
        ("tox.ini option load_seed", {"seed": 5}),
    ]
    assert (session.run_all, session.markexpr) == (True, "load")


@pytest.mark.parametrize(
    ("options", "ini", "message"),
    [
        ({}, {"load_users": "x"}, "tox.ini option load_users: invalid users='x': "),
        ({}, {"load_progress": "loud"}, "tox.ini option load_progress: "),
        ({"load_progress_interval": "0"}, {}, "--load-progress-interval: '0' must be longer"),
        ({}, {"load_progress_interval": "-"}, "tox.ini option load_progress_interval: "),
    ],
)
def test_a_bad_option_is_an_option_error(
    options: dict[str, Any], ini: dict[str, str], message: str
) -> None:
    with pytest.raises(OptionError, match="^" + re.escape(message)):
        _start(FakeConfig(options, ini))


def test_a_report_directory_that_is_a_file(tmp_path: Path) -> None:
    (tmp_path / "out").write_text("")
    with pytest.raises(OptionError, match=r"^--load-report: 'out' is a file, not a directory$"):
        _start(FakeConfig({"load_report": "out"}), root=tmp_path)
    session = _start(FakeConfig(ini={"load_report": "report"}), root=tmp_path)
    assert session.report_dir == tmp_path / "report"


def test_workers_choose_no_output() -> None:
    session = _start(FakeConfig({"load_report": "out"}), is_worker=True, verbosity=2)
    assert (session.report_dir, session.progress) == (None, "off")


def test_named_files(tmp_path: Path) -> None:
    (tmp_path / "test_a.py").write_text("")
    (tmp_path / "sub").mkdir()
    args = ["test_a.py::test_x", "sub", "missing.py", "-k"]
    assert named_files(args, tmp_path) == {(tmp_path / "test_a.py").resolve()}


def test_selection(tmp_path: Path) -> None:
    named = (tmp_path / "test_a.py").resolve()
    session = LoadSession(named_files={named}, markexpr="load")
    assert session.selects(tmp_path / "test_a.py", {"soak"}, {"soak"})  # named
    assert session.selects(tmp_path / "test_b.py", {"load"}, {"load"})  # -m load
    assert not session.selects(tmp_path / "test_b.py", {"soak"}, {"soak"})
    assert LoadSession(run_all=True).selects(tmp_path / "test_b.py", set(), {"load"})


def test_markers_are_checked() -> None:
    check_markers("t.py::t", [("load", (), {"users": 2}), ("other", (1,), {})])
    with pytest.raises(OptionError, match=r"^@pytest.mark.soak of t.py::t takes keyword argu"):
        check_markers("t.py::t", [("soak", (3,), {})])
    with pytest.raises(OptionError, match=r"^@pytest.mark.load of t.py::t: invalid users=0: "):
        check_markers("t.py::t", [("load", (), {"users": 0})])
    with pytest.raises(OptionError, match=r"^@pytest.mark.load of t.py::t: invalid detectors="):
        check_markers("t.py::t", [("load", (), {"detectors": {"no_such_detector": True}})])
