"""Password hashing and session tokens, with the standard library only."""

from __future__ import annotations

import hashlib
import hmac
import secrets
from typing import Final

__all__ = ["ITERATIONS", "hash_password", "new_token", "verify_password"]

#: PBKDF2-SHA256 rounds: about 2ms of CPU per hash here, so that logging in costs what it costs
#: in a real service (which would use far more rounds) without making the suite slow.
ITERATIONS: Final = 4_000


def hash_password(password: str, *, salt: bytes | None = None, iterations: int = ITERATIONS) -> str:
    """``"<iterations>$<salt hex>$<hash hex>"`` of ``password`` with a random (or given) salt."""
    salt = secrets.token_bytes(16) if salt is None else salt
    digest = hashlib.pbkdf2_hmac("sha256", password.encode(), salt, iterations)
    return f"{iterations}${salt.hex()}${digest.hex()}"


def verify_password(password: str, stored: str) -> bool:
    """Whether ``password`` matches a hash made by :func:`hash_password` (constant-time)."""
    iterations, salt, expected = stored.split("$")
    digest = hashlib.pbkdf2_hmac("sha256", password.encode(), bytes.fromhex(salt), int(iterations))
    return hmac.compare_digest(digest.hex(), expected)


def new_token() -> str:
    """A random session token of 64 hex characters."""
    return secrets.token_hex(32)
