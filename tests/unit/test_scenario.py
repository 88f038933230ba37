"""Normalising load targets into plans."""

from __future__ import annotations

import functools
from typing import Any

import pytest

from pytest_loadtest._scenario._target import Plan, Scenario, TargetError, Task, build_plan


def no_args() -> None:
    pass


def with_user(vu: Any) -> None:
    pass


def two_args(vu: Any, client: Any) -> None:
    pass


def with_default(vu: Any, client: Any = None) -> None:
    pass


def varargs(*args: Any) -> None:
    pass


async def async_no_args() -> None:
    pass


async def async_with_user(vu: Any) -> None:
    pass


class AsyncCallable:
    async def __call__(self) -> None:
        pass


class Service:
    def fetch(self) -> None:
        pass

    def fetch_as(self, vu: Any) -> None:
        pass


def test_zero_argument_callable() -> None:
    plan = build_plan(no_args)
    assert plan.name == "no_args"
    (task,) = plan.tasks
    assert task == Task("no_args", no_args, 1.0, takes_user=False, is_async=False)
    assert plan.cumulative == (1.0,)
    assert plan.on_start == plan.on_stop == ()
    assert plan.simple


def test_one_argument_callable_takes_the_user() -> None:
    plan = build_plan(with_user)
    assert plan.tasks[0].takes_user
    assert not plan.simple


@pytest.mark.parametrize(
    ("func", "takes_user"),
    [
        (with_default, True),
        (varargs, True),
        (Service().fetch, False),
        (Service().fetch_as, True),
        (functools.partial(two_args, client=1), True),
        (functools.partial(two_args, 1, 2), False),
        (len, True),
        (dict, False),
    ],
)
def test_takes_user(func: Any, takes_user: bool) -> None:
    assert build_plan(func).tasks[0].takes_user is takes_user


def test_lambda_name() -> None:
    assert build_plan(lambda: None).name == "<lambda>"


def test_partial_takes_the_name_of_its_function() -> None:
    plan = build_plan(functools.partial(two_args, client=object()))
    assert plan.name == "two_args"
    assert plan.tasks[0].name == "two_args"


def test_callable_instance_without_name_uses_its_class_name() -> None:
    assert build_plan(AsyncCallable()).name == "AsyncCallable"


@pytest.mark.parametrize(
    ("func", "is_async"),
    [
        (async_no_args, True),
        (async_with_user, True),
        (functools.partial(async_with_user), True),
        (AsyncCallable(), True),
        (no_args, False),
        (with_user, False),
    ],
)
def test_async_is_detected(func: Any, is_async: bool) -> None:
    plan = build_plan(func)
    assert plan.tasks[0].is_async is is_async
    assert not (plan.simple and is_async)


def test_mapping_gives_equal_weights_and_names_from_keys() -> None:
    plan = build_plan({"create": no_args, "read": with_user, "other": lambda: None})
    assert [t.name for t in plan.tasks] == ["create", "read", "other"]
    assert [t.weight for t in plan.tasks] == [1.0, 1.0, 1.0]
    assert plan.cumulative == (1.0, 2.0, 3.0)
    assert plan.name == "create+read+other"
    assert [t.takes_user for t in plan.tasks] == [False, True, False]
    assert not plan.simple


def test_scenario_with_weights_and_hooks() -> None:
    shop = Scenario("shop")

    @shop.task(weight=3)
    def browse(vu: Any) -> None:
        pass

    @shop.task
    def buy() -> None:
        pass

    @shop.task(name="pay", weight=0.5)
    def checkout(vu: Any) -> None:
        pass

    @shop.on_start
    def login(vu: Any) -> None:
        pass

    @shop.on_stop
    def logout(vu: Any) -> None:
        pass

    assert browse.__name__ == "browse"  # decorators return the function
    plan = build_plan(shop)
    assert plan.name == "shop"
    assert [(t.name, t.weight) for t in plan.tasks] == [("browse", 3.0), ("buy", 1.0), ("pay", 0.5)]
    assert plan.cumulative == (3.0, 4.0, 4.5)
    assert [h.name for h in plan.on_start] == ["login"]
    assert [h.name for h in plan.on_stop] == ["logout"]
    assert plan.tasks[2].func is checkout
    assert repr(shop) == "Scenario('shop', tasks=[browsex3, buyx1, payx0.5])"


def test_single_task_scenario_with_hooks_is_not_simple() -> None:
    scenario = Scenario()
    scenario.task(no_args)
    assert build_plan(scenario).simple
    scenario.on_start(with_user)
    assert not build_plan(scenario).simple


@pytest.mark.parametrize("target", [42, None, "func", [no_args]])
def test_non_callable_target(target: object) -> None:
    with pytest.raises(TargetError, match=r"is not callable \(give a function"):
        build_plan(target)


def test_non_callable_in_a_mapping_names_its_key() -> None:
    with pytest.raises(TargetError, match="load target 'read': 5 is not callable"):
        build_plan({"create": no_args, "read": 5})


def test_two_required_arguments() -> None:
    with pytest.raises(TargetError, match="target 'two_args' takes 2 arguments"):
        build_plan(two_args)


def test_two_required_arguments_in_a_scenario_hook() -> None:
    scenario = Scenario()
    with pytest.raises(TargetError, match="takes 2 arguments"):
        scenario.on_start(two_args)


def test_duplicate_task_names_in_a_scenario() -> None:
    scenario = Scenario("s")
    scenario.task(no_args)
    with pytest.raises(TargetError, match="scenario 's' already has a task named 'no_args'"):
        scenario.task(name="no_args")(with_user)


def test_duplicate_task_names_in_a_mapping() -> None:
    with pytest.raises(TargetError, match="several tasks named alike"):
        build_plan({1: no_args, "1": with_user})


def test_empty_scenario() -> None:
    with pytest.raises(TargetError, match="'empty' has no tasks to run"):
        build_plan(Scenario("empty"))


def test_empty_mapping() -> None:
    with pytest.raises(TargetError, match="'mapping' has no tasks to run"):
        build_plan({})


@pytest.mark.parametrize("weight", [0, -1, -0.5, float("nan"), True, "3"])
def test_bad_weight(weight: Any) -> None:
    scenario = Scenario()
    with pytest.raises(TargetError, match="task 'no_args': weight must be a number above 0"):
        scenario.task(weight=weight)(no_args)


def test_plan_of_hand_built_tasks() -> None:
    plan = Plan("p", (Task.of(no_args),), (1.0,))
    assert plan.simple
    assert Task.of(with_user, "named", 2).name == "named"
