"""Monitoring as a user drives it: resources, a watched database, findings, leaks, bad input."""

from __future__ import annotations

import json

import pytest

pytest.importorskip("sqlalchemy")

SERVICE = """
import time
import pytest
import sqlalchemy as sa

@pytest.fixture
def engine(tmp_path):
    engine = sa.create_engine(
        f"sqlite:///{tmp_path}/shop.db", pool_size=POOL, max_overflow=0, pool_timeout=0.05
    )
    with engine.begin() as conn:
        conn.execute(sa.text("CREATE TABLE orders (id INTEGER PRIMARY KEY, client_id INT)"))
        if INDEXED:
            conn.execute(sa.text("CREATE INDEX orders_client ON orders (client_id)"))
        values = ",".join(f"({i % 500})" for i in range(20_000))
        conn.execute(sa.text(f"INSERT INTO orders (client_id) VALUES {values}"))
    yield engine
    engine.dispose()

@pytest.mark.load(users=12, duration="1.5s")
def test_orders(load_runner, engine):
    load_runner.watch(engine)

    def orders_of_client(vu):
        with engine.connect() as conn:
            query = sa.text("SELECT id FROM orders WHERE client_id = :c")
            conn.execute(query, {"c": vu.random.randint(0, 499)}).fetchall()
            time.sleep(0.004)

    result = load_runner.run(orders_of_client)
    print("KINDS", sorted({f.kind for f in result.findings}))
    print("DATABASES", len(result.databases), "RESOURCES", result.resources is not None)
"""


def _service(pytester: pytest.Pytester, *, indexed: bool, pool: int) -> None:
    pytester.makepyfile(test_shop=f"INDEXED = {indexed}\nPOOL = {pool}\n" + SERVICE)


def test_a_weak_service_gets_bottlenecks_and_recommendations(pytester: pytest.Pytester) -> None:
    _service(pytester, indexed=False, pool=2)
    result = pytester.runpytest("-m", "load", "-s", "--load-report=rep")
    result.assert_outcomes(passed=1)
    result.stdout.fnmatch_lines(
        [
            "*KINDS *'missing_index'*'pool_saturation'*",
            "DATABASES 1 RESOURCES True",
            "*= load test results =*",
            "test_shop.py::test_orders [[]orders_of_client[]]:",
            "RESOURCES:   CPU Peak: *%   Memory Peak: *   DB Connections: 2/2",
            "BOTTLENECKS IDENTIFIED:",
            "1. *",
            "RECOMMENDATIONS:",
            "*Add an index on orders(client_id)*",
            "*Increase the connection pool to *",
        ]
    )
    data = json.loads((pytester.path / "rep" / "results.json").read_text())
    (run,) = data["results"]
    assert {f["kind"] for f in run["findings"]} >= {"missing_index", "pool_saturation"}
    assert run["databases"][0]["pool"]["capacity"] == 2
    assert run["resources"]["samples"]
    assert "Add an index on orders(client_id)" in (pytester.path / "rep" / "index.html").read_text()


def test_a_healthy_service_gets_no_database_findings(pytester: pytest.Pytester) -> None:
    _service(pytester, indexed=True, pool=20)
    result = pytester.runpytest("-m", "load", "-s")
    result.assert_outcomes(passed=1)
    kinds = next(line for line in result.stdout.lines if "KINDS" in line)
    for kind in ("missing_index", "pool_saturation", "n_plus_one", "slow_statement"):
        assert kind not in kinds


def test_watch_as_a_setting_and_detector_thresholds(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(
        test_tuned="""
        import pytest
        import sqlalchemy as sa

        # check_same_thread=False: the users' threads share the connection, and dispose() below
        # can close it; a connection left open is collected later, and Python 3.13 warns of it
        # (a ResourceWarning, an error here) in whatever test runs then
        ENGINE = sa.create_engine(
            "sqlite://",
            poolclass=sa.QueuePool,
            pool_size=1,
            max_overflow=0,
            pool_timeout=0.02,
            connect_args={"check_same_thread": False},
        )

        def teardown_module():
            ENGINE.dispose()

        @pytest.mark.load(
            users=4, duration="1s", watch=ENGINE, detectors={"pool_saturation": False}
        )
        def test_tuned(load_runner):
            def ping():
                with ENGINE.connect() as conn:
                    conn.execute(sa.text("SELECT 1"))

            result = load_runner.run(ping)
            assert result.databases, "the engine named in the marker was watched"
            assert "pool_saturation" not in {f.kind for f in result.findings}
        """
    )
    pytester.runpytest("-m", "load").assert_outcomes(passed=1)


def test_a_growing_list_fails_the_memory_growth_sla_with_allocation_sites(
    pytester: pytest.Pytester,
) -> None:
    pytester.makepyfile(
        test_leaky="""
        import time
        import pytest

        KEPT = []

        @pytest.mark.soak(
            users=1, duration="7s", monitor_interval="0.1s", sla={"memory_growth": "50MB/h"}
        )
        def test_leaky(load_runner):
            def remember():
                KEPT.append(bytearray(40_000))  # a cache nobody empties
                time.sleep(0.002)

            load_runner.run(remember)
        """
    )
    result = pytester.runpytest("-m", "soak", "--load-tracemalloc")
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines(
        [
            "*memory grew faster than 50.0 MB/h: RSS +* MB/h (95% CI *",
            "BOTTLENECKS IDENTIFIED:",
            "*test_leaky.py:*",  # the growing allocation site, by file:line
        ]
    )


def test_monitor_off(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(
        test_quiet="""
        import pytest

        @pytest.mark.load(users=1, duration="0.3s", monitor_interval=0)
        def test_quiet(load_runner):
            result = load_runner.run(lambda: None)
            assert result.resources is None and result.findings == []
        """
    )
    pytester.runpytest("-m", "load").assert_outcomes(passed=1)


@pytest.mark.parametrize(
    ("marker", "message"),
    [
        ("watch='sqlite://'", "invalid watch='sqlite://': 'sqlite://' is not a SQLAlchemy engine"),
        ("detectors={'n_plus_two': {}}", "invalid detectors=*n_plus_two*"),
        ("sla={'memory_growth': 'lots'}", "*not a memory growth rate: 'lots'*"),
        ("sla={'operations': {'a': {'memory_growth': 1}}}", "*not of an operation*"),
    ],
)
def test_bad_monitoring_settings_are_usage_errors(
    pytester: pytest.Pytester, marker: str, message: str
) -> None:
    pytester.makepyfile(
        test_bad=f"""
        import pytest

        @pytest.mark.load({marker})
        def test_bad(load_runner):
            pass
        """
    )
    result = pytester.runpytest()
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines([f"ERROR: @pytest.mark.load of test_bad.py::test_bad: {message}"])


def test_watching_something_else_fails_the_test_clearly(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(
        test_odd="""
        import pytest

        @pytest.mark.load(users=1, duration="0.2s")
        def test_odd(load_runner):
            load_runner.watch("postgresql://db")
        """
    )
    result = pytester.runpytest("-m", "load")
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines(
        ["*load_runner.watch(): 'postgresql://db' is not a SQLAlchemy engine"]
    )


def test_a_plan_that_could_not_be_taken_is_said_in_the_summary(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(
        test_staging="""
        import pytest
        import sqlalchemy as sa

        @pytest.fixture
        def engine(tmp_path):
            # NullPool: a TEMP table lives only as long as its connection, so it is gone when
            # the statements reading it are EXPLAINed after the run
            engine = sa.create_engine(f"sqlite:///{tmp_path}/staging.db", poolclass=sa.NullPool)
            yield engine
            engine.dispose()

        @pytest.mark.load(users=2, duration="0.5s")
        def test_staging(load_runner, engine):
            load_runner.watch(engine)

            def stage(vu):
                with engine.connect() as conn:
                    conn.execute(sa.text("CREATE TEMP TABLE staged (id INT, batch INT)"))
                    query = sa.text("SELECT id FROM staged WHERE batch = :b")
                    conn.execute(query, {"b": vu.iteration}).all()

            result = load_runner.run(stage)
            [plan] = [s["plan"] for s in result.databases[0]["statements"] if s["plan"]]
            assert "no such table: staged" in plan["error"]
        """
    )
    result = pytester.runpytest("-m", "load")
    result.assert_outcomes(passed=1)
    result.stdout.fnmatch_lines(
        [
            "*= load test results =*",
            "test_staging.py::test_staging [[]stage[]]: no query plan for 1 of 1 statements "
            "EXPLAINed on sqlite:///*/staging.db, so missing_index could not look at them: "
            "OperationalError: (sqlite3.OperationalError) no such table: staged",
        ]
    )


def test_an_async_engine_gets_its_missing_index_without_noise(pytester: pytest.Pytester) -> None:
    pytest.importorskip("aiosqlite")
    pytester.makepyfile(
        test_async_shop="""
        import asyncio
        import pytest
        import sqlalchemy as sa
        from sqlalchemy.ext.asyncio import create_async_engine

        @pytest.fixture
        def engine(tmp_path):
            seed = sa.create_engine(f"sqlite:///{tmp_path}/shop.db")
            with seed.begin() as conn:
                conn.execute(sa.text("CREATE TABLE orders (id INTEGER PRIMARY KEY, client_id INT)"))
                values = ",".join(f"({i % 500})" for i in range(20_000))
                conn.execute(sa.text(f"INSERT INTO orders (client_id) VALUES {values}"))
            seed.dispose()
            engine = create_async_engine(f"sqlite+aiosqlite:///{tmp_path}/shop.db")
            yield engine
            asyncio.run(engine.dispose())  # the run's loop is closed: the pool's on a new one

        @pytest.mark.load(users=8, duration="1s")
        def test_orders(load_runner, engine):
            load_runner.watch(engine)

            async def orders_of_client(vu):
                async with engine.connect() as conn:
                    query = sa.text("SELECT id FROM orders WHERE client_id = :c")
                    (await conn.execute(query, {"c": vu.random.randint(0, 499)})).all()

            load_runner.run(orders_of_client)
        """
    )
    result = pytester.runpytest("-m", "load", "-p", "no:logging")
    result.assert_outcomes(passed=1)
    result.stdout.fnmatch_lines(
        [
            "*= load test results =*",
            "BOTTLENECKS IDENTIFIED:",
            "*Add an index on orders(client_id)*",
        ]
    )
    output = result.stdout.str() + result.stderr.str()
    for noise in ("no query plan", "Exception during reset", "never awaited", "Greenlet"):
        assert noise not in output
