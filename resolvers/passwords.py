"""Password hashing: argon2id with its parameters recorded in each hash (so they can be raised
later and old hashes still verify), and a dummy hash so unknown emails cost the same."""

from __future__ import annotations

import asyncio

from argon2 import PasswordHasher, Type
from argon2.exceptions import InvalidHashError, VerificationError

# RFC 9106's second recommended option, sized for a 2-core service: 64 MiB, 3 passes.
HASHER = PasswordHasher(time_cost=3, memory_cost=65536, parallelism=2, type=Type.ID)
_DUMMY = HASHER.hash("an unguessable placeholder used for unknown accounts")


def hash_password(password: str) -> str:
    return HASHER.hash(password)


def verify_password(stored_hash: str | None, password: str) -> bool:
    """True when `password` matches; always spends the same effort, even without a hash."""
    try:
        return HASHER.verify(stored_hash or _DUMMY, password) and stored_hash is not None
    except (VerificationError, InvalidHashError):
        return False


async def hash_password_off_loop(password: str) -> str:
    """`hash_password` in a worker thread: a hash costs tens of milliseconds of CPU that would
    otherwise stall every other request on the event loop."""
    return await asyncio.to_thread(hash_password, password)


async def verify_password_off_loop(stored_hash: str | None, password: str) -> bool:
    """`verify_password` in a worker thread, for the same reason."""
    return await asyncio.to_thread(verify_password, stored_hash, password)
