"""--load-tx specs, the worker's command line, and what coordinator and workers check of each
other (plugin version, settings)."""

from __future__ import annotations

from typing import Any

import pytest

from pytest_loadtest._scale._places import (
    LOCAL,
    Place,
    PlaceError,
    parse_places,
    places_for,
    places_of,
)
from pytest_loadtest._scale._session import WORKER_OPTIONS, worker_args, worker_options
from pytest_loadtest._scale._wire import differences


def test_specs_expand_into_places() -> None:
    places = parse_places(["2*popen", "ssh=loadgen1//python=/opt/venv/bin/python"], "--load-tx")
    assert [p.spec for p in places] == [
        "popen",
        "popen",
        "ssh=loadgen1//python=/opt/venv/bin/python",
    ]
    assert places[2].label == "ssh=loadgen1"
    assert places[0].local
    assert not places[2].local
    assert Place("socket=10.0.0.5:8888//chdir=/srv").chdir == "/srv"
    assert parse_places(["popen//env:DEBUG=1"], "x")[0].spec == "popen//env:DEBUG=1"


@pytest.mark.parametrize(
    ("spec", "problem"),
    [
        ("telnet=host", "it must start with popen, ssh=HOST or socket=HOST:PORT"),
        ("popen=x", "popen takes no value"),
        ("ssh=", "ssh= needs a host"),
        ("socket=host", "socket= takes HOST:PORT"),
        ("popen//colour=red", "unknown option 'colour=red'"),
        ("popen//python", "unknown option 'python'"),
        ("0*popen", "the count must be 1 to 256"),
        ("300*popen", "the count must be 1 to 256"),
        ("", "is not a gateway spec"),
    ],
)
def test_a_bad_spec_names_its_source_and_the_spec(spec: str, problem: str) -> None:
    with pytest.raises(PlaceError) as caught:
        parse_places([spec], "--load-tx")
    assert str(caught.value).startswith("--load-tx: ")
    assert problem in str(caught.value)


def test_too_many_places() -> None:
    with pytest.raises(PlaceError, match="more than 256 worker places"):
        parse_places(["200*popen", "200*popen"], "pytest.ini option load_tx")


def test_places_come_from_the_command_line_or_the_ini_file() -> None:
    options: dict[str, Any] = {"load_tx": None}
    ini = {"load_tx": "popen socket=127.0.0.1:8888"}
    places = places_of(options.get, ini.get, "tox.ini")
    assert [p.label for p in places] == ["popen", "socket=127.0.0.1:8888"]
    options["load_tx"] = ["3*popen"]
    assert len(places_of(options.get, ini.get, "tox.ini")) == 3
    with pytest.raises(PlaceError, match=r"^tox\.ini option load_tx: 'bad'"):
        places_of({"load_tx": None}.get, {"load_tx": "bad"}.get, "tox.ini")
    assert places_of({"load_tx": None}.get, {"load_tx": ""}.get, "tox.ini") == ()


def test_workers_are_placed_round_robin() -> None:
    a, b = Place("popen"), Place("socket=h:1")
    assert places_for(3, [a, b]) == [a, b, a]
    assert places_for(2, []) == [LOCAL, LOCAL]


def test_a_worker_runs_the_coordinators_options_on_its_one_test() -> None:
    args = worker_args(
        ["-m", "load", "tests/load", "--load-users=20", "-p", "no:randomly"],
        ["tests/load"],
        "/repo/tests/load/test_a.py::test_x[1]",
    )
    assert args == [
        "-m",
        "load",
        "--load-users=20",
        "-p",
        "no:randomly",
        "/repo/tests/load/test_a.py::test_x[1]",
    ]


def test_a_worker_writes_no_output_of_the_coordinators() -> None:
    class Options:
        xmlpath: object = "junit.xml"
        load_report: object = "report"
        lf: object = True
        numprocesses: object = 4
        custom = "kept"

    option = Options()
    worker_options(option)
    assert (option.xmlpath, option.load_report, option.lf, option.numprocesses) == (
        None,
        None,
        False,
        None,
    )
    assert option.custom == "kept"
    assert not hasattr(option, "htmlpath")  # options of plugins not installed stay absent
    assert WORKER_OPTIONS["load_progress"] == "off"


def test_differences_name_each_setting() -> None:
    mine = {"users": "4", "duration": "10.0", "target": "['t']"}
    theirs = {"users": "6", "duration": "10.0"}
    assert differences(mine, theirs) == ["target: ['t'] here, - there", "users: 4 here, 6 there"]
    assert differences(mine, dict(mine)) == []


def test_processes_take_a_count_or_auto() -> None:
    import os

    from pytest_loadtest._settings._parsers import MAX_PROCESSES, parse_processes

    assert parse_processes("auto") == min(MAX_PROCESSES, os.cpu_count() or 1)
    assert parse_processes(" AUTO ") == parse_processes("auto")
    assert parse_processes("4") == 4
    assert parse_processes(2) == 2
    for bad, said in [(0, "must be at least 1"), ("many", "is not a whole number"), (1.5, "")]:
        with pytest.raises(ValueError, match="or 'auto': one process per core") as caught:
            parse_processes(bad)
        assert said in str(caught.value)
    with pytest.raises(ValueError, match="above the limit of 256"):
        parse_processes(257)
