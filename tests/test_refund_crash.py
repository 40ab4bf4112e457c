"""A refund whose process dies part-way is finished by the reconciler: exactly one refund at
Stripe and in our rows, with consistent refunded amounts, and a retry of the request refunds
nothing more.

The refund runs in a child process (this module run as a script: the whole app, the GraphQL
mutation, the real database and localstripe over HTTP), which is killed with SIGKILL at one of
three points:

- `before_send`: the pending refund is committed, Stripe never hears of it;
- `in_flight`: localstripe has made the refund and the answer is on its way (held back by a
  fault), when the test kills the child from outside;
- `after_answer`: Stripe's answer has arrived, and the child dies before the transaction that
  would record it.
"""

from __future__ import annotations

import asyncio
import json
import os
import signal
import sys
import uuid
from dataclasses import replace
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest

from integrations.stripe_client import StripeGateway, metadata_of
from server.db import Database
from server.reconciler import NOT_AT_STRIPE, reconcile_once
from server.settings import Settings
from tests import factories
from tests.conftest import Api
from tests.database import ClonedDatabase
from tests.fixtures_stripe import LocalStripe
from tests.test_refunds import REFUND, amounts, at_stripe, stripe_booking

REPO = Path(__file__).resolve().parent.parent
CHILD_TIMEOUT_S = 60.0
AMOUNT = 1800


def _kill_myself(*args: Any, **kwargs: Any) -> Any:
    os.kill(os.getpid(), signal.SIGKILL)


async def _child(spec: dict[str, Any]) -> None:
    """Run one bookingRefund through the app, dying where `spec["crash_at"]` says."""
    import httpx
    from asgi_lifespan import LifespanManager

    from resolvers import stripe_calls
    from server.app import create_app
    from server.settings import load_settings

    if spec["crash_at"] == "before_send":
        stripe_calls.perform = _kill_myself
    elif spec["crash_at"] == "after_answer":
        stripe_calls._record = _kill_myself
    settings = replace(
        load_settings(),
        environment="test",
        database_url=spec["owner_url"],
        app_database_url=spec["service_url"],
        pool_size=2,
        worker_enabled=False,
        stripe_api_key=spec["stripe_api_key"],
        stripe_api_base=spec["stripe_api_base"],
        # Longer than the answer is held back in the `in_flight` case: the kill comes first.
        stripe_timeout_s=30.0,
    )
    app = create_app(settings)
    async with LifespanManager(app) as manager:
        transport = httpx.ASGITransport(app=manager.app)
        async with httpx.AsyncClient(transport=transport, base_url="http://child") as http:
            response = await http.post(
                "/graphql",
                json={"query": REFUND, "variables": spec["variables"]},
                headers={"Authorization": f"Bearer {spec['token']}"},
            )
    print(response.text)


async def _start_child(spec: dict[str, Any]) -> asyncio.subprocess.Process:
    return await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "tests.test_refund_crash",
        json.dumps(spec),
        cwd=REPO,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )


async def _when_stripe_has_it(gateway: StripeGateway, account: str, intent: str) -> None:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + CHILD_TIMEOUT_S
    while not await gateway.for_account(account).list_refunds(payment_intent=intent):
        assert loop.time() < deadline, "the child never reached Stripe"
        await asyncio.sleep(0.05)


async def _rows(owner: factories.Owner, refund_id: uuid.UUID) -> dict[str, Any]:
    row = await owner.c.fetchrow(
        "SELECT r.status AS refund, c.status AS call, r.stripe_refund_id, r.failure_reason "
        "FROM refunds r JOIN stripe_calls c ON c.id = r.id WHERE r.id = $1",
        refund_id,
    )
    assert row is not None
    return dict(row)


@pytest.mark.parametrize("crash_at", ["before_send", "in_flight", "after_answer"])
async def test_a_refund_killed_mid_way_is_finished_once_by_the_reconciler(
    stripe_api: Api,
    stripe_settings: Settings,
    db: ClonedDatabase,
    owner: factories.Owner,
    payments_db: Database,
    stripe_gateway: StripeGateway,
    localstripe: LocalStripe,
    crash_at: str,
) -> None:
    paid = await stripe_booking(stripe_api, owner, stripe_gateway, amount=5000)
    key = uuid.uuid4()
    variables = {
        "input": {
            "id": str(paid.booking_id),
            "amount": AMOUNT,
            "reason": "Pool closed",
            "idempotencyKey": str(key),
        }
    }
    if crash_at == "in_flight":
        localstripe.fail("POST", "/v1/refunds", when="after", action="late", late_s=5.0)
    child = await _start_child(
        {
            "crash_at": crash_at,
            "owner_url": db.owner_url,
            "service_url": db.service_url,
            "stripe_api_key": stripe_settings.stripe_api_key,
            "stripe_api_base": stripe_settings.stripe_api_base,
            "token": paid.staff,
            "variables": variables,
        }
    )
    try:
        if crash_at == "in_flight":
            await _when_stripe_has_it(
                stripe_gateway, paid.payment.account, paid.payment.payment_intent
            )
            child.kill()
        _, stderr = await asyncio.wait_for(child.communicate(), CHILD_TIMEOUT_S)
    finally:
        if child.returncode is None:
            child.kill()
            await child.wait()
    assert child.returncode == -signal.SIGKILL, stderr.decode()[-2000:]

    # Dead between our commit and our record: pending, the amount reserved.
    assert await _rows(owner, key) == {
        "refund": "PENDING",
        "call": "PENDING",
        "stripe_refund_id": None,
        "failure_reason": None,
    }
    assert await amounts(owner, paid) == (AMOUNT, AMOUNT)
    localstripe.requests.clear()

    report = await reconcile_once(payments_db, stripe_gateway, age=timedelta(0))

    made = await at_stripe(stripe_gateway, paid)
    # The reconciler only looked.
    assert localstripe.sent("POST", "/v1/refunds") == []
    if crash_at == "before_send":
        assert (report.completed, report.failed) == ([], [key])
        assert made == []
        assert await _rows(owner, key) == {
            "refund": "FAILED",
            "call": "FAILED",
            "stripe_refund_id": None,
            "failure_reason": NOT_AT_STRIPE,
        }
        assert await amounts(owner, paid) == (0, 0)
    else:
        assert (report.completed, report.failed) == ([key], [])
        (refund,) = made
        assert (refund.amount, metadata_of(refund)) == (
            AMOUNT,
            {"pending_id": str(key), "reason": "Pool closed"},
        )
        assert await _rows(owner, key) == {
            "refund": "SUCCEEDED",
            "call": "SUCCEEDED",
            "stripe_refund_id": refund.id,
            "failure_reason": None,
        }
        assert await amounts(owner, paid) == (AMOUNT, AMOUNT)
    assert await owner.c.fetchval("SELECT count(*) FROM refunds") == 1

    # The client retries the request it never got an answer to: the same refund, nothing sent.
    retry = (await stripe_api.data(REFUND, variables, paid.staff))["bookingRefund"]
    assert retry["refund"]["id"] == str(key)
    assert retry["refund"]["status"] == ("FAILED" if crash_at == "before_send" else "SUCCEEDED")
    assert localstripe.sent("POST", "/v1/refunds") == []
    assert len(await at_stripe(stripe_gateway, paid)) == len(made)
    expected = 0 if crash_at == "before_send" else AMOUNT
    assert await amounts(owner, paid) == (expected, expected)


if __name__ == "__main__":
    asyncio.run(_child(json.loads(sys.argv[1])))
