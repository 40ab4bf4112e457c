"""Background jobs and their per-person items.

A job is work that leaves the request (bulk email, bulk archive, CSV export): it is written in
the caller's transaction, claimed by a worker through `claim_jobs(n, lease)` and run in
transactions that apply its business. Items are the job's per-person results.

Job statuses (stored): QUEUED (waiting, or waiting again after a transient failure) → RUNNING
(claimed; `run_after` is then the lease's end) → HANDLED (the handler is finished; the job is
complete once no item is PENDING or SENDING) or FAILED (with `error`).

Item statuses: PENDING → SENDING (its side effect has started: for email, the message is in the
outbox) → DONE, FAILED or SKIPPED, with `message` saying why. A pure database item goes from
PENDING to its outcome in one transaction.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import (
    BigInteger,
    CheckConstraint,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    String,
    func,
    text,
)
from sqlalchemy.dialects.postgresql import JSONB, UUID
from sqlalchemy.orm import Mapped, mapped_column

from models.base import (
    Base,
    created_at,
    tenant_fk,
    tenant_index,
    tenant_unique,
    updated_at,
    uuid_pk,
)

JOB_STATUSES = ("QUEUED", "RUNNING", "HANDLED", "FAILED")
ITEM_STATUSES = ("PENDING", "SENDING", "DONE", "FAILED", "SKIPPED")
OPEN_ITEM_STATUSES = ("PENDING", "SENDING")


def _in(column: str, values: tuple[str, ...]) -> str:
    return f"{column} IN ({', '.join(repr(v) for v in values)})"


class Job(Base):
    """One unit of background work for one business."""

    __tablename__ = "jobs"
    __table_args__ = (
        tenant_unique("jobs"),
        tenant_fk(
            ["created_by_staff_id"], "staff_users", ondelete="SET NULL (created_by_staff_id)"
        ),
        CheckConstraint(_in("status", JOB_STATUSES), name="status"),
        CheckConstraint("attempts >= 0", name="attempts_not_negative"),
        CheckConstraint("max_attempts > 0", name="max_attempts_positive"),
        tenant_index("jobs", "created_at"),
        # The worker's queue, read across businesses only by claim_jobs(): open jobs by due time.
        tenant_index("jobs", "run_after", postgresql_where=text("status IN ('QUEUED', 'RUNNING')")),
    )

    id: Mapped[uuid.UUID] = uuid_pk()
    business_id: Mapped[uuid.UUID] = mapped_column(
        UUID(as_uuid=True), ForeignKey("businesses.id", ondelete="CASCADE"), nullable=False
    )
    kind: Mapped[str] = mapped_column(String(64), nullable=False)
    payload: Mapped[dict[str, Any]] = mapped_column(
        JSONB, nullable=False, server_default=text("'{}'::jsonb")
    )
    status: Mapped[str] = mapped_column(String(16), nullable=False, server_default="QUEUED")
    attempts: Mapped[int] = mapped_column(Integer, nullable=False, server_default=text("0"))
    max_attempts: Mapped[int] = mapped_column(Integer, nullable=False, server_default=text("5"))
    # QUEUED: the earliest start. RUNNING: the end of the claim's lease; past it, the worker that
    # claimed the job is presumed gone and the job is claimed again.
    run_after: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), nullable=False, server_default=func.now()
    )
    error: Mapped[str | None] = mapped_column(String(500))
    created_by_staff_id: Mapped[uuid.UUID | None] = mapped_column(UUID(as_uuid=True))
    created_at: Mapped[datetime] = created_at()
    updated_at: Mapped[datetime] = updated_at()
    started_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    finished_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))


class JobItem(Base):
    """One person's part of a job and its result.

    `person_id` is a customer or an additional user and deliberately has no foreign key: the
    result of a bulk action outlives the person it was about (a bulk delete reports on people who
    no longer exist), and it holds no personal data beyond the id.
    """

    __tablename__ = "job_items"
    __table_args__ = (
        tenant_unique("job_items"),
        tenant_fk(["job_id"], "jobs", ondelete="CASCADE"),
        CheckConstraint(_in("status", ITEM_STATUSES), name="status"),
        # At most once per person per job.
        Index("uq_job_items_person", "business_id", "job_id", "person_id", unique=True),
        # Items are processed and listed in selection order.
        Index("uq_job_items_position", "business_id", "job_id", "position", unique=True),
        tenant_index("job_items", "job_id", "status"),
    )

    id: Mapped[uuid.UUID] = uuid_pk()
    business_id: Mapped[uuid.UUID] = mapped_column(
        UUID(as_uuid=True), ForeignKey("businesses.id", ondelete="CASCADE"), nullable=False
    )
    job_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), nullable=False)
    position: Mapped[int] = mapped_column(BigInteger, nullable=False)
    person_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), nullable=False)
    status: Mapped[str] = mapped_column(String(16), nullable=False, server_default="PENDING")
    message: Mapped[str | None] = mapped_column(String(500))
    created_at: Mapped[datetime] = created_at()
    updated_at: Mapped[datetime] = updated_at()
