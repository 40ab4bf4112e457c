"""Event bookings staff make and change on a customer's behalf: book, cancel and transfer
(refunds, which go through Stripe, are in `resolvers.refunds`). The rules are PRODUCT.md's
"Bookings" section.

Every function here runs inside the mutation's one transaction (`resolvers.mutations.run`), writes
the customer's account history in it, and refuses with `UserFacingError`. The derived category
follows by itself: the history triggers recompute it when a booking is inserted or changes
customer.

Locks are always taken in one order: customers (ascending id), then sessions (ascending id), then
the booking, then the pass. A merge takes customers first as well and then rewrites bookings and
passes in that order, so none of these can wait on another in a circle. Cancelling takes only the
booking and then its pass: it changes neither a customer nor a seat count anyone checks. The
participant a booking is for is only share-locked, so that it cannot vanish before the booking
points at it.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Row, text
from sqlalchemy.ext.asyncio import AsyncConnection

from loaders import history
from resolvers import account_history, history_actions, pass_credits
from resolvers.account_history import Actor, changed_fields
from resolvers.history_actions import amount_error
from schema.errors import ErrorCode, UserError, UserFacingError, user_error

MAX_CREDITS = 100
# How many times a transfer re-reads a booking that moved while its locks were being taken.
LOCK_ROUNDS = 3

CREATED = "booking.created"
CANCELLED = "booking.cancelled"
TRANSFERRED = "booking.transferred"


@dataclass(frozen=True)
class NewBooking:
    """What `bookingCreate` asks for. Exactly one of `manual_amount` (0: free) and
    `customer_pass_id`; `credits` is what the booking costs in that pass's credits."""

    customer_id: uuid.UUID
    session_id: uuid.UUID
    participant_id: uuid.UUID | None
    manual_amount: int | None
    customer_pass_id: uuid.UUID | None
    credits: int = 1


@dataclass(frozen=True)
class TransferTo:
    """Where `bookingTransfer` moves a booking; None keeps that part as it is."""

    session_id: uuid.UUID | None
    customer_id: uuid.UUID | None
    participant_id: uuid.UUID | None


def _refuse(code: ErrorCode, field: str | None, message: str) -> UserFacingError:
    return UserFacingError(user_error(code, field, message))


def _full_name(first: str, last: str) -> str:
    return f"{first} {last}".strip()


# Reads and locks -------------------------------------------------------------------------------


async def _lock_customers(
    conn: AsyncConnection, business_id: uuid.UUID, ids: Iterable[uuid.UUID]
) -> dict[uuid.UUID, Row[Any]]:
    wanted = sorted(set(ids))
    if not wanted:
        return {}
    rows = await conn.execute(
        text(
            "SELECT id, first_name, last_name, status, merged_into_id FROM customers "
            "WHERE business_id = :b AND id = ANY(:ids) ORDER BY id FOR UPDATE"
        ),
        {"b": business_id, "ids": wanted},
    )
    return {row.id: row for row in rows}


async def _lock_sessions(
    conn: AsyncConnection, business_id: uuid.UUID, ids: Iterable[uuid.UUID]
) -> dict[uuid.UUID, Row[Any]]:
    """The sessions, locked: whoever holds a session's lock is the only one counting its seats."""
    wanted = sorted(set(ids))
    if not wanted:
        return {}
    rows = await conn.execute(
        text(
            "SELECT s.id, s.starts_at, s.capacity, s.time_zone, e.name AS event_name, "
            "(s.starts_at AT TIME ZONE s.time_zone)::date AS local_date "
            "FROM sessions s JOIN events e ON e.business_id = s.business_id AND e.id = s.event_id "
            "WHERE s.business_id = :b AND s.id = ANY(:ids) ORDER BY s.id FOR UPDATE OF s"
        ),
        {"b": business_id, "ids": wanted},
    )
    return {row.id: row for row in rows}


BOOKING_COLUMNS = (
    "id, number, customer_id, customer_name, participant_id, participant_name, session_id, "
    "state, paid_with, price_amount, currency, price_credits, customer_pass_id, payment_id"
)


async def _booking(
    conn: AsyncConnection, business_id: uuid.UUID, booking_id: uuid.UUID, *, lock: bool
) -> Row[Any]:
    row = (
        await conn.execute(
            text(
                f"SELECT {BOOKING_COLUMNS} FROM bookings WHERE business_id = :b AND id = :id"
                + (" FOR UPDATE" if lock else "")
            ),
            {"b": business_id, "id": booking_id},
        )
    ).first()
    if row is None:
        raise _refuse(ErrorCode.NOT_FOUND, "id", "No such booking in this business.")
    return row


async def _participant(
    conn: AsyncConnection, business_id: uuid.UUID, participant_id: uuid.UUID, field: str
) -> Row[Any]:
    # FOR SHARE: a participant removed meanwhile would otherwise fail the booking's foreign key.
    row = (
        await conn.execute(
            text(
                "SELECT id, customer_id, first_name, last_name FROM participants "
                "WHERE business_id = :b AND id = :id FOR SHARE"
            ),
            {"b": business_id, "id": participant_id},
        )
    ).first()
    if row is None:
        raise _refuse(ErrorCode.NOT_FOUND, field, "No such participant in this business.")
    return row


async def _who_attends(
    conn: AsyncConnection,
    business_id: uuid.UUID,
    customer_id: uuid.UUID,
    participant_id: uuid.UUID | None,
    field: str,
) -> Row[Any]:
    """The participant named, who must be the customer's; unnamed, the customer themselves
    (their isSelf participant)."""
    if participant_id is not None:
        row = await _participant(conn, business_id, participant_id, field)
        if row.customer_id != customer_id:
            raise _refuse(ErrorCode.INVALID, field, "This participant belongs to another customer.")
        return row
    own = (
        await conn.execute(
            text(
                "SELECT id, customer_id, first_name, last_name FROM participants "
                "WHERE business_id = :b AND customer_id = :c AND is_self FOR SHARE"
            ),
            {"b": business_id, "c": customer_id},
        )
    ).first()
    if own is None:
        raise _refuse(
            ErrorCode.REQUIRED,
            field,
            "This customer does not take part themselves: name the participant.",
        )
    return own


def _bookable(customer: Row[Any], field: str) -> None:
    if customer.merged_into_id is not None:
        raise _refuse(
            ErrorCode.INVALID_STATE,
            field,
            "This customer was merged into another: book on that customer.",
        )
    if customer.status != "ACTIVE":
        raise _refuse(
            ErrorCode.INVALID_STATE, field, "This customer is archived: activate them first."
        )


def _not_started(session: Row[Any], now: datetime, field: str) -> None:
    if session.starts_at <= now:
        raise _refuse(ErrorCode.ALREADY_STARTED, field, "This session has already started.")


async def _check_not_booked(
    conn: AsyncConnection,
    business_id: uuid.UUID,
    session_id: uuid.UUID,
    participant_id: uuid.UUID,
    field: str,
    *,
    except_booking: uuid.UUID | None = None,
) -> None:
    found = (
        await conn.execute(
            text(
                "SELECT 1 FROM bookings WHERE business_id = :b AND session_id = :s "
                "AND participant_id = :p AND state <> 'CANCELLED' "
                "AND id IS DISTINCT FROM :except LIMIT 1"
            ),
            {"b": business_id, "s": session_id, "p": participant_id, "except": except_booking},
        )
    ).first()
    if found is not None:
        raise _refuse(
            ErrorCode.ALREADY_BOOKED, field, "This participant is already booked on this session."
        )


async def _check_seat(
    conn: AsyncConnection, business_id: uuid.UUID, session: Row[Any], field: str
) -> None:
    """Call with the session locked, so that no one else is taking its last seat meanwhile."""
    if session.capacity is None:
        return
    taken = (
        await conn.execute(
            text(
                "SELECT count(*) FROM bookings WHERE business_id = :b AND session_id = :s "
                "AND state <> 'CANCELLED'"
            ),
            {"b": business_id, "s": session.id},
        )
    ).scalar_one()
    if taken >= session.capacity:
        raise _refuse(
            ErrorCode.CAPACITY_REACHED,
            field,
            f"This session is full ({session.capacity} of {session.capacity} seats taken).",
        )


# Book ------------------------------------------------------------------------------------------


def _check_payment(new: NewBooking) -> None:
    errors: list[UserError] = []
    if new.manual_amount is not None and new.customer_pass_id is not None:
        errors.append(
            user_error(
                ErrorCode.INVALID,
                "input.customerPassId",
                "Pay either an amount or with a pass, not both.",
            )
        )
    elif new.manual_amount is None and new.customer_pass_id is None:
        errors.append(
            user_error(
                ErrorCode.REQUIRED,
                "input.manualAmount",
                "Say how it is paid: an amount (0 for free) or a pass.",
            )
        )
    amount_problem = (
        amount_error(new.manual_amount, "input.manualAmount")
        if new.manual_amount is not None
        else None
    )
    if amount_problem is not None:
        errors.append(amount_problem)
    if new.customer_pass_id is not None and not 1 <= new.credits <= MAX_CREDITS:
        errors.append(
            user_error(
                ErrorCode.OUT_OF_RANGE,
                "input.credits",
                f"A booking costs between 1 and {MAX_CREDITS} credits.",
            )
        )
    if errors:
        raise UserFacingError(*errors)


def _staff_id(actor: Actor) -> uuid.UUID | None:
    return actor.id if actor.kind == "STAFF" else None


async def create(
    conn: AsyncConnection, actor: Actor, business_id: uuid.UUID, new: NewBooking
) -> uuid.UUID:
    """Book a seat on a session for a customer's participant; returns the booking's id."""
    _check_payment(new)
    customer = (await _lock_customers(conn, business_id, [new.customer_id])).get(new.customer_id)
    if customer is None:
        raise _refuse(ErrorCode.NOT_FOUND, "input.customerId", "No such customer in this business.")
    _bookable(customer, "input.customerId")
    session = (await _lock_sessions(conn, business_id, [new.session_id])).get(new.session_id)
    if session is None:
        raise _refuse(ErrorCode.NOT_FOUND, "input.sessionId", "No such session in this business.")
    clock = await history_actions.business_clock(conn)
    _not_started(session, clock.now, "input.sessionId")
    participant = await _who_attends(
        conn, business_id, customer.id, new.participant_id, "input.participantId"
    )
    await _check_not_booked(conn, business_id, session.id, participant.id, "input.participantId")
    await _check_seat(conn, business_id, session, "input.sessionId")

    currency = str((await conn.execute(text("SELECT currency FROM businesses"))).scalar_one())
    payment_id: uuid.UUID | None = None
    customer_name = _full_name(customer.first_name, customer.last_name)
    if new.customer_pass_id is not None:
        await pass_credits.spend_credits(
            conn,
            pass_id=new.customer_pass_id,
            customer_id=customer.id,
            credits=new.credits,
            day=session.local_date,
            field="input.customerPassId",
        )
        state, paid_with, amount, credits = "PACKAGE", "CREDITS", 0, new.credits
    elif new.manual_amount:
        payment_id = await history_actions.manual_payment(
            conn,
            business_id=business_id,
            account=history_actions.Account(customer.id, customer_name),
            amount=new.manual_amount,
            currency=currency,
            description=f"Booking: {session.event_name}, {session.local_date.isoformat()}",
            paid_at=clock.now,
            staff_id=_staff_id(actor),
        )
        state, paid_with, amount, credits = "MANUAL", "MANUAL", new.manual_amount, None
    else:
        state, paid_with, amount, credits = "MANUAL", "FREE", 0, None

    participant_name = _full_name(participant.first_name, participant.last_name)
    booked = (
        await conn.execute(
            text(
                "INSERT INTO bookings (business_id, customer_id, customer_name, participant_id, "
                "participant_name, created_by_staff_id, session_id, booked_at, state, paid_with, "
                "price_amount, currency, price_credits, customer_pass_id, payment_id) "
                "VALUES (:b, :c, :cn, :p, :pn, :staff, :s, :at, :state, :paid_with, :amount, "
                ":currency, :credits, :pass, :payment) RETURNING id, number"
            ),
            {
                "b": business_id,
                "c": customer.id,
                "cn": customer_name,
                "p": participant.id,
                "pn": participant_name,
                "staff": _staff_id(actor),
                "s": session.id,
                "at": clock.now,
                "state": state,
                "paid_with": paid_with,
                "amount": amount,
                "currency": currency,
                "credits": credits,
                "pass": new.customer_pass_id,
                "payment": payment_id,
            },
        )
    ).one()
    await account_history.record(
        conn,
        business_id=business_id,
        actor=actor,
        action=CREATED,
        customer_id=customer.id,
        customer_name=customer_name,
        subject_type="Booking",
        subject_id=booked.id,
        after={
            "number": booked.number,
            "event": session.event_name,
            "session_id": session.id,
            "starts_at": session.starts_at.isoformat(),
            "participant_name": participant_name,
            "state": state,
            "paid_with": paid_with,
            "price_amount": amount,
            "currency": currency,
            "price_credits": credits,
            "customer_pass_id": new.customer_pass_id,
            "payment_id": payment_id,
        },
    )
    return uuid.UUID(str(booked.id))


# Cancel ----------------------------------------------------------------------------------------


async def cancel(
    conn: AsyncConnection, actor: Actor, business_id: uuid.UUID, booking_id: uuid.UUID
) -> uuid.UUID:
    """Cancel a booking: credits go back to their pass while it is valid; money never does."""
    booking = await _booking(conn, business_id, booking_id, lock=True)
    if booking.state == "CANCELLED":
        raise _refuse(ErrorCode.INVALID_STATE, "id", "This booking is already cancelled.")
    await conn.execute(
        text(
            "UPDATE bookings SET state = 'CANCELLED', cancelled_at = :at, updated_at = now() "
            "WHERE business_id = :b AND id = :id"
        ),
        {"b": business_id, "id": booking_id, "at": history.now()},
    )
    after: dict[str, Any] = {"state": "CANCELLED"}
    if booking.paid_with == "CREDITS" and booking.customer_pass_id is not None:
        after["customer_pass_id"] = booking.customer_pass_id
        clock = await history_actions.business_clock(conn)
        after["credits_returned"] = await pass_credits.return_credits(
            conn,
            pass_id=booking.customer_pass_id,
            credits=booking.price_credits,
            today=clock.today,
        )
    if booking.customer_id is not None:
        await account_history.record(
            conn,
            business_id=business_id,
            actor=actor,
            action=CANCELLED,
            customer_id=booking.customer_id,
            customer_name=booking.customer_name,
            subject_type="Booking",
            subject_id=booking_id,
            before={"state": booking.state},
            after=after,
        )
    return booking_id


# Transfer --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Locked:
    booking: Row[Any]
    customers: dict[uuid.UUID, Row[Any]]
    sessions: dict[uuid.UUID, Row[Any]]


async def _lock_for_transfer(
    conn: AsyncConnection, business_id: uuid.UUID, booking_id: uuid.UUID, to: TransferTo
) -> _Locked:
    """Lock both customers and both sessions (in id order), then the booking. The booking is
    read unlocked first to know whom to lock; if it moved before its own lock was taken (a
    concurrent transfer or merge), the new owners are locked too and it is read again."""
    seen = await _booking(conn, business_id, booking_id, lock=False)
    customers: dict[uuid.UUID, Row[Any]] = {}
    sessions: dict[uuid.UUID, Row[Any]] = {}
    for _ in range(LOCK_ROUNDS):
        wanted_customers = {c for c in (seen.customer_id, to.customer_id) if c is not None}
        customers.update(
            await _lock_customers(conn, business_id, wanted_customers - customers.keys())
        )
        wanted_sessions = {s for s in (seen.session_id, to.session_id) if s is not None}
        sessions.update(await _lock_sessions(conn, business_id, wanted_sessions - sessions.keys()))
        booking = await _booking(conn, business_id, booking_id, lock=True)
        if booking.customer_id in customers and booking.session_id in sessions:
            return _Locked(booking, customers, sessions)
        seen = booking
    raise _refuse(
        ErrorCode.STALE, "id", "The booking kept changing while it was being moved: try again."
    )


def _snapshot(booking: Any, session: Row[Any]) -> dict[str, Any]:
    return {
        "event": session.event_name,
        "session_id": booking.session_id,
        "starts_at": session.starts_at.isoformat(),
        "customer_id": booking.customer_id,
        "customer_name": booking.customer_name,
        "participant_id": booking.participant_id,
        "participant_name": booking.participant_name,
    }


@dataclass(frozen=True)
class _Placement:
    session_id: uuid.UUID
    customer_id: uuid.UUID | None
    customer_name: str
    participant_id: uuid.UUID | None
    participant_name: str | None


async def transfer(
    conn: AsyncConnection,
    actor: Actor,
    business_id: uuid.UUID,
    booking_id: uuid.UUID,
    to: TransferTo,
) -> uuid.UUID:
    """Move a booking to another session and/or another customer or participant. The row (and
    its id, price, payment and pass) stays the same; only where and for whom changes."""
    if to.session_id is None and to.customer_id is None and to.participant_id is None:
        raise _refuse(
            ErrorCode.REQUIRED,
            "toSessionId",
            "Name where to move the booking: a session, a customer or a participant.",
        )
    locked = await _lock_for_transfer(conn, business_id, booking_id, to)
    booking = locked.booking
    if booking.state == "CANCELLED":
        raise _refuse(ErrorCode.INVALID_STATE, "id", "A cancelled booking cannot be moved.")
    if booking.customer_id is None:
        raise _refuse(ErrorCode.INVALID_STATE, "id", "This booking's customer no longer exists.")
    current = locked.sessions[booking.session_id]
    now = history.now()
    _not_started(current, now, "id")

    session = current
    if to.session_id is not None:
        found = locked.sessions.get(to.session_id)
        if found is None:
            raise _refuse(ErrorCode.NOT_FOUND, "toSessionId", "No such session in this business.")
        _not_started(found, now, "toSessionId")
        session = found

    customer = locked.customers[booking.customer_id]
    if to.customer_id is not None and to.customer_id != booking.customer_id:
        found_customer = locked.customers.get(to.customer_id)
        if found_customer is None:
            raise _refuse(ErrorCode.NOT_FOUND, "toCustomerId", "No such customer in this business.")
        _bookable(found_customer, "toCustomerId")
        customer = found_customer
    moves_customer = customer.id != booking.customer_id

    if to.participant_id is not None or moves_customer:
        participant: Row[Any] | None = await _who_attends(
            conn, business_id, customer.id, to.participant_id, "toParticipantId"
        )
    else:
        participant = None
    target = _Placement(
        session_id=session.id,
        customer_id=customer.id,
        customer_name=_full_name(customer.first_name, customer.last_name)
        if moves_customer
        else booking.customer_name,
        participant_id=participant.id if participant is not None else booking.participant_id,
        participant_name=_full_name(participant.first_name, participant.last_name)
        if participant is not None
        else booking.participant_name,
    )
    moves_session = session.id != booking.session_id
    moves_participant = target.participant_id != booking.participant_id
    if not (moves_session or moves_customer or moves_participant):
        raise _refuse(ErrorCode.INVALID, "id", "The booking is already there.")
    if target.participant_id is not None and (moves_session or moves_participant):
        await _check_not_booked(
            conn,
            business_id,
            session.id,
            target.participant_id,
            "toParticipantId" if moves_participant else "toSessionId",
            except_booking=booking_id,
        )
    if moves_session:
        await _check_seat(conn, business_id, session, "toSessionId")

    await conn.execute(
        text(
            "UPDATE bookings SET session_id = :s, customer_id = :c, customer_name = :cn, "
            "participant_id = :p, participant_name = :pn, "
            # Who acted on the old account is none of the new account's business.
            "acted_by_additional_user_id = CASE WHEN :moves_customer THEN NULL "
            "ELSE acted_by_additional_user_id END, updated_at = now() "
            "WHERE business_id = :b AND id = :id"
        ),
        {
            "s": target.session_id,
            "c": target.customer_id,
            "cn": target.customer_name,
            "p": target.participant_id,
            "pn": target.participant_name,
            "moves_customer": moves_customer,
            "b": business_id,
            "id": booking_id,
        },
    )
    before, after = changed_fields(_snapshot(booking, current), _snapshot(target, session))
    for account_id, name in {
        booking.customer_id: booking.customer_name,
        target.customer_id: target.customer_name,
    }.items():
        await account_history.record(
            conn,
            business_id=business_id,
            actor=actor,
            action=TRANSFERRED,
            customer_id=account_id,
            customer_name=name,
            subject_type="Booking",
            subject_id=booking_id,
            before=before,
            after=after,
        )
    return booking_id
