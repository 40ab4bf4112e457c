"""A request's objects are freed by reference counting as it ends, on every execution path: none
of them is left in a reference cycle for the cycle collector, whose pauses grow with what it
must free (a profile request's rows, types and results)."""

from __future__ import annotations

import gc
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from graphql.execution.executor import Executor

from server.auth import TokenService
from server.context import Context
from server.settings import Settings
from tests import factories
from tests import history_factories as hf
from tests.compiled_support import CUSTOMER_LIST, PROFILE, Pair, app_pair

# A document no front-end sends: graphql-core executes it field by field.
UNTRUSTED = "query Untrusted($id: ID!) { customer(id: $id) { fullName bookings { totalCount } } }"


@pytest.fixture
async def pair(settings: Settings, tokens: TokenService, tmp_path: Path) -> AsyncIterator[Pair]:
    async with app_pair(settings, tokens) as apps:
        yield apps


@pytest.fixture
def collector_paused() -> Iterator[None]:
    """The cycle collector off, and what it would free kept in `gc.garbage` for inspection."""
    gc.collect()
    gc.disable()
    gc.set_debug(gc.DEBUG_SAVEALL)
    try:
        yield
    finally:
        gc.set_debug(0)
        gc.garbage.clear()
        gc.enable()


async def _left_in_cycles(http: httpx.AsyncClient, query: str, variables: Any, token: str) -> Any:
    """The request's executors and contexts that only the cycle collector would free."""
    gc.collect()
    gc.garbage.clear()
    response = await http.post(
        "/graphql",
        json={"query": query, "variables": variables},
        headers={"Authorization": f"Bearer {token}"},
    )
    assert response.status_code == 200 and "errors" not in response.json(), response.text
    gc.collect()
    return [type(o).__name__ for o in gc.garbage if isinstance(o, Executor | Context)]


async def test_no_request_leaves_its_executor_or_context_in_a_cycle(
    pair: Pair,
    owner: factories.Owner,
    two_businesses: tuple[factories.BusinessFixture, ...],
    collector_paused: None,
) -> None:
    business = two_businesses[0]
    customer = await factories.customer(owner, business.id, "Cyclic", "Garbage")
    await hf.fill_every_tab(owner, customer, await hf.catalog(owner, business.id), 3)
    staff = pair.token(business.id, "staff", business.staff_id)
    profile = {"id": str(customer["id"])}
    paths = {
        "one SQL statement": (pair.compiled, PROFILE, profile),
        "executor plan": (pair.compiled, CUSTOMER_LIST, {"first": 5}),
        "field by field": (pair.plain, PROFILE, profile),
        "untrusted document": (pair.compiled, UNTRUSTED, profile),
    }
    for name, (http, query, variables) in paths.items():
        await _left_in_cycles(http, query, variables, staff)  # first use builds caches
        assert await _left_in_cycles(http, query, variables, staff) == [], name
