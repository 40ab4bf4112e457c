"""Internal notes about a customer: any staff member may add, edit or delete one; the note
records who wrote it and who last edited it, and account history records every change. Members
never see notes (the mutations and the notes tab are for staff only).

Notes have no version column: an edit may name the `updated_at` it was opened with, and is
refused with STALE when the note changed since.
"""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection

from resolvers import account_history
from resolvers.account_history import Actor
from resolvers.history_actions import customer_name, locked_account, locked_row, refuse, staff_id
from schema.errors import ErrorCode

MAX_NOTE = 10_000
_COLUMNS = "id, number, customer_id, customer_name, content, updated_at"


def clean_content(content: str, field: str) -> str:
    """Trimmed content of 1 to MAX_NOTE characters."""
    trimmed = content.strip()
    if not trimmed:
        raise refuse(ErrorCode.REQUIRED, field, "Write something in the note.")
    if len(trimmed) > MAX_NOTE:
        raise refuse(ErrorCode.TOO_LONG, field, f"A note has at most {MAX_NOTE} characters.")
    return trimmed


async def create_note(
    conn: AsyncConnection,
    actor: Actor,
    business_id: uuid.UUID,
    customer_id: uuid.UUID,
    content: str,
) -> uuid.UUID:
    text_ = clean_content(content, "content")
    account = await locked_account(conn, customer_id, "customerId")
    row = (
        await conn.execute(
            text(
                "INSERT INTO notes (business_id, customer_id, customer_name, created_by_staff_id,"
                " content, author_name) VALUES (:business, :customer, :name, :staff, :content,"
                " :author) RETURNING id, number"
            ),
            {
                "business": business_id,
                "customer": account.id,
                "name": account.name,
                "staff": staff_id(actor),
                "content": text_,
                "author": actor.name[:200],
            },
        )
    ).one()
    await account_history.record(
        conn,
        business_id=business_id,
        actor=actor,
        action="note.created",
        customer_id=account.id,
        customer_name=account.name,
        subject_type="Note",
        subject_id=row.id,
        after={"number": row.number, "content": text_},
    )
    return uuid.UUID(str(row.id))


async def update_note(
    conn: AsyncConnection,
    actor: Actor,
    business_id: uuid.UUID,
    note_id: uuid.UUID,
    content: str,
    opened_at: datetime | None,
) -> uuid.UUID:
    text_ = clean_content(content, "content")
    row = await locked_row(conn, "notes", _COLUMNS, note_id, "id", "note")
    if opened_at is not None and opened_at != row.updated_at:
        raise refuse(
            ErrorCode.STALE,
            "updatedAt",
            "Someone else changed this note since you opened it: reload and try again.",
        )
    if text_ == row.content:
        return uuid.UUID(str(row.id))
    await conn.execute(
        text(
            "UPDATE notes SET content = :content, updated_by_staff_id = :staff,"
            " updated_by_name = :editor, updated_at = clock_timestamp() WHERE id = :id"
        ),
        {"content": text_, "staff": staff_id(actor), "editor": actor.name[:200], "id": row.id},
    )
    await account_history.record(
        conn,
        business_id=business_id,
        actor=actor,
        action="note.updated",
        customer_id=row.customer_id,
        customer_name=await customer_name(conn, row.customer_id, row.customer_name),
        subject_type="Note",
        subject_id=row.id,
        before={"number": row.number, "content": row.content},
        after={"number": row.number, "content": text_},
    )
    return uuid.UUID(str(row.id))


async def delete_note(
    conn: AsyncConnection, actor: Actor, business_id: uuid.UUID, note_id: uuid.UUID
) -> uuid.UUID | None:
    """Deletes the note; returns the customer it was about."""
    row = await locked_row(conn, "notes", _COLUMNS, note_id, "id", "note")
    await conn.execute(text("DELETE FROM notes WHERE id = :id"), {"id": row.id})
    await account_history.record(
        conn,
        business_id=business_id,
        actor=actor,
        action="note.deleted",
        customer_id=row.customer_id,
        customer_name=await customer_name(conn, row.customer_id, row.customer_name),
        subject_type="Note",
        subject_id=row.id,
        before={"number": row.number, "content": row.content},
    )
    return uuid.UUID(str(row.customer_id)) if row.customer_id is not None else None
