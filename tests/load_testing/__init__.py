"""Example load tests: run them with ``pytest -m load tests/load_testing``."""
