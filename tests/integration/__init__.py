"""Tests that start other interpreters or pytest sessions outside pytester (too slow for unit)."""
