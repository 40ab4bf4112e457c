"""POST /webhooks/stripe: Stripe's events about the businesses' connected accounts.

The signature is checked on the raw body with the configured secret and tolerance before
anything is parsed; a bad or stale one answers 400 and nothing is recorded. The event's
`account` names a connected account, which a SECURITY DEFINER function turns into a business
(the service role cannot read across businesses). Then, in one transaction with that business
applied, the event id is recorded in `stripe_events` and the handlers registered for its type
run: an event is applied exactly once, and a replay is acknowledged without being read again.
A handler that fails rolls the record back and answers 500, so Stripe sends the event again.

Events that are not about a business we know (platform events, unknown accounts) are
acknowledged and dropped: Stripe would otherwise retry them for days.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any, Literal

import orjson
import stripe
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection
from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from resolvers import stripe_calls
from server.body_limit import read_capped
from server.db import UNCOUNTED_MARKER, Database
from server.settings import Settings

log = logging.getLogger(__name__)

# Stripe's events are a few kilobytes; anything far larger is not from Stripe.
MAX_BODY_BYTES = 512 * 1024


@dataclass(frozen=True)
class WebhookEvent:
    """A verified event: its id, type, connected account and `data.object` as plain JSON."""

    id: str
    type: str
    account: str | None
    object: dict[str, Any]
    created: int


Handler = Callable[[AsyncConnection, uuid.UUID, WebhookEvent], Awaitable[None]]
Outcome = Literal["applied", "duplicate", "ignored"]


class WebhookHandlers:
    """Handlers by event type. They run in the transaction that records the event, with the
    event's business applied (row-level security included)."""

    def __init__(self) -> None:
        self._handlers: dict[str, list[Handler]] = {}

    def on(self, *event_types: str) -> Callable[[Handler], Handler]:
        def register(handler: Handler) -> Handler:
            for event_type in event_types:
                self._handlers.setdefault(event_type, []).append(handler)
            return handler

        return register

    def for_type(self, event_type: str) -> list[Handler]:
        return list(self._handlers.get(event_type, ()))


handlers = WebhookHandlers()


@handlers.on("refund.created", "refund.updated", "refund.failed", "charge.refund.updated")
async def refund_changed(
    conn: AsyncConnection, business_id: uuid.UUID, event: WebhookEvent
) -> None:
    """Bring our refund in line with Stripe's. A refund still waiting for its call's result is
    finished here (the event proves Stripe has it); refunds made outside this service (in the
    dashboard) are not ours and are left alone."""
    refund = event.object
    pending_id = _uuid_or_none((refund.get("metadata") or {}).get("pending_id"))
    refund_id = (
        await conn.execute(
            text("SELECT id FROM refunds WHERE business_id = :b AND stripe_refund_id = :sid"),
            {"b": business_id, "sid": refund.get("id")},
        )
    ).scalar()
    if refund_id is None and pending_id is not None:
        refund_id = (
            await conn.execute(
                text("SELECT id FROM refunds WHERE business_id = :b AND id = :id"),
                {"b": business_id, "id": pending_id},
            )
        ).scalar()
    if refund_id is None:
        return
    await stripe_calls.complete_call(
        conn, business_id=business_id, call_id=refund_id, stripe_object=refund
    )
    await stripe_calls.set_refund_status(
        conn,
        business_id,
        refund_id,
        stripe_calls.refund_status_from_stripe(refund.get("status")),
        stripe_refund_id=refund.get("id"),
        failure_reason=refund.get("failure_reason"),
    )


def _uuid_or_none(value: object) -> uuid.UUID | None:
    try:
        return uuid.UUID(str(value)) if value else None
    except ValueError:
        return None


class InvalidWebhook(Exception):
    """The request is not a correctly signed, recent Stripe event."""


def verify(payload: bytes, signature: str | None, secret: str, tolerance_s: int) -> WebhookEvent:
    """Check the signature on the raw bytes (re-encoded JSON would not match) and parse."""
    try:
        body = payload.decode("utf-8")
        stripe.WebhookSignature.verify_header(body, signature, secret, tolerance_s)
        raw = orjson.loads(payload)
        return WebhookEvent(
            id=str(raw["id"]),
            type=str(raw["type"]),
            account=raw.get("account") or None,
            object=dict(raw["data"]["object"]),
            created=int(raw.get("created") or 0),
        )
    except (stripe.SignatureVerificationError, ValueError, KeyError, TypeError) as error:
        raise InvalidWebhook(str(error)) from error


async def business_for_account(database: Database, account: str) -> uuid.UUID | None:
    async with database.engine.connect() as conn:
        business_id = (
            await conn.execute(
                text(f"SELECT business_for_stripe_account(:account) {UNCOUNTED_MARKER}"),
                {"account": account},
            )
        ).scalar()
        await conn.commit()
    return business_id


async def receive(
    database: Database, event: WebhookEvent, registry: WebhookHandlers = handlers
) -> Outcome:
    """Record and apply a verified event once."""
    if not event.account:
        log.info("stripe event %s (%s) names no connected account: ignored", event.id, event.type)
        return "ignored"
    business_id = await business_for_account(database, event.account)
    if business_id is None:
        log.info("stripe event %s for unknown account %s: ignored", event.id, event.account)
        return "ignored"

    async def apply(conn: AsyncConnection) -> Outcome:
        recorded = (
            await conn.execute(
                text(
                    "INSERT INTO stripe_events (business_id, event_id, type, object_id) "
                    "VALUES (:b, :event_id, :type, :object_id) "
                    "ON CONFLICT (business_id, event_id) DO NOTHING RETURNING id"
                ),
                {
                    "b": business_id,
                    "event_id": event.id,
                    "type": event.type,
                    "object_id": event.object.get("id"),
                },
            )
        ).scalar()
        if recorded is None:
            return "duplicate"
        for handler in registry.for_type(event.type):
            await handler(conn, business_id, event)
        return "applied"

    return await database.run_mutation(business_id, apply)


def stripe_webhook_endpoint(
    settings: Settings, registry: WebhookHandlers = handlers
) -> Callable[[Request], Awaitable[Response]]:
    """The Starlette endpoint for POST /webhooks/stripe."""

    async def endpoint(request: Request) -> Response:
        if not settings.stripe_webhook_secret:
            return JSONResponse({"error": "Stripe webhooks are not configured."}, 503)
        payload = await read_capped(request.stream(), MAX_BODY_BYTES)
        if payload is None:
            return JSONResponse({"error": "Payload too large."}, 413)
        try:
            event = verify(
                payload,
                request.headers.get("stripe-signature"),
                settings.stripe_webhook_secret,
                settings.stripe_webhook_tolerance_s,
            )
        except InvalidWebhook as error:
            log.warning("stripe webhook refused: %s", error)
            return JSONResponse({"error": "Invalid signature or payload."}, 400)
        outcome = await receive(request.app.state.database, event, registry)
        return JSONResponse({"received": True, "outcome": outcome})

    return endpoint
