"""Bookings from the staff portal's Bookings tab: book an event on a customer's behalf,
transfer, cancel and refund. Staff only (PRODUCT.md: members may not book, cancel or refund
here)."""

from __future__ import annotations

import uuid
from typing import Annotated, Any

import strawberry
from sqlalchemy.ext.asyncio import AsyncConnection
from strawberry.types import Info

from resolvers import bookings, refunds
from resolvers.account_history import Actor
from resolvers.history_actions import MAX_AMOUNT
from resolvers.mutations import run
from schema.errors import ApiError, ErrorCode, UserError, user_error
from schema.permissions import IsStaff
from schema.profile import Booking, Refund, RefundStatus
from server.context import Context


@strawberry.input(
    description="A booking made by staff for a customer. Pay it with `manualAmount` (money "
    "taken outside Stripe; 0 books it free) or with `customerPassId` (that pass's credits): "
    "exactly one of the two."
)
class BookingCreateInput:
    customer_id: strawberry.ID = strawberry.field(
        description="The account holder (active, not merged)."
    )
    session_id: strawberry.ID = strawberry.field(
        description="The session to book (not started yet, with a free seat)."
    )
    participant_id: strawberry.ID | None = strawberry.field(
        default=None,
        description="Who attends: one of the customer's participants. Left out: the customer "
        "themselves (their `isSelf` participant), which is then required to exist.",
    )
    manual_amount: int | None = strawberry.field(
        default=None,
        description=f"Money taken outside Stripe, in minor units of the business's currency "
        f"(0 to {MAX_AMOUNT}). 0: free (paid with FREE); more records a manual payment "
        "linked to the booking. State MANUAL either way.",
    )
    customer_pass_id: strawberry.ID | None = strawberry.field(
        default=None,
        description="Pay with this pass of the customer's: valid on the session's date, with "
        "enough uses left unless unlimited. State PACKAGE.",
    )
    credits: int = strawberry.field(
        default=1,
        description=f"With a pass: how many credits the booking costs (1 to "
        f"{bookings.MAX_CREDITS}; one credit is one use).",
    )


@strawberry.input(description="A refund of a booking paid through Stripe.")
class BookingRefundInput:
    id: strawberry.ID = strawberry.field(description="The booking.")
    amount: int = strawberry.field(
        description="How much to refund, in minor units of the payment's currency: at least 1, "
        "at most what remains unrefunded of the booking's price and of its payment."
    )
    reason: str | None = strawberry.field(
        default=None,
        description=f"Why, in staff's words (at most {refunds.MAX_REASON} characters); kept "
        "with the refund and sent to Stripe in its metadata.",
    )
    idempotency_key: strawberry.ID = strawberry.field(
        description="A UUID the client makes once per refund and sends again on every retry of "
        "it: it becomes the refund's id. A retry with the same key returns the same refund and "
        "never refunds twice; the same key with another booking or amount is refused (INVALID)."
    )


@strawberry.type(description="The result of a change to a booking.")
class BookingPayload:
    booking: Booking | None = strawberry.field(description="The booking after the change.")
    errors: list[UserError] = strawberry.field(description="Empty on success.")


@strawberry.type(description="The result of a refund.")
class BookingRefundPayload:
    refund: Refund | None = strawberry.field(
        description="The refund: SUCCEEDED, PENDING when Stripe could not be reached (its "
        "amount stays reserved and it is finished automatically), or FAILED when Stripe "
        "refused it (with `errors` saying so)."
    )
    booking: Booking | None = strawberry.field(
        description="The booking, its `refundedAmount` including the refund unless it failed."
    )
    errors: list[UserError] = strawberry.field(description="Empty on success.")


IdArg = Annotated[strawberry.ID, strawberry.argument(description="The booking's id.")]


def _id(value: strawberry.ID, field: str) -> uuid.UUID:
    try:
        return uuid.UUID(str(value))
    except ValueError as error:
        raise ApiError(ErrorCode.INVALID_ARGUMENT, "This id is not a valid UUID.", field) from error


def _optional_id(value: strawberry.ID | None, field: str) -> uuid.UUID | None:
    return _id(value, field) if value is not None else None


async def _booking(info: Info[Context, Any], booking_id: uuid.UUID | None) -> Booking | None:
    if booking_id is None:
        return None
    row = await info.context.loaders.booking_by_id.load(booking_id)
    return Booking.from_row(row) if row is not None else None


async def _changed(
    info: Info[Context, Any], booking_id: uuid.UUID | None, errors: list[UserError]
) -> BookingPayload:
    return BookingPayload(booking=await _booking(info, booking_id), errors=errors)


def _business(info: Info[Context, Any]) -> uuid.UUID:
    viewer = info.context.viewer
    assert viewer is not None, "reached only through the permission check"
    return viewer.business_id


@strawberry.type(description="Changes to bookings.")
class BookingMutations:
    @strawberry.mutation(
        description="Book a session for a customer's participant, paid manually (or free) or "
        "with a pass's credits. Refused: a session already started (ALREADY_STARTED) or full "
        "(CAPACITY_REACHED), a participant already booked on it (ALREADY_BOOKED), an archived or "
        "merged customer (INVALID_STATE), a pass of another customer (PASS_NOT_USABLE), not "
        "valid on the session's date (PASS_EXPIRED) or without enough uses (PASS_EXHAUSTED), an "
        "amount out of range (OUT_OF_RANGE). Staff only.",
        permission_classes=[IsStaff],
    )
    async def booking_create(
        self, info: Info[Context, Any], input: BookingCreateInput
    ) -> BookingPayload:
        business_id = _business(info)
        new = bookings.NewBooking(
            customer_id=_id(input.customer_id, "input.customerId"),
            session_id=_id(input.session_id, "input.sessionId"),
            participant_id=_optional_id(input.participant_id, "input.participantId"),
            manual_amount=input.manual_amount,
            customer_pass_id=_optional_id(input.customer_pass_id, "input.customerPassId"),
            credits=input.credits,
        )

        async def work(conn: AsyncConnection, actor: Actor) -> uuid.UUID:
            return await bookings.create(conn, actor, business_id, new)

        created, errors = await run(info.context, work)
        return await _changed(info, created, errors)

    @strawberry.mutation(
        description="Cancel a booking. Credits paid with a pass go back to it while the pass is "
        "still valid (never above what it came with; unlimited passes have nothing to count). "
        "Money is never refunded by cancelling: refund it with `bookingRefund`. A second cancel "
        "is refused (INVALID_STATE). Staff only.",
        permission_classes=[IsStaff],
    )
    async def booking_cancel(self, info: Info[Context, Any], id: IdArg) -> BookingPayload:
        business_id = _business(info)
        booking_id = _id(id, "id")

        async def work(conn: AsyncConnection, actor: Actor) -> uuid.UUID:
            return await bookings.cancel(conn, actor, business_id, booking_id)

        cancelled, errors = await run(info.context, work)
        return await _changed(info, cancelled, errors)

    @strawberry.mutation(
        description="Move a booking before its session starts: to another session (capacity "
        "and already-booked checks apply) and/or to another customer or participant of the "
        "business. The booking keeps its id, number, price, payment (which stays with its payer) "
        "and the pass its credits came from. Both customers' account histories record it. "
        "Cancelled bookings cannot be moved (INVALID_STATE). Staff only.",
        permission_classes=[IsStaff],
    )
    async def booking_transfer(
        self,
        info: Info[Context, Any],
        id: IdArg,
        to_session_id: Annotated[
            strawberry.ID | None,
            strawberry.argument(description="The session to move to; left out: the same one."),
        ] = None,
        to_customer_id: Annotated[
            strawberry.ID | None,
            strawberry.argument(
                description="The customer to move it to (active, not merged); left out: the "
                "same one. The booking then leaves the old customer's tabs for theirs."
            ),
        ] = None,
        to_participant_id: Annotated[
            strawberry.ID | None,
            strawberry.argument(
                description="Who attends now: a participant of the (new) customer. Left out "
                "when the customer changes: the new customer themselves (`isSelf`)."
            ),
        ] = None,
    ) -> BookingPayload:
        business_id = _business(info)
        booking_id = _id(id, "id")
        to = bookings.TransferTo(
            session_id=_optional_id(to_session_id, "toSessionId"),
            customer_id=_optional_id(to_customer_id, "toCustomerId"),
            participant_id=_optional_id(to_participant_id, "toParticipantId"),
        )

        async def work(conn: AsyncConnection, actor: Actor) -> uuid.UUID:
            return await bookings.transfer(conn, actor, business_id, booking_id, to)

        moved, errors = await run(info.context, work)
        return await _changed(info, moved, errors)

    @strawberry.mutation(
        description="Refund part or all of a booking paid through Stripe. The booking keeps its "
        "state and seat; its `refundedAmount` grows. Never more than what remains unrefunded "
        "(EXCEEDS_REFUNDABLE), even when two refunds race. Retries with the same "
        "`idempotencyKey` refund once. Bookings not paid through Stripe: INVALID_STATE; payments "
        "off: PAYMENT_PROVIDER_UNAVAILABLE; Stripe refusing: PAYMENT_REFUSED with the failed "
        "refund. Staff only.",
        permission_classes=[IsStaff],
    )
    async def booking_refund(
        self, info: Info[Context, Any], input: BookingRefundInput
    ) -> BookingRefundPayload:
        request = refunds.RefundRequest(
            booking_id=_id(input.id, "input.id"),
            amount=input.amount,
            reason=input.reason,
            key=_id(input.idempotency_key, "input.idempotencyKey"),
        )
        done, errors = await refunds.refund_booking(info.context, request)
        if done is None:
            return BookingRefundPayload(refund=None, booking=None, errors=errors)
        row = await info.context.loaders.refund_by_id.load(done.refund_id)
        refund = Refund.from_row(row) if row is not None else None
        if refund is not None and refund.status is RefundStatus.FAILED:
            errors = [
                user_error(
                    ErrorCode.PAYMENT_REFUSED,
                    None,
                    "The refund did not go through: "
                    f"{refund.failure_reason or 'Stripe gave no reason'}",
                )
            ]
        return BookingRefundPayload(
            refund=refund, booking=await _booking(info, done.booking_id), errors=errors
        )
