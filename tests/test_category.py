"""The derived category changes in the transaction that changes the history."""

from __future__ import annotations

from datetime import UTC, datetime

from tests import factories

RECOMPUTE = """
SELECT c.id, CASE
  WHEN EXISTS (SELECT 1 FROM bookings h WHERE h.customer_id = c.id)
    OR EXISTS (SELECT 1 FROM appointments h WHERE h.customer_id = c.id)
    OR EXISTS (SELECT 1 FROM customer_passes h WHERE h.customer_id = c.id)
    OR EXISTS (SELECT 1 FROM video_purchases h WHERE h.customer_id = c.id)
    OR EXISTS (SELECT 1 FROM customer_subscriptions h WHERE h.customer_id = c.id)
    OR EXISTS (SELECT 1 FROM questionnaire_responses h WHERE h.customer_id = c.id)
    OR EXISTS (SELECT 1 FROM payments h WHERE h.customer_id = c.id) THEN 'PRIMARY'
  WHEN c.origin IN ('STAFF', 'SERVICE') THEN 'LEAD' ELSE 'APP_USER' END AS derived, c.category
FROM customers c
"""


async def _assert_consistent(owner: factories.Owner) -> dict[str, str]:
    rows = await owner.c.fetch(RECOMPUTE)
    assert all(r["derived"] == r["category"] for r in rows), [dict(r) for r in rows]
    return {str(r["id"]): r["category"] for r in rows}


async def test_history_added_moved_and_removed_updates_category(
    owner: factories.Owner, two_businesses: tuple[factories.BusinessFixture, ...]
) -> None:
    mine, _ = two_businesses
    lead = await factories.customer(owner, mine.id, "Lee", "Lead")
    app_user = await factories.customer(owner, mine.id, "Ann", "App", origin="PORTAL_SIGNUP")
    categories = await _assert_consistent(owner)
    assert (categories[str(lead["id"])], categories[str(app_user["id"])]) == ("LEAD", "APP_USER")

    payment = await factories.manual_payment(owner, lead)
    assert (await _assert_consistent(owner))[str(lead["id"])] == "PRIMARY"

    await owner.c.execute(
        "UPDATE payments SET customer_id = $1 WHERE id = $2", app_user["id"], payment["id"]
    )
    categories = await _assert_consistent(owner)
    assert (categories[str(lead["id"])], categories[str(app_user["id"])]) == ("LEAD", "PRIMARY")

    await owner.c.execute("DELETE FROM payments WHERE id = $1", payment["id"])
    assert (await _assert_consistent(owner))[str(app_user["id"])] == "APP_USER"


async def test_numbers_are_per_business_and_history_survives_deletes(
    owner: factories.Owner, two_businesses: tuple[factories.BusinessFixture, ...]
) -> None:
    mine, other = two_businesses
    a = await factories.customer(owner, mine.id, "A", "One")
    b = await factories.customer(owner, mine.id, "B", "Two")
    c = await factories.customer(owner, other.id, "C", "Three")
    assert (a["number"], b["number"], c["number"]) == (1, 2, 1)

    payment = await factories.manual_payment(owner, a)
    await owner.insert(
        "account_history",
        business_id=mine.id,
        customer_id=a["id"],
        customer_name="A One",
        actor_kind="STAFF",
        actor_name="Sam Staff",
        action="customer.created",
        created_at=datetime.now(UTC),
    )
    await owner.c.execute("DELETE FROM customers WHERE id = $1", a["id"])
    kept = await owner.c.fetchrow(
        "SELECT customer_id, customer_name, business_id FROM payments WHERE id = $1", payment["id"]
    )
    assert kept is not None
    assert (kept["customer_id"], kept["customer_name"], kept["business_id"]) == (
        None,
        "A One",
        mine.id,
    )
    history = await owner.c.fetchrow("SELECT customer_id, customer_name FROM account_history")
    assert history is not None and (history["customer_id"], history["customer_name"]) == (
        None,
        "A One",
    )
