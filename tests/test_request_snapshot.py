"""The request's snapshot opens in the round trip that checks the token, and every way a request
can go ends it: with a pool of one connection, any request that kept its connection (or left it
inside a transaction) would make the next one wait out the pool timeout or fail."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import replace

import httpx
import orjson
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


async def test_the_snapshot_ends_after_the_response_has_gone_out(
    one_connection_api: tuple[Api, Database],
    owner: factories.Owner,
    two_businesses: tuple[factories.BusinessFixture, ...],
) -> None:
    """The caller does not wait for the rollback: the body is sent while the request's
    connection is still out of the pool, and the connection is back when the request ends."""
    api, database = one_connection_api
    mine, _ = two_businesses
    customer = await factories.customer(owner, mine.id, "Sam", "Later")
    staff = api.token(mine.id, "staff", mine.staff_id)
    checked_out_at_body: list[int] = []
    app = api.http._transport.app  # type: ignore[attr-defined]
    body = orjson.dumps({"query": READ, "variables": {"id": str(customer["id"])}})
    received = False

    async def receive() -> dict[str, object]:
        nonlocal received
        if received:
            return {"type": "http.disconnect"}
        received = True
        return {"type": "http.request", "body": body, "more_body": False}

    async def send(message: dict[str, object]) -> None:
        if message["type"] == "http.response.body":
            checked_out_at_body.append(database.engine.pool.checkedout())  # type: ignore[attr-defined]

    scope = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": "POST",
        "scheme": "http",
        "path": "/graphql",
        "raw_path": b"/graphql",
        "root_path": "",
        "query_string": b"",
        "headers": [
            (b"content-type", b"application/json"),
            (b"authorization", f"Bearer {staff}".encode()),
        ],
        "client": ("127.0.0.1", 50000),
        "server": ("testserver", 80),
        "state": {},
    }
    await app(scope, receive, send)
    assert checked_out_at_body == [1]
    assert database.engine.pool.checkedout() == 0  # type: ignore[attr-defined]
    assert not await _in_transaction(database)
