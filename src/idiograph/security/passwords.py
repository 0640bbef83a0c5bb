"""Password hashing with argon2id (OWASP's first choice).

Parameters: OWASP's first listed argon2id configuration (Password Storage Cheat Sheet: 19 MiB of memory, 2
iterations, 1 lane), not argon2-cffi's default (64 MiB, 3 iterations, 4 lanes): about 16 ms of one core per check
here against about 150 ms of core time, so a whole team signing in at 9 a.m. on a two-core server waits seconds,
not a minute (benchmarks/load.py; decision 0008). A hash made with other parameters still verifies, and is made
again with these at the next successful sign-in (``needs_rehash``)."""

from __future__ import annotations

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

_hasher = PasswordHasher(time_cost=2, memory_cost=19 * 1024, parallelism=1)
MIN_LENGTH = 10


def hash_password(password: str) -> str:
    if len(password) < MIN_LENGTH:
        raise ValueError(f"password must be at least {MIN_LENGTH} characters")
    return _hasher.hash(password)


def verify_password(password_hash: str, password: str) -> bool:
    try:
        return _hasher.verify(password_hash, password)
    except (VerificationError, InvalidHashError):
        return False


def needs_rehash(password_hash: str) -> bool:
    """Whether a stored hash was made with other parameters than today's."""
    try:
        return _hasher.check_needs_rehash(password_hash)
    except InvalidHashError:
        return True
