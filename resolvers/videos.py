"""Videos assigned by staff (paid manually, with pass credits, or free) and their cancellation.

Expired is never stored: a purchase is ACTIVE or CANCELLED, and reads derive Expired from
`expires_at`. Cancelling gives credits back to the pass while it is still valid (as for
bookings, through `resolvers.pass_credits`) and never returns money.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection

from resolvers import account_history
from resolvers.account_history import Actor
from resolvers.history_actions import (
    Clock,
    Default,
    amount_error,
    business_clock,
    customer_name,
    locked_account,
    locked_row,
    manual_payment,
    participant_of,
    refuse,
    staff_id,
)
from resolvers.pass_credits import return_credits, spend_credits
from schema.errors import ErrorCode, UserFacingError

# Beyond this an expiry is a typo (and would overflow near year 9999).
MAX_ACCESS = timedelta(days=3660)


@dataclass(frozen=True)
class NewVideoPurchase:
    customer_id: uuid.UUID
    participant_id: uuid.UUID | None
    video_id: uuid.UUID
    # None: access never ends.
    expires_at: datetime | Default | None
    # None: the video's price (unless paid with credits).
    price: int | None
    # Pay with this pass's credits instead of money.
    customer_pass_id: uuid.UUID | None


@dataclass(frozen=True)
class _Video:
    name: str
    price: int
    currency: str
    price_credits: int | None
    access_days: int | None


async def _video(conn: AsyncConnection, video_id: uuid.UUID) -> _Video:
    row = (
        await conn.execute(
            text(
                "SELECT name, price_amount, currency, price_credits, access_days FROM videos"
                " WHERE id = :id"
            ),
            {"id": video_id},
        )
    ).first()
    if row is None:
        raise refuse(ErrorCode.NOT_FOUND, "input.videoId", "No such video in this business.")
    return _Video(row.name, row.price_amount, row.currency, row.price_credits, row.access_days)


def _expiry(new: NewVideoPurchase, video: _Video, clock: Clock) -> datetime | None:
    if isinstance(new.expires_at, Default):
        if video.access_days is None:
            return None
        return clock.now + timedelta(days=video.access_days)
    if new.expires_at is None:
        return None
    expires = clock.aware(new.expires_at)
    if expires <= clock.now:
        raise refuse(ErrorCode.IN_THE_PAST, "input.expiresAt", "This time has already passed.")
    if expires - clock.now > MAX_ACCESS:
        raise refuse(
            ErrorCode.OUT_OF_RANGE, "input.expiresAt", "Choose an expiry within ten years."
        )
    return expires


@dataclass(frozen=True)
class _Paid:
    amount: int
    credits: int | None
    pass_id: uuid.UUID | None


async def _pay(
    conn: AsyncConnection, new: NewVideoPurchase, video: _Video, clock: Clock, account_id: uuid.UUID
) -> _Paid:
    """Credits taken from the pass, or the money price (typed, else the video's)."""
    if new.customer_pass_id is not None:
        if new.price is not None:
            raise refuse(
                ErrorCode.INVALID,
                "input.price",
                "Pay either with money or with a pass's credits, not both.",
            )
        if video.price_credits is None:
            raise refuse(
                ErrorCode.INVALID,
                "input.customerPassId",
                "This video has no price in credits: take a price in money instead.",
            )
        spent = await spend_credits(
            conn,
            pass_id=new.customer_pass_id,
            customer_id=account_id,
            credits=video.price_credits,
            day=clock.today,
            field="input.customerPassId",
        )
        return _Paid(0, spent.credits, spent.pass_id)
    price = new.price if new.price is not None else video.price
    problem = amount_error(price, "input.price")
    if problem is not None:
        raise UserFacingError(problem)
    return _Paid(price, None, None)


async def assign_video(
    conn: AsyncConnection, actor: Actor, business_id: uuid.UUID, new: NewVideoPurchase
) -> uuid.UUID:
    account = await locked_account(conn, new.customer_id, "input.customerId")
    who = await participant_of(conn, account, new.participant_id, "input.participantId")
    video = await _video(conn, new.video_id)
    clock = await business_clock(conn)
    expires = _expiry(new, video, clock)
    paid = await _pay(conn, new, video, clock, account.id)
    payment_id = None
    if paid.amount > 0:
        payment_id = await manual_payment(
            conn,
            business_id=business_id,
            account=account,
            amount=paid.amount,
            currency=video.currency,
            description=f"Video: {video.name}",
            paid_at=clock.now,
            staff_id=staff_id(actor),
        )
    row = (
        await conn.execute(
            text(
                "INSERT INTO video_purchases (business_id, customer_id, customer_name,"
                " participant_id, participant_name, created_by_staff_id, video_id, purchased_at,"
                " expires_at, price_amount, currency, price_credits, customer_pass_id,"
                " payment_id, state)"
                " VALUES (:business, :customer, :name, :participant, :participant_name, :staff,"
                " :video, :at, :expires, :price, :currency, :credits, :pass, :payment, 'ACTIVE')"
                " RETURNING id, number"
            ),
            {
                "business": business_id,
                "customer": account.id,
                "name": account.name,
                "participant": who.id,
                "participant_name": who.name,
                "staff": staff_id(actor),
                "video": new.video_id,
                "at": clock.now,
                "expires": expires,
                "price": paid.amount,
                "currency": video.currency,
                "credits": paid.credits,
                "pass": paid.pass_id,
                "payment": payment_id,
            },
        )
    ).one()
    await account_history.record(
        conn,
        business_id=business_id,
        actor=actor,
        action="video.assigned",
        customer_id=account.id,
        customer_name=account.name,
        subject_type="VideoPurchase",
        subject_id=row.id,
        after={
            "number": row.number,
            "video": video.name,
            "participant": who.name,
            "expires_at": expires,
            "price": paid.amount,
            "currency": video.currency,
            "credits": paid.credits,
            "customer_pass_id": paid.pass_id,
        },
    )
    return uuid.UUID(str(row.id))


async def cancel_video(
    conn: AsyncConnection, actor: Actor, business_id: uuid.UUID, purchase_id: uuid.UUID
) -> uuid.UUID:
    """Active → Cancelled; an expired purchase has nothing left to cancel."""
    row = await locked_row(
        conn,
        "video_purchases",
        "id, number, customer_id, customer_name, state, expires_at, price_credits,"
        " customer_pass_id",
        purchase_id,
        "id",
        "video purchase",
    )
    if row.state == "CANCELLED":
        raise refuse(ErrorCode.INVALID_STATE, "id", "This video is already cancelled.")
    clock = await business_clock(conn)
    if row.expires_at is not None and row.expires_at <= clock.now:
        raise refuse(ErrorCode.INVALID_STATE, "id", "Access to this video has already expired.")
    await conn.execute(
        text(
            "UPDATE video_purchases SET state = 'CANCELLED', cancelled_at = :at,"
            " updated_at = now() WHERE id = :id"
        ),
        {"at": clock.now, "id": row.id},
    )
    returned = await return_credits(
        conn, pass_id=row.customer_pass_id, credits=row.price_credits, today=clock.today
    )
    await account_history.record(
        conn,
        business_id=business_id,
        actor=actor,
        action="video.cancelled",
        customer_id=row.customer_id,
        customer_name=await customer_name(conn, row.customer_id, row.customer_name),
        subject_type="VideoPurchase",
        subject_id=row.id,
        before={"number": row.number, "state": "ACTIVE"},
        after={"number": row.number, "state": "CANCELLED", "credits_returned": returned},
    )
    return uuid.UUID(str(row.id))
