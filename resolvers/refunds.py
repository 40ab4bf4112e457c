"""Refunding a booking paid through Stripe, in full or in part, exactly once.

The request goes through the backbone's pending-call pattern (`resolvers.stripe_calls.run`):

1. One transaction locks the payment, then the booking (the order `stripe_calls` uses when it
   records a result), checks what remains unrefunded on both, writes the refund PENDING with the
   client's idempotency key as its id, reserves its amount (`refunded_amount` grows on the
   payment and the booking, so the CHECK constraints stop two racing refunds from exceeding what
   was paid, whatever Stripe would accept), writes account history, and commits the pending call.
2. Stripe is called outside any transaction with the refund's id as idempotency key and
   `metadata.pending_id`; a lost answer is looked for before anything is sent again.
3. A second transaction records the result: SUCCEEDED keeps the amount, FAILED gives it back.
   When Stripe could not be reached the refund stays PENDING and the reconciler finishes it.

A retried request (same idempotency key) returns the refund already made and never refunds twice;
when that refund is still pending, the retry looks at Stripe (never sending) to finish it. The
same key with another booking or amount is refused.
"""

from __future__ import annotations

import logging
import uuid
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Row, text
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncConnection

from integrations.stripe_client import StripeCallError, StripeGateway, StripeUnavailable
from resolvers import account_history, stripe_calls
from resolvers.account_history import actor_for
from resolvers.history_actions import MAX_AMOUNT
from resolvers.mutations import UNIQUE_VIOLATION
from resolvers.stripe_calls import provider_unavailable
from schema.errors import ErrorCode, UserError, UserFacingError, user_error
from server.auth import Viewer
from server.context import Context
from server.db import sqlstate_of

log = logging.getLogger(__name__)

MAX_REASON = 500
REFUND_REQUESTED = "booking.refund_requested"


@dataclass(frozen=True)
class RefundRequest:
    booking_id: uuid.UUID
    amount: int
    reason: str | None
    # The client's idempotency key: the refund's id, the Stripe idempotency key and
    # `metadata.pending_id`.
    key: uuid.UUID


@dataclass(frozen=True)
class RefundDone:
    """The refund (new, or the one a retry found) and the booking it is for. Its status is
    read with it: PENDING when Stripe could not be reached, FAILED when Stripe refused."""

    refund_id: uuid.UUID
    booking_id: uuid.UUID


class _AlreadyRequested(Exception):
    """The key names a refund that exists: answer with it instead of making another."""

    def __init__(self, refund: Row[Any]) -> None:
        super().__init__(str(refund.id))
        self.refund = refund


def _refuse(code: ErrorCode, field: str | None, message: str) -> UserFacingError:
    return UserFacingError(user_error(code, field, message))


def _check_input(request: RefundRequest) -> str | None:
    errors: list[UserError] = []
    if not 1 <= request.amount <= MAX_AMOUNT:
        errors.append(
            user_error(
                ErrorCode.OUT_OF_RANGE,
                "input.amount",
                f"The amount must be between 1 and {MAX_AMOUNT} (minor units).",
            )
        )
    reason = (request.reason or "").strip() or None
    if reason is not None and len(reason) > MAX_REASON:
        errors.append(
            user_error(ErrorCode.TOO_LONG, "input.reason", f"At most {MAX_REASON} characters.")
        )
    if errors:
        raise UserFacingError(*errors)
    return reason


async def _existing(conn: AsyncConnection, key: uuid.UUID) -> Row[Any] | None:
    return (
        await conn.execute(
            text(
                "SELECT id, booking_id, amount, status, failure_reason FROM refunds WHERE id = :id"
            ),
            {"id": key},
        )
    ).first()


async def _prepare(
    conn: AsyncConnection,
    viewer: Viewer,
    request: RefundRequest,
    reason: str | None,
) -> stripe_calls.CallRequest:
    business_id = viewer.business_id
    found = await _existing(conn, request.key)
    if found is not None:
        raise _AlreadyRequested(found)
    seen = (
        await conn.execute(
            text("SELECT payment_id, paid_with FROM bookings WHERE business_id = :b AND id = :id"),
            {"b": business_id, "id": request.booking_id},
        )
    ).first()
    if seen is None:
        raise _refuse(ErrorCode.NOT_FOUND, "input.id", "No such booking in this business.")
    if seen.paid_with != "STRIPE" or seen.payment_id is None:
        raise _not_refundable()
    # The payment first, then the booking: the order the recording of a result takes.
    payment = (
        await conn.execute(
            text(
                "SELECT id, customer_id, customer_name, amount, refunded_amount, currency, "
                "method, stripe_payment_intent_id FROM payments "
                "WHERE business_id = :b AND id = :id FOR UPDATE"
            ),
            {"b": business_id, "id": seen.payment_id},
        )
    ).one()
    booking = (
        await conn.execute(
            text(
                "SELECT id, customer_id, customer_name, participant_id, participant_name, "
                "price_amount, refunded_amount, payment_id FROM bookings "
                "WHERE business_id = :b AND id = :id FOR UPDATE"
            ),
            {"b": business_id, "id": request.booking_id},
        )
    ).one()
    if payment.method != "STRIPE" or payment.stripe_payment_intent_id is None:
        raise _not_refundable()
    # A concurrent request with the same key held these locks before us: answer with its refund.
    found = await _existing(conn, request.key)
    if found is not None:
        raise _AlreadyRequested(found)
    remaining = min(
        booking.price_amount - booking.refunded_amount, payment.amount - payment.refunded_amount
    )
    if request.amount > remaining:
        raise _refuse(
            ErrorCode.EXCEEDS_REFUNDABLE,
            "input.amount",
            f"At most {remaining} ({payment.currency}, minor units) remains to be refunded.",
        )
    actor = await actor_for(conn, viewer)
    same_account = payment.customer_id == booking.customer_id
    await conn.execute(
        text(
            "INSERT INTO refunds (id, business_id, customer_id, customer_name, participant_id, "
            "participant_name, created_by_staff_id, payment_id, booking_id, amount, currency, "
            "status, reason) VALUES (:id, :b, :c, :cn, :p, :pn, :staff, :payment, :booking, "
            ":amount, :currency, 'PENDING', :reason)"
        ),
        {
            "id": request.key,
            "b": business_id,
            # The money goes back to whoever paid it, wherever the booking has moved since.
            "c": payment.customer_id,
            "cn": payment.customer_name,
            "p": booking.participant_id if same_account else None,
            "pn": booking.participant_name if same_account else None,
            "staff": actor.id if actor.kind == "STAFF" else None,
            "payment": payment.id,
            "booking": booking.id,
            "amount": request.amount,
            "currency": payment.currency,
            "reason": reason,
        },
    )
    await conn.execute(
        text(
            "UPDATE payments SET refunded_amount = refunded_amount + :n, updated_at = now() "
            "WHERE business_id = :b AND id = :id"
        ),
        {"n": request.amount, "b": business_id, "id": payment.id},
    )
    await conn.execute(
        text(
            "UPDATE bookings SET refunded_amount = refunded_amount + :n, updated_at = now() "
            "WHERE business_id = :b AND id = :id"
        ),
        {"n": request.amount, "b": business_id, "id": booking.id},
    )
    accounts = {payment.customer_id: payment.customer_name}
    if booking.customer_id is not None:
        accounts.setdefault(booking.customer_id, booking.customer_name)
    for customer_id, customer_name in accounts.items():
        if customer_id is None:
            continue
        await account_history.record(
            conn,
            business_id=business_id,
            actor=actor,
            action=REFUND_REQUESTED,
            customer_id=customer_id,
            customer_name=customer_name,
            subject_type="Booking",
            subject_id=booking.id,
            before={"refunded_amount": booking.refunded_amount},
            after={
                "refunded_amount": booking.refunded_amount + request.amount,
                "refund_id": request.key,
                "amount": request.amount,
                "currency": payment.currency,
                "reason": reason,
            },
        )
    return stripe_calls.refund_request(
        request.key,
        payment_intent=payment.stripe_payment_intent_id,
        amount=request.amount,
        reason=reason,
    )


def _not_refundable() -> UserFacingError:
    return _refuse(
        ErrorCode.INVALID_STATE,
        "input.id",
        "Only bookings paid through Stripe can be refunded here; money taken outside Stripe "
        "goes back outside it.",
    )


async def refund_booking(
    context: Context, request: RefundRequest
) -> tuple[RefundDone | None, list[UserError]]:
    """Refund part or all of a Stripe-paid booking; see the module's description."""
    try:
        return await _refund(context, request), []
    except UserFacingError as refused:
        return None, refused.errors
    finally:
        await context.fresh_snapshot()


async def _refund(context: Context, request: RefundRequest) -> RefundDone:
    viewer = context.viewer
    assert viewer is not None, "reached only through the permission check"
    reason = _check_input(request)
    gateway = context.stripe
    if gateway is None:
        raise provider_unavailable("Payments are not configured.")
    # No transaction may be open while Stripe is called: the request's read snapshot included.
    await context.fresh_snapshot()
    try:
        outcome = await stripe_calls.run(
            context.db,
            gateway,
            viewer.business_id,
            lambda conn: _prepare(conn, viewer, request, reason),
            counter=context.counter,
        )
    except _AlreadyRequested as already:
        return await _answer_retry(context, gateway, request, already.refund)
    except IntegrityError as error:
        # Two requests with one key, for different bookings, raced to insert it.
        if sqlstate_of(error) != UNIQUE_VIOLATION:
            raise
        async with context.db.transaction(viewer.business_id, context.counter) as conn:
            found = await _existing(conn, request.key)
        if found is None:
            raise _key_used() from None
        return await _answer_retry(context, gateway, request, found)
    log.info("refund %s: %s", request.key, outcome.status)
    return RefundDone(request.key, request.booking_id)


def _key_used() -> UserFacingError:
    return _refuse(
        ErrorCode.INVALID,
        "input.idempotencyKey",
        "This idempotency key was already used for another request: make a new one for a new "
        "refund.",
    )


async def _answer_retry(
    context: Context, gateway: StripeGateway, request: RefundRequest, refund: Row[Any]
) -> RefundDone:
    if refund.booking_id != request.booking_id or refund.amount != request.amount:
        raise _key_used()
    if refund.status == stripe_calls.PENDING:
        await _look_for(context, gateway, refund.id)
    return RefundDone(refund.id, request.booking_id)


async def _look_for(context: Context, gateway: StripeGateway, refund_id: uuid.UUID) -> None:
    """Finish a pending refund that Stripe already made (its first request lost the answer or
    died). Only looks: the first request may still be sending, and only it (or the reconciler,
    which never sends) decides that Stripe does not have it."""
    viewer = context.viewer
    assert viewer is not None
    business_id = viewer.business_id
    async with context.db.transaction(business_id, context.counter) as conn:
        call = await stripe_calls.load_call(conn, business_id=business_id, call_id=refund_id)
    if call is None or call.status != stripe_calls.PENDING:
        return
    try:
        found = await stripe_calls.KINDS[call.kind].find(
            gateway.for_account(call.stripe_account_id), call
        )
    except (StripeCallError, StripeUnavailable) as error:
        said = error.summary() if isinstance(error, StripeCallError) else type(error).__name__
        log.info("refund %s: cannot look at Stripe: %s", refund_id, said)
        log.debug("refund %s: %s", refund_id, error)
        return
    if found is None:
        return
    stripe_object = stripe_calls.as_dict(found)
    await context.db.run_mutation(
        business_id,
        lambda conn: stripe_calls.complete_call(
            conn, business_id=business_id, call_id=refund_id, stripe_object=stripe_object
        ),
        context.counter,
    )
