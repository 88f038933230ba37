"""Helpers shared by the test suite: the fake clock, sample results, the monitor tests' service.

Every helper module of the suite lives here (fixtures stay in ``conftest.py`` files). The test
directories have no ``__init__.py`` above them, so pytest puts ``tests/`` on ``sys.path`` and
tests import ``from helpers.clock import FakeClock``.
"""
