"""Appointments booked by staff: a service with a facilitator at a time, paid manually or free;
and their cancellation.

A facilitator cannot be in two appointments at once. Two staff members booking the same slot at
the same moment would both find it free if they only looked, so the facilitator's row is locked
(`SELECT ... FOR UPDATE`) first: the second booking waits for the first to commit, then sees it.
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
from schema.errors import ErrorCode, UserError, UserFacingError, user_error

MAX_DURATION_MINUTES = 1440


@dataclass(frozen=True)
class NewAppointment:
    customer_id: uuid.UUID
    participant_id: uuid.UUID | None
    service_id: uuid.UUID
    facilitator_id: uuid.UUID
    starts_at: datetime
    # None: the service's usual length and price.
    duration_minutes: int | None
    price: int | None


async def _service(conn: AsyncConnection, service_id: uuid.UUID) -> tuple[str, int, int, str]:
    row = (
        await conn.execute(
            text(
                "SELECT name, duration_minutes, price_amount, currency FROM services WHERE id = :id"
            ),
            {"id": service_id},
        )
    ).first()
    if row is None:
        raise refuse(ErrorCode.NOT_FOUND, "input.serviceId", "No such service in this business.")
    return row.name, row.duration_minutes, row.price_amount, row.currency


async def _lock_facilitator(conn: AsyncConnection, facilitator_id: uuid.UUID) -> None:
    found = await conn.execute(
        text("SELECT id FROM facilitators WHERE id = :id FOR UPDATE"), {"id": facilitator_id}
    )
    if found.first() is None:
        raise refuse(
            ErrorCode.NOT_FOUND, "input.facilitatorId", "No such facilitator in this business."
        )


async def _clash(
    conn: AsyncConnection, facilitator_id: uuid.UUID, starts: datetime, ends: datetime
) -> int | None:
    """The number of a scheduled appointment of the facilitator overlapping [starts, ends)."""
    # No appointment lasts longer than a day, so only those starting in the day before can
    # reach into the slot: a range the (business, facilitator, starts_at) index serves.
    found = await conn.execute(
        text(
            "SELECT number FROM appointments WHERE facilitator_id = :f AND state = 'SCHEDULED'"
            " AND starts_at > :earliest AND starts_at < :ends"
            " AND starts_at + make_interval(mins => duration_minutes) > :starts"
            " ORDER BY starts_at LIMIT 1"
        ),
        {
            "f": facilitator_id,
            "earliest": starts - timedelta(minutes=MAX_DURATION_MINUTES),
            "starts": starts,
            "ends": ends,
        },
    )
    return found.scalar_one_or_none()


def _checked(
    new: NewAppointment, clock: Clock, duration: int, price: int
) -> tuple[datetime, list[UserError]]:
    errors: list[UserError] = []
    starts = clock.aware(new.starts_at)
    if starts <= clock.now:
        errors.append(
            user_error(ErrorCode.IN_THE_PAST, "input.startsAt", "This time has already passed.")
        )
    if not 1 <= duration <= MAX_DURATION_MINUTES:
        errors.append(
            user_error(
                ErrorCode.OUT_OF_RANGE,
                "input.durationMinutes",
                f"An appointment lasts 1 to {MAX_DURATION_MINUTES} minutes.",
            )
        )
    price_problem = amount_error(price, "input.price")
    if price_problem is not None:
        errors.append(price_problem)
    return starts, errors


async def create_appointment(
    conn: AsyncConnection, actor: Actor, business_id: uuid.UUID, new: NewAppointment
) -> uuid.UUID:
    account = await locked_account(conn, new.customer_id, "input.customerId")
    who = await participant_of(conn, account, new.participant_id, "input.participantId")
    service_name, usual_minutes, usual_price, currency = await _service(conn, new.service_id)
    clock = await business_clock(conn)
    duration = new.duration_minutes if new.duration_minutes is not None else usual_minutes
    price = new.price if new.price is not None else usual_price
    starts, errors = _checked(new, clock, duration, price)
    if errors:
        raise UserFacingError(*errors)
    await _lock_facilitator(conn, new.facilitator_id)
    ends = starts + timedelta(minutes=duration)
    clash = await _clash(conn, new.facilitator_id, starts, ends)
    if clash is not None:
        raise refuse(
            ErrorCode.FACILITATOR_UNAVAILABLE,
            "input.startsAt",
            f"The facilitator already has appointment {clash} at that time.",
        )
    payment_id = None
    if price > 0:
        payment_id = await manual_payment(
            conn,
            business_id=business_id,
            account=account,
            amount=price,
            currency=currency,
            description=f"Appointment: {service_name}",
            paid_at=clock.now,
            staff_id=staff_id(actor),
        )
    row = (
        await conn.execute(
            text(
                "INSERT INTO appointments (business_id, customer_id, customer_name,"
                " participant_id, participant_name, created_by_staff_id, service_id,"
                " facilitator_id, booked_at, starts_at, duration_minutes, price_amount, currency,"
                " paid_with, payment_id, state)"
                " VALUES (:business, :customer, :name, :participant, :participant_name, :staff,"
                " :service, :facilitator, :booked_at, :starts, :duration, :price, :currency,"
                " :paid_with, :payment, 'SCHEDULED') RETURNING id, number"
            ),
            {
                "business": business_id,
                "customer": account.id,
                "name": account.name,
                "participant": who.id,
                "participant_name": who.name,
                "staff": staff_id(actor),
                "service": new.service_id,
                "facilitator": new.facilitator_id,
                "booked_at": clock.now,
                "starts": starts,
                "duration": duration,
                "price": price,
                "currency": currency,
                "paid_with": "MANUAL" if price > 0 else "FREE",
                "payment": payment_id,
            },
        )
    ).one()
    await account_history.record(
        conn,
        business_id=business_id,
        actor=actor,
        action="appointment.booked",
        customer_id=account.id,
        customer_name=account.name,
        subject_type="Appointment",
        subject_id=row.id,
        after={
            "number": row.number,
            "service": service_name,
            "facilitator_id": new.facilitator_id,
            "participant": who.name,
            "starts_at": starts,
            "duration_minutes": duration,
            "price": price,
            "currency": currency,
        },
    )
    return uuid.UUID(str(row.id))


async def cancel_appointment(
    conn: AsyncConnection, actor: Actor, business_id: uuid.UUID, appointment_id: uuid.UUID
) -> uuid.UUID:
    """Scheduled and not started yet → Cancelled. Money taken is never returned by cancelling."""
    row = await locked_row(
        conn,
        "appointments",
        "id, number, customer_id, customer_name, state, starts_at",
        appointment_id,
        "id",
        "appointment",
    )
    if row.state == "CANCELLED":
        raise refuse(ErrorCode.INVALID_STATE, "id", "This appointment is already cancelled.")
    clock = await business_clock(conn)
    if row.starts_at <= clock.now:
        raise refuse(ErrorCode.ALREADY_STARTED, "id", "This appointment has already started.")
    await conn.execute(
        text(
            "UPDATE appointments SET state = 'CANCELLED', cancelled_at = :at, updated_at = now()"
            " WHERE id = :id"
        ),
        {"at": clock.now, "id": row.id},
    )
    await account_history.record(
        conn,
        business_id=business_id,
        actor=actor,
        action="appointment.cancelled",
        customer_id=row.customer_id,
        customer_name=await customer_name(conn, row.customer_id, row.customer_name),
        subject_type="Appointment",
        subject_id=row.id,
        before={"number": row.number, "state": "SCHEDULED"},
        after={"number": row.number, "state": "CANCELLED"},
    )
    return uuid.UUID(str(row.id))
