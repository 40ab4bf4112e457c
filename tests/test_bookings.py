"""Booking, cancelling and transferring through GraphQL against the real database: the payloads,
the account history each action writes, the derived category after each, and every refusal
with its code and field."""

from __future__ import annotations

import json
import uuid
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any

import asyncpg
import pytest

from tests import factories
from tests.conftest import Api
from tests.test_category import RECOMPUTE

BOOKING_FIELDS = """
id number state paidWith paidThroughStripe customerName participantName cancelledAt
price { money { amount currency } credits } refundedAmount { amount currency }
session { id } event { name } customer { id category } participant { id }
payment { amount { amount } method customer { id } } customerPass { id usesRemaining }
"""
ERRORS = "errors { code field message }"
CREATE = f"""
mutation($input: BookingCreateInput!) {{ bookingCreate(input: $input) {{
  booking {{ {BOOKING_FIELDS} }} {ERRORS} }} }}
"""
CANCEL = f"""
mutation($id: ID!) {{ bookingCancel(id: $id) {{ booking {{ {BOOKING_FIELDS} }} {ERRORS} }} }}
"""
TRANSFER = f"""
mutation($id: ID!, $toSessionId: ID, $toCustomerId: ID, $toParticipantId: ID) {{
  bookingTransfer(id: $id, toSessionId: $toSessionId, toCustomerId: $toCustomerId,
                  toParticipantId: $toParticipantId) {{
    booking {{ {BOOKING_FIELDS} }} {ERRORS} }} }}
"""
TAB = """
query($id: ID!) { customer(id: $id) { category bookings { totalCount edges { node { id } } } } }
"""


def _at(days: int, hour: int = 9) -> datetime:
    """A whole hour `days` from now (UTC; the sessions are in London, GMT in November)."""
    return (datetime.now(UTC) + timedelta(days=days)).replace(
        hour=hour, minute=30, second=0, microsecond=0
    )


@dataclass(frozen=True)
class Studio:
    """A business, its staff's token, three customers and a few sessions and passes."""

    business: factories.BusinessFixture
    staff: str
    ada: asyncpg.Record  # takes part herself, and has a child
    ada_self: asyncpg.Record
    kid: asyncpg.Record
    bob: asyncpg.Record  # takes part himself
    bob_self: asyncpg.Record
    cleo: asyncpg.Record  # books only for her child
    cleo_kid: asyncpg.Record
    yoga: uuid.UUID  # in 2 days, 3 seats
    pilates: uuid.UUID  # in 4 days, 2 seats
    open_class: uuid.UUID  # in 5 days, no limit
    started: uuid.UUID  # began an hour ago
    ten_pack: asyncpg.Record  # Ada's: 7 of 10 uses left, valid from 10 days ago for 90 days
    unlimited: asyncpg.Record  # Ada's: unlimited, valid for 30 days
    today: date


async def _session(
    owner: factories.Owner, business_id: uuid.UUID, event: uuid.UUID, starts: datetime, **v: Any
) -> uuid.UUID:
    row = await owner.insert(
        "sessions",
        business_id=business_id,
        event_id=event,
        starts_at=starts,
        ends_at=starts + timedelta(hours=1),
        time_zone="Europe/London",
        **v,
    )
    return uuid.UUID(str(row["id"]))


async def _pass(
    owner: factories.Owner, customer: asyncpg.Record, product: uuid.UUID, **values: Any
) -> asyncpg.Record:
    return await owner.insert(
        "customer_passes",
        business_id=customer["business_id"],
        customer_id=customer["id"],
        customer_name=f"{customer['first_name']} {customer['last_name']}",
        pass_product_id=product,
        purchased_at=datetime.now(UTC) - timedelta(days=10),
        price_amount=9000,
        currency="GBP",
        state="MANUAL",
        **values,
    )


async def make_studio(api: Api, owner: factories.Owner) -> Studio:
    business = await factories.business(owner)
    b = business.id
    ada = await factories.customer(owner, b, "Ada", "Lovelace")
    bob = await factories.customer(owner, b, "Bob", "Brown")
    cleo = await factories.customer(owner, b, "Cleo", "Clark")
    yoga_event = (await owner.insert("events", business_id=b, name="Sunrise Yoga"))["id"]
    pilates_event = (await owner.insert("events", business_id=b, name="Pilates"))["id"]
    ten = await owner.insert(
        "pass_products",
        business_id=b,
        name="Ten Class Pass",
        uses=10,
        price_amount=9000,
        currency="GBP",
    )
    unlimited = await owner.insert(
        "pass_products",
        business_id=b,
        name="Unlimited Month",
        price_amount=12000,
        currency="GBP",
    )
    today = datetime.now(UTC).date()
    return Studio(
        business=business,
        staff=api.token(b, "staff", business.staff_id),
        ada=ada,
        ada_self=await factories.participant(owner, ada, is_self=True),
        kid=await factories.participant(owner, ada, "Kit"),
        bob=bob,
        bob_self=await factories.participant(owner, bob, is_self=True),
        cleo=cleo,
        cleo_kid=await factories.participant(owner, cleo, "Cody"),
        yoga=await _session(owner, b, yoga_event, _at(2), capacity=3),
        pilates=await _session(owner, b, pilates_event, _at(4), capacity=2),
        open_class=await _session(owner, b, yoga_event, _at(5)),
        started=await _session(
            owner, b, yoga_event, datetime.now(UTC) - timedelta(hours=1), capacity=10
        ),
        ten_pack=await _pass(
            owner,
            ada,
            ten["id"],
            valid_from=today - timedelta(days=10),
            valid_until=today + timedelta(days=80),
            uses_total=10,
            uses_remaining=7,
        ),
        unlimited=await _pass(
            owner, ada, unlimited["id"], valid_from=today, valid_until=today + timedelta(days=30)
        ),
        today=today,
    )


@pytest.fixture
async def studio(api: Api, owner: factories.Owner) -> Studio:
    return await make_studio(api, owner)


async def book(api: Api, studio: Studio, **values: Any) -> dict[str, Any]:
    variables = {
        "customerId": str(values.pop("customer", studio.ada)["id"]),
        "sessionId": str(values.pop("session", studio.yoga)),
        **{k: str(v) if isinstance(v, uuid.UUID) else v for k, v in values.items()},
    }
    result: dict[str, Any] = (await api.data(CREATE, {"input": variables}, studio.staff))[
        "bookingCreate"
    ]
    return result


async def cancel(api: Api, studio: Studio, booking_id: Any) -> dict[str, Any]:
    result: dict[str, Any] = (await api.data(CANCEL, {"id": str(booking_id)}, studio.staff))[
        "bookingCancel"
    ]
    return result


async def transfer(api: Api, studio: Studio, booking_id: Any, **to: Any) -> dict[str, Any]:
    variables = {"id": str(booking_id), **{k: str(v) for k, v in to.items()}}
    result: dict[str, Any] = (await api.data(TRANSFER, variables, studio.staff))["bookingTransfer"]
    return result


def error_of(payload: dict[str, Any]) -> tuple[str, str | None]:
    (error,) = payload["errors"]
    return error["code"], error["field"]


async def history(owner: factories.Owner, customer: asyncpg.Record) -> list[dict[str, Any]]:
    rows = await owner.c.fetch(
        "SELECT action, actor_kind, actor_name, customer_name, subject_type, subject_id, "
        "before, after FROM account_history WHERE customer_id = $1 ORDER BY number",
        customer["id"],
    )
    return [
        {
            **dict(r),
            "subject_id": str(r["subject_id"]),
            "before": json.loads(r["before"]) if r["before"] else None,
            "after": json.loads(r["after"]) if r["after"] else None,
        }
        for r in rows
    ]


async def categories(owner: factories.Owner) -> dict[uuid.UUID, str]:
    """Every customer's category, after checking it equals one recomputed from scratch."""
    rows = await owner.c.fetch(RECOMPUTE)
    assert all(r["derived"] == r["category"] for r in rows), [dict(r) for r in rows]
    return {r["id"]: r["category"] for r in rows}


async def pass_uses(owner: factories.Owner, customer_pass: asyncpg.Record) -> int | None:
    uses: int | None = await owner.c.fetchval(
        "SELECT uses_remaining FROM customer_passes WHERE id = $1", customer_pass["id"]
    )
    return uses


async def starts(owner: factories.Owner, session: uuid.UUID) -> str:
    at: datetime = await owner.c.fetchval("SELECT starts_at FROM sessions WHERE id = $1", session)
    return at.isoformat()


# Book ------------------------------------------------------------------------------------------


async def test_a_free_booking_for_the_customer_themselves(
    api: Api, owner: factories.Owner, studio: Studio
) -> None:
    # Bob has no history yet.
    assert (await categories(owner))[studio.bob["id"]] == "LEAD"

    result = await book(api, studio, customer=studio.bob, manualAmount=0)

    assert result["errors"] == []
    booking = result["booking"]
    assert booking == {
        "id": booking["id"],
        "number": 1,
        "state": "MANUAL",
        "paidWith": "FREE",
        "paidThroughStripe": False,
        "customerName": "Bob Brown",
        "participantName": "Bob Brown",
        "cancelledAt": None,
        "price": {"money": {"amount": 0, "currency": "GBP"}, "credits": None},
        "refundedAmount": {"amount": 0, "currency": "GBP"},
        "session": {"id": str(studio.yoga)},
        "event": {"name": "Sunrise Yoga"},
        "customer": {"id": str(studio.bob["id"]), "category": "PRIMARY"},
        "participant": {"id": str(studio.bob_self["id"])},
        "payment": None,
        "customerPass": None,
    }
    assert (await categories(owner))[studio.bob["id"]] == "PRIMARY"
    assert await history(owner, studio.bob) == [
        {
            "action": "booking.created",
            "actor_kind": "STAFF",
            "actor_name": "Sam Staff",
            "customer_name": "Bob Brown",
            "subject_type": "Booking",
            "subject_id": booking["id"],
            "before": None,
            "after": {
                "number": 1,
                "event": "Sunrise Yoga",
                "session_id": str(studio.yoga),
                "starts_at": await starts(owner, studio.yoga),
                "participant_name": "Bob Brown",
                "state": "MANUAL",
                "paid_with": "FREE",
                "price_amount": 0,
                "currency": "GBP",
                "price_credits": None,
                "customer_pass_id": None,
                "payment_id": None,
            },
        }
    ]
    created_by = await owner.c.fetchval(
        "SELECT created_by_staff_id FROM bookings WHERE id = $1", uuid.UUID(booking["id"])
    )
    assert created_by == studio.business.staff_id


async def test_a_manual_payment_is_recorded_and_linked(
    api: Api, owner: factories.Owner, studio: Studio
) -> None:
    result = await book(api, studio, participantId=studio.kid["id"], manualAmount=1500)

    assert result["errors"] == []
    booking = result["booking"]
    assert (booking["state"], booking["paidWith"], booking["participantName"]) == (
        "MANUAL",
        "MANUAL",
        "Kit Lovelace",
    )
    assert booking["price"] == {"money": {"amount": 1500, "currency": "GBP"}, "credits": None}
    assert booking["payment"] == {
        "amount": {"amount": 1500},
        "method": "MANUAL",
        "customer": {"id": str(studio.ada["id"])},
    }
    payment = await owner.c.fetchrow(
        "SELECT p.id, p.description, p.refunded_amount, p.created_by_staff_id FROM payments p "
        "JOIN bookings b ON b.payment_id = p.id WHERE b.id = $1",
        uuid.UUID(booking["id"]),
    )
    assert payment is not None
    session_day = (
        await owner.c.fetchval("SELECT starts_at FROM sessions WHERE id = $1", studio.yoga)
    ).date()
    assert (payment["description"], payment["refunded_amount"], payment["created_by_staff_id"]) == (
        f"Booking: Sunrise Yoga, {session_day.isoformat()}",
        0,
        studio.business.staff_id,
    )
    (entry,) = await history(owner, studio.ada)
    assert (entry["after"]["paid_with"], entry["after"]["price_amount"]) == ("MANUAL", 1500)
    assert entry["after"]["payment_id"] == str(payment["id"])
    await categories(owner)


async def test_credits_come_from_a_pass_valid_on_the_session_date(
    api: Api, owner: factories.Owner, studio: Studio
) -> None:
    result = await book(api, studio, customerPassId=studio.ten_pack["id"], credits=2)

    assert result["errors"] == []
    booking = result["booking"]
    assert (booking["state"], booking["paidWith"]) == ("PACKAGE", "CREDITS")
    assert booking["price"] == {"money": None, "credits": 2}
    assert booking["customerPass"] == {"id": str(studio.ten_pack["id"]), "usesRemaining": 5}
    assert booking["payment"] is None
    (entry,) = await history(owner, studio.ada)
    assert {k: entry["after"][k] for k in ("state", "paid_with", "price_credits")} == {
        "state": "PACKAGE",
        "paid_with": "CREDITS",
        "price_credits": 2,
    }
    assert entry["after"]["customer_pass_id"] == str(studio.ten_pack["id"])

    # An unlimited pass has nothing to count.
    unlimited = await book(
        api, studio, participantId=studio.kid["id"], customerPassId=studio.unlimited["id"]
    )
    assert unlimited["errors"] == []
    assert unlimited["booking"]["customerPass"] == {
        "id": str(studio.unlimited["id"]),
        "usesRemaining": None,
    }
    assert unlimited["booking"]["price"] == {"money": None, "credits": 1}
    await categories(owner)


async def test_every_impossible_booking_is_refused_with_its_code_and_field(
    api: Api, owner: factories.Owner, studio: Studio
) -> None:
    other = await make_studio(api, owner)
    b = studio.business.id
    today = studio.today
    # Yoga has 3 seats: Bob and Cleo's child take two, Ada's child the third.
    for who, participant in ((studio.bob, studio.bob_self), (studio.cleo, studio.cleo_kid)):
        assert (
            await book(api, studio, customer=who, participantId=participant["id"], manualAmount=0)
        )["errors"] == []
    assert (await book(api, studio, participantId=studio.kid["id"], manualAmount=0))["errors"] == []
    product = studio.ten_pack["pass_product_id"]
    expired = await _pass(
        owner,
        studio.ada,
        product,
        valid_from=today - timedelta(days=100),
        valid_until=today - timedelta(days=1),
        uses_total=10,
        uses_remaining=5,
    )
    not_yet = await _pass(
        owner,
        studio.ada,
        product,
        valid_from=today + timedelta(days=30),
        uses_total=10,
        uses_remaining=10,
    )
    ends_before_session = await _pass(
        owner,
        studio.ada,
        product,
        valid_from=today,
        valid_until=today + timedelta(days=1),
        uses_total=10,
        uses_remaining=10,
    )
    exhausted = await _pass(
        owner, studio.ada, product, valid_from=today, uses_total=10, uses_remaining=0
    )
    bobs = await _pass(owner, studio.bob, product, valid_from=today, uses_total=5, uses_remaining=5)
    archived = await factories.customer(owner, b, "Arch", "Ived", status="ARCHIVED")
    await factories.participant(owner, archived, is_self=True)
    merged = await factories.customer(
        owner, b, "Mer", "Ged", status="ARCHIVED", merged_into_id=studio.bob["id"]
    )
    await factories.participant(owner, merged, is_self=True)
    bookings_before = await owner.c.fetchval("SELECT count(*) FROM bookings")
    pilates = {"session": studio.pilates}

    cases: list[tuple[dict[str, Any], tuple[str, str | None]]] = [
        ({**pilates, "customer": other.ada, "manualAmount": 0}, ("NOT_FOUND", "input.customerId")),
        ({"session": other.yoga, "manualAmount": 0}, ("NOT_FOUND", "input.sessionId")),
        (
            {**pilates, "participantId": other.kid["id"], "manualAmount": 0},
            ("NOT_FOUND", "input.participantId"),
        ),
        (
            {**pilates, "customerPassId": other.ten_pack["id"]},
            ("NOT_FOUND", "input.customerPassId"),
        ),
        ({"session": studio.started, "manualAmount": 0}, ("ALREADY_STARTED", "input.sessionId")),
        ({"manualAmount": 0}, ("CAPACITY_REACHED", "input.sessionId")),
        (
            {"participantId": studio.kid["id"], "manualAmount": 0},
            ("ALREADY_BOOKED", "input.participantId"),
        ),
        (
            {**pilates, "participantId": studio.bob_self["id"], "manualAmount": 0},
            ("INVALID", "input.participantId"),
        ),
        (
            {**pilates, "customer": studio.cleo, "manualAmount": 0},
            ("REQUIRED", "input.participantId"),
        ),
        (
            {**pilates, "customer": archived, "manualAmount": 0},
            ("INVALID_STATE", "input.customerId"),
        ),
        ({**pilates, "customer": merged, "manualAmount": 0}, ("INVALID_STATE", "input.customerId")),
        ({**pilates, "customerPassId": bobs["id"]}, ("PASS_NOT_USABLE", "input.customerPassId")),
        ({**pilates, "customerPassId": expired["id"]}, ("PASS_EXPIRED", "input.customerPassId")),
        ({**pilates, "customerPassId": not_yet["id"]}, ("PASS_EXPIRED", "input.customerPassId")),
        (
            {**pilates, "customerPassId": ends_before_session["id"]},
            ("PASS_EXPIRED", "input.customerPassId"),
        ),
        (
            {**pilates, "customerPassId": exhausted["id"]},
            ("PASS_EXHAUSTED", "input.customerPassId"),
        ),
        (
            {**pilates, "customerPassId": studio.ten_pack["id"], "credits": 8},
            ("PASS_EXHAUSTED", "input.customerPassId"),
        ),
        (
            {**pilates, "customerPassId": studio.ten_pack["id"], "credits": 0},
            ("OUT_OF_RANGE", "input.credits"),
        ),
        (
            {**pilates, "customerPassId": studio.ten_pack["id"], "credits": 101},
            ("OUT_OF_RANGE", "input.credits"),
        ),
        ({**pilates, "manualAmount": -1}, ("OUT_OF_RANGE", "input.manualAmount")),
        ({**pilates, "manualAmount": 10_000_001}, ("OUT_OF_RANGE", "input.manualAmount")),
        ({**pilates}, ("REQUIRED", "input.manualAmount")),
        (
            {**pilates, "manualAmount": 100, "customerPassId": studio.ten_pack["id"]},
            ("INVALID", "input.customerPassId"),
        ),
    ]
    for values, expected in cases:
        result = await book(api, studio, **values)
        assert result["booking"] is None, values
        assert error_of(result) == expected, values

    messages = {
        "full": (await book(api, studio, manualAmount=0))["errors"][0]["message"],
        "exhausted": (await book(api, studio, **pilates, customerPassId=exhausted["id"]))["errors"][
            0
        ]["message"],
    }
    assert messages == {
        "full": "This session is full (3 of 3 seats taken).",
        "exhausted": "This pass has 0 use(s) left; 1 needed.",
    }
    # Nothing was written by any refusal.
    assert await owner.c.fetchval("SELECT count(*) FROM bookings") == bookings_before
    assert await owner.c.fetchval("SELECT count(*) FROM payments") == 0
    assert await pass_uses(owner, studio.ten_pack) == 7
    assert (
        await owner.c.fetchval(
            "SELECT count(*) FROM account_history WHERE customer_id = $1", studio.ada["id"]
        )
        == 1
    )

    # A cancelled booking frees its seat and lets the participant book again.
    kid_booking = await owner.c.fetchval(
        "SELECT id FROM bookings WHERE participant_id = $1", studio.kid["id"]
    )
    assert (await cancel(api, studio, kid_booking))["errors"] == []
    again = await book(api, studio, participantId=studio.kid["id"], manualAmount=0)
    assert again["errors"] == [] and again["booking"]["id"] != str(kid_booking)


async def test_malformed_ids_and_members_are_refused_at_the_top(
    api: Api, owner: factories.Owner, studio: Studio
) -> None:
    body = await api.post(
        CREATE,
        {"input": {"customerId": "nope", "sessionId": str(studio.yoga), "manualAmount": 0}},
        studio.staff,
    )
    (error,) = body["errors"]
    assert (error["extensions"]["code"], error["extensions"]["field"]) == (
        "INVALID_ARGUMENT",
        "input.customerId",
    )
    member = api.token(studio.business.id, "customer", studio.ada["id"])
    for query, variables in (
        (
            CREATE,
            {
                "input": {
                    "customerId": str(studio.ada["id"]),
                    "sessionId": str(studio.yoga),
                    "manualAmount": 0,
                }
            },
        ),
        (CANCEL, {"id": str(uuid.uuid4())}),
        (TRANSFER, {"id": str(uuid.uuid4()), "toSessionId": str(studio.pilates)}),
    ):
        denied = await api.post(query, variables, member)
        assert [e["extensions"]["code"] for e in denied["errors"]] == ["FORBIDDEN"]
    assert await owner.c.fetchval("SELECT count(*) FROM bookings") == 0


# Cancel ----------------------------------------------------------------------------------------


async def test_cancel_gives_credits_back_to_a_valid_pass_and_never_refunds_money(
    api: Api, owner: factories.Owner, studio: Studio
) -> None:
    by_credits = (await book(api, studio, customerPassId=studio.ten_pack["id"], credits=2))[
        "booking"
    ]
    by_money = (await book(api, studio, participantId=studio.kid["id"], manualAmount=1200))[
        "booking"
    ]
    assert await pass_uses(owner, studio.ten_pack) == 5

    result = await cancel(api, studio, by_credits["id"])

    assert result["errors"] == []
    cancelled = result["booking"]
    assert (cancelled["id"], cancelled["number"], cancelled["state"]) == (
        by_credits["id"],
        by_credits["number"],
        "CANCELLED",
    )
    assert cancelled["cancelledAt"] is not None
    assert cancelled["customerPass"] == {"id": str(studio.ten_pack["id"]), "usesRemaining": 7}
    assert (await cancel(api, studio, by_money["id"]))["errors"] == []
    assert (
        await owner.c.fetchval(
            "SELECT refunded_amount FROM payments WHERE id = (SELECT payment_id FROM bookings "
            "WHERE id = $1)",
            uuid.UUID(by_money["id"]),
        )
        == 0
    )
    entries = [e for e in await history(owner, studio.ada) if e["action"] == "booking.cancelled"]
    assert entries == [
        {
            "action": "booking.cancelled",
            "actor_kind": "STAFF",
            "actor_name": "Sam Staff",
            "customer_name": "Ada Lovelace",
            "subject_type": "Booking",
            "subject_id": by_credits["id"],
            "before": {"state": "PACKAGE"},
            "after": {
                "state": "CANCELLED",
                "customer_pass_id": str(studio.ten_pack["id"]),
                "credits_returned": 2,
            },
        },
        {
            "action": "booking.cancelled",
            "actor_kind": "STAFF",
            "actor_name": "Sam Staff",
            "customer_name": "Ada Lovelace",
            "subject_type": "Booking",
            "subject_id": by_money["id"],
            "before": {"state": "MANUAL"},
            "after": {"state": "CANCELLED"},
        },
    ]

    again = await cancel(api, studio, by_credits["id"])
    assert (again["booking"], error_of(again)) == (None, ("INVALID_STATE", "id"))
    assert again["errors"][0]["message"] == "This booking is already cancelled."
    assert await pass_uses(owner, studio.ten_pack) == 7
    # Cancelled bookings are still history: Ada stays a primary customer.
    assert (await categories(owner))[studio.ada["id"]] == "PRIMARY"


async def test_credits_return_only_while_the_pass_is_valid_and_never_above_its_total(
    api: Api, owner: factories.Owner, studio: Studio
) -> None:
    today = studio.today
    product = studio.ten_pack["pass_product_id"]
    ends_today = await _pass(
        owner,
        studio.ada,
        product,
        valid_from=today - timedelta(days=30),
        valid_until=today + timedelta(days=10),
        uses_total=10,
        uses_remaining=5,
    )
    first = (await book(api, studio, customerPassId=ends_today["id"], credits=3))["booking"]
    second = (await book(api, studio, session=studio.pilates, customerPassId=ends_today["id"]))[
        "booking"
    ]
    third = (await book(api, studio, session=studio.open_class, customerPassId=ends_today["id"]))[
        "booking"
    ]
    unlimited = (
        await book(
            api, studio, participantId=studio.kid["id"], customerPassId=studio.unlimited["id"]
        )
    )["booking"]
    assert await pass_uses(owner, ends_today) == 0

    # Still valid on its last day (in the business's time zone).
    await owner.c.execute(
        "UPDATE customer_passes SET valid_until = (now() AT TIME ZONE 'Europe/London')::date "
        "WHERE id = $1",
        ends_today["id"],
    )
    assert (await cancel(api, studio, first["id"]))["booking"]["customerPass"]["usesRemaining"] == 3
    # Topped up by hand meanwhile: a return never goes above what the pass came with.
    await owner.c.execute(
        "UPDATE customer_passes SET uses_remaining = 10 WHERE id = $1", ends_today["id"]
    )
    assert (await cancel(api, studio, second["id"]))["booking"]["customerPass"][
        "usesRemaining"
    ] == 10
    # Expired since: nothing goes back.
    await owner.c.execute(
        "UPDATE customer_passes SET uses_remaining = 2, "
        "valid_until = (now() AT TIME ZONE 'Europe/London')::date - 1 WHERE id = $1",
        ends_today["id"],
    )
    assert (await cancel(api, studio, third["id"]))["booking"]["customerPass"]["usesRemaining"] == 2
    # Unlimited: there is nothing to count.
    assert (await cancel(api, studio, unlimited["id"]))["booking"]["customerPass"] == {
        "id": str(studio.unlimited["id"]),
        "usesRemaining": None,
    }
    returned = [
        (e["subject_id"], e["after"]["credits_returned"])
        for e in await history(owner, studio.ada)
        if e["action"] == "booking.cancelled"
    ]
    assert returned == [(first["id"], 3), (second["id"], 0), (third["id"], 0), (unlimited["id"], 0)]


async def test_cancel_of_another_business_booking_is_not_found(
    api: Api, owner: factories.Owner, studio: Studio
) -> None:
    other = await make_studio(api, owner)
    theirs = (await book(api, other, manualAmount=0))["booking"]
    for booking_id in (theirs["id"], str(uuid.uuid4())):
        result = await cancel(api, studio, booking_id)
        assert (result["booking"], error_of(result)) == (None, ("NOT_FOUND", "id"))
    assert (
        await owner.c.fetchval("SELECT state FROM bookings WHERE id = $1", uuid.UUID(theirs["id"]))
        == "MANUAL"
    )


# Transfer --------------------------------------------------------------------------------------


async def test_transfer_to_another_session_keeps_the_row_its_price_payment_and_pass(
    api: Api, owner: factories.Owner, studio: Studio
) -> None:
    paid = (await book(api, studio, manualAmount=1800))["booking"]
    by_credits = (
        await book(
            api, studio, participantId=studio.kid["id"], customerPassId=studio.ten_pack["id"]
        )
    )["booking"]

    result = await transfer(api, studio, paid["id"], toSessionId=studio.pilates)

    assert result["errors"] == []
    moved = result["booking"]
    assert moved == {
        **paid,
        "session": {"id": str(studio.pilates)},
        "event": {"name": "Pilates"},
    }
    credits_moved = (await transfer(api, studio, by_credits["id"], toSessionId=studio.pilates))[
        "booking"
    ]
    assert credits_moved["customerPass"] == {"id": str(studio.ten_pack["id"]), "usesRemaining": 6}
    assert credits_moved["price"] == {"money": None, "credits": 1}
    entries = [e for e in await history(owner, studio.ada) if e["action"] == "booking.transferred"]
    assert entries[0] == {
        "action": "booking.transferred",
        "actor_kind": "STAFF",
        "actor_name": "Sam Staff",
        "customer_name": "Ada Lovelace",
        "subject_type": "Booking",
        "subject_id": paid["id"],
        "before": {
            "event": "Sunrise Yoga",
            "session_id": str(studio.yoga),
            "starts_at": await starts(owner, studio.yoga),
        },
        "after": {
            "event": "Pilates",
            "session_id": str(studio.pilates),
            "starts_at": await starts(owner, studio.pilates),
        },
    }
    assert len(entries) == 2
    assert (
        await owner.c.fetchval("SELECT count(*) FROM bookings WHERE session_id = $1", studio.yoga)
        == 0
    )
    await categories(owner)


async def test_transfer_to_another_customer_moves_it_between_their_tabs(
    api: Api, owner: factories.Owner, studio: Studio
) -> None:
    paid = (await book(api, studio, manualAmount=2500))["booking"]
    free = (await book(api, studio, session=studio.pilates, manualAmount=0))["booking"]
    kids = (
        await book(
            api, studio, participantId=studio.kid["id"], session=studio.pilates, manualAmount=0
        )
    )["booking"]

    result = await transfer(api, studio, paid["id"], toCustomerId=studio.bob["id"])

    assert result["errors"] == []
    moved = result["booking"]
    assert moved == {
        **paid,
        "customerName": "Bob Brown",
        "participantName": "Bob Brown",
        "customer": {"id": str(studio.bob["id"]), "category": "PRIMARY"},
        "participant": {"id": str(studio.bob_self["id"])},
        # The payment stays with its payer.
        "payment": {
            "amount": {"amount": 2500},
            "method": "MANUAL",
            "customer": {"id": str(studio.ada["id"])},
        },
    }
    ada_tab = (await api.data(TAB, {"id": str(studio.ada["id"])}, studio.staff))["customer"]
    bob_tab = (await api.data(TAB, {"id": str(studio.bob["id"])}, studio.staff))["customer"]
    assert ada_tab["bookings"]["totalCount"] == 2
    assert paid["id"] not in [e["node"]["id"] for e in ada_tab["bookings"]["edges"]]
    assert [e["node"]["id"] for e in bob_tab["bookings"]["edges"]] == [paid["id"]]
    expected_move = {
        "before": {
            "customer_id": str(studio.ada["id"]),
            "customer_name": "Ada Lovelace",
            "participant_id": str(studio.ada_self["id"]),
            "participant_name": "Ada Lovelace",
        },
        "after": {
            "customer_id": str(studio.bob["id"]),
            "customer_name": "Bob Brown",
            "participant_id": str(studio.bob_self["id"]),
            "participant_name": "Bob Brown",
        },
    }
    for customer, name in ((studio.ada, "Ada Lovelace"), (studio.bob, "Bob Brown")):
        (entry,) = [
            e for e in await history(owner, customer) if e["action"] == "booking.transferred"
        ]
        assert entry == {
            "action": "booking.transferred",
            "actor_kind": "STAFF",
            "actor_name": "Sam Staff",
            "customer_name": name,
            "subject_type": "Booking",
            "subject_id": paid["id"],
            **expected_move,
        }

    # To another customer's child, naming both.
    to_child = await transfer(
        api,
        studio,
        free["id"],
        toCustomerId=studio.cleo["id"],
        toParticipantId=studio.cleo_kid["id"],
    )
    assert to_child["errors"] == []
    assert (to_child["booking"]["customerName"], to_child["booking"]["participantName"]) == (
        "Cleo Clark",
        "Cody Clark",
    )
    assert (await transfer(api, studio, kids["id"], toCustomerId=studio.bob["id"]))["errors"] == []
    cats = await categories(owner)
    # Ada has no bookings left but still has her payment.
    assert (cats[studio.ada["id"]], cats[studio.bob["id"]], cats[studio.cleo["id"]]) == (
        "PRIMARY",
        "PRIMARY",
        "PRIMARY",
    )
    # Moved on again, Cleo's only booking leaves her a lead.
    back = await transfer(
        api, studio, free["id"], toCustomerId=studio.ada["id"], toParticipantId=studio.kid["id"]
    )
    assert back["errors"] == []
    assert (await categories(owner))[studio.cleo["id"]] == "LEAD"


async def test_a_participant_change_on_the_same_account(
    api: Api, owner: factories.Owner, studio: Studio
) -> None:
    booking = (await book(api, studio, manualAmount=0))["booking"]

    result = await transfer(api, studio, booking["id"], toParticipantId=studio.kid["id"])

    assert result["errors"] == []
    assert (result["booking"]["participantName"], result["booking"]["customerName"]) == (
        "Kit Lovelace",
        "Ada Lovelace",
    )
    (entry,) = [e for e in await history(owner, studio.ada) if e["action"] == "booking.transferred"]
    assert (entry["before"], entry["after"]) == (
        {"participant_id": str(studio.ada_self["id"]), "participant_name": "Ada Lovelace"},
        {"participant_id": str(studio.kid["id"]), "participant_name": "Kit Lovelace"},
    )


async def test_every_impossible_transfer_is_refused_with_its_code_and_field(
    api: Api, owner: factories.Owner, studio: Studio
) -> None:
    other = await make_studio(api, owner)
    b = studio.business.id
    mine = (await book(api, studio, manualAmount=0))["booking"]
    # Pilates (2 seats) is full; Kit already has a seat on Open Class.
    for who, participant in ((studio.bob, studio.bob_self), (studio.cleo, studio.cleo_kid)):
        assert (
            await book(
                api,
                studio,
                customer=who,
                session=studio.pilates,
                participantId=participant["id"],
                manualAmount=0,
            )
        )["errors"] == []
    assert (
        await book(
            api, studio, session=studio.open_class, participantId=studio.kid["id"], manualAmount=0
        )
    )["errors"] == []
    assert (
        await book(api, studio, session=studio.open_class, customer=studio.bob, manualAmount=0)
    )["errors"] == []
    cancelled = (await book(api, studio, participantId=studio.kid["id"], manualAmount=0))["booking"]
    assert (await cancel(api, studio, cancelled["id"]))["errors"] == []
    already_began = await owner.insert(
        "bookings",
        business_id=b,
        customer_id=studio.ada["id"],
        customer_name="Ada Lovelace",
        participant_id=studio.ada_self["id"],
        participant_name="Ada Lovelace",
        session_id=studio.started,
        booked_at=datetime.now(UTC) - timedelta(days=1),
        state="MANUAL",
        paid_with="FREE",
        price_amount=0,
        currency="GBP",
    )
    archived = await factories.customer(owner, b, "Arch", "Ived", status="ARCHIVED")
    await factories.participant(owner, archived, is_self=True)
    before = await owner.c.fetch("SELECT * FROM bookings ORDER BY id")

    cases: list[tuple[Any, dict[str, Any], tuple[str, str | None]]] = [
        (mine["id"], {}, ("REQUIRED", "toSessionId")),
        (mine["id"], {"toSessionId": studio.yoga}, ("INVALID", "id")),
        (mine["id"], {"toCustomerId": studio.ada["id"]}, ("INVALID", "id")),
        (str(uuid.uuid4()), {"toSessionId": studio.pilates}, ("NOT_FOUND", "id")),
        (
            (await book(api, other, manualAmount=0))["booking"]["id"],
            {"toSessionId": studio.pilates},
            ("NOT_FOUND", "id"),
        ),
        (mine["id"], {"toSessionId": other.pilates}, ("NOT_FOUND", "toSessionId")),
        (mine["id"], {"toCustomerId": other.bob["id"]}, ("NOT_FOUND", "toCustomerId")),
        (mine["id"], {"toParticipantId": other.kid["id"]}, ("NOT_FOUND", "toParticipantId")),
        (mine["id"], {"toSessionId": studio.started}, ("ALREADY_STARTED", "toSessionId")),
        (already_began["id"], {"toSessionId": studio.pilates}, ("ALREADY_STARTED", "id")),
        (cancelled["id"], {"toSessionId": studio.pilates}, ("INVALID_STATE", "id")),
        (mine["id"], {"toSessionId": studio.pilates}, ("CAPACITY_REACHED", "toSessionId")),
        (
            mine["id"],
            {"toSessionId": studio.open_class, "toParticipantId": studio.kid["id"]},
            ("ALREADY_BOOKED", "toParticipantId"),
        ),
        (
            mine["id"],
            {"toSessionId": studio.open_class, "toCustomerId": studio.bob["id"]},
            ("ALREADY_BOOKED", "toParticipantId"),
        ),
        (mine["id"], {"toParticipantId": studio.bob_self["id"]}, ("INVALID", "toParticipantId")),
        (
            mine["id"],
            {"toCustomerId": studio.bob["id"], "toParticipantId": studio.kid["id"]},
            ("INVALID", "toParticipantId"),
        ),
        (mine["id"], {"toCustomerId": studio.cleo["id"]}, ("REQUIRED", "toParticipantId")),
        (mine["id"], {"toCustomerId": archived["id"]}, ("INVALID_STATE", "toCustomerId")),
    ]
    for booking_id, to, expected in cases:
        result = await transfer(api, studio, booking_id, **to)
        assert result["booking"] is None, to
        assert error_of(result) == expected, to

    # Nothing changed.
    assert await owner.c.fetch("SELECT * FROM bookings WHERE business_id = $1 ORDER BY id", b) == [
        r for r in before if r["business_id"] == b
    ]
    assert (
        await owner.c.fetchval(
            "SELECT count(*) FROM account_history WHERE action = 'booking.transferred'"
        )
        == 0
    )
