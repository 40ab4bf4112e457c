"""Archive, activate and delete people, exactly as the lifecycle table says, one person at a
time: the single-person mutations and the bulk ones call the same functions."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import text
from sqlalchemy.engine import Row
from sqlalchemy.ext.asyncio import AsyncConnection

from resolvers import account_history
from resolvers.account_history import Actor
from schema.errors import ErrorCode, UserError, UserFacingError, user_error


@dataclass(frozen=True)
class ArchiveWarnings:
    """What an archive leaves running, so staff can act on it."""

    upcoming_bookings: int = 0
    active_subscriptions: int = 0


@dataclass
class PersonResult:
    """The outcome for one person of a bulk action."""

    person_id: uuid.UUID
    errors: list[UserError] = field(default_factory=list)
    warnings: ArchiveWarnings | None = None


def _refuse(code: ErrorCode, field_path: str, message: str) -> UserFacingError:
    return UserFacingError(user_error(code, field_path, message))


async def _person(conn: AsyncConnection, person_id: uuid.UUID) -> tuple[str, Row[Any]] | None:
    """Which kind of person an id is, with their row (locked)."""
    for kind, sql in (
        (
            "CUSTOMER",
            "SELECT id, first_name, last_name, status, merged_into_id, category"
            " FROM customers WHERE id = :id FOR UPDATE",
        ),
        (
            "ADDITIONAL_USER",
            "SELECT a.id, a.customer_id, a.first_name, a.last_name,"
            " c.first_name AS customer_first, c.last_name AS customer_last"
            " FROM additional_users a JOIN customers c ON c.id = a.customer_id"
            " WHERE a.id = :id FOR UPDATE OF a",
        ),
        (
            "PARTICIPANT",
            "SELECT p.id, p.customer_id, p.first_name, p.last_name, p.is_self,"
            " c.first_name AS customer_first, c.last_name AS customer_last"
            " FROM participants p JOIN customers c ON c.id = p.customer_id"
            " WHERE p.id = :id FOR UPDATE OF p",
        ),
    ):
        row = (await conn.execute(text(sql), {"id": person_id})).first()
        if row is not None:
            return kind, row
    return None


async def _customer_for_status_change(
    conn: AsyncConnection, person_id: uuid.UUID, field_path: str
) -> Row[Any]:
    found = await _person(conn, person_id)
    if found is None:
        raise _refuse(ErrorCode.NOT_FOUND, field_path, "No such person in this business.")
    kind, row = found
    if kind != "CUSTOMER":
        raise _refuse(
            ErrorCode.INVALID_STATE,
            field_path,
            "Participants and additional users share their customer's Active/Archived state: "
            "archive or activate the customer.",
        )
    if row.merged_into_id is not None:
        raise _refuse(
            ErrorCode.INVALID_STATE,
            field_path,
            "This account was merged into another and stays archived.",
        )
    return row


async def archive_warnings(conn: AsyncConnection, customer_id: uuid.UUID) -> ArchiveWarnings:
    row = (
        await conn.execute(
            text(
                "SELECT"
                " (SELECT count(*) FROM bookings b JOIN sessions s ON s.id = b.session_id"
                "   WHERE b.customer_id = :id AND b.state <> 'CANCELLED' AND s.starts_at > now())"
                "   AS upcoming,"
                " (SELECT count(*) FROM customer_subscriptions"
                "   WHERE customer_id = :id AND state = 'ACTIVE') AS subscriptions"
            ),
            {"id": customer_id},
        )
    ).one()
    return ArchiveWarnings(int(row.upcoming), int(row.subscriptions))


async def archive(
    conn: AsyncConnection,
    actor: Actor,
    business_id: uuid.UUID,
    person_id: uuid.UUID,
    field_path: str,
) -> ArchiveWarnings:
    row = await _customer_for_status_change(conn, person_id, field_path)
    if row.status == "ARCHIVED":
        raise _refuse(ErrorCode.INVALID_STATE, field_path, "This customer is already archived.")
    await conn.execute(
        text(
            "UPDATE customers SET status = 'ARCHIVED', archived_at = now(), updated_at = now(),"
            " version = version + 1 WHERE id = :id"
        ),
        {"id": person_id},
    )
    await _history(conn, actor, business_id, row, "customer.archived", "ACTIVE", "ARCHIVED")
    return await archive_warnings(conn, person_id)


async def activate(
    conn: AsyncConnection,
    actor: Actor,
    business_id: uuid.UUID,
    person_id: uuid.UUID,
    field_path: str,
) -> None:
    row = await _customer_for_status_change(conn, person_id, field_path)
    if row.status == "ACTIVE":
        raise _refuse(ErrorCode.INVALID_STATE, field_path, "This customer is already active.")
    await conn.execute(
        text(
            "UPDATE customers SET status = 'ACTIVE', archived_at = NULL, updated_at = now(),"
            " version = version + 1 WHERE id = :id"
        ),
        {"id": person_id},
    )
    await _history(conn, actor, business_id, row, "customer.activated", "ARCHIVED", "ACTIVE")


async def _history(
    conn: AsyncConnection,
    actor: Actor,
    business_id: uuid.UUID,
    row: Row[Any],
    action: str,
    before: str,
    after: str,
) -> None:
    await account_history.record(
        conn,
        business_id=business_id,
        actor=actor,
        action=action,
        customer_id=row.id,
        customer_name=f"{row.first_name} {row.last_name}",
        subject_type="Customer",
        subject_id=row.id,
        before={"status": before},
        after={"status": after},
    )


async def delete_person(
    conn: AsyncConnection,
    actor: Actor,
    business_id: uuid.UUID,
    person_id: uuid.UUID,
    field_path: str,
) -> str:
    """Delete a customer (app user, or a lead without additional users), an additional user
    (their `actedBy` rows fall back to the primary customer) or a participant (history unlinked);
    refuse anything with history. Returns the kind deleted."""
    found = await _person(conn, person_id)
    if found is None:
        raise _refuse(ErrorCode.NOT_FOUND, field_path, "No such person in this business.")
    kind, row = found
    if kind == "CUSTOMER":
        await _delete_customer(conn, actor, business_id, row, field_path)
    elif kind == "ADDITIONAL_USER":
        await _delete_dependant(
            conn, actor, business_id, row, "additional_users", "additional_user.deleted"
        )
    else:
        await _delete_participant(conn, actor, business_id, row, field_path)
    return kind


async def _delete_customer(
    conn: AsyncConnection, actor: Actor, business_id: uuid.UUID, row: Row[Any], field_path: str
) -> None:
    if row.merged_into_id is not None:
        raise _refuse(
            ErrorCode.INVALID_STATE,
            field_path,
            "This account was merged into another; it is kept so that links to it still resolve.",
        )
    if row.category == "PRIMARY":
        raise _refuse(
            ErrorCode.HAS_HISTORY,
            field_path,
            "This customer has bookings, purchases or payments and cannot be deleted: "
            "archive them instead.",
        )
    if row.category == "LEAD":
        helpers = (
            await conn.execute(
                text("SELECT count(*) FROM additional_users WHERE customer_id = :id"),
                {"id": row.id},
            )
        ).scalar_one()
        if helpers:
            raise _refuse(
                ErrorCode.HAS_HISTORY,
                field_path,
                "This customer has additional users and cannot be deleted: archive them instead, "
                "or remove the additional users first.",
            )
    name = f"{row.first_name} {row.last_name}"
    await account_history.record(
        conn,
        business_id=business_id,
        actor=actor,
        action="customer.deleted",
        customer_id=row.id,
        customer_name=name,
        subject_type="Customer",
        subject_id=row.id,
        before={"first_name": row.first_name, "last_name": row.last_name, "category": row.category},
    )
    await conn.execute(text("DELETE FROM customers WHERE id = :id"), {"id": row.id})


async def _delete_dependant(
    conn: AsyncConnection,
    actor: Actor,
    business_id: uuid.UUID,
    row: Row[Any],
    table: str,
    action: str,
) -> None:
    await account_history.record(
        conn,
        business_id=business_id,
        actor=actor,
        action=action,
        customer_id=row.customer_id,
        customer_name=f"{row.customer_first} {row.customer_last}",
        subject_type="AdditionalUser" if table == "additional_users" else "Participant",
        subject_id=row.id,
        before={"first_name": row.first_name, "last_name": row.last_name},
    )
    await conn.execute(text(f"DELETE FROM {table} WHERE id = :id"), {"id": row.id})


async def _delete_participant(
    conn: AsyncConnection, actor: Actor, business_id: uuid.UUID, row: Row[Any], field_path: str
) -> None:
    upcoming = (
        await conn.execute(
            text(
                "SELECT count(*) FROM bookings b JOIN sessions s ON s.id = b.session_id"
                " WHERE b.participant_id = :id AND b.state <> 'CANCELLED' AND s.starts_at > now()"
            ),
            {"id": row.id},
        )
    ).scalar_one()
    if upcoming:
        raise _refuse(
            ErrorCode.INVALID_STATE,
            field_path,
            f"This participant has {upcoming} upcoming booking(s): cancel or transfer them first.",
        )
    await _delete_dependant(conn, actor, business_id, row, "participants", "participant.removed")
