"""Integration tests of the detectors against deliberately broken SQLAlchemy services."""
