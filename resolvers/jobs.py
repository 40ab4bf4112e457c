"""Reading jobs for staff: status, progress counts and the per-person results.

A job's visible status is derived from its stored one and its items: the handler may be done
(HANDLED) while emails it queued are still in the outbox; the job is COMPLETED only when no item
is PENDING or SENDING, and it finished when the last of them settled. Deriving it on read avoids
a race between two workers settling the last two items.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Row, select, text

from models import JobItem
from resolvers.paging import capped_count, fetch_page
from schema.pagination import PageRequest, list_signature
from server.db import ReadTransaction

job_items = JobItem.__table__


@dataclass(frozen=True)
class JobView:
    id: uuid.UUID
    kind: str
    status: str  # QUEUED, RUNNING, COMPLETED, FAILED
    error: str | None
    created_at: datetime
    finished_at: datetime | None
    total: int
    pending: int
    done: int
    failed: int
    skipped: int


_JOB = text(
    """
    SELECT j.id, j.kind, j.status, j.error, j.created_at, j.finished_at,
           c.total, c.pending, c.done, c.failed, c.skipped, c.last_settled
    FROM jobs j
    CROSS JOIN LATERAL (
        SELECT count(*) AS total,
               count(*) FILTER (WHERE i.status IN ('PENDING', 'SENDING')) AS pending,
               count(*) FILTER (WHERE i.status = 'DONE') AS done,
               count(*) FILTER (WHERE i.status = 'FAILED') AS failed,
               count(*) FILTER (WHERE i.status = 'SKIPPED') AS skipped,
               max(i.updated_at) FILTER (WHERE i.status NOT IN ('PENDING', 'SENDING'))
                   AS last_settled
        FROM job_items i WHERE i.business_id = j.business_id AND i.job_id = j.id
    ) c
    WHERE j.business_id = :business_id AND j.id = :id
    """
)


def _visible(row: Row[Any]) -> tuple[str, datetime | None]:
    if row.status == "HANDLED":
        if row.pending:
            return "RUNNING", None
        ends = [t for t in (row.finished_at, row.last_settled) if t is not None]
        return "COMPLETED", max(ends) if ends else None
    if row.status == "FAILED":
        return "FAILED", row.finished_at
    return str(row.status), None


async def job_by_id(
    reader: ReadTransaction, business_id: uuid.UUID, job_id: uuid.UUID
) -> JobView | None:
    """One job with its progress, in one statement; None when the business has no such job."""
    row = (await reader.execute(_JOB, {"business_id": business_id, "id": job_id})).first()
    if row is None:
        return None
    status, finished_at = _visible(row)
    return JobView(
        id=row.id,
        kind=row.kind,
        status=status,
        error=row.error,
        created_at=row.created_at,
        finished_at=finished_at,
        total=row.total,
        pending=row.pending,
        done=row.done,
        failed=row.failed,
        skipped=row.skipped,
    )


def items_signature(job_id: uuid.UUID, status: str | None) -> str:
    return list_signature("job_items", str(job_id), status)


async def item_page(
    reader: ReadTransaction,
    business_id: uuid.UUID,
    job_id: uuid.UUID,
    status: str | None,
    request: PageRequest,
) -> tuple[list[tuple[Row[Any], list[Any]]], int]:
    """A page of a job's results in selection order, optionally of one status."""
    i = job_items.c
    base = select(i.id, i.person_id, i.status, i.message, i.position).where(
        i.business_id == business_id, i.job_id == job_id
    )
    if status is not None:
        base = base.where(i.status == status)
    rows = await fetch_page(reader, base, [i.position], request)
    total = await capped_count(reader, base)
    return [(row, [int(row.position)]) for row in rows], total
