"""Archive, activate or delete everyone a directory filter selects, as a tracked job.

The filter is expanded into items page by page when the job runs (adding a person twice is a
no-op, so a re-run after a crash is safe), then each person gets the same lifecycle function the
single-person mutations use, in a savepoint of the page's transaction: one refusal does not undo
the page, and each person's result is recorded with the page.
"""

from __future__ import annotations

import uuid
from typing import Any, Final

from sqlalchemy.ext.asyncio import AsyncConnection

from resolvers import lifecycle
from resolvers.account_history import Actor
from resolvers.selection import DirectoryFilter
from schema.errors import UserFacingError
from server.jobs.queue import DONE, ITEM_FAILED, JobError, enqueue
from server.jobs.registry import JobRun, Outcome, PendingItem
from server.jobs.selection import expand_filter, filter_from_payload, filter_payload, requester

KIND: Final = "people_lifecycle"
ACTIONS: Final = ("archive", "activate", "delete")


async def enqueue_lifecycle(
    conn: AsyncConnection,
    *,
    business_id: uuid.UUID,
    action: str,
    selection: DirectoryFilter,
    raw_search: str | None,
    created_by_staff_id: uuid.UUID | None,
) -> uuid.UUID:
    """Queue the action for everyone the filter selects, in the caller's transaction."""
    if action not in ACTIONS:
        raise ValueError(f"unknown action {action!r}")
    payload = {"action": action, **filter_payload(selection, raw_search)}
    return await enqueue(
        conn,
        business_id=business_id,
        kind=KIND,
        payload=payload,
        created_by_staff_id=created_by_staff_id,
    )


async def _apply(
    action: str, conn: AsyncConnection, actor: Actor, business_id: uuid.UUID, person_id: uuid.UUID
) -> None:
    if action == "archive":
        await lifecycle.archive(conn, actor, business_id, person_id, "selection")
    elif action == "activate":
        await lifecycle.activate(conn, actor, business_id, person_id, "selection")
    else:
        await lifecycle.delete_person(conn, actor, business_id, person_id, "selection")


async def handle(run: JobRun) -> None:
    payload: dict[str, Any] = run.payload
    action = payload.get("action")
    if action not in ACTIONS:
        raise JobError(f"Unknown action {action!r}.", retry=False)
    await expand_filter(run, filter_from_payload(payload))

    async def page(conn: AsyncConnection, items: list[PendingItem]) -> list[Outcome]:
        actor = await requester(conn, run.created_by_staff_id)
        outcomes: list[Outcome] = []
        for item in items:
            try:
                async with conn.begin_nested():
                    await _apply(str(action), conn, actor, run.business_id, item.person_id)
            except UserFacingError as refused:
                message = "; ".join(error.message for error in refused.errors)
                outcomes.append(Outcome(item.id, ITEM_FAILED, message))
            else:
                outcomes.append(Outcome(item.id, DONE))
        return outcomes

    await run.for_each_page(page, page_size=200)
