"""Password hashing with argon2id (argon2-cffi's tuned defaults)."""

from __future__ import annotations

import os

from argon2 import PasswordHasher, profiles
from argon2.exceptions import InvalidHashError, VerificationError

from frontdesk.errors import InvalidInput

# argon2-cffi's defaults (RFC 9106's low-memory profile). The test suite sets
# FRONTDESK_INSECURE_FAST_PASSWORD_HASHING=1 for the cheapest profile: it
# signs in thousands of users, and the strength of a hash is not under test.
_hasher = (
    PasswordHasher.from_parameters(profiles.CHEAPEST)
    if os.environ.get("FRONTDESK_INSECURE_FAST_PASSWORD_HASHING") == "1"
    else PasswordHasher()
)
# Verifying against this when the user does not exist keeps the timing of a
# wrong email and a wrong password alike.
_DUMMY_HASH = _hasher.hash("frontdesk-timing-equaliser")

MIN_PASSWORD_LENGTH = 10


def check_password_policy(password: str) -> None:
    if len(password) < MIN_PASSWORD_LENGTH:
        raise InvalidInput(f"password must be at least {MIN_PASSWORD_LENGTH} characters")
    if len(password) > 1024:
        raise InvalidInput("password is too long")


def hash_password(password: str) -> str:
    check_password_policy(password)
    return _hasher.hash(password)


def verify_password(stored_hash: str | None, password: str) -> bool:
    try:
        return _hasher.verify(stored_hash or _DUMMY_HASH, password) and stored_hash is not None
    except (VerificationError, InvalidHashError):
        return False
