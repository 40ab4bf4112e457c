"""What we keep about our traffic with Stripe: calls in flight and webhook events seen.

A `StripeCall` row is committed before a Stripe request that creates something (a customer, a
SetupIntent, a refund). Its id is the request's idempotency key and the object's
`metadata.pending_id`, so after a lost response, a crash or a timeout the object can be found at
Stripe and the row finished, by the request itself or later by the reconciler. A `StripeEvent`
row records each webhook event once, in the transaction that applies it.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import CheckConstraint, DateTime, ForeignKey, String, UniqueConstraint, text
from sqlalchemy.dialects.postgresql import JSONB, UUID
from sqlalchemy.orm import Mapped, mapped_column

from models.base import Base, created_at, tenant_index, tenant_unique, uuid_pk

CALL_STATUSES = ("PENDING", "SUCCEEDED", "FAILED")


def _business_id() -> Mapped[uuid.UUID]:
    return mapped_column(
        UUID(as_uuid=True), ForeignKey("businesses.id", ondelete="CASCADE"), nullable=False
    )


class StripeCall(Base):
    """One request that creates something at Stripe, written PENDING before it is sent."""

    __tablename__ = "stripe_calls"
    __table_args__ = (
        tenant_unique("stripe_calls"),
        CheckConstraint("status IN ('PENDING', 'SUCCEEDED', 'FAILED')", name="status"),
        CheckConstraint("(status = 'PENDING') = (completed_at IS NULL)", name="completed_has_time"),
        # The reconciler's scan; only pending rows are in it, so it stays tiny.
        tenant_index("stripe_calls", "created_at", postgresql_where=text("status = 'PENDING'")),
        tenant_index("stripe_calls", "subject_id", postgresql_where=text("subject_id IS NOT NULL")),
    )

    # Also the idempotency key and `metadata.pending_id`.
    id: Mapped[uuid.UUID] = uuid_pk()
    business_id: Mapped[uuid.UUID] = _business_id()
    # What is created (`refund.create`, ...): names the handlers that finish the row.
    kind: Mapped[str] = mapped_column(String(40), nullable=False)
    status: Mapped[str] = mapped_column(String(16), nullable=False, server_default="PENDING")
    # Our row the call is about (the refund, the customer), when there is one.
    subject_id: Mapped[uuid.UUID | None] = mapped_column(UUID(as_uuid=True))
    # The account the call went to, kept so that a later account change cannot send the
    # reconciler looking in the wrong place.
    stripe_account_id: Mapped[str] = mapped_column(String(255), nullable=False)
    # What was sent (without metadata): enough to send it again and to find its result.
    params: Mapped[dict[str, Any]] = mapped_column(
        JSONB, nullable=False, server_default=text("'{}'::jsonb")
    )
    stripe_object_id: Mapped[str | None] = mapped_column(String(255))
    failure_reason: Mapped[str | None] = mapped_column(String(500))
    # Set while a reconciler is looking at the row, so that two do not both finish it.
    claimed_until: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    created_at: Mapped[datetime] = created_at()
    completed_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))


class StripeEvent(Base):
    """A webhook event applied once: a replay finds its row and is acknowledged unread."""

    __tablename__ = "stripe_events"
    __table_args__ = (
        tenant_unique("stripe_events"),
        UniqueConstraint("business_id", "event_id", name="uq_stripe_events_business_event"),
    )

    id: Mapped[uuid.UUID] = uuid_pk()
    business_id: Mapped[uuid.UUID] = _business_id()
    event_id: Mapped[str] = mapped_column(String(255), nullable=False)
    type: Mapped[str] = mapped_column(String(100), nullable=False)
    object_id: Mapped[str | None] = mapped_column(String(255))
    received_at: Mapped[datetime] = created_at()
