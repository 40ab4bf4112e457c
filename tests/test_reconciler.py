"""The reconciler finishes old pending calls by asking Stripe, and never sends them again."""

from __future__ import annotations

import uuid
from datetime import timedelta

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection

from integrations.stripe_client import StripeGateway
from resolvers import stripe_calls
from server.db import Database
from server.reconciler import NOT_AT_STRIPE, reconcile_once
from tests import factories
from tests.fixtures_stripe import LocalStripe, StripePayment, reserve_refund, stripe_payment

AGE = timedelta(minutes=5)


async def _pending_refund(
    database: Database, gateway: StripeGateway, payment: StripePayment, amount: int
) -> stripe_calls.PendingCall:
    """A refund whose process died right after committing its pending call: it was never sent."""

    async def prepare(conn: AsyncConnection) -> stripe_calls.CallRequest:
        refund_id = await reserve_refund(conn, payment, amount)
        return stripe_calls.refund_request(
            refund_id, payment_intent=payment.payment_intent, amount=amount, reason=None
        )

    return await stripe_calls.begin(database, gateway, payment.business_id, prepare)


async def _age(owner: factories.Owner, *call_ids: uuid.UUID) -> None:
    await owner.c.execute(
        "UPDATE stripe_calls SET created_at = now() - interval '10 minutes' WHERE id = ANY($1)",
        list(call_ids),
    )


async def _state(owner: factories.Owner, refund_id: uuid.UUID) -> tuple[str, str, str | None, int]:
    row = await owner.c.fetchrow(
        "SELECT c.status AS call, r.status AS refund, r.stripe_refund_id, p.refunded_amount "
        "FROM stripe_calls c JOIN refunds r ON r.id = c.id JOIN payments p ON p.id = r.payment_id "
        "WHERE c.id = $1",
        refund_id,
    )
    assert row is not None
    return row["call"], row["refund"], row["stripe_refund_id"], row["refunded_amount"]


async def test_completes_what_stripe_knows_and_fails_the_rest_without_sending_anything(
    payments_db: Database,
    owner: factories.Owner,
    stripe_gateway: StripeGateway,
    localstripe: LocalStripe,
) -> None:
    payment = await stripe_payment(owner, stripe_gateway, amount=5000)
    # This one reached Stripe; its answer never came back.
    known = await _pending_refund(payments_db, stripe_gateway, payment, 1000)
    made = await stripe_calls.KINDS[known.kind].send(
        stripe_gateway.for_account(payment.account), known
    )
    # This one never left.
    lost = await _pending_refund(payments_db, stripe_gateway, payment, 2500)
    await _age(owner, known.id, lost.id)
    assert (
        await owner.c.fetchval(
            "SELECT refunded_amount FROM payments WHERE id = $1", payment.payment_id
        )
        == 3500
    )
    localstripe.requests.clear()

    report = await reconcile_once(payments_db, stripe_gateway, age=AGE)

    assert (report.completed, report.failed, report.unresolved) == ([known.id], [lost.id], [])
    assert await _state(owner, known.id) == ("SUCCEEDED", "SUCCEEDED", made.id, 1000)
    call, refund, stripe_id, refunded = await _state(owner, lost.id)
    assert (call, refund, stripe_id, refunded) == ("FAILED", "FAILED", None, 1000)
    assert (
        await owner.c.fetchval("SELECT failure_reason FROM refunds WHERE id = $1", lost.id)
        == NOT_AT_STRIPE
    )
    # Only looked: every request a listing, each naming the business's account.
    assert {(r.method, r.path) for r in localstripe.requests} == {("GET", "/v1/refunds")}
    assert {r.headers["Stripe-Account"] for r in localstripe.requests} == {payment.account}
    assert (
        len(
            await stripe_gateway.for_account(payment.account).list_refunds(
                payment_intent=payment.payment_intent
            )
        )
        == 1
    )

    again = await reconcile_once(payments_db, stripe_gateway, age=AGE)
    assert (again.completed, again.failed, again.unresolved) == ([], [], [])


async def test_young_calls_are_left_to_their_request(
    payments_db: Database,
    owner: factories.Owner,
    stripe_gateway: StripeGateway,
    localstripe: LocalStripe,
) -> None:
    payment = await stripe_payment(owner, stripe_gateway)
    young = await _pending_refund(payments_db, stripe_gateway, payment, 500)
    localstripe.requests.clear()

    report = await reconcile_once(payments_db, stripe_gateway, age=AGE)

    assert (report.completed, report.failed, report.unresolved) == ([], [], [])
    assert (await _state(owner, young.id))[:2] == ("PENDING", "PENDING")
    assert localstripe.requests == []


async def test_calls_stripe_cannot_answer_for_stay_pending_and_are_claimed_once(
    payments_db: Database,
    owner: factories.Owner,
    stripe_gateway: StripeGateway,
    localstripe: LocalStripe,
) -> None:
    payment = await stripe_payment(owner, stripe_gateway)
    pending = await _pending_refund(payments_db, stripe_gateway, payment, 500)
    await _age(owner, pending.id)
    localstripe.fail("GET", "/v1/refunds", when="before", action="error")

    report = await reconcile_once(payments_db, stripe_gateway, age=AGE)

    assert report.unresolved == [pending.id]
    assert await _state(owner, pending.id) == ("PENDING", "PENDING", None, 500)
    # Claimed for `age`: another reconciler running now skips it.
    second = await reconcile_once(payments_db, stripe_gateway, age=AGE)
    assert (second.completed, second.failed, second.unresolved) == ([], [], [])
    # Once the claim lapses it is looked at again.
    await owner.c.execute("UPDATE stripe_calls SET claimed_until = now() - interval '1 second'")
    third = await reconcile_once(payments_db, stripe_gateway, age=AGE)
    assert third.completed == [] and third.failed == [pending.id]


async def test_only_the_definer_function_sees_pending_calls_across_businesses(
    payments_db: Database,
    owner: factories.Owner,
    stripe_gateway: StripeGateway,
    localstripe: LocalStripe,
) -> None:
    first = await stripe_payment(owner, stripe_gateway)
    second = await stripe_payment(owner, stripe_gateway)
    calls = [
        await _pending_refund(payments_db, stripe_gateway, first, 100),
        await _pending_refund(payments_db, stripe_gateway, second, 100),
    ]
    await _age(owner, *(c.id for c in calls))

    async with payments_db.engine.connect() as conn:
        visible = (await conn.execute(text("SELECT count(*) FROM stripe_calls"))).scalar()
        await conn.commit()
        async with conn.begin():
            claimed = (
                await conn.execute(
                    text("SELECT business_id, id FROM stale_pending_calls(:a)"), {"a": AGE}
                )
            ).all()
            # A concurrent claim skips the rows this transaction holds.
            async with payments_db.engine.connect() as other:
                concurrent = (
                    await other.execute(
                        text("SELECT id FROM stale_pending_calls(:a)"), {"a": timedelta(0)}
                    )
                ).all()
                await other.rollback()

    assert visible == 0
    assert sorted(claimed) == sorted((c.business_id, c.id) for c in calls)
    assert concurrent == []
