"""Refunding Stripe-paid bookings through GraphQL against localstripe: full and partial refunds,
retries that refund once, lost answers, refusals, payments switched off, the reconciler and
webhook events finishing what a request could not.

What reached Stripe is read from localstripe (its refunds and the requests it received), never
from a mock."""

from __future__ import annotations

import json
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import asyncpg
import pytest

from integrations.stripe_client import StripeGateway, metadata_of
from server.db import Database
from server.reconciler import NOT_AT_STRIPE, reconcile_once
from tests import factories
from tests.conftest import Api
from tests.fixtures_stripe import LocalStripe, StripePayment, stripe_payment
from tests.test_bookings import categories, history
from tests.test_webhooks import _event, _signature

REFUND_FIELDS = """
id number status reason failureReason customerName participantName
amount { amount currency } customer { id } booking { id }
payment { amount { amount } refundedAmount { amount } }
"""
BOOKING_FIELDS = "id state paidThroughStripe cancelledAt refundedAmount { amount currency }"
REFUND = f"""
mutation($input: BookingRefundInput!) {{ bookingRefund(input: $input) {{
  refund {{ {REFUND_FIELDS} }} booking {{ {BOOKING_FIELDS} }}
  errors {{ code field message }} }} }}
"""
BOOKING = f"""
query($id: ID!) {{ _entities(representations: [{{__typename: "Booking", id: $id}}]) {{
  ... on Booking {{ {BOOKING_FIELDS} }} }} }}
"""


@dataclass(frozen=True)
class PaidBooking:
    """A booking paid by card at localstripe: Grace Hopper takes part herself."""

    payment: StripePayment
    booking_id: uuid.UUID
    customer: asyncpg.Record
    participant: asyncpg.Record
    session_id: uuid.UUID
    staff: str


async def stripe_booking(
    api: Api,
    owner: factories.Owner,
    gateway: StripeGateway,
    *,
    amount: int = 5000,
    payment_intent: str | None = None,
) -> PaidBooking:
    """A business with a connected account, a card payment made at localstripe and the
    COMPLETED booking it paid for (tomorrow's session). `payment_intent` replaces the real
    PaymentIntent on our rows (one Stripe does not know refuses every refund)."""
    payment = await stripe_payment(owner, gateway, amount=amount)
    if payment_intent is not None:
        await owner.c.execute(
            "UPDATE payments SET stripe_payment_intent_id = $1 WHERE id = $2",
            payment_intent,
            payment.payment_id,
        )
    b = payment.business_id
    customer = await owner.c.fetchrow("SELECT * FROM customers WHERE id = $1", payment.customer_id)
    assert customer is not None
    participant = await factories.participant(owner, customer, is_self=True)
    event = await owner.insert("events", business_id=b, name="Harbour Swim")
    starts = (datetime.now(UTC) + timedelta(days=1)).replace(minute=0, second=0, microsecond=0)
    session = await owner.insert(
        "sessions",
        business_id=b,
        event_id=event["id"],
        starts_at=starts,
        ends_at=starts + timedelta(hours=1),
        time_zone="Europe/London",
        capacity=10,
    )
    booking = await owner.insert(
        "bookings",
        business_id=b,
        customer_id=customer["id"],
        customer_name="Grace Hopper",
        participant_id=participant["id"],
        participant_name="Grace Hopper",
        session_id=session["id"],
        booked_at=datetime.now(UTC),
        state="COMPLETED",
        paid_with="STRIPE",
        price_amount=amount,
        currency="GBP",
        payment_id=payment.payment_id,
    )
    staff = await owner.c.fetchval(
        "SELECT id FROM staff_users WHERE business_id = $1 AND role = 'STAFF'", b
    )
    return PaidBooking(
        payment=payment,
        booking_id=booking["id"],
        customer=customer,
        participant=participant,
        session_id=session["id"],
        staff=api.token(b, "staff", staff),
    )


async def refund(
    api: Api,
    paid: PaidBooking,
    amount: int,
    *,
    key: uuid.UUID | None = None,
    reason: str | None = "Class moved",
    booking_id: Any = None,
) -> dict[str, Any]:
    variables = {
        "id": str(booking_id or paid.booking_id),
        "amount": amount,
        "reason": reason,
        "idempotencyKey": str(key or uuid.uuid4()),
    }
    result: dict[str, Any] = (await api.data(REFUND, {"input": variables}, paid.staff))[
        "bookingRefund"
    ]
    return result


async def amounts(owner: factories.Owner, paid: PaidBooking) -> tuple[int, int]:
    """(refunded on the payment, refunded on the booking)."""
    row = await owner.c.fetchrow(
        "SELECT p.refunded_amount AS payment, b.refunded_amount AS booking FROM bookings b "
        "JOIN payments p ON p.id = b.payment_id WHERE b.id = $1",
        paid.booking_id,
    )
    assert row is not None
    return row["payment"], row["booking"]


async def at_stripe(gateway: StripeGateway, paid: PaidBooking) -> list[Any]:
    account = gateway.for_account(paid.payment.account)
    return await account.list_refunds(payment_intent=paid.payment.payment_intent)


def error_of(payload: dict[str, Any]) -> tuple[str, str | None]:
    (error,) = payload["errors"]
    return error["code"], error["field"]


async def test_a_partial_refund_then_the_rest_and_never_more(
    stripe_api: Api,
    owner: factories.Owner,
    stripe_gateway: StripeGateway,
    localstripe: LocalStripe,
) -> None:
    paid = await stripe_booking(stripe_api, owner, stripe_gateway)
    key = uuid.uuid4()

    result = await refund(stripe_api, paid, 2000, key=key)

    assert result["errors"] == []
    assert result["refund"] == {
        "id": str(key),
        "number": 1,
        "status": "SUCCEEDED",
        "reason": "Class moved",
        "failureReason": None,
        "customerName": "Grace Hopper",
        "participantName": "Grace Hopper",
        "amount": {"amount": 2000, "currency": "GBP"},
        "customer": {"id": str(paid.customer["id"])},
        "booking": {"id": str(paid.booking_id)},
        "payment": {"amount": {"amount": 5000}, "refundedAmount": {"amount": 2000}},
    }
    # The state stays and the seat is kept; only the refunded amount grows.
    assert result["booking"] == {
        "id": str(paid.booking_id),
        "state": "COMPLETED",
        "paidThroughStripe": True,
        "cancelledAt": None,
        "refundedAmount": {"amount": 2000, "currency": "GBP"},
    }
    (made,) = await at_stripe(stripe_gateway, paid)
    assert (made.amount, metadata_of(made)) == (
        2000,
        {"pending_id": str(key), "reason": "Class moved"},
    )
    (sent,) = localstripe.sent("POST", "/v1/refunds")
    assert (sent.headers["Idempotency-Key"], sent.headers["Stripe-Account"]) == (
        str(key),
        paid.payment.account,
    )
    assert (
        await owner.c.fetchval("SELECT stripe_refund_id FROM refunds WHERE id = $1", key) == made.id
    )
    assert await history(owner, paid.customer) == [
        {
            "action": "booking.refund_requested",
            "actor_kind": "STAFF",
            "actor_name": "Sam Staff",
            "customer_name": "Grace Hopper",
            "subject_type": "Booking",
            "subject_id": str(paid.booking_id),
            "before": {"refunded_amount": 0},
            "after": {
                "refunded_amount": 2000,
                "refund_id": str(key),
                "amount": 2000,
                "currency": "GBP",
                "reason": "Class moved",
            },
        }
    ]

    rest = await refund(stripe_api, paid, 3000, reason=None)
    assert rest["errors"] == []
    assert (rest["refund"]["status"], rest["refund"]["reason"]) == ("SUCCEEDED", None)
    assert rest["booking"]["refundedAmount"] == {"amount": 5000, "currency": "GBP"}

    more = await refund(stripe_api, paid, 1)
    assert (more["refund"], more["booking"], error_of(more)) == (
        None,
        None,
        ("EXCEEDS_REFUNDABLE", "input.amount"),
    )
    assert more["errors"][0]["message"] == "At most 0 (GBP, minor units) remains to be refunded."
    assert sorted(r.amount for r in await at_stripe(stripe_gateway, paid)) == [2000, 3000]
    assert await amounts(owner, paid) == (5000, 5000)
    assert await owner.c.fetchval("SELECT state FROM bookings WHERE id = $1", paid.booking_id) == (
        "COMPLETED"
    )
    await categories(owner)


async def test_a_retry_with_the_same_key_refunds_once(
    stripe_api: Api,
    owner: factories.Owner,
    stripe_gateway: StripeGateway,
    localstripe: LocalStripe,
) -> None:
    paid = await stripe_booking(stripe_api, owner, stripe_gateway)
    other = await stripe_booking(stripe_api, owner, stripe_gateway)
    key = uuid.uuid4()

    first = await refund(stripe_api, paid, 1500, key=key)
    again = await refund(stripe_api, paid, 1500, key=key)

    assert first["errors"] == again["errors"] == []
    assert again["refund"] == first["refund"]
    assert again["booking"]["refundedAmount"]["amount"] == 1500
    assert len(localstripe.sent("POST", "/v1/refunds")) == 1
    assert len(await at_stripe(stripe_gateway, paid)) == 1
    # The same key for something else is refused; nothing moves.
    for amount, booking in ((1000, paid.booking_id), (1500, other.booking_id)):
        misused = await refund(stripe_api, paid, amount, key=key, booking_id=booking)
        assert error_of(misused) == ("INVALID", "input.idempotencyKey")
    assert await amounts(owner, paid) == (1500, 1500)
    assert await amounts(owner, other) == (0, 0)
    assert await owner.c.fetchval("SELECT count(*) FROM refunds") == 1
    assert len(localstripe.sent("POST", "/v1/refunds")) == 1


async def test_a_retry_after_a_lost_answer_finds_the_refund_without_sending_again(
    stripe_api: Api,
    owner: factories.Owner,
    stripe_gateway: StripeGateway,
    localstripe: LocalStripe,
) -> None:
    paid = await stripe_booking(stripe_api, owner, stripe_gateway)
    key = uuid.uuid4()
    # Stripe makes the refund but the answer is lost, and the look that follows fails too.
    localstripe.fail("POST", "/v1/refunds", when="after", action="drop")
    localstripe.fail("GET", "/v1/refunds", when="before", action="error")

    first = await refund(stripe_api, paid, 1200, key=key)

    assert first["errors"] == []
    assert first["refund"]["status"] == "PENDING"
    # Reserved meanwhile: the amount counts as refunded until Stripe says otherwise.
    assert first["booking"]["refundedAmount"]["amount"] == 1200
    assert await amounts(owner, paid) == (1200, 1200)

    again = await refund(stripe_api, paid, 1200, key=key)

    assert again["errors"] == []
    assert (again["refund"]["id"], again["refund"]["status"]) == (str(key), "SUCCEEDED")
    (made,) = await at_stripe(stripe_gateway, paid)
    assert (
        await owner.c.fetchval("SELECT stripe_refund_id FROM refunds WHERE id = $1", key) == made.id
    )
    assert len(localstripe.sent("POST", "/v1/refunds")) == 1
    assert await amounts(owner, paid) == (1200, 1200)


async def test_a_refund_stripe_refuses_fails_and_gives_the_amount_back(
    stripe_api: Api,
    owner: factories.Owner,
    stripe_gateway: StripeGateway,
    localstripe: LocalStripe,
) -> None:
    paid = await stripe_booking(
        stripe_api, owner, stripe_gateway, payment_intent="pi_unknownatstripe"
    )

    result = await refund(stripe_api, paid, 800)

    assert error_of(result) == ("PAYMENT_REFUSED", None)
    assert result["errors"][0]["message"].startswith("The refund did not go through: ")
    assert result["refund"]["status"] == "FAILED"
    assert result["refund"]["failureReason"]
    assert result["refund"]["payment"]["refundedAmount"] == {"amount": 0}
    assert result["booking"]["refundedAmount"]["amount"] == 0
    assert await amounts(owner, paid) == (0, 0)


async def test_only_stripe_paid_bookings_and_sane_amounts_are_refunded(
    stripe_api: Api,
    owner: factories.Owner,
    stripe_gateway: StripeGateway,
    localstripe: LocalStripe,
) -> None:
    paid = await stripe_booking(stripe_api, owner, stripe_gateway)
    elsewhere = await stripe_booking(stripe_api, owner, stripe_gateway)
    manual_payment = await factories.manual_payment(owner, paid.customer, 1200)
    manual = await owner.insert(
        "bookings",
        business_id=paid.payment.business_id,
        customer_id=paid.customer["id"],
        customer_name="Grace Hopper",
        session_id=paid.session_id,
        booked_at=datetime.now(UTC),
        state="MANUAL",
        paid_with="MANUAL",
        price_amount=1200,
        currency="GBP",
        payment_id=manual_payment["id"],
    )
    free = await owner.insert(
        "bookings",
        business_id=paid.payment.business_id,
        customer_id=paid.customer["id"],
        customer_name="Grace Hopper",
        session_id=paid.session_id,
        booked_at=datetime.now(UTC),
        state="MANUAL",
        paid_with="FREE",
        price_amount=0,
        currency="GBP",
    )
    localstripe.requests.clear()

    cases: list[tuple[dict[str, Any], tuple[str, str | None]]] = [
        ({"booking_id": manual["id"]}, ("INVALID_STATE", "input.id")),
        ({"booking_id": free["id"]}, ("INVALID_STATE", "input.id")),
        ({"booking_id": elsewhere.booking_id}, ("NOT_FOUND", "input.id")),
        ({"booking_id": uuid.uuid4()}, ("NOT_FOUND", "input.id")),
        ({"amount": 0}, ("OUT_OF_RANGE", "input.amount")),
        ({"amount": -500}, ("OUT_OF_RANGE", "input.amount")),
        ({"amount": 10_000_001}, ("OUT_OF_RANGE", "input.amount")),
        ({"amount": 5001}, ("EXCEEDS_REFUNDABLE", "input.amount")),
        ({"reason": "x" * 501}, ("TOO_LONG", "input.reason")),
    ]
    for values, expected in cases:
        amount = values.pop("amount", 100)
        result = await refund(stripe_api, paid, amount, **values)
        assert (result["refund"], error_of(result)) == (None, expected), values

    body = await stripe_api.post(
        REFUND,
        {"input": {"id": str(paid.booking_id), "amount": 1, "idempotencyKey": "not-a-uuid"}},
        paid.staff,
    )
    (error,) = body["errors"]
    assert (error["extensions"]["code"], error["extensions"]["field"]) == (
        "INVALID_ARGUMENT",
        "input.idempotencyKey",
    )
    member = stripe_api.token(paid.payment.business_id, "customer", paid.customer["id"])
    denied = await stripe_api.post(
        REFUND,
        {"input": {"id": str(paid.booking_id), "amount": 1, "idempotencyKey": str(uuid.uuid4())}},
        member,
    )
    assert [e["extensions"]["code"] for e in denied["errors"]] == ["FORBIDDEN"]
    assert await owner.c.fetchval("SELECT count(*) FROM refunds") == 0
    assert await owner.c.fetchval("SELECT count(*) FROM stripe_calls") == 0
    assert localstripe.sent(path="/v1/refunds") == []


async def test_without_payments_the_refund_is_unavailable_and_nothing_is_written(
    api: Api,
    stripe_api: Api,
    owner: factories.Owner,
    stripe_gateway: StripeGateway,
    localstripe: LocalStripe,
) -> None:
    paid = await stripe_booking(stripe_api, owner, stripe_gateway)
    # `api` has no Stripe key (the demo); then a business without a connected account.
    unconfigured = await refund(api, paid, 100)
    assert error_of(unconfigured) == ("PAYMENT_PROVIDER_UNAVAILABLE", None)
    await owner.c.execute(
        "UPDATE businesses SET stripe_account_id = NULL WHERE id = $1", paid.payment.business_id
    )
    unconnected = await refund(stripe_api, paid, 100)
    assert error_of(unconnected) == ("PAYMENT_PROVIDER_UNAVAILABLE", None)
    assert await owner.c.fetchval("SELECT count(*) FROM refunds") == 0
    assert await amounts(owner, paid) == (0, 0)


async def test_unreachable_stripe_leaves_it_pending_until_the_reconciler_decides(
    stripe_api: Api,
    owner: factories.Owner,
    payments_db: Database,
    stripe_gateway: StripeGateway,
    localstripe: LocalStripe,
) -> None:
    paid = await stripe_booking(stripe_api, owner, stripe_gateway)
    localstripe.fail("POST", "/v1/refunds", when="before", action="error")
    localstripe.fail("GET", "/v1/refunds", when="before", action="error")

    result = await refund(stripe_api, paid, 900)

    assert result["errors"] == []
    assert result["refund"]["status"] == "PENDING"
    assert await amounts(owner, paid) == (900, 900)
    # A second refund meanwhile sees the reservation.
    over = await refund(stripe_api, paid, 4200)
    assert error_of(over) == ("EXCEEDS_REFUNDABLE", "input.amount")

    report = await reconcile_once(payments_db, stripe_gateway, age=timedelta(0))

    assert report.failed == [uuid.UUID(result["refund"]["id"])]
    row = await owner.c.fetchrow(
        "SELECT status, failure_reason FROM refunds WHERE id = $1",
        uuid.UUID(result["refund"]["id"]),
    )
    assert row is not None and dict(row) == {"status": "FAILED", "failure_reason": NOT_AT_STRIPE}
    assert await amounts(owner, paid) == (0, 0)
    assert await at_stripe(stripe_gateway, paid) == []


async def test_a_webhook_event_moves_the_refund_and_the_booking_with_it(
    stripe_api: Api,
    owner: factories.Owner,
    stripe_gateway: StripeGateway,
    localstripe: LocalStripe,
) -> None:
    paid = await stripe_booking(stripe_api, owner, stripe_gateway)
    made = (await refund(stripe_api, paid, 2500))["refund"]
    (at,) = await at_stripe(stripe_gateway, paid)
    body = _event(
        "charge.refund.updated",
        {
            "id": at.id,
            "object": "refund",
            "amount": 2500,
            "status": "failed",
            "failure_reason": "expired_or_canceled_card",
            "metadata": {"pending_id": made["id"]},
        },
        account=paid.payment.account,
    )

    response = await stripe_api.http.post(
        "/webhooks/stripe",
        content=body,
        headers={"Content-Type": "application/json", "Stripe-Signature": _signature(body)},
    )

    assert response.json()["outcome"] == "applied"
    booking = (await stripe_api.data(BOOKING, {"id": str(paid.booking_id)}, paid.staff))[
        "_entities"
    ][0]
    assert booking["refundedAmount"] == {"amount": 0, "currency": "GBP"}
    row = await owner.c.fetchrow(
        "SELECT status, failure_reason FROM refunds WHERE id = $1", uuid.UUID(made["id"])
    )
    assert row is not None and dict(row) == {
        "status": "FAILED",
        "failure_reason": "expired_or_canceled_card",
    }
    assert await amounts(owner, paid) == (0, 0)


async def test_a_transferred_or_cancelled_booking_refunds_its_payer(
    stripe_api: Api,
    owner: factories.Owner,
    stripe_gateway: StripeGateway,
    localstripe: LocalStripe,
) -> None:
    paid = await stripe_booking(stripe_api, owner, stripe_gateway)
    friend = await factories.customer(owner, paid.payment.business_id, "Flo", "Friend")
    await factories.participant(owner, friend, is_self=True)
    moved = await stripe_api.data(
        "mutation($id: ID!, $to: ID) { bookingTransfer(id: $id, toCustomerId: $to) { "
        "errors { code } } }",
        {"id": str(paid.booking_id), "to": str(friend["id"])},
        paid.staff,
    )
    assert moved["bookingTransfer"]["errors"] == []
    cancelled = await stripe_api.data(
        "mutation($id: ID!) { bookingCancel(id: $id) { booking { state } errors { code } } }",
        {"id": str(paid.booking_id)},
        paid.staff,
    )
    # Cancelling never returns money: the refund is how it goes back.
    assert cancelled["bookingCancel"] == {"booking": {"state": "CANCELLED"}, "errors": []}
    assert await amounts(owner, paid) == (0, 0)

    result = await refund(stripe_api, paid, 5000)

    assert result["errors"] == []
    assert result["refund"]["customer"] == {"id": str(paid.customer["id"])}
    assert (result["refund"]["customerName"], result["refund"]["participantName"]) == (
        "Grace Hopper",
        None,
    )
    assert result["booking"]["state"] == "CANCELLED"
    assert result["booking"]["refundedAmount"]["amount"] == 5000
    for customer, name in ((paid.customer, "Grace Hopper"), (friend, "Flo Friend")):
        entries = [
            e for e in await history(owner, customer) if e["action"] == "booking.refund_requested"
        ]
        assert [(e["customer_name"], e["after"]["amount"]) for e in entries] == [(name, 5000)]
    assert json.dumps(sorted((await categories(owner)).values())) == json.dumps(
        ["PRIMARY", "PRIMARY"]
    )


@pytest.mark.parametrize("amount", [1, 4999])
async def test_small_and_almost_full_refunds_leave_the_rest_refundable(
    stripe_api: Api,
    owner: factories.Owner,
    stripe_gateway: StripeGateway,
    localstripe: LocalStripe,
    amount: int,
) -> None:
    paid = await stripe_booking(stripe_api, owner, stripe_gateway)
    assert (await refund(stripe_api, paid, amount))["errors"] == []
    last = await refund(stripe_api, paid, 5000 - amount)
    assert last["errors"] == []
    assert last["booking"]["refundedAmount"]["amount"] == 5000
    assert sum(r.amount for r in await at_stripe(stripe_gateway, paid)) == 5000
