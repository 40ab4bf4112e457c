"""What the staff actions on a customer's history share: the account they act on (locked, not
merged away), the participant a row is for, the business's clock, price checks and the manual
payment row a price taken outside Stripe leaves behind.

Every action locks what it changes before reading it: a new row's account (`customers`, the
same lock a merge takes, so a row can never be added to an account a merge is emptying), or the
history row itself for a change of state.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import text
from sqlalchemy.engine import Row
from sqlalchemy.ext.asyncio import AsyncConnection

from loaders import history
from resolvers.account_history import Actor
from schema.errors import ErrorCode, UserError, UserFacingError, user_error

# The largest price staff may type, in minor units (100,000.00 in a two-decimal currency): a
# guard against a slipped finger, far above anything a studio sells.
MAX_AMOUNT = 10_000_000


class Default:
    """Marks an input left out (take the catalog's value), as against an explicit null."""


DEFAULT = Default()


def refuse(code: ErrorCode, field: str | None, message: str) -> UserFacingError:
    return UserFacingError(user_error(code, field, message))


@dataclass(frozen=True)
class Account:
    """The customer a new history row belongs to, locked for the transaction."""

    id: uuid.UUID
    name: str


@dataclass(frozen=True)
class ForWhom:
    """The participant a row is for (both None when it is for the account as a whole)."""

    id: uuid.UUID | None
    name: str | None


async def locked_account(conn: AsyncConnection, customer_id: uuid.UUID, field: str) -> Account:
    """The customer, locked; NOT_FOUND outside the business, INVALID_STATE once merged away
    (their history now lives on the customer they were merged into). Archived customers are
    still served: archiving changes nothing but the tab and the login."""
    row = (
        await conn.execute(
            text(
                "SELECT id, first_name, last_name, merged_into_id FROM customers"
                " WHERE id = :id FOR UPDATE"
            ),
            {"id": customer_id},
        )
    ).first()
    if row is None:
        raise refuse(ErrorCode.NOT_FOUND, field, "No such customer in this business.")
    if row.merged_into_id is not None:
        raise refuse(
            ErrorCode.INVALID_STATE,
            field,
            "This customer was merged into another: act on that account instead.",
        )
    return Account(row.id, f"{row.first_name} {row.last_name}".strip())


async def participant_of(
    conn: AsyncConnection, account: Account, participant_id: uuid.UUID | None, field: str
) -> ForWhom:
    """A participant of this account (NOT_FOUND for anyone else's)."""
    if participant_id is None:
        return ForWhom(None, None)
    row = (
        await conn.execute(
            text(
                "SELECT id, first_name, last_name FROM participants"
                " WHERE id = :id AND customer_id = :customer"
            ),
            {"id": participant_id, "customer": account.id},
        )
    ).first()
    if row is None:
        raise refuse(ErrorCode.NOT_FOUND, field, "No such participant on this account.")
    return ForWhom(row.id, f"{row.first_name} {row.last_name}".strip())


@dataclass(frozen=True)
class Clock:
    """Now, and the business's time zone for "today" and for times typed without an offset."""

    now: datetime
    zone: ZoneInfo

    @property
    def today(self) -> date:
        return self.now.astimezone(self.zone).date()

    def aware(self, value: datetime) -> datetime:
        """A time typed without an offset is the business's wall-clock time."""
        return value if value.tzinfo is not None else value.replace(tzinfo=self.zone)


async def business_clock(conn: AsyncConnection) -> Clock:
    zone = (await conn.execute(text("SELECT time_zone FROM businesses"))).scalar_one()
    # The same "now" the reads use (one place, so tests can pin it).
    return Clock(history.now(), ZoneInfo(str(zone)))


def amount_error(amount: int, field: str) -> UserError | None:
    """Prices staff type: zero (free) up to MAX_AMOUNT minor units."""
    if amount < 0:
        return user_error(ErrorCode.OUT_OF_RANGE, field, "A price cannot be negative.")
    if amount > MAX_AMOUNT:
        return user_error(
            ErrorCode.OUT_OF_RANGE,
            field,
            f"A price can be at most {MAX_AMOUNT} in minor units (e.g. pence).",
        )
    return None


async def manual_payment(
    conn: AsyncConnection,
    *,
    business_id: uuid.UUID,
    account: Account,
    amount: int,
    currency: str,
    description: str,
    paid_at: datetime,
    staff_id: uuid.UUID | None,
) -> uuid.UUID:
    """The payment record of money taken outside Stripe (cash, bank transfer)."""
    row = (
        await conn.execute(
            text(
                "INSERT INTO payments (business_id, customer_id, customer_name,"
                " created_by_staff_id, amount, currency, method, description, paid_at)"
                " VALUES (:business, :customer, :name, :staff, :amount, :currency, 'MANUAL',"
                " :description, :paid_at) RETURNING id"
            ),
            {
                "business": business_id,
                "customer": account.id,
                "name": account.name,
                "staff": staff_id,
                "amount": amount,
                "currency": currency,
                "description": description[:300],
                "paid_at": paid_at,
            },
        )
    ).one()
    return uuid.UUID(str(row.id))


async def locked_row(
    conn: AsyncConnection, table: str, columns: str, row_id: uuid.UUID, field: str, what: str
) -> Row[Any]:
    """One history row, locked (`FOR UPDATE` re-reads the newest version under READ COMMITTED,
    so the loser of two concurrent changes sees the winner's result)."""
    row = (
        await conn.execute(
            text(f"SELECT {columns} FROM {table} WHERE id = :id FOR UPDATE"), {"id": row_id}
        )
    ).first()
    if row is None:
        raise refuse(ErrorCode.NOT_FOUND, field, f"No such {what} in this business.")
    return row


async def customer_name(conn: AsyncConnection, customer_id: uuid.UUID | None, snapshot: str) -> str:
    """The account's name now, for an account-history entry about one of its rows (the row's
    snapshot once the customer is gone)."""
    if customer_id is None:
        return snapshot
    found = (
        await conn.execute(
            text("SELECT first_name || ' ' || last_name FROM customers WHERE id = :id"),
            {"id": customer_id},
        )
    ).scalar_one_or_none()
    return str(found or snapshot)


def staff_id(actor: Actor) -> uuid.UUID | None:
    """The staff user behind an action, for `created_by_staff_id`."""
    return actor.id if actor.kind == "STAFF" else None
