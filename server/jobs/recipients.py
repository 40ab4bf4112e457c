"""Who a bulk message can go to, shared by the email, in-app and SMS jobs.

Messages go to customers and additional users (an additional user's messages belong to their
customer's communication log). A selection may also hold ids that are neither: participants
(a filter on the Everyone tab lists them; they have no login or inbox of their own, so they are
skipped with the reason) and ids of nobody in the business (another business's people look
exactly like these), which fail.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping, Sequence
from typing import Final

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection

from resolvers.outbox import Recipient
from server.jobs.queue import ITEM_FAILED, SKIPPED
from server.jobs.registry import Outcome, PendingItem

NOT_FOUND: Final = "No customer or additional user with this id in the business."
MERGED: Final = "Not sent: this customer was merged into another one."
PARTICIPANT: Final = (
    "Not sent: participants have no login or inbox of their own; message their customer."
)

_PARTICIPANTS = text("SELECT id FROM participants WHERE id = ANY(CAST(:ids AS uuid[]))")
_MOBILES = text(
    """
    SELECT id, mobile FROM customers WHERE id = ANY(CAST(:ids AS uuid[]))
    UNION ALL
    SELECT id, mobile FROM additional_users WHERE id = ANY(CAST(:ids AS uuid[]))
    """
)


async def participants_among(
    conn: AsyncConnection, person_ids: Sequence[uuid.UUID]
) -> set[uuid.UUID]:
    """Which of these ids are participants (one statement; none when the list is empty)."""
    if not person_ids:
        return set()
    rows = await conn.execute(_PARTICIPANTS, {"ids": list(person_ids)})
    return {row.id for row in rows}


async def mobiles_of(
    conn: AsyncConnection, person_ids: Sequence[uuid.UUID]
) -> dict[uuid.UUID, str | None]:
    """Customers' and additional users' mobiles (E.164) by id, in one statement."""
    if not person_ids:
        return {}
    rows = await conn.execute(_MOBILES, {"ids": list(person_ids)})
    return {row.id: row.mobile for row in rows}


async def unreachable(
    conn: AsyncConnection, items: Sequence[PendingItem], recipients: Mapping[uuid.UUID, Recipient]
) -> dict[uuid.UUID, Outcome]:
    """Outcomes, by item id, for the items that cannot get a message at all: nobody in the
    business (FAILED), a participant or a merged customer (SKIPPED, with the reason)."""
    missing = [item.person_id for item in items if item.person_id not in recipients]
    participants = await participants_among(conn, missing)
    outcomes: dict[uuid.UUID, Outcome] = {}
    for item in items:
        recipient = recipients.get(item.person_id)
        if recipient is None:
            if item.person_id in participants:
                outcomes[item.id] = Outcome(item.id, SKIPPED, PARTICIPANT)
            else:
                outcomes[item.id] = Outcome(item.id, ITEM_FAILED, NOT_FOUND)
        elif recipient.merged:
            outcomes[item.id] = Outcome(item.id, SKIPPED, MERGED)
    return outcomes
