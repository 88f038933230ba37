"""Tests of the HTML load report in a real (headless) browser."""
