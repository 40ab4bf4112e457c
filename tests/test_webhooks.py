"""POST /webhooks/stripe: signatures, one application per event, and the refund handler.

localstripe sends no refund events, so the events here are built and signed the way Stripe
signs them (`t=<unix time>,v1=<HMAC-SHA256 of "t.body">`)."""

from __future__ import annotations

import time
import uuid
from collections.abc import AsyncIterator
from dataclasses import replace
from typing import Any

import httpx
import orjson
import pytest
import stripe
from asgi_lifespan import LifespanManager
from sqlalchemy.ext.asyncio import AsyncConnection

from integrations.stripe_client import StripeGateway
from resolvers import stripe_calls
from server.app import create_app
from server.db import Database
from server.settings import Settings
from server.webhooks import WebhookEvent, WebhookHandlers, receive
from tests import factories
from tests.fixtures_stripe import (
    WEBHOOK_SECRET,
    LocalStripe,
    StripePayment,
    connected_account,
    reserve_refund,
    stripe_payment,
)


@pytest.fixture
async def http(stripe_settings: Settings) -> AsyncIterator[httpx.AsyncClient]:
    app = create_app(stripe_settings)
    async with LifespanManager(app) as manager:
        transport = httpx.ASGITransport(app=manager.app)
        async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as client:
            yield client


def _event(
    event_type: str, obj: dict[str, Any], *, account: str | None, event_id: str | None = None
) -> bytes:
    return orjson.dumps(
        {
            "id": event_id or f"evt_{uuid.uuid4().hex[:16]}",
            "object": "event",
            "type": event_type,
            "account": account,
            "created": int(time.time()),
            "livemode": False,
            "api_version": "2026-10-28.endive",
            "data": {"object": obj},
        }
    )


def _signature(body: bytes, *, secret: str = WEBHOOK_SECRET, at: int | None = None) -> str:
    return str(
        stripe.WebhookSignature.generate_signature_header(
            body.decode(), secret, at if at is not None else int(time.time())
        )
    )


async def _post(http: httpx.AsyncClient, body: bytes, signature: str | None) -> httpx.Response:
    headers = {"Content-Type": "application/json"}
    if signature is not None:
        headers["Stripe-Signature"] = signature
    return await http.post("/webhooks/stripe", content=body, headers=headers)


async def _events(owner: factories.Owner) -> list[tuple[str, str]]:
    rows = await owner.c.fetch("SELECT event_id, type FROM stripe_events ORDER BY received_at")
    return [(r["event_id"], r["type"]) for r in rows]


async def _made_refund(
    database: Database, gateway: StripeGateway, payment: StripePayment, amount: int
) -> tuple[uuid.UUID, str]:
    async def prepare(conn: AsyncConnection) -> stripe_calls.CallRequest:
        refund_id = await reserve_refund(conn, payment, amount)
        return stripe_calls.refund_request(
            refund_id, payment_intent=payment.payment_intent, amount=amount, reason=None
        )

    outcome = await stripe_calls.run(database, gateway, payment.business_id, prepare)
    assert outcome.status == stripe_calls.SUCCEEDED and outcome.stripe_object is not None
    return outcome.call.id, outcome.stripe_object.id


def _refund_object(
    stripe_id: str, payment: StripePayment, pending_id: uuid.UUID, status: str, amount: int
) -> dict[str, Any]:
    return {
        "id": stripe_id,
        "object": "refund",
        "amount": amount,
        "currency": "gbp",
        "payment_intent": payment.payment_intent,
        "status": status,
        "failure_reason": "expired_or_canceled_card" if status == "failed" else None,
        "metadata": {"pending_id": str(pending_id)},
    }


async def test_a_signed_event_is_applied_once_and_its_replay_acknowledged(
    http: httpx.AsyncClient,
    owner: factories.Owner,
    payments_db: Database,
    stripe_gateway: StripeGateway,
    localstripe: LocalStripe,
) -> None:
    payment = await stripe_payment(owner, stripe_gateway)
    refund_id, stripe_refund_id = await _made_refund(payments_db, stripe_gateway, payment, 1500)
    body = _event(
        "charge.refund.updated",
        _refund_object(stripe_refund_id, payment, refund_id, "failed", 1500),
        account=payment.account,
    )

    first = await _post(http, body, _signature(body))
    assert (first.status_code, first.json()["outcome"]) == (200, "applied")
    refund = await owner.c.fetchrow(
        "SELECT r.status, r.failure_reason, p.refunded_amount FROM refunds r "
        "JOIN payments p ON p.id = r.payment_id WHERE r.id = $1",
        refund_id,
    )
    assert refund is not None and dict(refund) == {
        "status": "FAILED",
        "failure_reason": "expired_or_canceled_card",
        "refunded_amount": 0,
    }

    # Stripe says it again: acknowledged, not applied again (the amount is not given back twice).
    await owner.c.execute(
        "UPDATE payments SET refunded_amount = 1500 WHERE id = $1", payment.payment_id
    )
    replay = await _post(http, body, _signature(body))
    assert (replay.status_code, replay.json()["outcome"]) == (200, "duplicate")
    assert (
        await owner.c.fetchval(
            "SELECT refunded_amount FROM payments WHERE id = $1", payment.payment_id
        )
        == 1500
    )
    assert [t for _, t in await _events(owner)] == ["charge.refund.updated"]


@pytest.mark.parametrize(
    "signature",
    [
        pytest.param(lambda body: _signature(body, secret="whsec_someone_else"), id="wrong-secret"),
        pytest.param(lambda body: _signature(body + b" "), id="other-body"),
        pytest.param(lambda body: _signature(body, at=int(time.time()) - 301), id="stale"),
        pytest.param(lambda body: "t=1,v1=", id="malformed"),
        pytest.param(lambda body: None, id="missing"),
    ],
)
async def test_an_event_without_a_good_recent_signature_is_refused_and_not_recorded(
    http: httpx.AsyncClient, owner: factories.Owner, signature: Any
) -> None:
    account = connected_account()
    await factories.business(owner, stripe_account_id=account)
    body = _event("refund.updated", {"id": "re_x", "status": "failed"}, account=account)

    response = await _post(http, body, signature(body))

    assert response.status_code == 400
    assert await _events(owner) == []


async def test_events_for_no_known_business_are_acknowledged_and_dropped(
    http: httpx.AsyncClient, owner: factories.Owner
) -> None:
    await factories.business(owner, stripe_account_id=connected_account())
    for account in (None, connected_account()):
        body = _event("refund.updated", {"id": "re_x", "status": "failed"}, account=account)
        response = await _post(http, body, _signature(body))
        assert (response.status_code, response.json()["outcome"]) == (200, "ignored")
    assert await _events(owner) == []


async def test_an_event_finishes_a_refund_whose_answer_was_lost(
    http: httpx.AsyncClient,
    owner: factories.Owner,
    payments_db: Database,
    stripe_gateway: StripeGateway,
    localstripe: LocalStripe,
) -> None:
    payment = await stripe_payment(owner, stripe_gateway)
    localstripe.fail("POST", "/v1/refunds", when="after", action="drop")
    localstripe.fail("GET", "/v1/refunds", when="before", action="error")

    async def prepare(conn: AsyncConnection) -> stripe_calls.CallRequest:
        refund_id = await reserve_refund(conn, payment, 600)
        return stripe_calls.refund_request(
            refund_id, payment_intent=payment.payment_intent, amount=600, reason=None
        )

    outcome = await stripe_calls.run(payments_db, stripe_gateway, payment.business_id, prepare)
    assert outcome.status == stripe_calls.PENDING
    (at_stripe,) = await stripe_gateway.for_account(payment.account).list_refunds(
        payment_intent=payment.payment_intent
    )

    body = _event(
        "refund.updated",
        _refund_object(at_stripe.id, payment, outcome.call.id, "succeeded", 600),
        account=payment.account,
    )
    response = await _post(http, body, _signature(body))

    assert response.json()["outcome"] == "applied"
    row = await owner.c.fetchrow(
        "SELECT r.status, r.stripe_refund_id, c.status AS call_status, p.refunded_amount "
        "FROM refunds r JOIN stripe_calls c ON c.id = r.id "
        "JOIN payments p ON p.id = r.payment_id WHERE r.id = $1",
        outcome.call.id,
    )
    assert row is not None and dict(row) == {
        "status": "SUCCEEDED",
        "stripe_refund_id": at_stripe.id,
        "call_status": "SUCCEEDED",
        "refunded_amount": 600,
    }


async def test_handlers_run_by_type_in_the_recording_transaction_and_a_failure_undoes_the_record(
    payments_db: Database, owner: factories.Owner
) -> None:
    account = connected_account()
    business = await factories.business(owner, stripe_account_id=account)
    registry = WebhookHandlers()
    seen: list[tuple[uuid.UUID, str]] = []

    @registry.on("customer.updated")
    async def record(conn: AsyncConnection, business_id: uuid.UUID, event: WebhookEvent) -> None:
        seen.append((business_id, event.id))
        if event.object.get("fail"):
            raise RuntimeError("handler failed")

    def event(event_id: str, **obj: Any) -> WebhookEvent:
        return WebhookEvent(event_id, "customer.updated", account, {"id": "cus_1", **obj}, 0)

    assert await receive(payments_db, event("evt_1"), registry) == "applied"
    assert await receive(payments_db, event("evt_1"), registry) == "duplicate"
    assert await receive(payments_db, event("evt_other_type"), WebhookHandlers()) == "applied"
    with pytest.raises(RuntimeError):
        await receive(payments_db, event("evt_2", fail=True), registry)

    assert seen == [(business.id, "evt_1"), (business.id, "evt_2")]
    assert [e for e, _ in await _events(owner)] == ["evt_1", "evt_other_type"]


async def test_without_a_webhook_secret_the_endpoint_is_unavailable(
    settings: Settings, owner: factories.Owner
) -> None:
    app = create_app(replace(settings, stripe_webhook_secret=""))
    async with LifespanManager(app) as manager:
        transport = httpx.ASGITransport(app=manager.app)
        async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as client:
            body = _event("refund.updated", {"id": "re_x"}, account=connected_account())
            response = await _post(client, body, _signature(body))
    assert response.status_code == 503
    assert await _events(owner) == []
