"""The member's in-app inbox: messages sent in the app to this person (a customer's own, not
those addressed to their additional users; an additional user's own), newest first.

A message appears once it is SENT (in-app messages need no delivery, but one that was skipped,
for example marketing without consent, or that failed never reaches the inbox)."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from typing import Any, cast

from sqlalchemy import Row, Table, func, select, update
from sqlalchemy.ext.asyncio import AsyncConnection
from sqlalchemy.sql import ColumnElement

from models import Message
from resolvers.paging import capped_count, fetch_page
from schema.pagination import PageRequest
from server.auth import Role, Viewer
from server.db import ReadTransaction

messages = cast(Table, Message.__table__)
m = messages.c

INBOX_COLUMNS = (
    m.id,
    m.number,
    m.customer_id,
    m.customer_name,
    m.participant_id,
    m.participant_name,
    m.acted_by_additional_user_id,
    m.created_by_staff_id,
    m.created_at,
    m.updated_at,
    m.recipient_additional_user_id,
    m.channel,
    m.purpose,
    m.subject,
    m.body,
    m.status,
    m.status_reason,
    m.sent_at,
    m.read_at,
)


def addressed_to(viewer: Viewer) -> ColumnElement[bool]:
    """In-app messages delivered to the viewer."""
    delivered = (m.channel == "IN_APP") & (m.status == "SENT")
    if viewer.role is Role.CUSTOMER:
        return (
            delivered
            & (m.customer_id == viewer.subject_id)
            & (m.recipient_additional_user_id.is_(None))
        )
    return delivered & (m.recipient_additional_user_id == viewer.subject_id)


async def inbox_page(
    reader: ReadTransaction, viewer: Viewer, unread_only: bool, request: PageRequest
) -> tuple[Sequence[Row[Any]], int]:
    condition = addressed_to(viewer)
    if unread_only:
        condition = condition & m.read_at.is_(None)
    base = select(*INBOX_COLUMNS).where(condition)
    rows = await fetch_page(reader, base, [m.created_at, m.id], request, descending=True)
    return rows, await capped_count(reader, base)


async def unread_count(reader: ReadTransaction, viewer: Viewer) -> int:
    statement = select(func.count()).where(addressed_to(viewer) & m.read_at.is_(None))
    return int((await reader.execute(statement)).scalar_one())


async def mark_read(
    conn: AsyncConnection, viewer: Viewer, ids: Sequence[uuid.UUID]
) -> set[uuid.UUID]:
    """Mark the viewer's messages among `ids` read (the first reading time is kept); returns
    the ids that are the viewer's."""
    statement = (
        update(messages)
        .where(addressed_to(viewer) & m.id.in_(list(ids)))
        .values(read_at=func.coalesce(m.read_at, func.now()))
        .returning(m.id)
    )
    return {row.id for row in await conn.execute(statement)}
