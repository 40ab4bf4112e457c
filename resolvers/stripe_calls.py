"""Stripe calls made from a request: pending row first, call, result second.

Every Stripe request that creates something goes through `run`:

1. One transaction checks that the business can take payments, runs the caller's `prepare`
   (lock what changes, validate, write its own rows, e.g. a PENDING refund reserving its amount)
   and writes a PENDING `stripe_calls` row. It commits before Stripe hears anything, so a crash
   at any later point leaves a row to finish, never an unrecorded object at Stripe.
2. With no transaction open, the request goes to Stripe with the row's id as idempotency key and
   `metadata.pending_id`.
3. A second transaction records the result: the row becomes SUCCEEDED or FAILED and the kind's
   handler updates the caller's rows (the refund gets its Stripe id, or is failed and releases
   its amount).

After a timeout, lost connection or 5xx the outcome is unknown. The retry first lists what Stripe
holds and matches `metadata.pending_id` (the PaymentIntent's refunds, the customer's
SetupIntents); only when nothing matches is the request sent again, with the same key. When
Stripe still cannot be reached the row stays PENDING and `run` says so; the reconciler
(`server/reconciler.py`) finishes it once it is older than the request's whole budget, by
looking, never by sending.

A kind (`CallKind`) says how to send, how to find, and what to write on success and on failure;
the built-in kinds are customers, SetupIntents and refunds.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import timedelta
from functools import partial
from typing import Any, cast

from sqlalchemy import Table, func, insert, select, text, update
from sqlalchemy.ext.asyncio import AsyncConnection

from integrations.stripe_client import (
    ConnectedAccount,
    StripeGateway,
    StripePermanentError,
    StripeTransientError,
    StripeUnavailable,
)
from models import StripeCall
from schema.errors import ErrorCode, UserFacingError, user_error
from server.db import Database, StatementCounter

log = logging.getLogger(__name__)

PENDING = "PENDING"
SUCCEEDED = "SUCCEEDED"
FAILED = "FAILED"

# How many times `run` sends one request (the second only when listing found nothing).
SENDS = 2

calls = cast(Table, StripeCall.__table__)


def request_budget(stripe: StripeGateway) -> timedelta:
    """The longest `run` can spend talking to Stripe: each send may be followed by a list, and
    each may take the client's whole timeout. A row younger than this may still be in a
    request's hands."""
    return timedelta(seconds=2 * SENDS * stripe.timeout_s)


def provider_unavailable(message: str, field: str | None = None) -> UserFacingError:
    """What a mutation answers when payments are off: PAYMENT_PROVIDER_UNAVAILABLE as data."""
    return UserFacingError(user_error(ErrorCode.PAYMENT_PROVIDER_UNAVAILABLE, field, message))


@dataclass(frozen=True)
class PendingCall:
    """A `stripe_calls` row as the code sees it."""

    id: uuid.UUID
    business_id: uuid.UUID
    kind: str
    status: str
    stripe_account_id: str
    params: dict[str, Any]
    subject_id: uuid.UUID | None
    stripe_object_id: str | None = None


StripeObject = dict[str, Any]


@dataclass(frozen=True)
class CallKind:
    """One kind of creating call. `succeeded` and `failed` run inside the transaction that
    finishes the row (from the request, a webhook or the reconciler)."""

    name: str
    send: Callable[[ConnectedAccount, PendingCall], Awaitable[Any]]
    find: Callable[[ConnectedAccount, PendingCall], Awaitable[Any | None]]
    succeeded: Callable[[AsyncConnection, PendingCall, StripeObject], Awaitable[None]]
    failed: Callable[[AsyncConnection, PendingCall, str], Awaitable[None]]


KINDS: dict[str, CallKind] = {}


def register(kind: CallKind) -> CallKind:
    KINDS[kind.name] = kind
    return kind


@dataclass(frozen=True)
class CallRequest:
    """What `prepare` asks for: the kind, the JSON-able parameters (stored, then sent), the row
    it concerns, and the id (the idempotency key; pass the id of the row `prepare` wrote when
    one row should carry both, as refunds do)."""

    kind: CallKind
    params: dict[str, Any]
    subject_id: uuid.UUID | None = None
    id: uuid.UUID = field(default_factory=uuid.uuid4)


@dataclass(frozen=True)
class CallOutcome:
    """How `run` ended. PENDING: Stripe could not be reached; the reconciler will finish it."""

    call: PendingCall
    status: str
    stripe_object: Any | None = None
    failure_reason: str | None = None


def as_dict(obj: Any) -> StripeObject:
    if isinstance(obj, dict):
        return obj
    return cast(StripeObject, obj.to_dict())


async def run(
    database: Database,
    stripe: StripeGateway,
    business_id: uuid.UUID,
    prepare: Callable[[AsyncConnection], Awaitable[CallRequest]],
    *,
    counter: StatementCounter | None = None,
) -> CallOutcome:
    """Commit a pending call (with whatever `prepare` writes), make it, record the result.

    Call it with no transaction open. `prepare` may raise `UserFacingError` to refuse (nothing
    is written). Payments being off raises `UserFacingError(PAYMENT_PROVIDER_UNAVAILABLE)`
    before anything is written."""
    call = await begin(database, stripe, business_id, prepare, counter=counter)
    return await perform(database, stripe, call, counter=counter)


async def begin(
    database: Database,
    stripe: StripeGateway,
    business_id: uuid.UUID,
    prepare: Callable[[AsyncConnection], Awaitable[CallRequest]],
    *,
    counter: StatementCounter | None = None,
) -> PendingCall:
    """Step 1 of `run` alone: the transaction that runs `prepare` and commits the pending call.
    Whoever calls this owns sending it (`perform`); if they never do, the reconciler fails it."""
    if not stripe.configured:
        raise provider_unavailable("Payments are not configured.")
    try:
        return await database.run_mutation(
            business_id, partial(_begin, stripe, business_id, prepare), counter
        )
    except StripeUnavailable as error:
        raise provider_unavailable(str(error)) from error


async def _begin(
    stripe: StripeGateway,
    business_id: uuid.UUID,
    prepare: Callable[[AsyncConnection], Awaitable[CallRequest]],
    conn: AsyncConnection,
) -> PendingCall:
    account = (
        await conn.execute(
            text("SELECT stripe_account_id FROM businesses WHERE id = :id"), {"id": business_id}
        )
    ).scalar()
    stripe.for_account(account)
    request = await prepare(conn)
    await conn.execute(
        insert(calls).values(
            id=request.id,
            business_id=business_id,
            kind=request.kind.name,
            subject_id=request.subject_id,
            stripe_account_id=account,
            params=request.params,
        )
    )
    return PendingCall(
        id=request.id,
        business_id=business_id,
        kind=request.kind.name,
        status=PENDING,
        stripe_account_id=str(account),
        params=request.params,
        subject_id=request.subject_id,
    )


async def perform(
    database: Database,
    stripe: StripeGateway,
    call: PendingCall,
    *,
    counter: StatementCounter | None = None,
) -> CallOutcome:
    """Send a committed pending call and record what happened (step 2 and 3 of `run`)."""
    kind = KINDS[call.kind]
    account = stripe.for_account(call.stripe_account_id)
    for attempt in range(1, SENDS + 1):
        try:
            found = await kind.send(account, call)
        except StripePermanentError as error:
            return await _record(database, call, None, error.message, counter)
        except StripeTransientError as error:
            log.warning(
                "stripe %s %s: %s (attempt %d)", call.kind, call.id, error.summary(), attempt
            )
            log.debug("stripe %s %s: %s", call.kind, call.id, error)
            try:
                found = await kind.find(account, call)
            except (StripeTransientError, StripePermanentError) as lookup_error:
                log.warning(
                    "stripe %s %s: lookup failed: %s", call.kind, call.id, lookup_error.summary()
                )
                log.debug("stripe %s %s: lookup failed: %s", call.kind, call.id, lookup_error)
                break
            if found is None:
                continue
        return await _record(database, call, found, None, counter)
    return CallOutcome(call, PENDING)


async def _record(
    database: Database,
    call: PendingCall,
    found: Any | None,
    failure: str | None,
    counter: StatementCounter | None,
) -> CallOutcome:
    if found is not None:
        work = partial(
            complete_call,
            business_id=call.business_id,
            call_id=call.id,
            stripe_object=as_dict(found),
        )
    else:
        work = partial(
            fail_call,
            business_id=call.business_id,
            call_id=call.id,
            reason=failure or "Refused by Stripe.",
        )
    # None: the row went with its business meanwhile.
    status = await database.run_mutation(call.business_id, work, counter) or FAILED
    return CallOutcome(call, status, found, failure if status == FAILED else None)


async def load_call(
    conn: AsyncConnection,
    *,
    business_id: uuid.UUID,
    call_id: uuid.UUID,
    for_update: bool = False,
) -> PendingCall | None:
    query = select(calls).where(calls.c.business_id == business_id, calls.c.id == call_id)
    if for_update:
        query = query.with_for_update()
    row = (await conn.execute(query)).mappings().first()
    if row is None:
        return None
    return PendingCall(
        id=row["id"],
        business_id=row["business_id"],
        kind=row["kind"],
        status=row["status"],
        stripe_account_id=row["stripe_account_id"],
        params=row["params"],
        subject_id=row["subject_id"],
        stripe_object_id=row["stripe_object_id"],
    )


async def complete_call(
    conn: AsyncConnection,
    *,
    business_id: uuid.UUID,
    call_id: uuid.UUID,
    stripe_object: StripeObject,
) -> str | None:
    """Mark a pending call SUCCEEDED with the object Stripe made, and let its kind update our
    rows. A call already finished (by a webhook, the reconciler or a concurrent request) is left
    as it is. Returns the call's status, None when there is no such call."""
    call = await load_call(conn, business_id=business_id, call_id=call_id, for_update=True)
    if call is None:
        return None
    if call.status != PENDING:
        return call.status
    await conn.execute(
        update(calls)
        .where(calls.c.business_id == business_id, calls.c.id == call_id)
        .values(
            status=SUCCEEDED,
            stripe_object_id=stripe_object.get("id"),
            completed_at=func.now(),
            claimed_until=None,
        )
    )
    await KINDS[call.kind].succeeded(conn, call, stripe_object)
    return SUCCEEDED


async def fail_call(
    conn: AsyncConnection, *, business_id: uuid.UUID, call_id: uuid.UUID, reason: str
) -> str | None:
    """Mark a pending call FAILED (Stripe refused it, or has no trace of it) and let its kind
    release what it reserved. Returns the call's status, None when there is no such call."""
    call = await load_call(conn, business_id=business_id, call_id=call_id, for_update=True)
    if call is None:
        return None
    if call.status != PENDING:
        return call.status
    await conn.execute(
        update(calls)
        .where(calls.c.business_id == business_id, calls.c.id == call_id)
        .values(
            status=FAILED,
            failure_reason=reason[:500],
            completed_at=func.now(),
            claimed_until=None,
        )
    )
    await KINDS[call.kind].failed(conn, call, reason[:500])
    return FAILED


# Refunds ---------------------------------------------------------------------------------------
#
# A refund row is written PENDING by its mutation, with the same id as its call, and reserves its
# amount at once: `refunded_amount` on the payment (and on the booking, when there is one) grows
# in that transaction, so the CHECK constraints refuse refunding more than was paid even when
# two refunds race. FAILED gives the amount back; SUCCEEDED keeps it.

REFUND_COUNTED = frozenset({PENDING, SUCCEEDED})


def refund_status_from_stripe(status: str | None) -> str:
    """Our status for a refund Stripe holds. Stripe's `pending` and `requires_action` are
    refunds it has accepted: they count as made until Stripe reports them failed or canceled."""
    return FAILED if status in ("failed", "canceled") else SUCCEEDED


async def set_refund_status(
    conn: AsyncConnection,
    business_id: uuid.UUID,
    refund_id: uuid.UUID,
    status: str,
    *,
    stripe_refund_id: str | None = None,
    failure_reason: str | None = None,
) -> bool:
    """Move a refund to `status`, giving its amount back to (or taking it again from) the
    payment and booking when it leaves (or re-enters) the counted states. False when there is
    no such refund in this business."""
    row = (
        (
            await conn.execute(
                text(
                    "SELECT payment_id, booking_id, amount, status FROM refunds "
                    "WHERE business_id = :b AND id = :id FOR UPDATE"
                ),
                {"b": business_id, "id": refund_id},
            )
        )
        .mappings()
        .first()
    )
    if row is None:
        return False
    was_counted = row["status"] in REFUND_COUNTED
    counted = status in REFUND_COUNTED
    delta = 0 if was_counted == counted else (row["amount"] if counted else -row["amount"])
    await conn.execute(
        text(
            "UPDATE refunds SET status = :status, "
            "stripe_refund_id = coalesce(:stripe_refund_id, stripe_refund_id), "
            "failure_reason = CASE WHEN :failed "
            "THEN coalesce(:failure_reason, failure_reason) END, "
            "updated_at = now() WHERE business_id = :b AND id = :id"
        ),
        {
            "b": business_id,
            "id": refund_id,
            "status": status,
            "failed": status == FAILED,
            "stripe_refund_id": stripe_refund_id,
            "failure_reason": failure_reason[:500] if failure_reason else None,
        },
    )
    if delta:
        await conn.execute(
            text(
                "UPDATE payments SET refunded_amount = refunded_amount + :d, updated_at = now() "
                "WHERE business_id = :b AND id = :id"
            ),
            {"d": delta, "b": business_id, "id": row["payment_id"]},
        )
        if row["booking_id"] is not None:
            await conn.execute(
                text(
                    "UPDATE bookings SET refunded_amount = refunded_amount + :d, "
                    "updated_at = now() WHERE business_id = :b AND id = :id"
                ),
                {"d": delta, "b": business_id, "id": row["booking_id"]},
            )
    return True


async def _refund_send(account: ConnectedAccount, call: PendingCall) -> Any:
    return await account.create_refund(
        pending_id=call.id,
        payment_intent=call.params["payment_intent"],
        amount=int(call.params["amount"]),
        reason=call.params.get("reason"),
    )


async def _refund_find(account: ConnectedAccount, call: PendingCall) -> Any | None:
    return await account.find_by_pending_id(
        "refunds", call.id, {"payment_intent": call.params["payment_intent"]}
    )


async def _refund_succeeded(conn: AsyncConnection, call: PendingCall, obj: StripeObject) -> None:
    assert call.subject_id is not None
    await set_refund_status(
        conn,
        call.business_id,
        call.subject_id,
        refund_status_from_stripe(obj.get("status")),
        stripe_refund_id=obj.get("id"),
        failure_reason=obj.get("failure_reason"),
    )


async def _refund_failed(conn: AsyncConnection, call: PendingCall, reason: str) -> None:
    assert call.subject_id is not None
    await set_refund_status(conn, call.business_id, call.subject_id, FAILED, failure_reason=reason)


REFUND = register(
    CallKind("refund.create", _refund_send, _refund_find, _refund_succeeded, _refund_failed)
)


def refund_request(
    refund_id: uuid.UUID, *, payment_intent: str, amount: int, reason: str | None
) -> CallRequest:
    """The call for a PENDING refund row `prepare` has just written (same id)."""
    return CallRequest(
        REFUND,
        {"payment_intent": payment_intent, "amount": amount, "reason": reason},
        subject_id=refund_id,
        id=refund_id,
    )


# Stripe customers ------------------------------------------------------------------------------


async def _customer_send(account: ConnectedAccount, call: PendingCall) -> Any:
    return await account.create_customer(
        pending_id=call.id,
        email=call.params.get("email"),
        name=call.params.get("name"),
        metadata={"customer_id": str(call.subject_id)} if call.subject_id else None,
    )


async def _customer_find(account: ConnectedAccount, call: PendingCall) -> Any | None:
    email = call.params.get("email")
    return await account.find_by_pending_id("customers", call.id, {"email": email} if email else {})


async def _customer_succeeded(conn: AsyncConnection, call: PendingCall, obj: StripeObject) -> None:
    # A customer who already has a Stripe customer keeps it: their cards live there.
    await conn.execute(
        text(
            "UPDATE customers SET stripe_customer_id = :sid "
            "WHERE business_id = :b AND id = :id AND stripe_customer_id IS NULL"
        ),
        {"sid": obj["id"], "b": call.business_id, "id": call.subject_id},
    )


async def _nothing_to_release(conn: AsyncConnection, call: PendingCall, reason: str) -> None:
    return None


CUSTOMER = register(
    CallKind(
        "customer.create", _customer_send, _customer_find, _customer_succeeded, _nothing_to_release
    )
)


def customer_request(customer_id: uuid.UUID, *, email: str | None, name: str) -> CallRequest:
    """The call that gives our customer a Stripe customer (stored on success)."""
    return CallRequest(CUSTOMER, {"email": email, "name": name}, subject_id=customer_id)


# SetupIntents ----------------------------------------------------------------------------------


async def _setup_send(account: ConnectedAccount, call: PendingCall) -> Any:
    return await account.create_setup_intent(pending_id=call.id, customer=call.params["customer"])


async def _setup_find(account: ConnectedAccount, call: PendingCall) -> Any | None:
    return await account.find_by_pending_id(
        "setup_intents", call.id, {"customer": call.params["customer"]}
    )


async def _setup_succeeded(conn: AsyncConnection, call: PendingCall, obj: StripeObject) -> None:
    # The call row keeps the SetupIntent's id; the card is stored when the setup completes.
    return None


SETUP_INTENT = register(
    CallKind("setup_intent.create", _setup_send, _setup_find, _setup_succeeded, _nothing_to_release)
)


def setup_intent_request(customer_id: uuid.UUID, *, stripe_customer_id: str) -> CallRequest:
    """The call that starts saving a card for our customer (their Stripe customer must exist)."""
    return CallRequest(SETUP_INTENT, {"customer": stripe_customer_id}, subject_id=customer_id)
