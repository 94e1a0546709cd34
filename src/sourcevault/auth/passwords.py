"""Argon2id at OWASP's minimum or above (m=19456 KiB, t=2, p=1)."""

from __future__ import annotations

import asyncio

from argon2 import PasswordHasher, Type
from argon2.exceptions import InvalidHashError, VerificationError

_hasher = PasswordHasher(time_cost=2, memory_cost=19456, parallelism=1, type=Type.ID)
# Verified against when the email is unknown, so both mistakes cost the same time: a hash of
# "not a real password, only here to spend the same time" with ``_hasher``'s parameters (a test
# checks they are the same). Written out, not computed at import, where it would slow each start.
_DUMMY_HASH = (
    "$argon2id$v=19$m=19456,t=2,p=1$JIxj+ITlTFRqVl7hffFrlg"
    "$O+yZbIa7n3qAgpHGn/rR7YxgkmTXiSzgXDTvRaOcMK0"
)


async def hash_password(password: str) -> str:
    return await asyncio.to_thread(_hasher.hash, password)


async def verify_password(password_hash: str | None, password: str) -> bool:
    def check() -> bool:
        try:
            return _hasher.verify(password_hash or _DUMMY_HASH, password) and bool(password_hash)
        except (VerificationError, InvalidHashError):
            return False

    return await asyncio.to_thread(check)
