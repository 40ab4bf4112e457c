"""Builders for a business's catalog and a customer's history, written as the owner."""

from __future__ import annotations

import json
import uuid
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any

import asyncpg

from tests.factories import Owner


@dataclass(frozen=True)
class Catalog:
    business_id: uuid.UUID
    facilitator: uuid.UUID
    event: uuid.UUID
    session: uuid.UUID  # 2026-06-10 09:30 in New York
    service: uuid.UUID
    ten_pack: uuid.UUID
    unlimited: uuid.UUID
    video: uuid.UUID
    credit_video: uuid.UUID
    plan: uuid.UUID
    questionnaire: uuid.UUID


async def catalog(db: Owner, business_id: uuid.UUID) -> Catalog:
    async def add(table: str, **values: Any) -> uuid.UUID:
        row = await db.insert(table, business_id=business_id, **values)
        return uuid.UUID(str(row["id"]))

    facilitator = await add("facilitators", name="Grace Hopper")
    event = await add("events", name="Sunrise Yoga", description="Gentle flow at dawn.")
    starts = datetime(2026, 6, 10, 13, 30, tzinfo=UTC)
    session = await add(
        "sessions",
        event_id=event,
        facilitator_id=facilitator,
        starts_at=starts,
        ends_at=starts + timedelta(hours=1),
        time_zone="America/New_York",
        capacity=12,
    )
    questions = [
        {"key": "injuries", "label": "Any injuries?", "type": "text", "required": True},
        {"key": "consent", "label": "I accept the terms", "type": "boolean", "required": True},
        {"key": "heard", "label": "How did you hear of us?", "type": "text", "required": False},
    ]
    return Catalog(
        business_id=business_id,
        facilitator=facilitator,
        event=event,
        session=session,
        service=await add(
            "services", name="Sports Massage", duration_minutes=45, price_amount=5500,
            currency="GBP",
        ),
        ten_pack=await add(
            "pass_products", name="Ten Class Pass", uses=10, validity_days=90,
            price_amount=9000, currency="GBP",
        ),
        unlimited=await add(
            "pass_products", name="Unlimited Month", uses=None, validity_days=30,
            price_amount=12000, currency="GBP",
        ),
        video=await add(
            "videos", name="Core Basics", price_amount=799, currency="GBP", access_days=30,
        ),
        credit_video=await add(
            "videos", name="Mobility Masterclass", price_amount=0, currency="GBP",
            price_credits=2, access_days=None,
        ),
        plan=await add(
            "plans", name="Monthly Membership", amount=4500, currency="GBP",
            interval_unit="MONTH", interval_count=1,
        ),
        questionnaire=await add(
            "questionnaires", name="Health Waiver", questions=json.dumps(questions),
        ),
    )  # fmt: skip


def _person(customer: asyncpg.Record) -> dict[str, Any]:
    return {
        "business_id": customer["business_id"],
        "customer_id": customer["id"],
        "customer_name": f"{customer['first_name']} {customer['last_name']}",
    }


async def booking(
    db: Owner, customer: asyncpg.Record, cat: Catalog, booked_at: datetime, **values: Any
) -> asyncpg.Record:
    row: dict[str, Any] = {
        "session_id": cat.session,
        "booked_at": booked_at,
        "state": "MANUAL",
        "paid_with": "MANUAL",
        "price_amount": 1200,
        "currency": "GBP",
        **values,
    }
    if row["state"] == "CANCELLED" and "cancelled_at" not in row:
        row["cancelled_at"] = booked_at + timedelta(hours=1)
    return await db.insert("bookings", **_person(customer), **row)


async def payment(
    db: Owner, customer: asyncpg.Record, amount: int, paid_at: datetime, **values: Any
) -> asyncpg.Record:
    stripe = values.pop("stripe", False)
    return await db.insert(
        "payments",
        **_person(customer),
        amount=amount,
        currency="GBP",
        method="STRIPE" if stripe else "MANUAL",
        stripe_payment_intent_id=f"pi_{uuid.uuid4().hex}" if stripe else None,
        description=values.pop("description", "Payment"),
        paid_at=paid_at,
        **values,
    )


async def customer_pass(
    db: Owner, customer: asyncpg.Record, cat: Catalog, purchased_at: datetime, **values: Any
) -> asyncpg.Record:
    unlimited = values.pop("unlimited", False)
    row: dict[str, Any] = {
        "pass_product_id": cat.unlimited if unlimited else cat.ten_pack,
        "purchased_at": purchased_at,
        "valid_from": purchased_at.date(),
        "valid_until": purchased_at.date() + timedelta(days=30 if unlimited else 90),
        "uses_total": None if unlimited else 10,
        "uses_remaining": None if unlimited else 7,
        "price_amount": 12000 if unlimited else 9000,
        "currency": "GBP",
        "state": "MANUAL",
        **values,
    }
    return await db.insert("customer_passes", **_person(customer), **row)


async def video_purchase(
    db: Owner, customer: asyncpg.Record, cat: Catalog, purchased_at: datetime, **values: Any
) -> asyncpg.Record:
    row: dict[str, Any] = {
        "video_id": cat.video,
        "purchased_at": purchased_at,
        "expires_at": purchased_at + timedelta(days=30),
        "price_amount": 799,
        "currency": "GBP",
        "state": "ACTIVE",
        **values,
    }
    if row["state"] == "CANCELLED" and "cancelled_at" not in row:
        row["cancelled_at"] = purchased_at + timedelta(hours=1)
    return await db.insert("video_purchases", **_person(customer), **row)


async def appointment(
    db: Owner, customer: asyncpg.Record, cat: Catalog, booked_at: datetime, **values: Any
) -> asyncpg.Record:
    row: dict[str, Any] = {
        "service_id": cat.service,
        "facilitator_id": cat.facilitator,
        "booked_at": booked_at,
        "starts_at": booked_at + timedelta(days=3),
        "duration_minutes": 45,
        "price_amount": 5500,
        "currency": "GBP",
        "paid_with": "MANUAL",
        "state": "SCHEDULED",
        **values,
    }
    return await db.insert("appointments", **_person(customer), **row)


async def subscription(
    db: Owner, customer: asyncpg.Record, cat: Catalog, created_at: datetime, **values: Any
) -> asyncpg.Record:
    row: dict[str, Any] = {
        "plan_id": cat.plan,
        "state": "ACTIVE",
        "amount": 4500,
        "currency": "GBP",
        "interval_unit": "MONTH",
        "interval_count": 1,
        "started_on": created_at.date(),
        "next_payment_on": date(2026, 12, 1),
        "created_at": created_at,
        "updated_at": created_at,
        **values,
    }
    return await db.insert("customer_subscriptions", **_person(customer), **row)


async def response(
    db: Owner, customer: asyncpg.Record, cat: Catalog, created_at: datetime, **values: Any
) -> asyncpg.Record:
    answers = values.pop("answers", None)
    row: dict[str, Any] = {
        "questionnaire_id": cat.questionnaire,
        "status": "COMPLETED" if answers else "ASSIGNED",
        "answers": json.dumps(answers or {}),
        "answers_submitted": len(answers or {}),
        "submitted_at": created_at + timedelta(hours=1) if answers else None,
        "created_at": created_at,
        "updated_at": created_at + timedelta(hours=1) if answers else created_at,
        **values,
    }
    return await db.insert("questionnaire_responses", **_person(customer), **row)


async def note(
    db: Owner, customer: asyncpg.Record, content: str, created_at: datetime, **values: Any
) -> asyncpg.Record:
    row: dict[str, Any] = {
        "content": content,
        "author_name": "Sam Staff",
        "created_at": created_at,
        "updated_at": created_at,
        **values,
    }
    return await db.insert("notes", **_person(customer), **row)


async def account_entry(
    db: Owner, customer: asyncpg.Record, action: str, created_at: datetime, **values: Any
) -> asyncpg.Record:
    row: dict[str, Any] = {
        "business_id": customer["business_id"],
        "customer_id": customer["id"],
        "customer_name": f"{customer['first_name']} {customer['last_name']}",
        "actor_kind": "STAFF",
        "actor_name": "Sam Staff",
        "action": action,
        "subject_type": "Customer",
        "subject_id": customer["id"],
        "created_at": created_at,
        **values,
    }
    for key in ("before", "after"):
        if key in row and row[key] is not None:
            row[key] = json.dumps(row[key])
    return await db.insert("account_history", **row)


async def fill_every_tab(db: Owner, customer: asyncpg.Record, cat: Catalog, rows: int) -> None:
    """`rows` rows in each of the eight tabs, one statement per table (generate_series)."""
    person = "$1::uuid, $2::uuid, $3::text"  # business_id, customer_id, customer_name
    args = (customer["business_id"], customer["id"], _person(customer)["customer_name"], rows)
    at = "timestamptz '2026-01-01 00:00Z' + g * interval '1 minute'"
    statements = [
        f"""INSERT INTO bookings (business_id, customer_id, customer_name, session_id, booked_at,
                state, paid_with, price_amount, currency)
            SELECT {person}, '{cat.session}', {at}, 'MANUAL', 'MANUAL', 1000, 'GBP'
            FROM generate_series(1, $4) g""",
        f"""INSERT INTO appointments (business_id, customer_id, customer_name, service_id,
                facilitator_id, booked_at, starts_at, duration_minutes, price_amount, currency,
                paid_with, state)
            SELECT {person}, '{cat.service}', '{cat.facilitator}', {at}, {at}, 45, 5500, 'GBP',
                'MANUAL', 'SCHEDULED'
            FROM generate_series(1, $4) g""",
        f"""INSERT INTO customer_passes (business_id, customer_id, customer_name, pass_product_id,
                purchased_at, valid_from, uses_total, uses_remaining, price_amount, currency,
                state)
            SELECT {person}, '{cat.ten_pack}', {at}, date '2026-01-01', 10, 5, 9000, 'GBP',
                'MANUAL'
            FROM generate_series(1, $4) g""",
        f"""INSERT INTO video_purchases (business_id, customer_id, customer_name, video_id,
                purchased_at, price_amount, currency, state)
            SELECT {person}, '{cat.video}', {at}, 799, 'GBP', 'ACTIVE'
            FROM generate_series(1, $4) g""",
        f"""INSERT INTO customer_subscriptions (business_id, customer_id, customer_name, plan_id,
                state, amount, currency, interval_unit, interval_count, started_on, created_at)
            SELECT {person}, '{cat.plan}', 'ACTIVE', 4500, 'GBP', 'MONTH', 1,
                date '2026-01-01', {at}
            FROM generate_series(1, $4) g""",
        f"""INSERT INTO questionnaire_responses (business_id, customer_id, customer_name,
                questionnaire_id, status, created_at)
            SELECT {person}, '{cat.questionnaire}', 'ASSIGNED', {at}
            FROM generate_series(1, $4) g""",
        f"""INSERT INTO notes (business_id, customer_id, customer_name, content, author_name,
                created_at)
            SELECT {person}, 'Note ' || g, 'Sam Staff', {at}
            FROM generate_series(1, $4) g""",
        f"""INSERT INTO account_history (business_id, customer_id, customer_name, actor_kind,
                actor_name, action, created_at)
            SELECT {person}, 'STAFF', 'Sam Staff', 'customer.updated', {at}
            FROM generate_series(1, $4) g""",
    ]
    for statement in statements:
        await db.c.execute(statement, *args)
