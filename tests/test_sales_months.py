"""The chart reads `sales_months`: after every kind of change that moves a sale (new bookings,
passes and videos, paid in money or credits; a cancellation; a booking's refund; a refund of the
payment a pass and a video were bought with; a transfer; a deleted purchase; a merge; a change of
the business's time zone; a deleted customer) the months equal the chart's sums over the rows
themselves and a rebuild from scratch."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

from tests import factories
from tests import history_factories as hf
from tests.conftest import Api

# The chart's sums over the rows, as the account summary made them before the months were kept.
_LOCAL_MONTH = "date_trunc('month', {at} AT TIME ZONE b.time_zone)::date"
_NET = "greatest(0, x.price_amount - coalesce(p.refunded_amount, 0))"
RECOUNT = f"""
SELECT x.customer_id, 'bookings' AS kind, {_LOCAL_MONTH.format(at="x.booked_at")} AS month,
    count(*) AS sales,
    coalesce(sum(x.price_amount - x.refunded_amount) FILTER (WHERE x.paid_with <> 'CREDITS'), 0),
    coalesce(sum(x.price_credits) FILTER (WHERE x.paid_with = 'CREDITS'), 0)
FROM bookings x JOIN businesses b ON b.id = x.business_id
WHERE x.business_id = $1 AND x.customer_id IS NOT NULL AND x.state <> 'CANCELLED'
GROUP BY 1, 2, 3
UNION ALL
SELECT x.customer_id, 'passes', {_LOCAL_MONTH.format(at="x.purchased_at")}, count(*),
    coalesce(sum({_NET}), 0), 0
FROM customer_passes x JOIN businesses b ON b.id = x.business_id
LEFT JOIN payments p ON p.business_id = x.business_id AND p.id = x.payment_id
WHERE x.business_id = $1 AND x.customer_id IS NOT NULL
GROUP BY 1, 2, 3
UNION ALL
SELECT x.customer_id, 'videos', {_LOCAL_MONTH.format(at="x.purchased_at")}, count(*),
    coalesce(sum({_NET}) FILTER (WHERE x.price_credits IS NULL), 0),
    coalesce(sum(x.price_credits), 0)
FROM video_purchases x JOIN businesses b ON b.id = x.business_id
LEFT JOIN payments p ON p.business_id = x.business_id AND p.id = x.payment_id
WHERE x.business_id = $1 AND x.customer_id IS NOT NULL AND x.state <> 'CANCELLED'
GROUP BY 1, 2, 3
ORDER BY 1, 2, 3"""
KEPT = """
SELECT customer_id, kind, month, sales, amount, credits FROM sales_months
WHERE business_id = $1 AND (sales <> 0 OR amount <> 0 OR credits <> 0)
ORDER BY 1, 2, 3"""


async def _assert_months_are_sums(
    owner: factories.Owner, business_id: uuid.UUID
) -> list[tuple[Any, ...]]:
    assert owner.conn is not None
    summed = [tuple(row) for row in await owner.conn.fetch(RECOUNT, business_id)]
    assert [tuple(row) for row in await owner.conn.fetch(KEPT, business_id)] == summed
    await owner.conn.execute("SELECT sales_months_rebuild($1)", business_id)
    assert [tuple(row) for row in await owner.conn.fetch(KEPT, business_id)] == summed
    return summed


async def test_months_follow_every_change(
    api: Api, owner: factories.Owner, two_businesses: tuple[factories.BusinessFixture, ...]
) -> None:
    mine, other = two_businesses
    staff = api.token(mine.id, "staff", mine.staff_id)
    catalog = await hf.catalog(owner, mine.id)
    ada = await factories.customer(owner, mine.id, "Ada", "Sales")
    bea = await factories.customer(owner, mine.id, "Bea", "Sales")
    # Late on the last day of a month in UTC: another month in some zones.
    at = datetime(2026, 3, 31, 23, 30, tzinfo=UTC)
    money = await hf.booking(owner, ada, catalog, at, refunded_amount=200)
    credits = await hf.booking(
        owner, ada, catalog, at + timedelta(days=3), state="PACKAGE", paid_with="CREDITS",
        price_amount=0, price_credits=2,
    )  # fmt: skip
    await hf.booking(owner, ada, catalog, at - timedelta(days=40), state="CANCELLED")
    paid = await hf.payment(owner, ada, 9799, at)
    pass_ = await hf.customer_pass(owner, ada, catalog, at, payment_id=paid["id"])
    video = await hf.video_purchase(owner, ada, catalog, at, payment_id=paid["id"])
    await hf.video_purchase(
        owner, ada, catalog, at, video_id=catalog.credit_video, price_amount=0, price_credits=3
    )
    await hf.booking(owner, bea, catalog, at)
    outsider = await factories.customer(owner, other.id, "Otto", "Other")
    await hf.booking(owner, outsider, await hf.catalog(owner, other.id), at)
    summed = await _assert_months_are_sums(owner, mine.id)
    assert {(row[1], row[3]) for row in summed if row[0] == ada["id"]} >= {("passes", 1)}

    assert owner.conn is not None
    execute = owner.conn.execute
    await execute("UPDATE bookings SET refunded_amount = 700 WHERE id = $1", money["id"])
    await execute(
        "UPDATE bookings SET state = 'CANCELLED', cancelled_at = now() WHERE id = $1",
        credits["id"],
    )
    # A refund of the payment: what the pass and the video count is net of it.
    await execute("UPDATE payments SET refunded_amount = 9500 WHERE id = $1", paid["id"])
    await execute("UPDATE customer_passes SET uses_remaining = 6 WHERE id = $1", pass_["id"])
    await _assert_months_are_sums(owner, mine.id)

    # A transfer moves a booking to another customer; a purchase is deleted.
    await execute("UPDATE bookings SET customer_id = $2 WHERE id = $1", money["id"], bea["id"])
    await execute(
        "UPDATE video_purchases SET state = 'CANCELLED', cancelled_at = now() WHERE id = $1",
        video["id"],
    )
    await execute(
        "DELETE FROM video_purchases WHERE customer_id = $1 AND price_credits IS NOT NULL",
        ada["id"],
    )
    await _assert_months_are_sums(owner, mine.id)

    await api.payload(
        "mutation($s: ID!, $t: ID!) { customerMerge(source: $s, target: $t) { errors { code } } }",
        {"s": str(ada["id"]), "t": str(bea["id"])},
        staff,
    )
    summed = await _assert_months_are_sums(owner, mine.id)
    assert {row[0] for row in summed} == {bea["id"]}

    # Another zone cuts the months elsewhere: 31 March 23:30 UTC is April in Tokyo.
    await execute("UPDATE businesses SET time_zone = 'Asia/Tokyo' WHERE id = $1", mine.id)
    summed = await _assert_months_are_sums(owner, mine.id)
    assert {row[2].month for row in summed} == {4}

    # Deleted (as erasure would), the customers' rows are unlinked and their months go.
    await execute("DELETE FROM customers WHERE id = ANY($1)", [ada["id"], bea["id"]])
    assert await _assert_months_are_sums(owner, mine.id) == []
    assert len(await _assert_months_are_sums(owner, other.id)) == 1
