"""The profile page of a hand-built customer, checked against literal values: the account, the
people, the sales chart (months cut in Europe/London, across both daylight-saving changes) and
all eight tabs, through `tests/queries/profile.graphql` as front ends send it."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest

from loaders import history
from server.settings import REPO_ROOT
from tests import factories
from tests import history_factories as hf
from tests.conftest import Api

PROFILE = (REPO_ROOT / "tests" / "queries" / "profile.graphql").read_text()
NOW = datetime(2026, 11, 21, 12, 0, tzinfo=UTC)


def at(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00"))


@pytest.fixture
def pinned_clock(monkeypatch: pytest.MonkeyPatch) -> datetime:
    monkeypatch.setattr(history, "now", lambda: NOW)
    return NOW


@pytest.fixture
async def ada(
    owner: factories.Owner,
    two_businesses: tuple[factories.BusinessFixture, ...],
    pinned_clock: datetime,
) -> dict[str, Any]:
    """Ada's account: two participants, an additional user, a card and history in every tab.
    Instants are picked so that some months differ between UTC and Europe/London."""
    mine, other = two_businesses
    cat = await hf.catalog(owner, mine.id)
    ada = await factories.customer(
        owner, mine.id, "Ada", "Lovelace", email="ada@example.com", mobile="+447700900123"
    )
    me = await factories.participant(owner, ada, is_self=True)
    byron = await factories.participant(
        owner, ada, "Byron", date_of_birth=datetime(2015, 5, 4).date()
    )
    charles = await factories.additional_user(owner, ada, "Charles", email="charles@example.com")
    await owner.insert(
        "payment_methods",
        business_id=mine.id,
        customer_id=ada["id"],
        stripe_payment_method_id="pm_visa",
        brand="visa",
        last4="4242",
        exp_month=4,
        exp_year=2027,
        is_default=True,
    )
    stripe_paid = await hf.payment(
        owner, ada, 1500, at("2026-03-31T23:30:00Z"), stripe=True, refunded_amount=500
    )
    pass_paid = await hf.payment(
        owner, ada, 9000, at("2026-04-15T12:00:00Z"), stripe=True, refunded_amount=1000
    )
    ten_pack = await hf.customer_pass(
        owner, ada, cat, at("2026-04-15T12:00:00Z"), state="COMPLETED", payment_id=pass_paid["id"]
    )
    # April in London (BST), March in UTC.
    b1 = await hf.booking(
        owner, ada, cat, at("2026-03-31T23:30:00Z"), state="COMPLETED", paid_with="STRIPE",
        price_amount=1500, refunded_amount=500, payment_id=stripe_paid["id"],
    )  # fmt: skip
    # May in London, April in UTC; paid with one credit.
    b2 = await hf.booking(
        owner, ada, cat, at("2026-04-30T23:30:00Z"), state="PACKAGE", paid_with="CREDITS",
        price_amount=0, price_credits=1, customer_pass_id=ten_pack["id"],
    )  # fmt: skip
    b3 = await hf.booking(owner, ada, cat, at("2026-05-15T10:00:00Z"), state="CANCELLED")
    # November 2025 in London: a month before the chart's window.
    b4 = await hf.booking(owner, ada, cat, at("2025-11-30T23:59:00Z"))
    # After the autumn change: October in both; for Byron, booked by Charles.
    b5 = await hf.booking(
        owner, ada, cat, at("2026-10-31T23:30:00Z"), participant_id=byron["id"],
        participant_name="Byron Lovelace", acted_by_additional_user_id=charles["id"],
    )  # fmt: skip
    # July in London, June in UTC.
    unlimited = await hf.customer_pass(
        owner, ada, cat, at("2026-06-30T23:30:00Z"), unlimited=True, valid_until=None
    )
    v1 = await hf.video_purchase(
        owner, ada, cat, at("2026-09-01T10:00:00Z"), expires_at=at("2026-10-01T10:00:00Z")
    )
    v2 = await hf.video_purchase(
        owner, ada, cat, at("2026-11-02T10:00:00Z"), video_id=cat.credit_video,
        price_amount=0, price_credits=2, expires_at=None, customer_pass_id=ten_pack["id"],
    )  # fmt: skip
    v3 = await hf.video_purchase(owner, ada, cat, at("2026-11-03T10:00:00Z"), state="CANCELLED")
    a1 = await hf.appointment(
        owner, ada, cat, at("2026-08-01T09:00:00Z"), starts_at=at("2026-08-04T09:00:00Z"),
        paid_with="STRIPE",
    )  # fmt: skip
    s1 = await hf.subscription(owner, ada, cat, at("2026-02-01T10:00:00Z"))
    r1 = await hf.response(
        owner, ada, cat, at("2026-02-01T11:00:00Z"),
        answers={"injuries": "None", "consent": True},
    )  # fmt: skip
    r2 = await hf.response(owner, ada, cat, at("2026-11-01T11:00:00Z"))
    n1 = await hf.note(owner, ada, "Prefers evening classes.", at("2026-05-01T08:00:00Z"))
    n2 = await hf.note(
        owner, ada, "Knee injury: no jumps.", at("2026-06-01T08:00:00Z"),
        updated_at=at("2026-06-02T08:00:00Z"), updated_by_name="Olivia Owner",
    )  # fmt: skip
    e1 = await hf.account_entry(owner, ada, "customer.created", at("2025-11-01T09:00:00Z"))
    e2 = await hf.account_entry(
        owner, ada, "customer.updated", at("2026-03-01T09:00:00Z"),
        before={"mobile": "+447700900000"}, after={"mobile": "+447700900123"},
    )  # fmt: skip
    # Another business's customer with history, which must never show.
    other_cat = await hf.catalog(owner, other.id)
    stranger = await factories.customer(owner, other.id, "Ada", "Elsewhere")
    await hf.fill_every_tab(owner, stranger, other_cat, 3)
    # Re-read: the history made Ada a primary customer.
    current = await owner.c.fetchrow("SELECT * FROM customers WHERE id = $1", ada["id"])
    assert current is not None
    rows = {
        "me": me, "byron": byron, "charles": charles, "b1": b1, "b2": b2, "b3": b3, "b4": b4,
        "b5": b5, "ten_pack": ten_pack, "unlimited": unlimited, "v1": v1, "v2": v2, "v3": v3,
        "a1": a1, "s1": s1, "r1": r1, "r2": r2, "n1": n1, "n2": n2, "e1": e1, "e2": e2,
    }  # fmt: skip
    ids = {name: str(row["id"]) for name, row in rows.items()}
    return {"ada": current, "mine": mine, "other": other, "cat": cat, "stranger": stranger, **ids}


def staff_token(api: Api, data: dict[str, Any]) -> str:
    mine = data["mine"]
    return api.token(mine.id, "staff", mine.staff_id)


async def profile(api: Api, data: dict[str, Any], token: str | None = None) -> dict[str, Any]:
    body = await api.data(PROFILE, {"id": str(data["ada"]["id"])}, token or staff_token(api, data))
    customer: dict[str, Any] = body["customer"]
    return customer


def gbp(amount: int) -> dict[str, Any]:
    """Money as the profile document asks for it."""
    return {"amount": amount, "currency": "GBP"}


def gbp_decimal(amount: int) -> dict[str, Any]:
    return {**gbp(amount), "decimal": f"{amount // 100}.{amount % 100:02d}"}


def nodes(connection: dict[str, Any]) -> list[dict[str, Any]]:
    return [edge["node"] for edge in connection["edges"]]


def page(connection: dict[str, Any]) -> tuple[int, bool, bool]:
    """(totalCount, totalCountIsExact, hasNextPage); the end cursor is there when rows are."""
    info = connection["pageInfo"]
    assert (info["endCursor"] is not None) == bool(connection["edges"])
    return connection["totalCount"], connection["totalCountIsExact"], info["hasNextPage"]


async def test_account_and_people(api: Api, ada: dict[str, Any]) -> None:
    customer = await profile(api, ada)
    created = ada["ada"]["created_at"].isoformat()
    account = {k: v for k, v in customer.items() if not isinstance(v, dict) or k == "paymentMethod"}
    assert account == {
        "id": str(ada["ada"]["id"]),
        "number": 1,
        "firstName": "Ada",
        "lastName": "Lovelace",
        "fullName": "Ada Lovelace",
        "email": "ada@example.com",
        "mobile": "+447700900123",
        "status": "ACTIVE",
        "category": "PRIMARY",
        "categories": ["PRIMARY", "PARTICIPANT"],
        "appAccessEnabled": True,
        "marketingConsent": False,
        "version": 1,
        "createdAt": created,
        "updatedAt": created,
        "paymentMethod": {
            "brand": "visa",
            "last4": "4242",
            "expMonth": 4,
            "expYear": 2027,
            "expiry": "04/2027",
        },
        "participants": [
            {
                "id": ada["me"],
                "fullName": "Ada Lovelace",
                "isSelf": True,
                "dateOfBirth": None,
                "email": None,
                "mobile": None,
            },
            {
                "id": ada["byron"],
                "fullName": "Byron Lovelace",
                "isSelf": False,
                "dateOfBirth": "2015-05-04",
                "email": None,
                "mobile": None,
            },
        ],
        "additionalUsers": [
            {
                "id": ada["charles"],
                "number": 1,
                "fullName": "Charles Lovelace",
                "email": "charles@example.com",
                "mobile": None,
                "appAccessEnabled": True,
            }
        ],
    }


def tally(count: int, amount: int, credits: int) -> dict[str, Any]:
    return {"count": count, "amount": gbp_decimal(amount), "credits": credits}


TOTALS = """query($id: ID!) { customer(id: $id) { salesActivity {
    bookings { ...Tally } passes { ...Tally } videos { ...Tally } } } }
    fragment Tally on SalesTally { count amount { amount currency decimal } credits }"""


async def test_sales_chart_cuts_months_in_the_business_time_zone(
    api: Api, ada: dict[str, Any]
) -> None:
    chart = (await profile(api, ada))["salesActivity"]
    assert (chart["timeZone"], chart["currency"]) == ("Europe/London", "GBP")

    def sold(month: dict[str, Any], kind: str) -> tuple[int, int, int]:
        t = month[kind]
        return t["count"], t["amount"]["amount"], t["credits"]

    months = [
        (m["month"], m["startsAt"], sold(m, "bookings"), sold(m, "passes"), sold(m, "videos"))
        for m in chart["months"]
    ]
    nothing = (0, 0, 0)
    # (month, local start, bookings, passes, videos) as (count, pence net of refunds, credits)
    assert months == [
        ("2025-12", "2025-12-01T00:00:00+00:00", nothing, nothing, nothing),
        ("2026-01", "2026-01-01T00:00:00+00:00", nothing, nothing, nothing),
        ("2026-02", "2026-02-01T00:00:00+00:00", nothing, nothing, nothing),
        ("2026-03", "2026-03-01T00:00:00+00:00", nothing, nothing, nothing),
        # 2026-03-31T23:30Z is 00:30 on 1 April in London: £15 less £5 refunded; the ten-pack
        # £90 less £10 refunded.
        ("2026-04", "2026-04-01T00:00:00+01:00", (1, 1000, 0), (1, 8000, 0), nothing),
        # 2026-04-30T23:30Z is May in London: one credit, no money. The cancelled booking of
        # 15 May is left out.
        ("2026-05", "2026-05-01T00:00:00+01:00", (1, 0, 1), nothing, nothing),
        ("2026-06", "2026-06-01T00:00:00+01:00", nothing, nothing, nothing),
        # 2026-06-30T23:30Z is July in London.
        ("2026-07", "2026-07-01T00:00:00+01:00", nothing, (1, 12000, 0), nothing),
        ("2026-08", "2026-08-01T00:00:00+01:00", nothing, nothing, nothing),
        ("2026-09", "2026-09-01T00:00:00+01:00", nothing, nothing, (1, 799, 0)),
        # After the autumn change London is on UTC again: 23:30Z on 31 October stays October.
        ("2026-10", "2026-10-01T00:00:00+01:00", (1, 1200, 0), nothing, nothing),
        # The credit video counts; the cancelled one does not.
        ("2026-11", "2026-11-01T00:00:00+00:00", nothing, nothing, (1, 0, 2)),
    ]
    totals = await api.data(TOTALS, {"id": str(ada["ada"]["id"])}, staff_token(api, ada))
    assert totals["customer"]["salesActivity"] == {
        "bookings": tally(3, 2200, 1),
        "passes": tally(2, 20000, 0),
        "videos": tally(2, 799, 2),
    }


async def test_sales_chart_follows_the_business_time_zone_when_it_changes(
    api: Api, owner: factories.Owner, ada: dict[str, Any]
) -> None:
    await owner.c.execute("UPDATE businesses SET time_zone = 'UTC' WHERE id = $1", ada["mine"].id)
    query = """query($id: ID!) { customer(id: $id) { salesActivity(months: 9) {
        timeZone months { month bookings { count } passes { count } } } } }"""
    data = await api.data(query, {"id": str(ada["ada"]["id"])}, staff_token(api, ada))
    chart = data["customer"]["salesActivity"]
    assert chart["timeZone"] == "UTC"
    assert [
        (m["month"], m["bookings"]["count"], m["passes"]["count"]) for m in chart["months"]
    ] == [
        ("2026-03", 1, 0),  # the booking of 2026-03-31T23:30Z is March in UTC
        ("2026-04", 1, 1),
        ("2026-05", 0, 0),  # only the cancelled booking
        ("2026-06", 0, 1),  # the unlimited pass of 2026-06-30T23:30Z
        ("2026-07", 0, 0),
        ("2026-08", 0, 0),
        ("2026-09", 0, 0),
        ("2026-10", 1, 0),
        ("2026-11", 0, 0),
    ]


async def test_bookings_tab(api: Api, ada: dict[str, Any]) -> None:
    bookings = (await profile(api, ada))["bookings"]
    assert page(bookings) == (5, True, False)
    cat = ada["cat"]
    event = {"id": str(cat.event), "name": "Sunrise Yoga"}
    when = {
        "instant": "2026-06-10T13:30:00+00:00",
        "timeZone": "America/New_York",
        "localDateTime": "2026-06-10T09:30:00",
    }

    def row(name: str, number: int, booked: str, price: Any, state: str, **extra: Any) -> Any:
        return {
            "id": ada[name],
            "number": number,
            "bookedAt": booked,
            "event": event,
            "startsAt": when,
            "price": price,
            "state": state,
            "paidThroughStripe": extra.get("stripe", False),
            "refundedAmount": gbp(extra.get("refunded", 0)),
            "participantName": extra.get("participant"),
        }

    money = {"money": gbp(1200), "credits": None}
    assert nodes(bookings) == [
        row("b5", 5, "2026-10-31T23:30:00+00:00", money, "MANUAL", participant="Byron Lovelace"),
        row("b3", 3, "2026-05-15T10:00:00+00:00", money, "CANCELLED"),
        row("b2", 2, "2026-04-30T23:30:00+00:00", {"money": None, "credits": 1}, "PACKAGE"),
        row(
            "b1",
            1,
            "2026-03-31T23:30:00+00:00",
            {"money": gbp(1500), "credits": None},
            "COMPLETED",
            stripe=True,
            refunded=500,
        ),
        row("b4", 4, "2025-11-30T23:59:00+00:00", money, "MANUAL"),
    ]


async def test_appointments_passes_videos_and_subscriptions_tabs(
    api: Api, ada: dict[str, Any]
) -> None:
    customer = await profile(api, ada)
    assert page(customer["appointments"]) == (1, True, False)
    assert nodes(customer["appointments"]) == [
        {
            "id": ada["a1"],
            "number": 1,
            "bookedAt": "2026-08-01T09:00:00+00:00",
            "service": {"name": "Sports Massage"},
            "facilitator": {"name": "Grace Hopper"},
            # Appointments have no zone of their own: the business's (BST in August).
            "startsAt": {
                "instant": "2026-08-04T09:00:00+00:00",
                "timeZone": "Europe/London",
                "localDateTime": "2026-08-04T10:00:00",
            },
            "durationMinutes": 45,
            "price": gbp(5500),
            "paidWith": "STRIPE",
            "state": "SCHEDULED",
            "participantName": None,
        }
    ]
    assert page(customer["passes"]) == (2, True, False)
    assert nodes(customer["passes"]) == [
        {
            "id": ada["unlimited"],
            "number": 2,
            "purchasedAt": "2026-06-30T23:30:00+00:00",
            "passProduct": {"name": "Unlimited Month"},
            "validFrom": "2026-06-30",
            "validUntil": None,
            "usesRemaining": None,
            "usesTotal": None,
            "unlimited": True,
            "price": gbp(12000),
            "state": "MANUAL",
            "paidThroughStripe": False,
        },
        {
            "id": ada["ten_pack"],
            "number": 1,
            "purchasedAt": "2026-04-15T12:00:00+00:00",
            "passProduct": {"name": "Ten Class Pass"},
            "validFrom": "2026-04-15",
            "validUntil": "2026-07-14",
            "usesRemaining": 7,
            "usesTotal": 10,
            "unlimited": False,
            "price": gbp(9000),
            "state": "COMPLETED",
            "paidThroughStripe": True,
        },
    ]
    video = {"name": "Core Basics"}
    assert page(customer["videos"]) == (3, True, False)
    assert nodes(customer["videos"]) == [
        {
            "id": ada["v3"],
            "number": 3,
            "purchasedAt": "2026-11-03T10:00:00+00:00",
            "video": video,
            "expiresAt": "2026-12-03T10:00:00+00:00",
            "price": {"money": gbp(799), "credits": None},
            "state": "CANCELLED",
        },
        {
            "id": ada["v2"],
            "number": 2,
            "purchasedAt": "2026-11-02T10:00:00+00:00",
            "video": {"name": "Mobility Masterclass"},
            "expiresAt": None,
            "price": {"money": None, "credits": 2},
            "state": "ACTIVE",
        },
        {
            "id": ada["v1"],
            "number": 1,
            "purchasedAt": "2026-09-01T10:00:00+00:00",
            "video": video,
            "expiresAt": "2026-10-01T10:00:00+00:00",
            "price": {"money": gbp(799), "credits": None},
            "state": "EXPIRED",
        },
    ]
    assert page(customer["subscriptions"]) == (1, True, False)
    assert nodes(customer["subscriptions"]) == [
        {
            "id": ada["s1"],
            "number": 1,
            "createdAt": "2026-02-01T10:00:00+00:00",
            "plan": {"name": "Monthly Membership"},
            "nextPaymentOn": "2026-12-01",
            "recurringPrice": {"amount": gbp(4500), "intervalUnit": "MONTH", "intervalCount": 1},
            "state": "ACTIVE",
        }
    ]


async def test_questionnaires_notes_and_account_history_tabs(api: Api, ada: dict[str, Any]) -> None:
    customer = await profile(api, ada)
    waiver = {"name": "Health Waiver"}
    assert page(customer["questionnaires"]) == (2, True, False)
    assert nodes(customer["questionnaires"]) == [
        {
            "id": ada["r2"],
            "number": 2,
            "questionnaire": waiver,
            "status": "ASSIGNED",
            "createdAt": "2026-11-01T11:00:00+00:00",
            "updatedAt": "2026-11-01T11:00:00+00:00",
            "answersSubmitted": 0,
        },
        {
            "id": ada["r1"],
            "number": 1,
            "questionnaire": waiver,
            "status": "COMPLETED",
            "createdAt": "2026-02-01T11:00:00+00:00",
            "updatedAt": "2026-02-01T12:00:00+00:00",
            "answersSubmitted": 2,
        },
    ]
    assert page(customer["notes"]) == (2, True, False)
    assert nodes(customer["notes"]) == [
        {
            "id": ada["n2"],
            "number": 2,
            "createdAt": "2026-06-01T08:00:00+00:00",
            "updatedAt": "2026-06-02T08:00:00+00:00",
            "authorName": "Sam Staff",
            "updatedByName": "Olivia Owner",
            "content": "Knee injury: no jumps.",
        },
        {
            "id": ada["n1"],
            "number": 1,
            "createdAt": "2026-05-01T08:00:00+00:00",
            "updatedAt": "2026-05-01T08:00:00+00:00",
            "authorName": "Sam Staff",
            "updatedByName": None,
            "content": "Prefers evening classes.",
        },
    ]
    assert page(customer["accountHistory"]) == (2, True, False)
    assert nodes(customer["accountHistory"]) == [
        {
            "id": ada["e2"],
            "number": 2,
            "createdAt": "2026-03-01T09:00:00+00:00",
            "actorKind": "STAFF",
            "actorName": "Sam Staff",
            "action": "customer.updated",
            "subjectType": "Customer",
            "before": {"mobile": "+447700900000"},
            "after": {"mobile": "+447700900123"},
        },
        {
            "id": ada["e1"],
            "number": 1,
            "createdAt": "2025-11-01T09:00:00+00:00",
            "actorKind": "STAFF",
            "actorName": "Sam Staff",
            "action": "customer.created",
            "subjectType": "Customer",
            "before": None,
            "after": None,
        },
    ]


ANSWERS = """query($id: ID!) { customer(id: $id) { questionnaires(statuses: [COMPLETED]) {
    edges { node { answers { key label type required answered value } } } } } }"""


async def test_the_full_questionnaire_response_on_demand(api: Api, ada: dict[str, Any]) -> None:
    data = await api.data(ANSWERS, {"id": str(ada["ada"]["id"])}, staff_token(api, ada))
    (response,) = nodes(data["customer"]["questionnaires"])
    assert response["answers"] == [
        {
            "key": "injuries",
            "label": "Any injuries?",
            "type": "text",
            "required": True,
            "answered": True,
            "value": "None",
        },
        {
            "key": "consent",
            "label": "I accept the terms",
            "type": "boolean",
            "required": True,
            "answered": True,
            "value": True,
        },
        {
            "key": "heard",
            "label": "How did you hear of us?",
            "type": "text",
            "required": False,
            "answered": False,
            "value": None,
        },
    ]


HISTORY_PEOPLE = """query($id: ID!) { customer(id: $id) { bookings(first: 1) { edges { node {
    customer { fullName } participant { fullName } actedBy { __typename fullName }
    payment { id } customerPass { id } } } } } }"""


async def test_history_rows_lead_to_their_people(api: Api, ada: dict[str, Any]) -> None:
    data = await api.data(HISTORY_PEOPLE, {"id": str(ada["ada"]["id"])}, staff_token(api, ada))
    assert nodes(data["customer"]["bookings"]) == [
        {
            "customer": {"fullName": "Ada Lovelace"},
            "participant": {"fullName": "Byron Lovelace"},
            "actedBy": {"__typename": "AdditionalUser", "fullName": "Charles Lovelace"},
            "payment": None,
            "customerPass": None,
        }
    ]


async def test_a_member_sees_their_profile_but_not_notes_or_account_history(
    api: Api, ada: dict[str, Any]
) -> None:
    mine = ada["mine"]
    body = await api.post(
        PROFILE, {"id": str(ada["ada"]["id"])}, api.token(mine.id, "customer", ada["ada"]["id"])
    )
    customer = body["data"]["customer"]
    assert customer["paymentMethod"]["last4"] == "4242"
    assert customer["bookings"]["totalCount"] == 5
    assert (customer["notes"], customer["accountHistory"]) == (None, None)
    assert sorted((e["path"][-1], e["extensions"]["code"]) for e in body["errors"]) == [
        ("accountHistory", "FORBIDDEN"),
        ("notes", "FORBIDDEN"),
    ]


async def test_an_additional_user_sees_the_profile_without_the_card(
    api: Api, ada: dict[str, Any]
) -> None:
    mine = ada["mine"]
    token = api.token(mine.id, "additional_user", ada["charles"])
    body = await api.post(PROFILE, {"id": str(ada["ada"]["id"])}, token)
    customer = body["data"]["customer"]
    assert customer["paymentMethod"] is None
    assert sum(m["bookings"]["count"] for m in customer["salesActivity"]["months"]) == 3
    assert nodes(customer["bookings"])[0]["id"] == ada["b5"]


async def test_another_business_sees_nothing(api: Api, ada: dict[str, Any]) -> None:
    other = ada["other"]
    data = await api.data(
        PROFILE, {"id": str(ada["ada"]["id"])}, api.token(other.id, "staff", other.staff_id)
    )
    assert data == {"customer": None}


async def test_a_customer_with_no_history(
    api: Api, owner: factories.Owner, ada: dict[str, Any]
) -> None:
    lead = await factories.customer(owner, ada["mine"].id, "Lee", "Lead")
    data = await api.data(PROFILE, {"id": str(lead["id"])}, staff_token(api, ada))
    customer = data["customer"]
    assert customer["category"] == "LEAD"
    assert customer["paymentMethod"] is None
    for tab in (
        "bookings", "appointments", "passes", "videos", "subscriptions", "questionnaires",
        "notes", "accountHistory",
    ):  # fmt: skip
        assert page(customer[tab]) == (0, True, False)
        assert customer[tab]["edges"] == []
    months = customer["salesActivity"]["months"]
    assert len(months) == 12
    empty = {"count": 0, "amount": {"amount": 0}, "credits": 0}
    assert all(m[kind] == empty for m in months for kind in ("bookings", "passes", "videos"))
