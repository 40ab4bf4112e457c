"""Conflicting booking mutations sent at the same time leave exactly one effect, against the real
database.

To make sure the requests really overlap (rather than happening to run one after the other), a
separate connection holds a lock on the row they all need (the booking, the session or the
payment) until every request is waiting for it, then lets go: they all decide under the same
race. Where the outcome depends on who goes first, the test fixes the order by letting each
request start waiting before the next is sent (PostgreSQL hands a row lock to its waiters in
turn) and checks the exact result of that order."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator, Awaitable
from contextlib import asynccontextmanager
from dataclasses import replace
from typing import Any

import asyncpg
import httpx
import pytest
from asgi_lifespan import LifespanManager

from integrations.stripe_client import StripeGateway
from server.app import create_app
from server.auth import TokenService
from server.database_setup import asyncpg_url
from server.settings import Settings
from tests import factories
from tests.conftest import Api
from tests.database import ClonedDatabase
from tests.fixtures_stripe import LocalStripe
from tests.test_bookings import (
    CANCEL,
    CREATE,
    TRANSFER,
    Studio,
    book,
    categories,
    make_studio,
    pass_uses,
)
from tests.test_refunds import REFUND, amounts, at_stripe, stripe_booking

WAIT_S = 10.0


@pytest.fixture
async def wide_api(settings: Settings, tokens: TokenService) -> AsyncIterator[Api]:
    """The app with enough pooled connections for every request of a test to be in flight."""
    app = create_app(replace(settings, pool_size=12, worker_enabled=False))
    async with LifespanManager(app) as manager:
        transport = httpx.ASGITransport(app=manager.app)
        async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as http:
            yield Api(http=http, tokens=tokens)


@pytest.fixture
async def studio(wide_api: Api, owner: factories.Owner) -> Studio:
    return await make_studio(wide_api, owner)


@asynccontextmanager
async def held(db: ClonedDatabase, table: str, row_id: Any) -> AsyncIterator[None]:
    """Hold `FOR UPDATE` on one row from a connection of its own until the block ends."""
    conn = await asyncpg.connect(asyncpg_url(db.owner_url))
    try:
        transaction = conn.transaction()
        await transaction.start()
        await conn.execute(f"SELECT 1 FROM {table} WHERE id = $1 FOR UPDATE", row_id)
        try:
            yield
        finally:
            await transaction.rollback()
    finally:
        await conn.close()


async def waiting(owner: factories.Owner, count: int) -> None:
    """Until `count` requests wait for a lock in this database."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + WAIT_S
    while True:
        # A row lock is waited for on the holder's transaction id, a lock with no database:
        # the waiters are found by their backends' database instead.
        waiters = await owner.c.fetchval(
            "SELECT count(*) FROM pg_locks WHERE NOT granted AND pid IN "
            "(SELECT pid FROM pg_stat_activity WHERE datname = current_database())"
        )
        if waiters >= count:
            return
        assert loop.time() < deadline, f"{waiters} of {count} requests waiting"
        await asyncio.sleep(0.02)


async def in_turn(
    db: ClonedDatabase, owner: factories.Owner, table: str, row_id: Any, *calls: Awaitable[Any]
) -> list[Any]:
    """Send each call once the ones before it are waiting for the held row, then release it."""
    tasks: list[asyncio.Task[Any]] = []
    async with held(db, table, row_id):
        for index, call in enumerate(calls, start=1):
            tasks.append(asyncio.ensure_future(call))
            await waiting(owner, index)
    return await asyncio.gather(*tasks)


async def all_at_once(
    db: ClonedDatabase, owner: factories.Owner, table: str, row_id: Any, *calls: Awaitable[Any]
) -> list[Any]:
    """Send every call, wait until all of them wait for the held row, then release it."""
    async with held(db, table, row_id):
        tasks = [asyncio.ensure_future(call) for call in calls]
        await waiting(owner, len(tasks))
    return await asyncio.gather(*tasks)


def codes(payload: dict[str, Any]) -> list[str]:
    return [e["code"] for e in payload["errors"]]


async def mutate(api: Api, query: str, variables: dict[str, Any], token: str) -> dict[str, Any]:
    data = await api.data(query, variables, token)
    (payload,) = data.values()
    result: dict[str, Any] = payload
    return result


async def history_actions(owner: factories.Owner, booking_id: Any) -> list[str]:
    rows = await owner.c.fetch(
        "SELECT action FROM account_history WHERE subject_id = $1 ORDER BY number",
        uuid.UUID(str(booking_id)),
    )
    return [r["action"] for r in rows]


async def test_two_cancels_cancel_once_and_return_credits_once(
    wide_api: Api, owner: factories.Owner, db: ClonedDatabase, studio: Studio
) -> None:
    booking = (await book(wide_api, studio, customerPassId=studio.ten_pack["id"], credits=3))[
        "booking"
    ]
    assert await pass_uses(owner, studio.ten_pack) == 4
    cancel = {"id": booking["id"]}

    first, second = await all_at_once(
        db,
        owner,
        "bookings",
        uuid.UUID(booking["id"]),
        mutate(wide_api, CANCEL, cancel, studio.staff),
        mutate(wide_api, CANCEL, cancel, studio.staff),
    )

    assert sorted([codes(first), codes(second)]) == [[], ["INVALID_STATE"]]
    assert await pass_uses(owner, studio.ten_pack) == 7
    assert await history_actions(owner, booking["id"]) == ["booking.created", "booking.cancelled"]


@pytest.mark.parametrize("first", ["cancel", "transfer"])
async def test_cancel_against_transfer_leaves_one_consistent_outcome(
    wide_api: Api, owner: factories.Owner, db: ClonedDatabase, studio: Studio, first: str
) -> None:
    booking = (await book(wide_api, studio, customerPassId=studio.ten_pack["id"]))["booking"]
    calls = {
        "cancel": lambda: mutate(wide_api, CANCEL, {"id": booking["id"]}, studio.staff),
        "transfer": lambda: mutate(
            wide_api,
            TRANSFER,
            {"id": booking["id"], "toSessionId": str(studio.pilates)},
            studio.staff,
        ),
    }
    second = "transfer" if first == "cancel" else "cancel"

    results = await in_turn(
        db, owner, "bookings", uuid.UUID(booking["id"]), calls[first](), calls[second]()
    )
    outcome = dict(zip((first, second), results, strict=True))

    row = await owner.c.fetchrow(
        "SELECT state, session_id FROM bookings WHERE id = $1", uuid.UUID(booking["id"])
    )
    assert row is not None
    if first == "cancel":
        # Cancelled where it was; a cancelled booking cannot be moved.
        assert (codes(outcome["cancel"]), codes(outcome["transfer"])) == ([], ["INVALID_STATE"])
        assert (row["state"], row["session_id"]) == ("CANCELLED", studio.yoga)
        assert await history_actions(owner, booking["id"]) == [
            "booking.created",
            "booking.cancelled",
        ]
    else:
        # Moved, then cancelled where it went: both apply, one after the other.
        assert (codes(outcome["transfer"]), codes(outcome["cancel"])) == ([], [])
        assert (row["state"], row["session_id"]) == ("CANCELLED", studio.pilates)
        assert outcome["cancel"]["booking"]["session"] == {"id": str(studio.pilates)}
        assert await history_actions(owner, booking["id"]) == [
            "booking.created",
            "booking.transferred",
            "booking.cancelled",
        ]
    assert await pass_uses(owner, studio.ten_pack) == 7
    assert await owner.c.fetchval("SELECT count(*) FROM bookings WHERE state <> 'CANCELLED'") == 0


async def test_many_bookings_into_the_last_seat_take_it_once(
    wide_api: Api, owner: factories.Owner, db: ClonedDatabase, studio: Studio
) -> None:
    # Yoga has 3 seats; two are taken.
    for participant in (studio.ada_self, studio.kid):
        assert (await book(wide_api, studio, participantId=participant["id"], manualAmount=0))[
            "errors"
        ] == []
    b = studio.business.id
    people = []
    for index in range(8):
        customer = await factories.customer(owner, b, f"Racer{index}", "Quick")
        await factories.participant(owner, customer, is_self=True)
        people.append(customer)
    requests = [
        mutate(
            wide_api,
            CREATE,
            {
                "input": {
                    "customerId": str(c["id"]),
                    "sessionId": str(studio.yoga),
                    "manualAmount": 500,
                }
            },
            studio.staff,
        )
        for c in people
    ]

    results = await all_at_once(db, owner, "sessions", studio.yoga, *requests)

    assert sorted(codes(r)[0] if r["errors"] else "OK" for r in results) == [
        *["CAPACITY_REACHED"] * 7,
        "OK",
    ]
    assert (
        await owner.c.fetchval(
            "SELECT count(*) FROM bookings WHERE session_id = $1 AND state <> 'CANCELLED'",
            studio.yoga,
        )
        == 3
    )
    # The losers left nothing behind: one payment, one history entry, one primary racer.
    assert await owner.c.fetchval("SELECT count(*) FROM payments") == 1
    assert (
        await owner.c.fetchval(
            "SELECT count(*) FROM account_history WHERE action = 'booking.created'"
        )
        == 3
    )
    cats = await categories(owner)
    assert sorted(cats[c["id"]] for c in people) == ["LEAD"] * 7 + ["PRIMARY"]


async def test_two_transfers_into_the_last_seat_move_one(
    wide_api: Api, owner: factories.Owner, db: ClonedDatabase, studio: Studio
) -> None:
    # Pilates has 2 seats; Cleo's child takes one.
    assert (
        await book(
            wide_api,
            studio,
            customer=studio.cleo,
            session=studio.pilates,
            participantId=studio.cleo_kid["id"],
            manualAmount=0,
        )
    )["errors"] == []
    ada = (await book(wide_api, studio, manualAmount=0))["booking"]
    bob = (await book(wide_api, studio, customer=studio.bob, manualAmount=0))["booking"]
    moves = [
        mutate(
            wide_api, TRANSFER, {"id": b["id"], "toSessionId": str(studio.pilates)}, studio.staff
        )
        for b in (ada, bob)
    ]

    results = await all_at_once(db, owner, "sessions", studio.pilates, *moves)

    assert sorted(codes(r)[0] if r["errors"] else "OK" for r in results) == [
        "CAPACITY_REACHED",
        "OK",
    ]
    assert (
        await owner.c.fetchval(
            "SELECT count(*) FROM bookings WHERE session_id = $1", studio.pilates
        )
        == 2
    )


async def test_two_refunds_that_together_exceed_the_payment_refund_once(
    stripe_api: Api,
    owner: factories.Owner,
    db: ClonedDatabase,
    stripe_gateway: StripeGateway,
    localstripe: LocalStripe,
) -> None:
    paid = await stripe_booking(stripe_api, owner, stripe_gateway, amount=5000)
    refunds = [
        mutate(
            stripe_api,
            REFUND,
            {
                "input": {
                    "id": str(paid.booking_id),
                    "amount": 3000,
                    "idempotencyKey": str(uuid.uuid4()),
                }
            },
            paid.staff,
        )
        for _ in range(2)
    ]

    results = await all_at_once(db, owner, "payments", paid.payment.payment_id, *refunds)

    assert sorted(codes(r)[0] if r["errors"] else "OK" for r in results) == [
        "EXCEEDS_REFUNDABLE",
        "OK",
    ]
    (made,) = [r["refund"] for r in results if not r["errors"]]
    assert (made["status"], made["amount"]["amount"]) == ("SUCCEEDED", 3000)
    # localstripe would have taken both: only one reached it.
    assert [r.amount for r in await at_stripe(stripe_gateway, paid)] == [3000]
    assert len(localstripe.sent("POST", "/v1/refunds")) == 1
    assert await amounts(owner, paid) == (3000, 3000)
    assert await owner.c.fetchval("SELECT count(*) FROM refunds") == 1


async def test_the_same_refund_sent_twice_at_once_is_made_once(
    stripe_api: Api,
    owner: factories.Owner,
    db: ClonedDatabase,
    stripe_gateway: StripeGateway,
    localstripe: LocalStripe,
) -> None:
    paid = await stripe_booking(stripe_api, owner, stripe_gateway, amount=5000)
    variables = {
        "input": {"id": str(paid.booking_id), "amount": 2000, "idempotencyKey": str(uuid.uuid4())}
    }

    first, second = await all_at_once(
        db,
        owner,
        "payments",
        paid.payment.payment_id,
        mutate(stripe_api, REFUND, variables, paid.staff),
        mutate(stripe_api, REFUND, variables, paid.staff),
    )

    assert codes(first) == codes(second) == []
    assert first["refund"]["id"] == second["refund"]["id"] == variables["input"]["idempotencyKey"]
    assert [r.amount for r in await at_stripe(stripe_gateway, paid)] == [2000]
    assert await amounts(owner, paid) == (2000, 2000)
