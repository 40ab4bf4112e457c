"""Archive, activate or delete everyone a directory filter selects, as a tracked job.

The filter is expanded into items page by page when the job runs (adding a person twice is a
no-op, so a re-run after a crash is safe), then each person gets the same lifecycle function the
single-person mutations use, in a savepoint of the page's transaction: one refusal does not undo
the page, and each person's result is recorded with the page.
"""

from __future__ import annotations

import uuid
from typing import Any, Final

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection

from resolvers import lifecycle
from resolvers.account_history import Actor
from resolvers.directory import parse_search
from resolvers.selection import DirectoryFilter, people_matching
from schema.errors import UserFacingError
from server.jobs.queue import DONE, ITEM_FAILED, JobError, add_items, enqueue
from server.jobs.registry import JobRun, Outcome, PendingItem

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
    payload = {
        "action": action,
        "status": selection.status,
        "category": selection.category,
        "search": raw_search,
    }
    return await enqueue(
        conn,
        business_id=business_id,
        kind=KIND,
        payload=payload,
        created_by_staff_id=created_by_staff_id,
    )


async def _actor(conn: AsyncConnection, staff_id: uuid.UUID | None) -> Actor:
    name = None
    if staff_id is not None:
        name = (
            await conn.execute(
                text("SELECT display_name FROM staff_users WHERE id = :id"), {"id": staff_id}
            )
        ).scalar_one_or_none()
    return Actor("STAFF", staff_id, str(name or "Staff"))


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
    selection = DirectoryFilter(
        status=str(payload["status"]),
        category=str(payload["category"]),
        search=parse_search(payload.get("search")),
    )
    async for people in people_matching(run.db, run.business_id, selection):

        async def add(conn: AsyncConnection, people: list[uuid.UUID] = people) -> None:
            await run.extend_lease(conn)
            await add_items(conn, business_id=run.business_id, job_id=run.id, person_ids=people)

        await run.db.run_mutation(run.business_id, add)

    async def page(conn: AsyncConnection, items: list[PendingItem]) -> list[Outcome]:
        actor = await _actor(conn, run.created_by_staff_id)
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
