"""The profile document costs the same few statements whatever the customer holds, and the
tabs' counts follow the 10,000 cap."""

from __future__ import annotations

from typing import Any

import asyncpg

from server.settings import REPO_ROOT
from tests import factories
from tests import history_factories as hf
from tests.conftest import Api

PROFILE = (REPO_ROOT / "tests" / "queries" / "profile.graphql").read_text()
TABS = (
    "bookings", "appointments", "passes", "videos", "subscriptions", "questionnaires", "notes",
    "accountHistory",
)  # fmt: skip


async def _customer(
    owner: factories.Owner,
    business: factories.BusinessFixture,
    cat: hf.Catalog,
    name: str,
    *,
    rows: int,
    participants: int,
) -> asyncpg.Record:
    customer = await factories.customer(owner, business.id, name, "Tester")
    await factories.participant(owner, customer, is_self=True)
    for i in range(participants - 1):
        await factories.participant(owner, customer, f"Kid{i}")
    if rows:
        await hf.fill_every_tab(owner, customer, cat, rows)
    return customer


async def _statements(api: Api, token: str, customer: asyncpg.Record) -> tuple[int, Any]:
    data = await api.data(PROFILE, {"id": str(customer["id"])}, token)
    return api.last_statements, data["customer"]


async def test_profile_statement_count_does_not_depend_on_rows_or_participants(
    api: Api, owner: factories.Owner, two_businesses: tuple[factories.BusinessFixture, ...]
) -> None:
    mine, _ = two_businesses
    cat = await hf.catalog(owner, mine.id)
    token = api.token(mine.id, "staff", mine.staff_id)
    shapes = {
        (1, 1): await _customer(owner, mine, cat, "One", rows=1, participants=1),
        (1, 10): await _customer(owner, mine, cat, "Few", rows=1, participants=10),
        (500, 1): await _customer(owner, mine, cat, "Busy", rows=500, participants=1),
        (500, 10): await _customer(owner, mine, cat, "Family", rows=500, participants=10),
    }
    counts = {}
    for (rows, people), customer in shapes.items():
        counts[rows, people], data = await _statements(api, token, customer)
        assert len(data["participants"]) == people
        for tab in TABS:
            assert data[tab]["totalCount"] == rows
            assert len(data[tab]["edges"]) == min(rows, 10)
    assert len(set(counts.values())) == 1, counts
    (count,) = set(counts.values())
    # customer, participants, additional users, account summary (chart and card), 8 tabs
    assert count <= 12

    nobody = await factories.customer(owner, mine.id, "No", "History")
    empty, data = await _statements(api, token, nobody)
    assert empty <= count
    assert all(data[tab]["totalCount"] == 0 for tab in TABS)


async def test_several_customers_batch_into_the_same_statements(
    api: Api, owner: factories.Owner, two_businesses: tuple[factories.BusinessFixture, ...]
) -> None:
    mine, _ = two_businesses
    cat = await hf.catalog(owner, mine.id)
    for i in range(3):
        await _customer(owner, mine, cat, f"C{i}", rows=12, participants=2)
    query = """query($first: Int) { customers(first: $first) { edges { node {
        fullName salesActivity { bookings { count } } paymentMethod { last4 }
        bookings(first: 5) { totalCount edges { node { number event { name } } } }
        notes(first: 5) { totalCount edges { node { content } } } } } } }"""
    token = api.token(mine.id, "staff", mine.staff_id)
    one = await api.data(query, {"first": 1}, token)
    few = api.last_statements
    three = await api.data(query, {"first": 3}, token)
    assert api.last_statements == few
    assert len(one["customers"]["edges"]) == 1
    for edge in three["customers"]["edges"]:
        node = edge["node"]
        assert node["bookings"]["totalCount"] == 12
        assert len(node["bookings"]["edges"]) == 5
        assert node["notes"]["totalCount"] == 12


TAB_COUNT = """query($id: ID!, $search: String) { customer(id: $id) {
    notes(first: 2, search: $search) { totalCount totalCountIsExact
        pageInfo { hasNextPage } edges { node { number } } } } }"""


async def test_tab_counts_are_exact_up_to_10000_and_capped_beyond(
    api: Api, owner: factories.Owner, two_businesses: tuple[factories.BusinessFixture, ...]
) -> None:
    mine, _ = two_businesses
    customer = await factories.customer(owner, mine.id, "Many", "Notes")
    await owner.c.execute(
        """INSERT INTO notes (business_id, customer_id, customer_name, content, author_name,
               created_at)
           SELECT $1, $2, 'Many Notes', 'Note ' || g, 'Sam Staff',
               timestamptz '2026-01-01 00:00Z' + g * interval '1 second'
           FROM generate_series(1, 10001) g""",
        mine.id,
        customer["id"],
    )
    token = api.token(mine.id, "staff", mine.staff_id)
    variables = {"id": str(customer["id"])}

    notes = (await api.data(TAB_COUNT, variables, token))["customer"]["notes"]
    assert (notes["totalCount"], notes["totalCountIsExact"]) == (10_000, False)
    assert notes["pageInfo"]["hasNextPage"] is True
    assert [edge["node"]["number"] for edge in notes["edges"]] == [10_001, 10_000]

    await owner.c.execute("DELETE FROM notes WHERE number = 1 AND customer_id = $1", customer["id"])
    notes = (await api.data(TAB_COUNT, variables, token))["customer"]["notes"]
    assert (notes["totalCount"], notes["totalCountIsExact"]) == (10_000, True)

    searched = await api.data(TAB_COUNT, {**variables, "search": "note 999"}, token)
    notes = searched["customer"]["notes"]
    # Every word must match: numbers and texts holding "999" (999, 1999, ..., 9990-9999).
    assert (notes["totalCount"], notes["totalCountIsExact"]) == (19, True)
    assert [edge["node"]["number"] for edge in notes["edges"]] == [9999, 9998]
