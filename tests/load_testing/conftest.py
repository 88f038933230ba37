"""Fixtures of the example load suite."""

from __future__ import annotations

import pytest

from .service import ClientService, seeded_service


@pytest.fixture
def client_service() -> ClientService:
    """A fresh service seeded with ``SEEDED`` clients (ids 1..SEEDED)."""
    return seeded_service()
