"""A profile tab's total without a search comes from the customer's history tally: after every
kind of change (rows added, a row moved to another customer as a transfer moves it, a merge, a
deleted note, a deleted customer whose account history is unlinked) each tally equals a count
of the customer's rows and a rebuild from scratch, and the profile's totals say the same."""

from __future__ import annotations

import uuid
from typing import Any

from tests import factories
from tests import history_factories as hf
from tests.conftest import Api

# The tables of the eight tabs and the profile's field for each.
TABS = {
    "bookings": "bookings",
    "appointments": "appointments",
    "customer_passes": "passes",
    "video_purchases": "videos",
    "customer_subscriptions": "subscriptions",
    "questionnaire_responses": "questionnaires",
    "notes": "notes",
    "account_history": "accountHistory",
}
TOTALS = (
    "query($id: ID!) { customer(id: $id) { "
    + " ".join(f"{field} {{ totalCount totalCountIsExact }}" for field in TABS.values())
    + " } }"
)


async def _recount(owner: factories.Owner, business_id: uuid.UUID) -> list[tuple[Any, ...]]:
    assert owner.conn is not None
    counts = " UNION ALL ".join(
        f"SELECT customer_id, '{table}' AS tab, count(*) AS rows FROM {table} "
        "WHERE business_id = $1 AND customer_id IS NOT NULL GROUP BY customer_id"
        for table in TABS
    )
    rows = await owner.conn.fetch(f"SELECT * FROM ({counts}) c ORDER BY 1, 2", business_id)
    return [tuple(row) for row in rows]


async def _tallies(owner: factories.Owner, business_id: uuid.UUID) -> list[tuple[Any, ...]]:
    assert owner.conn is not None
    rows = await owner.conn.fetch(
        "SELECT customer_id, tab, rows FROM history_tallies "
        "WHERE business_id = $1 AND rows <> 0 ORDER BY 1, 2",
        business_id,
    )
    return [tuple(row) for row in rows]


async def _assert_tallies_are_counts(
    api: Api, owner: factories.Owner, business_id: uuid.UUID, token: str
) -> dict[uuid.UUID, dict[str, int]]:
    """The tallies against a count and a rebuild; returns each customer's totals per table."""
    counted = await _recount(owner, business_id)
    assert await _tallies(owner, business_id) == counted
    assert owner.conn is not None
    await owner.conn.execute("SELECT history_tallies_rebuild($1)", business_id)
    assert await _tallies(owner, business_id) == counted
    totals: dict[uuid.UUID, dict[str, int]] = {}
    for customer_id, table, rows in counted:
        totals.setdefault(customer_id, dict.fromkeys(TABS, 0))[table] = rows
    for customer_id, expected in totals.items():
        data = await api.data(TOTALS, {"id": str(customer_id)}, token)
        if data["customer"] is None:  # a deleted customer's unlinked rows are not counted
            continue
        assert {table: data["customer"][field] for table, field in TABS.items()} == {
            table: {"totalCount": rows, "totalCountIsExact": True}
            for table, rows in expected.items()
        }
    return totals


async def test_tallies_follow_every_change(
    api: Api, owner: factories.Owner, two_businesses: tuple[factories.BusinessFixture, ...]
) -> None:
    mine, other = two_businesses
    staff = api.token(mine.id, "staff", mine.staff_id)
    catalog = await hf.catalog(owner, mine.id)
    ada = await factories.customer(owner, mine.id, "Ada", "Tally")
    bea = await factories.customer(owner, mine.id, "Bea", "Tally")
    await hf.fill_every_tab(owner, ada, catalog, 3)
    await hf.fill_every_tab(owner, bea, catalog, 2)
    outsider = await factories.customer(owner, other.id, "Otto", "Other")
    await hf.fill_every_tab(owner, outsider, await hf.catalog(owner, other.id), 4)
    totals = await _assert_tallies_are_counts(api, owner, mine.id, staff)
    assert totals[ada["id"]]["bookings"] == 3 and totals[bea["id"]]["notes"] == 2

    # One row moves to another customer, as a transfer moves it (an update of customer_id).
    assert owner.conn is not None
    await owner.conn.execute(
        "UPDATE bookings SET customer_id = $2 WHERE id = "
        "(SELECT id FROM bookings WHERE customer_id = $1 LIMIT 1)",
        ada["id"],
        bea["id"],
    )
    note = await owner.conn.fetchval("SELECT id FROM notes WHERE customer_id = $1", ada["id"])
    delete_note = "mutation($id: ID!) { noteDelete(id: $id) { errors { code } } }"
    await api.payload(delete_note, {"id": str(note)}, staff)
    totals = await _assert_tallies_are_counts(api, owner, mine.id, staff)
    assert (totals[ada["id"]]["bookings"], totals[bea["id"]]["bookings"]) == (2, 3)

    # A lead made through the API has account history; deleting them unlinks it.
    created = await api.payload(
        "mutation($i: CustomerCreateInput!) { customerCreate(input: $i) "
        "{ customer { id } errors { code } } }",
        {"i": {"firstName": "Lee", "lastName": "Lead", "email": "lee@example.com"}},
        staff,
    )
    lead_id = uuid.UUID(created["customer"]["id"])
    assert (await _assert_tallies_are_counts(api, owner, mine.id, staff))[lead_id][
        "account_history"
    ] >= 1
    await api.payload(
        "mutation($id: ID!) { personDelete(id: $id) { errors { code } } }",
        {"id": str(lead_id)},
        staff,
    )
    assert lead_id not in await _assert_tallies_are_counts(api, owner, mine.id, staff)

    # A merge moves every row of Ada to Bea.
    await api.payload(
        "mutation($s: ID!, $t: ID!) { customerMerge(source: $s, target: $t) { errors { code } } }",
        {"s": str(ada["id"]), "t": str(bea["id"])},
        staff,
    )
    totals = await _assert_tallies_are_counts(api, owner, mine.id, staff)
    assert totals[bea["id"]]["bookings"] == 5
    assert totals[bea["id"]]["customer_passes"] == 5
    # The other business's tallies were never touched.
    assert await _tallies(owner, other.id) == await _recount(owner, other.id)


async def test_a_tally_beyond_the_cap_reads_as_a_lower_bound(
    api: Api, owner: factories.Owner, two_businesses: tuple[factories.BusinessFixture, ...]
) -> None:
    mine, _ = two_businesses
    staff = api.token(mine.id, "staff", mine.staff_id)
    customer = await factories.customer(owner, mine.id, "Cap", "Tally")
    await hf.fill_every_tab(owner, customer, await hf.catalog(owner, mine.id), 1)
    assert owner.conn is not None
    # As a customer with 12,000 bookings would have it, without writing them.
    await owner.conn.execute(
        "UPDATE history_tallies SET rows = 12000 WHERE customer_id = $1 AND tab = 'bookings'",
        customer["id"],
    )
    data = await api.data(TOTALS, {"id": str(customer["id"])}, staff)
    assert data["customer"]["bookings"] == {"totalCount": 10000, "totalCountIsExact": False}
    assert data["customer"]["passes"] == {"totalCount": 1, "totalCountIsExact": True}
