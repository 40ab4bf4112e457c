"""A field that fails in a non-null position nulls its parent, and graphql-core cancels the
parent's other fields while their reads may be on the wire: the request's snapshot must come
through that intact (no "another operation is in progress", no server error), for this
request and the next ones on the same connection."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from dataclasses import replace

import httpx
import pytest
from asgi_lifespan import LifespanManager

from server.app import create_app
from server.settings import Settings
from tests import factories, history_factories
from tests.conftest import Api

TABS = """
  bookings(first: 5) { totalCount edges { node { id number } } }
  appointments(first: 5) { totalCount edges { node { id } } }
  passes(first: 5) { totalCount edges { node { id } } }
  videos(first: 5) { totalCount edges { node { id } } }
  subscriptions(first: 5) { totalCount edges { node { id } } }
  notes(first: 5) { totalCount edges { node { id } } }
  salesActivity(months: 12) { months { month } }
  participants { id }
"""
BROKEN = "broken: bookings(last: 500) { totalCount }"
FAILING = f"query($id: ID!) {{ customer(id: $id) {{ {TABS} {BROKEN} }} }}"
READ = f"query($id: ID!) {{ customer(id: $id) {{ {TABS} }} }}"


@pytest.fixture
async def one_connection_api(settings: Settings, api: Api) -> AsyncIterator[Api]:
    app = create_app(replace(settings, pool_size=1, compiled_documents=False))
    async with LifespanManager(app) as manager:
        transport = httpx.ASGITransport(app=manager.app)
        async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as http:
            yield Api(http=http, tokens=api.tokens)


async def test_a_failing_field_beside_pending_reads_leaves_the_snapshot_usable(
    one_connection_api: Api,
    owner: factories.Owner,
    two_businesses: tuple[factories.BusinessFixture, ...],
) -> None:
    api = one_connection_api
    mine, _ = two_businesses
    customer = await factories.customer(owner, mine.id, "Cass", "Cancel")
    catalog = await history_factories.catalog(owner, mine.id)
    await history_factories.fill_every_tab(owner, customer, catalog, 12)
    token = api.token(mine.id, "staff", mine.staff_id)
    variables = {"id": str(customer["id"])}
    for _ in range(15):
        failed = await api.post(FAILING, variables, token)
        codes = {error["extensions"]["code"] for error in failed["errors"]}
        assert codes == {"INVALID_ARGUMENT"}, failed["errors"]
        assert failed["data"] == {"customer": None}
        read = await api.data(READ, variables, token)
        assert read["customer"]["bookings"]["totalCount"] == 12
    # Several at once, on the one connection of the pool.
    answers = await asyncio.gather(*(api.post(FAILING, variables, token) for _ in range(5)))
    assert all(answer["data"] == {"customer": None} for answer in answers)
