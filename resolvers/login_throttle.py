"""Failed log-ins, counted per account and per client address (PRODUCT.md, "Member portal").

Each attempt is counted before its password is checked, in one statement that locks the two
counters (`login_attempt_begin`, migration 0007): so aliases in one document, operations of a
batch and parallel requests each count once, and none can slip past the limit while others are
still checking passwords. A success takes its count back (`login_attempt_succeeded`) and clears
the account. While a counter is locked the attempt is refused without checking the password.
"""

from __future__ import annotations

import hashlib
import uuid
from dataclasses import dataclass
from datetime import timedelta
from typing import Final

from sqlalchemy import text

from resolvers.validation import email_key
from server.db import Database

ACCOUNT_LIMIT: Final = 5
ADDRESS_LIMIT: Final = 50
WINDOW: Final = timedelta(minutes=15)
FIRST_WAIT: Final = timedelta(seconds=30)
MAX_WAIT: Final = timedelta(minutes=15)

_BEGIN = text(
    "SELECT login_attempt_begin(:account, :address, :account_limit, :address_limit,"
    " :window, :first_wait, :max_wait)"
)
_SUCCEEDED = text("SELECT login_attempt_succeeded(:account, :address)")


@dataclass(frozen=True)
class AttemptKeys:
    """Whose attempt this is: the account (a hash, so the global table holds no emails) and the
    client address (None when unknown: then only the account is counted)."""

    account: str
    address: str | None

    @classmethod
    def of(cls, business_id: uuid.UUID, email: str, address: str | None) -> AttemptKeys:
        account = hashlib.sha256(f"{business_id}\x00{email_key(email)}".encode()).hexdigest()
        return cls(account, address[:128] if address else None)

    @classmethod
    def of_reset_request(
        cls, business_id: uuid.UUID, email: str, address: str | None
    ) -> AttemptKeys:
        """Counters of their own for password-reset requests (each request counts, whether
        or not the email belongs to anyone): they bound the emails one can make us send to an
        address, and never lock anyone out of logging in."""
        keys = cls.of(business_id, f"reset\x00{email}", address)
        return cls(keys.account, f"reset {keys.address}"[:128] if keys.address else None)


async def begin_attempt(db: Database, keys: AttemptKeys) -> int:
    """Count one attempt; 0 to go ahead, otherwise the seconds to wait (nothing counted)."""
    async with db.engine.begin() as conn:
        wait = await conn.execute(
            _BEGIN,
            {
                "account": keys.account,
                "address": keys.address,
                "account_limit": ACCOUNT_LIMIT,
                "address_limit": ADDRESS_LIMIT,
                "window": WINDOW,
                "first_wait": FIRST_WAIT,
                "max_wait": MAX_WAIT,
            },
        )
        return int(wait.scalar_one())


async def attempt_succeeded(db: Database, keys: AttemptKeys) -> None:
    async with db.engine.begin() as conn:
        await conn.execute(_SUCCEEDED, {"account": keys.account, "address": keys.address})
