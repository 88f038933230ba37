"""Seed 000's scenarios as scenario files (``scenarios/*.toml``), and a breaking-point search.

The files hold profile, weighted actions and SLA; the tests map action names to the example
service's actions and check the data afterwards. Scale a scenario from the command line:

    pytest -m load tests/load_testing/test_load_scenarios.py --load-users 200 --load-duration 5m
"""

from __future__ import annotations

from pathlib import Path

import pytest

from pytest_loadtest import LoadRunner, Scenario

from .actions import Workload, bind
from .checks import check_integrity, check_settled

SCENARIOS = Path(__file__).parent / "scenarios"


def load_scenario(name: str, workload: Workload) -> Scenario:
    """The scenario file ``name``, its actions bound to ``workload``."""
    return Scenario.from_file(SCENARIOS / f"{name}.toml", actions=bind(workload))


@pytest.mark.load
def test_normal_day(load_runner: LoadRunner, workload: Workload) -> None:
    """Mostly reading, a few writes, long think times: comfortably within the SLA."""
    result = load_runner.run(load_scenario("normal_day", workload))
    check_settled(result)  # before anything reads the ledger
    assert result.operations["login"].kind == "hook"
    assert result.operations["create"].total > 0
    check_integrity(workload, result)


@pytest.mark.load
def test_black_friday(load_runner: LoadRunner, workload: Workload) -> None:
    """60 users searching and paging with little think time."""
    result = load_runner.run(load_scenario("black_friday", workload))
    assert set(result.operations) >= {"search", "filter", "paginate", "login"}
    ops = result.operations
    # weights 5:3:2 give the share of calls
    assert ops["search"].total > ops["filter"].total > ops["paginate"].total


@pytest.mark.load
def test_maintenance_window(load_runner: LoadRunner, workload: Workload) -> None:
    """A few monitors polling: no error at all is acceptable."""
    result = load_runner.run(load_scenario("maintenance_window", workload))
    assert result.errors == 0


@pytest.mark.load
def test_spike_and_recovery(load_runner: LoadRunner, workload: Workload) -> None:
    """Twelve times the users for three seconds: latency must be back in bounds soon after."""
    result = load_runner.run(load_scenario("spike", workload))
    check_settled(result)  # before anything reads the ledger
    assert result.spike_end == pytest.approx(5.0)
    assert max(row.users for row in result.timeline) == 60
    recovered = result.recovery_time({"p95": "500ms", "error_rate": "1%"}, stable="2s")
    assert recovered is not None, "p95 never came back under 500ms after the spike"
    assert recovered <= 2.0
    check_integrity(workload, result)


@pytest.mark.load(sla={"p95": "250ms", "error_rate": "1%"})
def test_breaking_point(load_runner: LoadRunner, workload: Workload) -> None:
    """Step the users up until the search's p95 breaks 250ms: the highest load that held."""
    capacity = load_runner.find_capacity(
        bind(workload, "search", "browse"),
        start=4,
        step=8,
        step_duration="1.5s",
        limit=60,
        abort_window="1s",
    )
    print(capacity.summary())
    assert capacity.steps, "no step ran"
    assert capacity.capacity is not None, f"even {capacity.steps[0].load:g} users broke the SLA"
    assert capacity.throughput > 0
