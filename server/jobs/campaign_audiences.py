"""Add everyone a directory filter selects to an email campaign audience, as a tracked job with
a result per person: DONE when added, SKIPPED when already a member or without marketing consent
(with the reason), FAILED for ids of nobody in the business."""

from __future__ import annotations

import uuid
from typing import Final

from sqlalchemy.ext.asyncio import AsyncConnection

# The module, not its names: resolvers.campaigns reads through server.jobs as well.
from resolvers import campaigns
from resolvers.selection import DirectoryFilter
from server.jobs.queue import DONE, ITEM_FAILED, SKIPPED, JobError, enqueue
from server.jobs.registry import JobRun, Outcome, PendingItem
from server.jobs.selection import FILTER_KEY, expand_payload_filter, filter_payload

KIND: Final = "campaign_audience_add"
AUDIENCE_GONE: Final = "The audience no longer exists."


async def enqueue_audience_add(
    conn: AsyncConnection,
    *,
    business_id: uuid.UUID,
    audience_id: uuid.UUID,
    selection: DirectoryFilter,
    raw_search: str | None,
    created_by_staff_id: uuid.UUID | None,
) -> uuid.UUID:
    """Queue the additions in the caller's transaction."""
    payload = {"audience_id": str(audience_id), FILTER_KEY: filter_payload(selection, raw_search)}
    return await enqueue(
        conn,
        business_id=business_id,
        kind=KIND,
        payload=payload,
        created_by_staff_id=created_by_staff_id,
    )


def _outcome(item: PendingItem, result: campaigns.AddResult) -> Outcome:
    if result.status == campaigns.ADDED:
        return Outcome(item.id, DONE, result.message)
    if result.status == campaigns.NOT_FOUND:
        return Outcome(item.id, ITEM_FAILED, result.message)
    return Outcome(item.id, SKIPPED, result.message)


async def handle(run: JobRun) -> None:
    try:
        audience_id = uuid.UUID(str(run.payload["audience_id"]))
    except (KeyError, ValueError) as error:
        raise JobError("The job does not name an audience.", retry=False) from error
    await expand_payload_filter(run)

    async def page(conn: AsyncConnection, items: list[PendingItem]) -> list[Outcome]:
        if not await campaigns.lock_audience(conn, audience_id):
            raise JobError(AUDIENCE_GONE, retry=False)
        results = await campaigns.add_people(
            conn,
            run.business_id,
            audience_id,
            [item.person_id for item in items],
            run.created_by_staff_id,
        )
        return [_outcome(item, results[item.person_id]) for item in items]

    await run.for_each_page(page)
