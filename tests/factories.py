"""Builders for test data, written as the owner (as the seeder does) so tests can set up any
state, including another business's rows."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

__all__ = ["UTC", "datetime"]
from typing import Any

import asyncpg

from server.database_setup import OWNER_ROLE, asyncpg_url


class Owner:
    """An owner connection for fixtures: `async with Owner(url) as db: ...`."""

    def __init__(self, url: str) -> None:
        self.url = url
        self.conn: asyncpg.Connection | None = None

    async def __aenter__(self) -> Owner:
        self.conn = await asyncpg.connect(asyncpg_url(self.url))
        await self.conn.execute(f"SET ROLE {OWNER_ROLE}")
        return self

    async def __aexit__(self, *exc: object) -> None:
        assert self.conn is not None
        await self.conn.close()

    @property
    def c(self) -> asyncpg.Connection:
        assert self.conn is not None
        return self.conn

    async def insert(self, table: str, **values: Any) -> asyncpg.Record:
        columns = ", ".join(values)
        placeholders = ", ".join(f"${i}" for i in range(1, len(values) + 1))
        row = await self.c.fetchrow(
            f"INSERT INTO {table} ({columns}) VALUES ({placeholders}) RETURNING *",
            *values.values(),
        )
        assert row is not None
        return row


@dataclass(frozen=True)
class BusinessFixture:
    id: uuid.UUID
    slug: str
    owner_id: uuid.UUID
    staff_id: uuid.UUID


async def business(db: Owner, slug: str | None = None, **overrides: Any) -> BusinessFixture:
    slug = slug or f"biz-{uuid.uuid4().hex[:8]}"
    values: dict[str, Any] = {
        "name": slug.replace("-", " ").title(),
        "slug": slug,
        "time_zone": "Europe/London",
        "currency": "GBP",
        "country": "GB",
        **overrides,
    }
    row = await db.insert("businesses", **values)
    owner = await db.insert(
        "staff_users",
        business_id=row["id"],
        email=f"owner@{slug}.test",
        display_name="Olivia Owner",
        role="OWNER",
    )
    staff = await db.insert(
        "staff_users",
        business_id=row["id"],
        email=f"staff@{slug}.test",
        display_name="Sam Staff",
        role="STAFF",
    )
    return BusinessFixture(row["id"], slug, owner["id"], staff["id"])


async def customer(
    db: Owner,
    business_id: uuid.UUID,
    first_name: str = "Ada",
    last_name: str = "Lovelace",
    *,
    email: str | None = None,
    origin: str = "STAFF",
    **overrides: Any,
) -> asyncpg.Record:
    email = email if email is not None else f"{uuid.uuid4().hex[:10]}@example.com"
    row = await db.insert(
        "customers",
        business_id=business_id,
        first_name=first_name,
        last_name=last_name,
        email=email,
        origin=origin,
        category="APP_USER" if origin == "PORTAL_SIGNUP" else "LEAD",
        **overrides,
    )
    if email:
        await db.insert(
            "login_emails", business_id=business_id, email_key=email.lower(), customer_id=row["id"]
        )
    return row


async def participant(
    db: Owner,
    customer_row: asyncpg.Record,
    first_name: str = "Pat",
    *,
    is_self: bool = False,
    **overrides: Any,
) -> asyncpg.Record:
    return await db.insert(
        "participants",
        business_id=customer_row["business_id"],
        customer_id=customer_row["id"],
        first_name=customer_row["first_name"] if is_self else first_name,
        last_name=customer_row["last_name"],
        is_self=is_self,
        **overrides,
    )


async def additional_user(
    db: Owner, customer_row: asyncpg.Record, first_name: str = "Alex", **overrides: Any
) -> asyncpg.Record:
    email = overrides.pop("email", f"{uuid.uuid4().hex[:10]}@example.com")
    row = await db.insert(
        "additional_users",
        business_id=customer_row["business_id"],
        customer_id=customer_row["id"],
        first_name=first_name,
        last_name=customer_row["last_name"],
        email=email,
        **overrides,
    )
    await db.insert(
        "login_emails",
        business_id=row["business_id"],
        email_key=email.lower(),
        additional_user_id=row["id"],
    )
    return row


async def manual_payment(
    db: Owner, customer_row: asyncpg.Record, amount: int = 1000, **overrides: Any
) -> asyncpg.Record:
    return await db.insert(
        "payments",
        business_id=customer_row["business_id"],
        customer_id=customer_row["id"],
        customer_name=f"{customer_row['first_name']} {customer_row['last_name']}",
        amount=amount,
        currency="GBP",
        method="MANUAL",
        description="Cash at the desk",
        paid_at=datetime.now(UTC) - timedelta(days=1),
        **overrides,
    )
