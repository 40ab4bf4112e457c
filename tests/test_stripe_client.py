"""The Stripe wrapper and the pending-call pattern, against localstripe.

What is asserted about the wire (the `Stripe-Account` header, idempotency keys, what was sent
after a failure) is read from the requests localstripe received, not from a mock."""

from __future__ import annotations

import uuid
from typing import Any

import pytest
from sqlalchemy.ext.asyncio import AsyncConnection

from integrations.stripe_client import (
    StripeGateway,
    StripePermanentError,
    StripeTransientError,
    StripeUnavailable,
    metadata_of,
)
from resolvers import stripe_calls
from schema.errors import ErrorCode, UserFacingError
from server.db import Database
from tests import factories
from tests.fixtures_stripe import (
    LocalStripe,
    StripePayment,
    connected_account,
    reserve_refund,
    stripe_payment,
)


async def _refund(
    database: Database, gateway: StripeGateway, payment: StripePayment, amount: int
) -> tuple[uuid.UUID, stripe_calls.CallOutcome]:
    refund_ids: list[uuid.UUID] = []

    async def prepare(conn: AsyncConnection) -> stripe_calls.CallRequest:
        refund_id = await reserve_refund(conn, payment, amount, reason="Class cancelled")
        refund_ids.append(refund_id)
        return stripe_calls.refund_request(
            refund_id,
            payment_intent=payment.payment_intent,
            amount=amount,
            reason="Class cancelled",
        )

    outcome = await stripe_calls.run(database, gateway, payment.business_id, prepare)
    return refund_ids[-1], outcome


async def _refund_row(owner: factories.Owner, refund_id: uuid.UUID) -> dict[str, Any]:
    row = await owner.c.fetchrow(
        "SELECT r.status, r.stripe_refund_id, r.failure_reason, p.refunded_amount "
        "FROM refunds r JOIN payments p ON p.id = r.payment_id WHERE r.id = $1",
        refund_id,
    )
    assert row is not None
    return dict(row)


async def _call_row(owner: factories.Owner, call_id: uuid.UUID) -> dict[str, Any]:
    row = await owner.c.fetchrow(
        "SELECT status, stripe_object_id, failure_reason FROM stripe_calls WHERE id = $1", call_id
    )
    assert row is not None
    return dict(row)


async def _refunds_at_stripe(gateway: StripeGateway, payment: StripePayment) -> list[Any]:
    account = gateway.for_account(payment.account)
    return await account.list_refunds(payment_intent=payment.payment_intent)


# Payments off ----------------------------------------------------------------------------------


async def test_without_an_api_key_payment_actions_answer_provider_unavailable(
    payments_db: Database, owner: factories.Owner
) -> None:
    business = await factories.business(owner, stripe_account_id=connected_account())
    gateway = StripeGateway("")

    async def prepare(conn: AsyncConnection) -> stripe_calls.CallRequest:
        raise AssertionError("nothing may be prepared when payments are off")

    with pytest.raises(UserFacingError) as raised:
        await stripe_calls.run(payments_db, gateway, business.id, prepare)
    assert [e.code for e in raised.value.errors] == [ErrorCode.PAYMENT_PROVIDER_UNAVAILABLE]
    with pytest.raises(StripeUnavailable):
        gateway.for_account("acct_x")
    assert await owner.c.fetchval("SELECT count(*) FROM stripe_calls") == 0


async def test_a_business_without_a_connected_account_answers_provider_unavailable(
    payments_db: Database,
    owner: factories.Owner,
    stripe_gateway: StripeGateway,
    localstripe: LocalStripe,
) -> None:
    business = await factories.business(owner)

    async def prepare(conn: AsyncConnection) -> stripe_calls.CallRequest:
        raise AssertionError("nothing may be prepared without a connected account")

    with pytest.raises(UserFacingError) as raised:
        await stripe_calls.run(payments_db, stripe_gateway, business.id, prepare)
    (error,) = raised.value.errors
    assert error.code == ErrorCode.PAYMENT_PROVIDER_UNAVAILABLE
    assert "connected a Stripe account" in error.message
    with pytest.raises(StripeUnavailable):
        stripe_gateway.for_account(None)
    assert await owner.c.fetchval("SELECT count(*) FROM stripe_calls") == 0
    assert localstripe.requests == []


# The wire --------------------------------------------------------------------------------------


async def test_every_request_names_the_connected_account_and_creations_carry_their_key(
    stripe_gateway: StripeGateway, localstripe: LocalStripe
) -> None:
    account_id = connected_account()
    account = stripe_gateway.for_account(account_id)
    keys = {name: uuid.uuid4() for name in ("customer", "setup", "intent", "refund")}

    customer = await account.create_customer(
        pending_id=keys["customer"], email="grace@example.com", name="Grace Hopper"
    )
    setup = await account.create_setup_intent(pending_id=keys["setup"], customer=customer.id)
    assert setup.client_secret
    assert (await account.retrieve_setup_intent(setup.id)).id == setup.id
    assert [s.id for s in await account.list_setup_intents(customer=customer.id)] == [setup.id]
    card = await account.attach_payment_method("pm_card_visa", customer=customer.id)
    assert [m.id for m in await account.list_payment_methods(customer=customer.id)] == [card.id]
    intent = await account.create_payment_intent(
        pending_id=keys["intent"],
        amount=2000,
        currency="GBP",
        customer=customer.id,
        payment_method=card.id,
        confirm=True,
    )
    refund = await account.create_refund(
        pending_id=keys["refund"], payment_intent=intent.id, amount=500, reason="Moved away"
    )
    assert metadata_of(refund) == {"pending_id": str(keys["refund"]), "reason": "Moved away"}
    assert [r.id for r in await account.list_refunds(payment_intent=intent.id)] == [refund.id]
    found = await account.find_by_pending_id(
        "refunds", keys["refund"], {"payment_intent": intent.id}
    )
    assert found is not None and found.id == refund.id
    assert (
        await account.find_by_pending_id("refunds", uuid.uuid4(), {"payment_intent": intent.id})
        is None
    )
    await account.detach_payment_method(card.id)

    api_requests = localstripe.sent(path="/v1/")
    assert len(api_requests) == 12
    assert {r.headers.get("Stripe-Account") for r in api_requests} == {account_id}
    creations = {
        "/v1/customers": "customer",
        "/v1/setup_intents": "setup",
        "/v1/payment_intents": "intent",
        "/v1/refunds": "refund",
    }
    for path, name in creations.items():
        (sent,) = [r for r in localstripe.sent("POST", path) if r.path == path]
        assert sent.headers["Idempotency-Key"] == str(keys[name])
        assert sent.form["metadata[pending_id]"] == str(keys[name])
    # Stripe's `reason` takes three fixed values: the staff's words travel in metadata.
    (refund_request,) = localstripe.sent("POST", "/v1/refunds")
    assert "reason" not in refund_request.form
    assert refund_request.form["metadata[reason]"] == "Moved away"


async def test_errors_are_sorted_into_transient_and_permanent(
    stripe_gateway: StripeGateway, localstripe: LocalStripe
) -> None:
    account = stripe_gateway.for_account(connected_account())

    with pytest.raises(StripePermanentError) as declined:
        await account.create_payment_intent(
            pending_id=uuid.uuid4(),
            amount=1000,
            currency="GBP",
            payment_method="pm_card_chargeCustomerFail",
            confirm=True,
        )
    assert (declined.value.http_status, declined.value.code) == (402, "card_declined")

    with pytest.raises(StripePermanentError) as invalid:
        await account.create_refund(pending_id=uuid.uuid4(), payment_intent="pi_missing", amount=1)
    assert invalid.value.http_status == 404

    for action in ("error", "drop", "late"):
        localstripe.fail("POST", "/v1/customers", when="before", action=action, late_s=1.5)
        with pytest.raises(StripeTransientError):
            await account.create_customer(pending_id=uuid.uuid4())


# The pending-call pattern ----------------------------------------------------------------------


async def test_a_refund_is_recorded_with_its_own_id_as_the_idempotency_key(
    payments_db: Database,
    owner: factories.Owner,
    stripe_gateway: StripeGateway,
    localstripe: LocalStripe,
) -> None:
    payment = await stripe_payment(owner, stripe_gateway)

    refund_id, outcome = await _refund(payments_db, stripe_gateway, payment, 1200)

    assert outcome.status == stripe_calls.SUCCEEDED
    (at_stripe,) = await _refunds_at_stripe(stripe_gateway, payment)
    assert at_stripe.amount == 1200
    assert await _refund_row(owner, refund_id) == {
        "status": "SUCCEEDED",
        "stripe_refund_id": at_stripe.id,
        "failure_reason": None,
        "refunded_amount": 1200,
    }
    assert (await _call_row(owner, refund_id))["stripe_object_id"] == at_stripe.id
    (sent,) = localstripe.sent("POST", "/v1/refunds")
    assert sent.headers["Idempotency-Key"] == str(refund_id)
    assert sent.form["metadata[pending_id]"] == str(refund_id)


@pytest.mark.parametrize("action", ["drop", "error", "late"])
async def test_a_lost_answer_is_found_by_listing_and_never_sent_again(
    payments_db: Database,
    owner: factories.Owner,
    stripe_gateway: StripeGateway,
    localstripe: LocalStripe,
    action: str,
) -> None:
    payment = await stripe_payment(owner, stripe_gateway)
    # localstripe makes the refund, then the answer is lost (connection dropped, a 500, or it
    # arrives after the client's timeout).
    localstripe.fail("POST", "/v1/refunds", when="after", action=action, late_s=1.5)  # type: ignore[arg-type]

    refund_id, outcome = await _refund(payments_db, stripe_gateway, payment, 700)

    assert outcome.status == stripe_calls.SUCCEEDED
    (at_stripe,) = await _refunds_at_stripe(stripe_gateway, payment)
    assert await _refund_row(owner, refund_id) == {
        "status": "SUCCEEDED",
        "stripe_refund_id": at_stripe.id,
        "failure_reason": None,
        "refunded_amount": 700,
    }
    assert await owner.c.fetchval("SELECT count(*) FROM refunds") == 1
    wire = [(r.method, r.path) for r in localstripe.sent(path="/v1/refunds")]
    assert wire[:2] == [("POST", "/v1/refunds"), ("GET", "/v1/refunds")]
    assert wire.count(("POST", "/v1/refunds")) == 1


async def test_a_request_that_never_arrived_is_sent_again_with_the_same_key(
    payments_db: Database,
    owner: factories.Owner,
    stripe_gateway: StripeGateway,
    localstripe: LocalStripe,
) -> None:
    payment = await stripe_payment(owner, stripe_gateway)
    localstripe.fail("POST", "/v1/refunds", when="before", action="drop")

    refund_id, outcome = await _refund(payments_db, stripe_gateway, payment, 900)

    assert outcome.status == stripe_calls.SUCCEEDED
    (at_stripe,) = await _refunds_at_stripe(stripe_gateway, payment)
    assert (await _refund_row(owner, refund_id))["stripe_refund_id"] == at_stripe.id
    posts = localstripe.sent("POST", "/v1/refunds")
    assert [p.headers["Idempotency-Key"] for p in posts] == [str(refund_id)] * 2
    assert [(r.method, r.path) for r in localstripe.sent(path="/v1/refunds")][:3] == [
        ("POST", "/v1/refunds"),
        ("GET", "/v1/refunds"),
        ("POST", "/v1/refunds"),
    ]


async def test_when_stripe_cannot_be_reached_the_refund_stays_pending_and_reserved(
    payments_db: Database,
    owner: factories.Owner,
    stripe_gateway: StripeGateway,
    localstripe: LocalStripe,
) -> None:
    payment = await stripe_payment(owner, stripe_gateway)
    localstripe.fail("POST", "/v1/refunds", when="before", action="error", times=5)
    localstripe.fail("GET", "/v1/refunds", when="before", action="error", times=5)

    refund_id, outcome = await _refund(payments_db, stripe_gateway, payment, 400)

    assert outcome.status == stripe_calls.PENDING
    assert await _refund_row(owner, refund_id) == {
        "status": "PENDING",
        "stripe_refund_id": None,
        "failure_reason": None,
        "refunded_amount": 400,
    }
    assert (await _call_row(owner, refund_id))["status"] == "PENDING"
    # Listing failed, so nothing was sent a second time.
    assert len(localstripe.sent("POST", "/v1/refunds")) == 1


async def test_a_refused_refund_fails_and_gives_its_amount_back(
    payments_db: Database,
    owner: factories.Owner,
    stripe_gateway: StripeGateway,
    localstripe: LocalStripe,
) -> None:
    payment = await stripe_payment(owner, stripe_gateway)
    unknown = StripePayment(**{**payment.__dict__, "payment_intent": "pi_unknownatstripe"})

    refund_id, outcome = await _refund(payments_db, stripe_gateway, unknown, 800)

    assert outcome.status == stripe_calls.FAILED
    row = await _refund_row(owner, refund_id)
    assert (row["status"], row["refunded_amount"]) == ("FAILED", 0)
    assert row["failure_reason"]
    assert (await _call_row(owner, refund_id))["status"] == "FAILED"


async def test_a_refusal_in_prepare_writes_nothing_and_calls_nobody(
    payments_db: Database,
    owner: factories.Owner,
    stripe_gateway: StripeGateway,
    localstripe: LocalStripe,
) -> None:
    payment = await stripe_payment(owner, stripe_gateway)
    localstripe.requests.clear()

    async def prepare(conn: AsyncConnection) -> stripe_calls.CallRequest:
        await reserve_refund(conn, payment, 100)
        raise UserFacingError()

    with pytest.raises(UserFacingError):
        await stripe_calls.run(payments_db, stripe_gateway, payment.business_id, prepare)
    assert await owner.c.fetchval("SELECT count(*) FROM refunds") == 0
    assert await owner.c.fetchval("SELECT count(*) FROM stripe_calls") == 0
    assert localstripe.requests == []


async def test_saving_a_card_starts_with_a_customer_then_a_setup_intent_found_after_a_loss(
    payments_db: Database,
    owner: factories.Owner,
    stripe_gateway: StripeGateway,
    localstripe: LocalStripe,
) -> None:
    account_id = connected_account()
    business = await factories.business(owner, stripe_account_id=account_id)
    customer = await factories.customer(owner, business.id, "Ada", "Lovelace")

    async def customer_call(conn: AsyncConnection) -> stripe_calls.CallRequest:
        return stripe_calls.customer_request(
            customer["id"], email=customer["email"], name="Ada Lovelace"
        )

    created = await stripe_calls.run(payments_db, stripe_gateway, business.id, customer_call)
    assert created.status == stripe_calls.SUCCEEDED and created.stripe_object is not None
    stripe_customer = await owner.c.fetchval(
        "SELECT stripe_customer_id FROM customers WHERE id = $1", customer["id"]
    )
    assert stripe_customer == created.stripe_object.id

    localstripe.fail("POST", "/v1/setup_intents", when="after", action="drop")

    async def setup_call(conn: AsyncConnection) -> stripe_calls.CallRequest:
        return stripe_calls.setup_intent_request(customer["id"], stripe_customer_id=stripe_customer)

    started = await stripe_calls.run(payments_db, stripe_gateway, business.id, setup_call)

    assert started.status == stripe_calls.SUCCEEDED and started.stripe_object is not None
    assert started.stripe_object.client_secret
    account = stripe_gateway.for_account(account_id)
    (setup,) = await account.list_setup_intents(customer=stripe_customer)
    assert setup.id == started.stripe_object.id
    assert metadata_of(setup) == {"pending_id": str(started.call.id)}
    assert len(localstripe.sent("POST", "/v1/setup_intents")) == 1
    listing = localstripe.sent("GET", "/v1/setup_intents")[0]
    assert listing.query["customer"] == stripe_customer
    assert (await _call_row(owner, started.call.id))["stripe_object_id"] == setup.id


def test_what_is_logged_of_a_stripe_error_names_its_kind_not_its_text() -> None:
    error = StripePermanentError(
        "No such customer: 'ada@example.com'", code="resource_missing", http_status=404
    )
    assert error.summary() == "StripePermanentError code=resource_missing status=404"
    assert StripeTransientError("timed out").summary() == ("StripeTransientError code=- status=-")
