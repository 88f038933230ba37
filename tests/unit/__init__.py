"""Unit tests of the plain modules (no pytest machinery under test)."""
