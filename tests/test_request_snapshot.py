"""The request's snapshot opens in the round trip that checks the token, and every way a request
can go ends it: with a pool of one connection, any request that kept its connection (or left it
inside a transaction) would make the next one wait out the pool timeout or fail."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import replace

import httpx
import pytest
from asgi_lifespan import LifespanManager

from server.app import create_app
from server.db import Database
from server.settings import Settings
from tests import factories
from tests.conftest import Api

READ = "query($id: ID!) { customer(id: $id) { status } }"
ARCHIVE = "mutation($id: ID!) { customerArchive(id: $id) { customer { status } errors { code } } }"


@pytest.fixture
async def one_connection_api(settings: Settings, api: Api) -> AsyncIterator[tuple[Api, Database]]:
    app = create_app(replace(settings, pool_size=1))
    async with LifespanManager(app) as manager:
        transport = httpx.ASGITransport(app=manager.app)
        async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as http:
            yield Api(http=http, tokens=api.tokens), app.state.database


async def _in_transaction(database: Database) -> bool:
    async with database.engine.connect() as conn:
        raw = await conn.get_raw_connection()
        assert raw.driver_connection is not None
        return bool(raw.driver_connection.is_in_transaction())


async def test_every_kind_of_request_gives_its_connection_back_outside_a_transaction(
    one_connection_api: tuple[Api, Database],
    owner: factories.Owner,
    two_businesses: tuple[factories.BusinessFixture, ...],
) -> None:
    api, database = one_connection_api
    mine, _ = two_businesses
    customer = await factories.customer(owner, mine.id, "Sam", "Snapshot")
    variables = {"id": str(customer["id"])}
    staff = api.token(mine.id, "staff", mine.staff_id)

    # A refused token: the check fails inside the snapshot's BEGIN, which is rolled back.
    revoked = api.token(mine.id, "staff", mine.staff_id, version=7)
    refused = await api.post(READ, variables, revoked)
    assert refused["errors"][0]["extensions"]["code"] == "UNAUTHENTICATED"
    assert not await _in_transaction(database)

    assert await api.data(READ, variables, staff) == {"customer": {"status": "ACTIVE"}}
    assert not await _in_transaction(database)

    # A mutation gives up the snapshot before taking its own connection, then answers from a
    # fresh one that sees its write.
    archived = await api.data(ARCHIVE, variables, staff)
    assert archived["customerArchive"] == {"customer": {"status": "ARCHIVED"}, "errors": []}
    assert await api.data(READ, variables, staff) == {"customer": {"status": "ARCHIVED"}}

    # A batch: the token is checked once, then each operation has a snapshot of its own.
    batch = await api.http.post(
        "/graphql",
        json=[{"query": READ, "variables": variables}] * 2,
        headers={"Authorization": f"Bearer {staff}"},
    )
    assert batch.json() == [{"data": {"customer": {"status": "ARCHIVED"}}}] * 2

    # Requests that never reach execution, and one that fails validation.
    assert (await api.http.post("/graphql", content=b"{not json")).status_code == 400
    invalid = await api.post("{ customer(id: 1) { nope } }", token=staff)
    assert invalid["errors"]
    assert not await _in_transaction(database)
    assert await api.data(READ, variables, staff) == {"customer": {"status": "ARCHIVED"}}
