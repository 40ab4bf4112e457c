"""Putting work on the queue, in the caller's transaction.

A job is a `jobs` row plus, for a selection of people, one `job_items` row per person. Both are
written on the caller's connection, so a request that rolls back leaves no job behind, and the
worker cannot see the job before the request's other changes are committed.
"""

from __future__ import annotations

import random
import uuid
from collections.abc import Sequence
from typing import Any, Final, cast

from sqlalchemy import Table, insert, text
from sqlalchemy.ext.asyncio import AsyncConnection

from models import Job

jobs = cast(Table, Job.__table__)

# Stored job statuses (models/jobs.py explains the life cycle).
QUEUED: Final = "QUEUED"
RUNNING: Final = "RUNNING"
HANDLED: Final = "HANDLED"
FAILED: Final = "FAILED"

# Item statuses.
PENDING: Final = "PENDING"
SENDING: Final = "SENDING"
DONE: Final = "DONE"
SKIPPED: Final = "SKIPPED"
ITEM_FAILED: Final = "FAILED"

INTERRUPTED: Final = "Interrupted while sending; not retried to avoid a duplicate."
NOT_PROCESSED: Final = "Not processed: the job failed."
DEFAULT_MAX_ATTEMPTS: Final = 5


class JobError(Exception):
    """A job failure whose message staff may read. `retry=False` makes it final at once (bad
    input will not get better); otherwise the job is tried again after a pause until its
    attempts run out."""

    def __init__(self, message: str, *, retry: bool = True) -> None:
        super().__init__(message)
        self.message = message[:500]
        self.retry = retry


def backoff_seconds(attempt: int, base: float, cap: float) -> float:
    """Pause before try `attempt + 1`: doubling from `base`, at most `cap`, with jitter so that
    jobs failing together do not come back together."""
    if base <= 0:
        return 0.0
    delay = min(cap, base * 2.0 ** max(0, attempt - 1))
    return delay * random.uniform(0.75, 1.0)


async def enqueue(
    conn: AsyncConnection,
    *,
    business_id: uuid.UUID,
    kind: str,
    payload: dict[str, Any] | None = None,
    person_ids: Sequence[uuid.UUID] = (),
    created_by_staff_id: uuid.UUID | None = None,
    max_attempts: int = DEFAULT_MAX_ATTEMPTS,
) -> uuid.UUID:
    """Write a job (and an item per distinct person, in the given order) on the caller's
    connection; returns the job's id. Nothing runs until the caller commits."""
    job_id = (
        await conn.execute(
            insert(jobs)
            .values(
                business_id=business_id,
                kind=kind,
                payload=payload or {},
                max_attempts=max_attempts,
                created_by_staff_id=created_by_staff_id,
            )
            .returning(jobs.c.id)
        )
    ).scalar_one()
    if person_ids:
        await add_items(conn, business_id=business_id, job_id=job_id, person_ids=person_ids)
    return uuid.UUID(str(job_id))


ADD_ITEMS_SLICE: Final = 5_000

_ADD_ITEMS = text(
    """
    INSERT INTO job_items (business_id, job_id, person_id, position)
    SELECT :business_id, :job_id, p.id, base.n + p.ord
    FROM unnest(CAST(:ids AS uuid[])) WITH ORDINALITY AS p(id, ord),
         (SELECT coalesce(max(position), 0) AS n FROM job_items
          WHERE business_id = :business_id AND job_id = :job_id) AS base
    ON CONFLICT DO NOTHING
    """
)


async def add_items(
    conn: AsyncConnection,
    *,
    business_id: uuid.UUID,
    job_id: uuid.UUID,
    person_ids: Sequence[uuid.UUID],
) -> int:
    """Append people to a job, whatever their number (a handler expanding a filter selection
    calls this page by page). A person already in the job is not added again; returns how many
    were added. Statements take a bounded slice each, so none of them nears the statement
    timeout however long the list."""
    added = 0
    for start in range(0, len(person_ids), ADD_ITEMS_SLICE):
        ids = list(person_ids[start : start + ADD_ITEMS_SLICE])
        result = await conn.execute(
            _ADD_ITEMS, {"business_id": business_id, "job_id": job_id, "ids": ids}
        )
        added += int(result.rowcount)
    return added
