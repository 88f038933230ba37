"""The example HTTP API modelled on seeds 001 and 004: a platform with accounts, generation jobs
and payments, as a FastAPI app on async SQLAlchemy (:func:`build_platform`), over the tables of
:data:`METADATA` (created in the example suite's database beside the CRUD service's).

- ``POST /auth/register``, ``POST /auth/login`` (a signed token), ``GET /health``;
- ``POST /generations`` (a CPU-bound step, then the job), ``GET /generations`` (the user's);
- ``POST /payments`` with an ``Idempotency-Key`` header (the same key gives the same payment,
  never a second one), ``GET /payments``.
"""

from __future__ import annotations

from .app import METADATA, build_platform

__all__ = ["METADATA", "build_platform"]
