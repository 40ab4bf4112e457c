"""The account-history writer: every change to a customer's account is recorded, in the same
transaction as the change, with who acted, what they did and the values before and after."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any, cast

from sqlalchemy import Table, insert, select
from sqlalchemy.ext.asyncio import AsyncConnection

from models import AccountHistoryEntry, AdditionalUser, Customer, StaffUser
from server.auth import Role, Viewer

history = cast(Table, AccountHistoryEntry.__table__)


@dataclass(frozen=True)
class Actor:
    """Who acted: a staff member, the customer, one of their additional users, or the system."""

    kind: str  # STAFF, CUSTOMER, ADDITIONAL_USER, SYSTEM
    id: uuid.UUID | None
    name: str


SYSTEM = Actor("SYSTEM", None, "System")


async def actor_for(conn: AsyncConnection, viewer: Viewer) -> Actor:
    """The viewer as an actor, with their name as it is now (a snapshot for the history)."""
    if viewer.is_staff:
        table: Any = StaffUser.__table__
        name = select(table.c.display_name).where(table.c.id == viewer.subject_id)
        kind = "STAFF"
    else:
        table = (Customer if viewer.role is Role.CUSTOMER else AdditionalUser).__table__
        name = select(table.c.first_name + " " + table.c.last_name).where(
            table.c.id == viewer.subject_id
        )
        kind = "CUSTOMER" if viewer.role is Role.CUSTOMER else "ADDITIONAL_USER"
    found = (await conn.execute(name)).scalar_one_or_none()
    return Actor(kind, viewer.subject_id, str(found or "Unknown"))


def _jsonable(values: dict[str, Any] | None) -> dict[str, Any] | None:
    if values is None:
        return None
    out: dict[str, Any] = {}
    for key, value in values.items():
        if isinstance(value, (datetime, date, uuid.UUID)):
            out[key] = str(value)
        else:
            out[key] = value
    return out


def changed_fields(
    before: dict[str, Any], after: dict[str, Any]
) -> tuple[dict[str, Any], dict[str, Any]]:
    """Only the keys whose values differ, as (before, after)."""
    keys = [k for k in after if before.get(k) != after[k]]
    return {k: before.get(k) for k in keys}, {k: after[k] for k in keys}


async def record(
    conn: AsyncConnection,
    *,
    business_id: uuid.UUID,
    actor: Actor,
    action: str,
    customer_id: uuid.UUID | None,
    customer_name: str,
    subject_type: str | None = None,
    subject_id: uuid.UUID | None = None,
    before: dict[str, Any] | None = None,
    after: dict[str, Any] | None = None,
) -> None:
    """Write one account-history entry in the caller's transaction."""
    await conn.execute(
        insert(history).values(
            business_id=business_id,
            customer_id=customer_id,
            customer_name=customer_name,
            actor_kind=actor.kind,
            actor_id=actor.id,
            actor_name=actor.name,
            action=action,
            subject_type=subject_type,
            subject_id=subject_id,
            before=_jsonable(before),
            after=_jsonable(after),
        )
    )
