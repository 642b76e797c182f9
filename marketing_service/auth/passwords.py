"""Password hashing with argon2id (argon2-cffi's defaults, RFC 9106's low-memory profile): memory-hard, so a
stolen table is slow to guess, and a hash carries its parameters, so raising them later rehashes at sign-in."""
from __future__ import annotations

from functools import cache

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

HASHER = PasswordHasher()
MIN_LENGTH = 8
MAX_LENGTH = 1024  # argon2 takes any length, but a megabyte "password" is only a way to spend our CPU


@cache
def _dummy_hash() -> str:
    """Verified when the user does not exist, so "no such user" takes as long as "wrong password"."""
    return HASHER.hash("not a password of anyone")


class WeakPassword(ValueError):
    pass


def hash_password(password: str) -> str:
    if not MIN_LENGTH <= len(password) <= MAX_LENGTH:
        raise WeakPassword(f"a password must be {MIN_LENGTH} to {MAX_LENGTH} characters long")
    return HASHER.hash(password)


def verify(stored_hash: str | None, password: str) -> bool:
    if len(password) > MAX_LENGTH:
        return False
    try:
        return HASHER.verify(stored_hash or _dummy_hash(), password) and stored_hash is not None
    except (VerificationError, InvalidHashError, UnicodeEncodeError):
        return False
