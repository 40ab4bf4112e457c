"""A merge preserves totals: on generated pairs of customers, every kind of row, every money sum,
every credit and every refunded amount of A and B before is what B holds after, and A is left
with nothing but its saved cards and its own account history.

Each example makes two fresh customers in one database (a database per example would be too
slow) and seeds them as the owner with one statement per kind of row.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests import factories
from tests import history_factories as hf
from tests.conftest import Api

MERGE = """
mutation($source: ID!, $target: ID!) {
  customerMerge(source: $source, target: $target) {
    moved { participants additionalUsers bookings appointments passes videoPurchases
            subscriptions questionnaireResponses notes payments refunds messages consentRecords }
    errors { code field }
  }
}
"""
NAMES = ("Byron", "Ada", "Grace", "Alan")
PRICE = st.integers(min_value=0, max_value=50_000)
FRACTION = st.integers(min_value=0, max_value=100)  # percent refunded


@dataclass(frozen=True)
class Account:
    """One generated customer's belongings."""

    has_self: bool
    participants: list[str]
    additional_users: int
    bookings: list[tuple[int, int, str, int | None]]  # price, % refunded, state, credits
    appointments: list[int]
    passes: list[tuple[int, int]]  # uses total, uses left
    videos: list[tuple[int, int | None]]  # price, credits
    subscriptions: list[tuple[int, str]]  # amount, state
    responses: int
    notes: int
    payments: list[tuple[int, int]]  # amount, % refunded
    messages: int
    consents: int
    cards: int


@st.composite
def accounts(draw: st.DrawFn) -> Account:
    def small(n: int) -> st.SearchStrategy[int]:
        return st.integers(min_value=0, max_value=n)

    passes = st.integers(min_value=1, max_value=10).flatmap(
        lambda total: st.tuples(st.just(total), small(total))
    )
    return Account(
        has_self=draw(st.booleans()),
        participants=draw(st.lists(st.sampled_from(NAMES), max_size=3)),
        additional_users=draw(small(2)),
        bookings=draw(
            st.lists(
                st.tuples(
                    PRICE,
                    FRACTION,
                    st.sampled_from(("MANUAL", "COMPLETED", "PACKAGE", "CANCELLED")),
                    st.none() | st.integers(min_value=1, max_value=3),
                ),
                max_size=4,
            )
        ),
        appointments=draw(st.lists(PRICE, max_size=3)),
        passes=draw(st.lists(passes, max_size=3)),
        videos=draw(st.lists(st.tuples(PRICE, st.none() | st.integers(1, 3)), max_size=3)),
        subscriptions=draw(
            st.lists(
                st.tuples(PRICE, st.sampled_from(("ACTIVE", "PAUSED", "SUSPENDED"))), max_size=2
            )
        ),
        responses=draw(small(2)),
        notes=draw(small(2)),
        payments=draw(
            st.lists(st.tuples(st.integers(min_value=1, max_value=50_000), FRACTION), max_size=4)
        ),
        messages=draw(small(2)),
        consents=draw(small(2)),
        cards=draw(small(2)),
    )


@dataclass
class Seeder:
    owner: factories.Owner
    business_id: uuid.UUID
    cat: hf.Catalog

    async def customer(self, account: Account) -> uuid.UUID:
        row = await factories.customer(self.owner, self.business_id, "Gen", uuid.uuid4().hex[:8])
        cid: uuid.UUID = row["id"]
        c = self.owner.c
        person = "$1::uuid, $2::uuid, 'Gen Person'"
        ids = (self.business_id, cid)
        at = "timestamptz '2026-01-05 10:00Z'"
        if account.has_self:
            await factories.participant(self.owner, row, is_self=True)
        await c.execute(
            "INSERT INTO participants (business_id, customer_id, first_name, last_name)"
            " SELECT $1, $2, n, 'Gen' FROM unnest($3::text[]) n",
            *ids,
            account.participants,
        )
        await c.execute(
            "WITH a AS (INSERT INTO additional_users (business_id, customer_id, first_name,"
            "   last_name, email)"
            "   SELECT $1, $2, 'Helper', 'Gen', gen_random_uuid() || '@example.com'"
            "   FROM generate_series(1, $3) RETURNING business_id, id, email)"
            " INSERT INTO login_emails (business_id, email_key, additional_user_id)"
            " SELECT business_id, lower(email), id FROM a",
            *ids,
            account.additional_users,
        )
        await c.execute(
            f"INSERT INTO bookings (business_id, customer_id, customer_name, session_id, booked_at,"
            "   state, paid_with, price_amount, currency, refunded_amount, price_credits,"
            "   cancelled_at)"
            f" SELECT {person}, $3, {at}, s,"
            "   CASE WHEN s = 'PACKAGE' THEN 'CREDITS' ELSE 'MANUAL' END, p, 'GBP', p * r / 100,"
            "   CASE WHEN s = 'PACKAGE' THEN coalesce(k, 1) ELSE k END,"
            f"   CASE WHEN s = 'CANCELLED' THEN {at} END"
            " FROM unnest($4::bigint[], $5::bigint[], $6::text[], $7::int[]) AS u(p, r, s, k)",
            *ids,
            self.cat.session,
            *_columns(account.bookings, 4),
        )
        await c.execute(
            f"INSERT INTO appointments (business_id, customer_id, customer_name, service_id,"
            "   facilitator_id, booked_at, starts_at, duration_minutes, price_amount, currency,"
            "   paid_with, state)"
            f" SELECT {person}, $3, $4, {at}, {at}, 45, p, 'GBP', 'MANUAL', 'SCHEDULED'"
            " FROM unnest($5::bigint[]) p",
            *ids,
            self.cat.service,
            self.cat.facilitator,
            account.appointments,
        )
        await c.execute(
            f"INSERT INTO customer_passes (business_id, customer_id, customer_name,"
            "   pass_product_id, purchased_at, valid_from, uses_total, uses_remaining,"
            "   price_amount, currency, state)"
            f" SELECT {person}, $3, {at}, date '2026-01-05', t, l, 9000, 'GBP', 'MANUAL'"
            " FROM unnest($4::int[], $5::int[]) AS u(t, l)",
            *ids,
            self.cat.ten_pack,
            *_columns(account.passes, 2),
        )
        await c.execute(
            f"INSERT INTO video_purchases (business_id, customer_id, customer_name, video_id,"
            "   purchased_at, price_amount, currency, price_credits, state)"
            f" SELECT {person}, $3, {at}, p, 'GBP', k, 'ACTIVE'"
            " FROM unnest($4::bigint[], $5::int[]) AS u(p, k)",
            *ids,
            self.cat.video,
            *_columns(account.videos, 2),
        )
        await c.execute(
            f"INSERT INTO customer_subscriptions (business_id, customer_id, customer_name,"
            "   plan_id, state, amount, currency, interval_unit, interval_count, started_on)"
            f" SELECT {person}, $3, s, a, 'GBP', 'MONTH', 1, date '2026-01-05'"
            " FROM unnest($4::bigint[], $5::text[]) AS u(a, s)",
            *ids,
            self.cat.plan,
            *_columns(account.subscriptions, 2),
        )
        await c.execute(
            f"INSERT INTO questionnaire_responses (business_id, customer_id, customer_name,"
            f"   questionnaire_id, status) SELECT {person}, $3, 'ASSIGNED'"
            " FROM generate_series(1, $4)",
            *ids,
            self.cat.questionnaire,
            account.responses,
        )
        await c.execute(
            f"INSERT INTO notes (business_id, customer_id, customer_name, content, author_name)"
            f" SELECT {person}, 'Note ' || g, 'Sam Staff' FROM generate_series(1, $3) g",
            *ids,
            account.notes,
        )
        # Each partly refunded payment with the refund that refunded it, in one statement.
        await c.execute(
            f"WITH p AS (INSERT INTO payments (business_id, customer_id, customer_name, amount,"
            "   currency, refunded_amount, method, stripe_payment_intent_id, description, paid_at)"
            f" SELECT {person}, a, 'GBP', a * r / 100, 'STRIPE', 'pi_' || gen_random_uuid(),"
            f"   'Card', {at} FROM unnest($3::bigint[], $4::bigint[]) AS u(a, r)"
            "   RETURNING id, refunded_amount)"
            " INSERT INTO refunds (business_id, customer_id, customer_name, payment_id, amount,"
            "   currency, status)"
            f" SELECT {person}, id, refunded_amount, 'GBP', 'SUCCEEDED' FROM p"
            " WHERE refunded_amount > 0",
            *ids,
            *_columns(account.payments, 2),
        )
        await c.execute(
            f"INSERT INTO messages (business_id, customer_id, customer_name, channel, purpose,"
            f"   body, status) SELECT {person}, 'IN_APP', 'SERVICE', 'Hello', 'SENT'"
            " FROM generate_series(1, $3)",
            *ids,
            account.messages,
        )
        await c.execute(
            "INSERT INTO consent_records (business_id, customer_id, granted, source, wording)"
            " SELECT $1, $2, g % 2 = 0, 'STAFF', 'Marketing' FROM generate_series(1, $3) g",
            *ids,
            account.consents,
        )
        await c.execute(
            "INSERT INTO payment_methods (business_id, customer_id, stripe_payment_method_id,"
            "   brand, last4, exp_month, exp_year, is_default)"
            " SELECT $1, $2, 'pm_' || gen_random_uuid(), 'visa', '4242', 1, 2031, g = 1"
            " FROM generate_series(1, $3) g",
            *ids,
            account.cards,
        )
        return cid


def _columns(rows: list[Any], width: int) -> list[list[Any]]:
    return [[row[i] for row in rows] for i in range(width)]


# Every total that a merge must carry over from A to B, as one SELECT per customer.
TOTALS = {
    "participants": "SELECT count(*) FROM participants WHERE customer_id = $1",
    "additional_users": "SELECT count(*) FROM additional_users WHERE customer_id = $1",
    "bookings": "SELECT count(*) FROM bookings WHERE customer_id = $1",
    "booking_money": "SELECT coalesce(sum(price_amount), 0) FROM bookings WHERE customer_id = $1",
    "booking_refunded": (
        "SELECT coalesce(sum(refunded_amount), 0) FROM bookings WHERE customer_id = $1"
    ),
    "booking_credits": (
        "SELECT coalesce(sum(price_credits), 0) FROM bookings WHERE customer_id = $1"
    ),
    "cancelled_bookings": (
        "SELECT count(*) FROM bookings WHERE customer_id = $1 AND state = 'CANCELLED'"
    ),
    "appointments": "SELECT count(*) FROM appointments WHERE customer_id = $1",
    "appointment_money": (
        "SELECT coalesce(sum(price_amount), 0) FROM appointments WHERE customer_id = $1"
    ),
    "passes": "SELECT count(*) FROM customer_passes WHERE customer_id = $1",
    "credits_left": (
        "SELECT coalesce(sum(uses_remaining), 0) FROM customer_passes WHERE customer_id = $1"
    ),
    "credits_bought": (
        "SELECT coalesce(sum(uses_total), 0) FROM customer_passes WHERE customer_id = $1"
    ),
    "videos": "SELECT count(*) FROM video_purchases WHERE customer_id = $1",
    "video_money": (
        "SELECT coalesce(sum(price_amount), 0) FROM video_purchases WHERE customer_id = $1"
    ),
    "video_credits": (
        "SELECT coalesce(sum(price_credits), 0) FROM video_purchases WHERE customer_id = $1"
    ),
    "subscriptions": "SELECT count(*) FROM customer_subscriptions WHERE customer_id = $1",
    "recurring_money": (
        "SELECT coalesce(sum(amount), 0) FROM customer_subscriptions WHERE customer_id = $1"
    ),
    "responses": "SELECT count(*) FROM questionnaire_responses WHERE customer_id = $1",
    "notes": "SELECT count(*) FROM notes WHERE customer_id = $1",
    "payments": "SELECT count(*) FROM payments WHERE customer_id = $1",
    "paid": "SELECT coalesce(sum(amount), 0) FROM payments WHERE customer_id = $1",
    "refunded": "SELECT coalesce(sum(refunded_amount), 0) FROM payments WHERE customer_id = $1",
    "refunds": "SELECT count(*) FROM refunds WHERE customer_id = $1",
    "refund_money": "SELECT coalesce(sum(amount), 0) FROM refunds WHERE customer_id = $1",
    "messages": "SELECT count(*) FROM messages WHERE customer_id = $1",
    "consents": "SELECT count(*) FROM consent_records WHERE customer_id = $1",
}
TOTALS_SQL = "SELECT " + ", ".join(f"({sql}) AS {name}" for name, sql in TOTALS.items())


async def totals(owner: factories.Owner, customer_id: uuid.UUID) -> dict[str, int]:
    row = await owner.c.fetchrow(TOTALS_SQL, customer_id)
    assert row is not None
    return {name: int(value) for name, value in row.items()}


async def kept(owner: factories.Owner, customer_id: uuid.UUID) -> tuple[Any, ...]:
    row = await owner.c.fetchrow(
        "SELECT (SELECT count(*) FROM payment_methods WHERE customer_id = $1) AS cards,"
        " (SELECT count(*) FROM account_history WHERE customer_id = $1) AS entries,"
        " (SELECT count(*) FROM participants WHERE customer_id = $1 AND is_self) AS selves,"
        " category FROM customers WHERE id = $1",
        customer_id,
    )
    assert row is not None
    return tuple(row)


@pytest.fixture
async def seeder(
    owner: factories.Owner, two_businesses: tuple[factories.BusinessFixture, ...]
) -> Seeder:
    biz = two_businesses[0]
    return Seeder(owner, biz.id, await hf.catalog(owner, biz.id))


@settings(settings.get_profile("ci"), suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(a=accounts(), b=accounts())
async def test_merge_preserves_every_total(
    api: Api,
    owner: factories.Owner,
    seeder: Seeder,
    two_businesses: tuple[factories.BusinessFixture, ...],
    a: Account,
    b: Account,
) -> None:
    biz = two_businesses[0]
    source, target = await seeder.customer(a), await seeder.customer(b)
    before_a, before_b = await totals(owner, source), await totals(owner, target)
    cards_a, _, selves_a, _ = await kept(owner, source)
    cards_b, _, selves_b, _ = await kept(owner, target)

    result = await api.data(
        MERGE,
        {"source": str(source), "target": str(target)},
        api.token(biz.id, "staff", biz.staff_id),
    )
    payload = result["customerMerge"]

    assert payload["errors"] == []
    after_a, after_b = await totals(owner, source), await totals(owner, target)
    assert after_b == {name: before_a[name] + before_b[name] for name in TOTALS}
    assert after_a == dict.fromkeys(TOTALS, 0)
    assert payload["moved"] == {
        "participants": before_a["participants"],
        "additionalUsers": before_a["additional_users"],
        "bookings": before_a["bookings"],
        "appointments": before_a["appointments"],
        "passes": before_a["passes"],
        "videoPurchases": before_a["videos"],
        "subscriptions": before_a["subscriptions"],
        "questionnaireResponses": before_a["responses"],
        "notes": before_a["notes"],
        "payments": before_a["payments"],
        "refunds": before_a["refunds"],
        "messages": before_a["messages"],
        "consentRecords": before_a["consents"],
    }
    has_history = (
        any(
            after_b[k]
            for k in ("bookings", "appointments", "passes", "videos", "subscriptions", "responses")
        )
        or after_b["payments"]
    )
    # A keeps its cards and gains one account-history entry; B gains one; B attends itself
    # once at most; both categories are what the rules derive.
    assert await kept(owner, source) == (cards_a, 1, 0, "LEAD")
    assert await kept(owner, target) == (
        cards_b,
        1,
        min(1, selves_a + selves_b),
        "PRIMARY" if has_history else "LEAD",
    )
