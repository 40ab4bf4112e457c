"""The worker runs the Stripe reconciler as a periodic chore: a refund whose request died
after committing its pending call is finished by the running worker, without re-sending."""

from __future__ import annotations

import asyncio

from integrations.stripe_client import StripeGateway
from server.db import Database
from server.jobs import Worker
from server.jobs.worker import reconciler_chores
from tests import factories
from tests.fixtures_stripe import LocalStripe, stripe_payment
from tests.test_reconciler import _age, _pending_refund, _state


async def test_the_running_worker_finishes_a_refund_whose_request_died(
    payments_db: Database,
    owner: factories.Owner,
    stripe_gateway: StripeGateway,
    localstripe: LocalStripe,
) -> None:
    payment = await stripe_payment(owner, stripe_gateway, amount=4000)
    lost = await _pending_refund(payments_db, stripe_gateway, payment, 1500)
    await _age(owner, lost.id)
    localstripe.requests.clear()

    chores = reconciler_chores(payments_db, stripe_gateway)
    assert [chore.name for chore in chores] == ["stripe-reconciler"]
    worker = Worker(payments_db, periodic=chores)
    stop = asyncio.Event()
    running = asyncio.create_task(worker.run(stop))
    try:
        for _ in range(100):
            if (await _state(owner, lost.id))[0] != "PENDING":
                break
            await asyncio.sleep(0.05)
    finally:
        stop.set()
        await asyncio.wait_for(running, 10)

    assert await _state(owner, lost.id) == ("FAILED", "FAILED", None, 0)
    assert {r.method for r in localstripe.requests} == {"GET"}


def test_without_stripe_there_is_nothing_to_reconcile(payments_db: Database) -> None:
    assert reconciler_chores(payments_db, None) == ()
    assert reconciler_chores(payments_db, StripeGateway("", api_base="")) == ()
