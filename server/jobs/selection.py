"""What bulk jobs over a selection of people share.

A filter selection ("everyone matching this filter") is stored in the job's payload as the
customer list's tab, category and search text, and expanded into items page by page when the
job runs, so a whole tab of 50,000 never sits in memory or in one transaction. Expanding is safe
to repeat: a person already in the job is not added again, so a job that is run again after a
crash or a transient failure just carries on.

The staff member who asked for the job is its actor in account history.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from typing import Any

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection

from resolvers.account_history import Actor
from resolvers.directory import parse_search
from resolvers.selection import DirectoryFilter, people_matching
from server.jobs.queue import JobError, add_items
from server.jobs.registry import JobRun

# Where job kinds that take either ids or a filter keep the filter in their payload.
FILTER_KEY = "filter"


def filter_payload(selection: DirectoryFilter, raw_search: str | None) -> dict[str, Any]:
    """The filter as stored in a job's payload (the search as typed: it is parsed again when
    the job runs)."""
    return {"status": selection.status, "category": selection.category, "search": raw_search}


def filter_from_payload(stored: Mapping[str, Any]) -> DirectoryFilter:
    try:
        return DirectoryFilter(
            status=str(stored["status"]),
            category=str(stored["category"]),
            search=parse_search(stored.get("search")),
        )
    except (KeyError, TypeError) as error:
        raise JobError("The job's selection is malformed.", retry=False) from error


async def expand_filter(run: JobRun, selection: DirectoryFilter) -> int:
    """Add everyone the filter selects to the job, a page per transaction (each renewing the
    job's lease); returns how many were new."""
    added = 0
    async for people in people_matching(run.db, run.business_id, selection):

        async def add(conn: AsyncConnection, people: list[uuid.UUID] = people) -> int:
            await run.extend_lease(conn)
            return await add_items(
                conn, business_id=run.business_id, job_id=run.id, person_ids=people
            )

        added += await run.db.run_mutation(run.business_id, add)
    return added


async def expand_payload_filter(run: JobRun) -> int:
    """For kinds that take ids or a filter: expand the payload's filter, if it has one."""
    stored = run.payload.get(FILTER_KEY)
    if stored is None:
        return 0
    if not isinstance(stored, Mapping):
        raise JobError("The job's selection is malformed.", retry=False)
    return await expand_filter(run, filter_from_payload(stored))


async def requester(conn: AsyncConnection, staff_id: uuid.UUID | None) -> Actor:
    """The staff member who asked for the job, as the actor its history entries name."""
    name = None
    if staff_id is not None:
        name = (
            await conn.execute(
                text("SELECT display_name FROM staff_users WHERE id = :id"), {"id": staff_id}
            )
        ).scalar_one_or_none()
    return Actor("STAFF", staff_id, str(name or "Staff"))
