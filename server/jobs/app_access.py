"""Disable or re-enable member-portal access for everyone a directory filter selects, as a
tracked job: the filter is expanded into items, then each person gets the same function the
selection-of-ids mutation uses, in a savepoint of the page's transaction, with a result each."""

from __future__ import annotations

import uuid
from typing import Final

from sqlalchemy.ext.asyncio import AsyncConnection

from resolvers.app_access import set_app_access
from resolvers.selection import DirectoryFilter
from schema.errors import UserFacingError
from server.jobs.queue import DONE, ITEM_FAILED, SKIPPED, JobError, enqueue
from server.jobs.recipients import participants_among
from server.jobs.registry import JobRun, Outcome, PendingItem
from server.jobs.selection import FILTER_KEY, expand_payload_filter, filter_payload, requester

KIND: Final = "people_app_access"
CHANGED: Final = {True: "Portal access enabled.", False: "Portal access disabled."}
UNCHANGED: Final = {
    True: "Portal access was already enabled.",
    False: "Portal access was already disabled.",
}
# A filter on the Everyone tab lists participants too; they have no login to change.
PARTICIPANT: Final = "Skipped: participants have no member-portal login."


async def enqueue_app_access(
    conn: AsyncConnection,
    *,
    business_id: uuid.UUID,
    enabled: bool,
    selection: DirectoryFilter,
    raw_search: str | None,
    created_by_staff_id: uuid.UUID | None,
) -> uuid.UUID:
    """Queue the change for everyone the filter selects, in the caller's transaction."""
    payload = {"enabled": enabled, FILTER_KEY: filter_payload(selection, raw_search)}
    return await enqueue(
        conn,
        business_id=business_id,
        kind=KIND,
        payload=payload,
        created_by_staff_id=created_by_staff_id,
    )


async def handle(run: JobRun) -> None:
    enabled = run.payload.get("enabled")
    if not isinstance(enabled, bool):
        raise JobError("The job does not say whether to enable or disable access.", retry=False)
    await expand_payload_filter(run)

    async def page(conn: AsyncConnection, items: list[PendingItem]) -> list[Outcome]:
        actor = await requester(conn, run.created_by_staff_id)
        participants = await participants_among(conn, [item.person_id for item in items])
        outcomes = [
            Outcome(item.id, SKIPPED, PARTICIPANT)
            for item in items
            if item.person_id in participants
        ]
        # Ascending id order: two overlapping changes lock people in the same order.
        for item in sorted(items, key=lambda i: i.person_id):
            if item.person_id in participants:
                continue
            try:
                async with conn.begin_nested():
                    changed = await set_app_access(
                        conn, actor, run.business_id, item.person_id, enabled, "selection"
                    )
            except UserFacingError as refused:
                message = "; ".join(error.message for error in refused.errors)
                outcomes.append(Outcome(item.id, ITEM_FAILED, message))
            else:
                outcomes.append(
                    Outcome(item.id, DONE, (CHANGED if changed else UNCHANGED)[enabled])
                )
        return outcomes

    await run.for_each_page(page, page_size=200)
