"""Pass credits: spending them on a booking or a video, and giving them back when that is
cancelled. One credit is one use; an unlimited pass has no count, so nothing is taken from it
or given back to it. The one place that changes `uses_remaining`.

Both functions lock the pass (`SELECT ... FOR UPDATE`) before reading it, so two purchases can
never spend the same last credit and a return never races a spend.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import date

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection

from schema.errors import ErrorCode, UserFacingError, user_error

_LOCK = (
    "SELECT id, customer_id, valid_from, valid_until, uses_total, uses_remaining"
    " FROM customer_passes WHERE id = :id FOR UPDATE"
)


@dataclass(frozen=True)
class Spent:
    """Credits taken from a pass; `uses_remaining` after (None: unlimited)."""

    pass_id: uuid.UUID
    credits: int
    uses_remaining: int | None


def valid_on(valid_from: date, valid_until: date | None, day: date) -> bool:
    return valid_from <= day and (valid_until is None or day <= valid_until)


async def spend_credits(
    conn: AsyncConnection,
    *,
    pass_id: uuid.UUID,
    customer_id: uuid.UUID,
    credits: int,
    day: date,
    field: str,
) -> Spent:
    """Take `credits` uses from one of this customer's passes for a use on `day` (the
    business's today for a video, the session's local date for a booking). NOT_FOUND for no
    such pass, PASS_NOT_USABLE for another customer's, PASS_EXPIRED when `day` is outside its
    validity, PASS_EXHAUSTED when too few uses are left."""
    row = (await conn.execute(text(_LOCK), {"id": pass_id})).first()
    if row is None:
        raise UserFacingError(
            user_error(ErrorCode.NOT_FOUND, field, "No such pass in this business.")
        )
    if row.customer_id != customer_id:
        raise UserFacingError(
            user_error(ErrorCode.PASS_NOT_USABLE, field, "This pass belongs to another customer.")
        )
    if not valid_on(row.valid_from, row.valid_until, day):
        until = row.valid_until.isoformat() if row.valid_until else "no end"
        raise UserFacingError(
            user_error(
                ErrorCode.PASS_EXPIRED,
                field,
                f"This pass is valid from {row.valid_from.isoformat()} to {until}; "
                f"it would be used on {day.isoformat()}.",
            )
        )
    if row.uses_remaining is None:
        return Spent(row.id, credits, None)
    if row.uses_remaining < credits:
        raise UserFacingError(
            user_error(
                ErrorCode.PASS_EXHAUSTED,
                field,
                f"This pass has {row.uses_remaining} use(s) left; {credits} needed.",
            )
        )
    await conn.execute(
        text(
            "UPDATE customer_passes SET uses_remaining = uses_remaining - :n, updated_at = now()"
            " WHERE id = :id"
        ),
        {"n": credits, "id": row.id},
    )
    return Spent(row.id, credits, row.uses_remaining - credits)


async def return_credits(
    conn: AsyncConnection, *, pass_id: uuid.UUID | None, credits: int | None, today: date
) -> int:
    """Give `credits` back to the pass they came from while it is still valid (not past its
    last day, in the business's date); never beyond what it came with. Returns how many went
    back: 0 for an expired, unlimited or deleted pass."""
    if pass_id is None or not credits:
        return 0
    row = (await conn.execute(text(_LOCK), {"id": pass_id})).first()
    if row is None or row.uses_total is None:
        return 0
    if row.valid_until is not None and today > row.valid_until:
        return 0
    returned = min(credits, row.uses_total - row.uses_remaining)
    if returned <= 0:
        return 0
    await conn.execute(
        text(
            "UPDATE customer_passes SET uses_remaining = uses_remaining + :n, updated_at = now()"
            " WHERE id = :id"
        ),
        {"n": returned, "id": row.id},
    )
    return int(returned)
