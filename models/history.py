"""A customer's history: everything that makes them a primary customer, plus notes, payments,
refunds, messages and the account-history audit trail.

Every history row belongs to the customer's account, records the participant it is for and who
acted (`acted_by_additional_user_id`; null means the customer), and keeps snapshots of the
names so that the business's records survive when a person is deleted: deleting a person only
unlinks them (`ON DELETE SET NULL (customer_id)`).
"""

from __future__ import annotations

import uuid
from datetime import date, datetime
from typing import Any

from sqlalchemy import (
    BigInteger,
    CheckConstraint,
    Date,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    func,
    text,
)
from sqlalchemy.dialects.postgresql import JSONB, UUID
from sqlalchemy.orm import Mapped, declared_attr, mapped_column

from models.base import (
    Base,
    created_at,
    tenant_fk,
    tenant_index,
    tenant_unique,
    updated_at,
    uuid_pk,
)

# Tables whose rows make a customer PRIMARY (PRODUCT.md, "The people").
CATEGORY_TABLES = (
    "bookings",
    "appointments",
    "customer_passes",
    "video_purchases",
    "customer_subscriptions",
    "questionnaire_responses",
    "payments",
)


def _money_checks(table: str, amount: str = "price_amount") -> tuple[Any, ...]:
    return (
        CheckConstraint(f"{amount} >= 0", name=f"{amount}_not_negative"),
        CheckConstraint("char_length(currency) = 3", name="currency_iso"),
    )


class HistoryRow:
    """Columns every history row shares."""

    id: Mapped[uuid.UUID] = uuid_pk()

    @declared_attr
    def business_id(cls) -> Mapped[uuid.UUID]:
        return mapped_column(
            UUID(as_uuid=True), ForeignKey("businesses.id", ondelete="CASCADE"), nullable=False
        )

    number: Mapped[int] = mapped_column(BigInteger, nullable=False)
    customer_id: Mapped[uuid.UUID | None] = mapped_column(UUID(as_uuid=True))
    customer_name: Mapped[str] = mapped_column(String(201), nullable=False)
    participant_id: Mapped[uuid.UUID | None] = mapped_column(UUID(as_uuid=True))
    participant_name: Mapped[str | None] = mapped_column(String(201))
    acted_by_additional_user_id: Mapped[uuid.UUID | None] = mapped_column(UUID(as_uuid=True))
    created_by_staff_id: Mapped[uuid.UUID | None] = mapped_column(UUID(as_uuid=True))
    created_at: Mapped[datetime] = created_at()
    updated_at: Mapped[datetime] = updated_at()


def history_args(
    table: str, order_column: str, *extra: Any, deleted_with_customer: bool = False
) -> tuple[Any, ...]:
    """Constraints and indexes every history table shares: tenant-safe links to its people that
    unlink on delete (or, for a person's own notes and messages, go with them), a per-business
    number, and the tab's newest-first index."""
    on_customer_delete = "CASCADE" if deleted_with_customer else "SET NULL (customer_id)"
    return (
        tenant_unique(table),
        tenant_fk(["customer_id"], "customers", ondelete=on_customer_delete),
        tenant_fk(["participant_id"], "participants", ondelete="SET NULL (participant_id)"),
        tenant_fk(
            ["acted_by_additional_user_id"],
            "additional_users",
            ondelete="SET NULL (acted_by_additional_user_id)",
        ),
        tenant_fk(
            ["created_by_staff_id"], "staff_users", ondelete="SET NULL (created_by_staff_id)"
        ),
        Index(f"uq_{table}_business_number", "business_id", "number", unique=True),
        Index(f"ix_{table}_tab", "business_id", "customer_id", order_column, "id"),
        tenant_index(table, "participant_id", postgresql_where=text("participant_id IS NOT NULL")),
        tenant_index(
            table,
            "acted_by_additional_user_id",
            postgresql_where=text("acted_by_additional_user_id IS NOT NULL"),
        ),
        *extra,
    )


class Payment(HistoryRow, Base):
    """Money received from a payer, through Stripe or outside it. It stays with its payer when
    what it paid for is transferred."""

    __tablename__ = "payments"
    __table_args__ = history_args(
        "payments",
        "paid_at",
        *_money_checks("payments", "amount"),
        CheckConstraint("method IN ('STRIPE', 'MANUAL')", name="method"),
        CheckConstraint("refunded_amount BETWEEN 0 AND amount", name="refund_within_amount"),
        CheckConstraint(
            "(method = 'STRIPE') = (stripe_payment_intent_id IS NOT NULL)", name="stripe_has_intent"
        ),
        Index("uq_payments_stripe_intent", "business_id", "stripe_payment_intent_id", unique=True),
    )

    amount: Mapped[int] = mapped_column(BigInteger, nullable=False)
    currency: Mapped[str] = mapped_column(String(3), nullable=False)
    refunded_amount: Mapped[int] = mapped_column(BigInteger, nullable=False, server_default="0")
    method: Mapped[str] = mapped_column(String(16), nullable=False)
    stripe_payment_intent_id: Mapped[str | None] = mapped_column(String(255))
    description: Mapped[str] = mapped_column(String(300), nullable=False)
    paid_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), nullable=False)


class CustomerPass(HistoryRow, Base):
    """A pass a customer holds: credits (one per use) or unlimited, valid between two dates."""

    __tablename__ = "customer_passes"
    __table_args__ = history_args(
        "customer_passes",
        "purchased_at",
        *_money_checks("customer_passes"),
        tenant_fk(["pass_product_id"], "pass_products"),
        tenant_fk(["payment_id"], "payments"),
        CheckConstraint("state IN ('COMPLETED', 'MANUAL')", name="state"),
        CheckConstraint("valid_until IS NULL OR valid_until >= valid_from", name="valid_range"),
        CheckConstraint("(uses_total IS NULL) = (uses_remaining IS NULL)", name="unlimited_both"),
        CheckConstraint(
            "uses_remaining IS NULL OR uses_remaining BETWEEN 0 AND uses_total", name="uses_range"
        ),
        Index(
            "ix_customer_passes_sales",
            "business_id",
            "customer_id",
            "purchased_at",
            postgresql_include=["price_amount", "payment_id"],
        ),
    )

    pass_product_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), nullable=False)
    purchased_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), nullable=False)
    valid_from: Mapped[date] = mapped_column(Date, nullable=False)
    valid_until: Mapped[date | None] = mapped_column(Date)
    uses_total: Mapped[int | None] = mapped_column(Integer)
    uses_remaining: Mapped[int | None] = mapped_column(Integer)
    price_amount: Mapped[int] = mapped_column(BigInteger, nullable=False)
    currency: Mapped[str] = mapped_column(String(3), nullable=False)
    state: Mapped[str] = mapped_column(String(16), nullable=False)
    payment_id: Mapped[uuid.UUID | None] = mapped_column(UUID(as_uuid=True))


class Booking(HistoryRow, Base):
    """A seat in an event's session. `state` says how it was paid (COMPLETED through Stripe,
    MANUAL outside it or free, PACKAGE with pass credits) or that it was CANCELLED."""

    __tablename__ = "bookings"
    __table_args__ = history_args(
        "bookings",
        "booked_at",
        *_money_checks("bookings"),
        tenant_fk(["session_id"], "sessions"),
        tenant_fk(["payment_id"], "payments"),
        tenant_fk(["customer_pass_id"], "customer_passes", ondelete="SET NULL (customer_pass_id)"),
        CheckConstraint("state IN ('COMPLETED', 'MANUAL', 'PACKAGE', 'CANCELLED')", name="state"),
        CheckConstraint("paid_with IN ('STRIPE', 'MANUAL', 'FREE', 'CREDITS')", name="paid_with"),
        CheckConstraint("price_credits IS NULL OR price_credits > 0", name="credits_positive"),
        CheckConstraint("refunded_amount BETWEEN 0 AND price_amount", name="refund_within_price"),
        CheckConstraint(
            "(state = 'CANCELLED') = (cancelled_at IS NOT NULL)", name="cancelled_has_time"
        ),
        CheckConstraint(
            "paid_with <> 'CREDITS' OR price_credits IS NOT NULL", name="credits_have_count"
        ),
        tenant_index("bookings", "session_id", "participant_id"),
        # The sales chart's reads, from the index alone (migration 0009).
        Index(
            "ix_bookings_sales",
            "business_id",
            "customer_id",
            "booked_at",
            postgresql_include=["paid_with", "price_amount", "refunded_amount", "price_credits"],
            postgresql_where=text("state <> 'CANCELLED'"),
        ),
    )

    session_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), nullable=False)
    booked_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), nullable=False)
    state: Mapped[str] = mapped_column(String(16), nullable=False)
    paid_with: Mapped[str] = mapped_column(String(16), nullable=False)
    price_amount: Mapped[int] = mapped_column(BigInteger, nullable=False)
    currency: Mapped[str] = mapped_column(String(3), nullable=False)
    price_credits: Mapped[int | None] = mapped_column(Integer)
    customer_pass_id: Mapped[uuid.UUID | None] = mapped_column(UUID(as_uuid=True))
    payment_id: Mapped[uuid.UUID | None] = mapped_column(UUID(as_uuid=True))
    refunded_amount: Mapped[int] = mapped_column(BigInteger, nullable=False, server_default="0")
    cancelled_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))


class Appointment(HistoryRow, Base):
    """A one-to-one booking of a service with a facilitator."""

    __tablename__ = "appointments"
    __table_args__ = history_args(
        "appointments",
        "booked_at",
        *_money_checks("appointments"),
        tenant_fk(["service_id"], "services"),
        tenant_fk(["facilitator_id"], "facilitators"),
        tenant_fk(["payment_id"], "payments"),
        CheckConstraint("state IN ('SCHEDULED', 'CANCELLED')", name="state"),
        CheckConstraint("paid_with IN ('STRIPE', 'MANUAL', 'FREE', 'CREDITS')", name="paid_with"),
        CheckConstraint("duration_minutes BETWEEN 1 AND 1440", name="duration_range"),
        tenant_index("appointments", "facilitator_id", "starts_at"),
    )

    service_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), nullable=False)
    facilitator_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), nullable=False)
    booked_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), nullable=False)
    starts_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), nullable=False)
    duration_minutes: Mapped[int] = mapped_column(Integer, nullable=False)
    price_amount: Mapped[int] = mapped_column(BigInteger, nullable=False)
    currency: Mapped[str] = mapped_column(String(3), nullable=False)
    paid_with: Mapped[str] = mapped_column(String(16), nullable=False)
    payment_id: Mapped[uuid.UUID | None] = mapped_column(UUID(as_uuid=True))
    state: Mapped[str] = mapped_column(String(16), nullable=False)
    cancelled_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))


class VideoPurchase(HistoryRow, Base):
    """Access to a video, bought with money or credits; Expired is derived from `expires_at`."""

    __tablename__ = "video_purchases"
    __table_args__ = history_args(
        "video_purchases",
        "purchased_at",
        *_money_checks("video_purchases"),
        tenant_fk(["video_id"], "videos"),
        tenant_fk(["payment_id"], "payments"),
        tenant_fk(["customer_pass_id"], "customer_passes", ondelete="SET NULL (customer_pass_id)"),
        CheckConstraint("state IN ('ACTIVE', 'CANCELLED')", name="state"),
        CheckConstraint("price_credits IS NULL OR price_credits > 0", name="credits_positive"),
        CheckConstraint("expires_at IS NULL OR expires_at > purchased_at", name="expiry_after"),
        Index(
            "ix_video_purchases_sales",
            "business_id",
            "customer_id",
            "purchased_at",
            postgresql_include=["price_amount", "price_credits", "payment_id"],
            postgresql_where=text("state <> 'CANCELLED'"),
        ),
    )

    video_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), nullable=False)
    purchased_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), nullable=False)
    expires_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    price_amount: Mapped[int] = mapped_column(BigInteger, nullable=False)
    currency: Mapped[str] = mapped_column(String(3), nullable=False)
    price_credits: Mapped[int | None] = mapped_column(Integer)
    customer_pass_id: Mapped[uuid.UUID | None] = mapped_column(UUID(as_uuid=True))
    payment_id: Mapped[uuid.UUID | None] = mapped_column(UUID(as_uuid=True))
    state: Mapped[str] = mapped_column(String(16), nullable=False)
    cancelled_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))


class CustomerSubscription(HistoryRow, Base):
    """A recurring mandate to a plan: Active ⇄ Paused, either → Suspended, Suspended → Active."""

    __tablename__ = "customer_subscriptions"
    __table_args__ = history_args(
        "customer_subscriptions",
        "created_at",
        *_money_checks("customer_subscriptions", "amount"),
        tenant_fk(["plan_id"], "plans"),
        CheckConstraint("state IN ('ACTIVE', 'PAUSED', 'SUSPENDED')", name="state"),
        CheckConstraint("interval_unit IN ('WEEK', 'MONTH', 'YEAR')", name="interval_unit"),
        CheckConstraint("interval_count > 0", name="interval_positive"),
        tenant_index("customer_subscriptions", "plan_id"),
    )

    plan_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), nullable=False)
    state: Mapped[str] = mapped_column(String(16), nullable=False)
    amount: Mapped[int] = mapped_column(BigInteger, nullable=False)
    currency: Mapped[str] = mapped_column(String(3), nullable=False)
    interval_unit: Mapped[str] = mapped_column(String(8), nullable=False)
    interval_count: Mapped[int] = mapped_column(Integer, nullable=False)
    started_on: Mapped[date] = mapped_column(Date, nullable=False)
    next_payment_on: Mapped[date | None] = mapped_column(Date)


class QuestionnaireResponse(HistoryRow, Base):
    """A questionnaire assigned to a customer (or participant) and, once submitted, the answers."""

    __tablename__ = "questionnaire_responses"
    __table_args__ = history_args(
        "questionnaire_responses",
        "created_at",
        tenant_fk(["questionnaire_id"], "questionnaires"),
        CheckConstraint("status IN ('ASSIGNED', 'COMPLETED')", name="status"),
        CheckConstraint(
            "(status = 'COMPLETED') = (submitted_at IS NOT NULL)", name="completed_has_time"
        ),
    )

    questionnaire_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), nullable=False)
    status: Mapped[str] = mapped_column(String(16), nullable=False)
    answers: Mapped[dict[str, Any]] = mapped_column(
        JSONB, nullable=False, server_default=text("'{}'::jsonb")
    )
    answers_submitted: Mapped[int] = mapped_column(Integer, nullable=False, server_default="0")
    submitted_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))


class Note(HistoryRow, Base):
    """An internal staff note about a customer; never shown to customers."""

    __tablename__ = "notes"
    __table_args__ = history_args(
        "notes",
        "created_at",
        tenant_fk(
            ["updated_by_staff_id"], "staff_users", ondelete="SET NULL (updated_by_staff_id)"
        ),
        CheckConstraint("char_length(btrim(content)) BETWEEN 1 AND 10000", name="content_length"),
        deleted_with_customer=True,
    )

    content: Mapped[str] = mapped_column(Text, nullable=False)
    author_name: Mapped[str] = mapped_column(String(200), nullable=False)
    updated_by_staff_id: Mapped[uuid.UUID | None] = mapped_column(UUID(as_uuid=True))
    updated_by_name: Mapped[str | None] = mapped_column(String(200))


class Refund(HistoryRow, Base):
    """Money returned on a Stripe payment. Written PENDING (reserving the amount) before Stripe is
    called, then SUCCEEDED or FAILED; its id is the Stripe idempotency key."""

    __tablename__ = "refunds"
    __table_args__ = history_args(
        "refunds",
        "created_at",
        tenant_fk(["payment_id"], "payments"),
        tenant_fk(["booking_id"], "bookings", ondelete="SET NULL (booking_id)"),
        CheckConstraint("amount > 0", name="amount_positive"),
        CheckConstraint("char_length(currency) = 3", name="currency_iso"),
        CheckConstraint("status IN ('PENDING', 'SUCCEEDED', 'FAILED')", name="status"),
        tenant_index("refunds", "payment_id"),
        tenant_index(
            "refunds", "status", "created_at", postgresql_where=text("status = 'PENDING'")
        ),
    )

    payment_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), nullable=False)
    booking_id: Mapped[uuid.UUID | None] = mapped_column(UUID(as_uuid=True))
    amount: Mapped[int] = mapped_column(BigInteger, nullable=False)
    currency: Mapped[str] = mapped_column(String(3), nullable=False)
    status: Mapped[str] = mapped_column(String(16), nullable=False)
    reason: Mapped[str | None] = mapped_column(String(500))
    stripe_refund_id: Mapped[str | None] = mapped_column(String(255))
    failure_reason: Mapped[str | None] = mapped_column(String(500))


class Message(HistoryRow, Base):
    """One message to one person (email, in-app or SMS): the customer's communication log.
    People deleted take their messages with them (PRODUCT.md, "Lifecycle rules")."""

    __tablename__ = "messages"
    __table_args__ = history_args(
        "messages",
        "created_at",
        CheckConstraint("channel IN ('EMAIL', 'IN_APP', 'SMS')", name="channel"),
        CheckConstraint("purpose IN ('SERVICE', 'MARKETING')", name="purpose"),
        CheckConstraint(
            "status IN ('QUEUED', 'SENDING', 'SENT', 'FAILED', 'SKIPPED')", name="status"
        ),
        tenant_fk(["recipient_additional_user_id"], "additional_users", ondelete="CASCADE"),
        tenant_index(
            "messages",
            "recipient_additional_user_id",
            postgresql_where=text("recipient_additional_user_id IS NOT NULL"),
        ),
        # The outbox (revision 0003): at most one message per job item, and the worker's queue,
        # read across businesses only by claim_outbox().
        tenant_fk(["job_item_id"], "job_items", ondelete="SET NULL (job_item_id)"),
        Index(
            "uq_messages_job_item",
            "business_id",
            "job_item_id",
            unique=True,
            postgresql_where=text("job_item_id IS NOT NULL"),
        ),
        tenant_index(
            "messages",
            "next_attempt_at",
            postgresql_where=text("status IN ('QUEUED', 'SENDING')"),
        ),
        CheckConstraint("attempts >= 0", name="attempts_not_negative"),
        deleted_with_customer=True,
    )

    # Null: the message went to the customer; else to this additional user of theirs.
    recipient_additional_user_id: Mapped[uuid.UUID | None] = mapped_column(UUID(as_uuid=True))
    channel: Mapped[str] = mapped_column(String(8), nullable=False)
    purpose: Mapped[str] = mapped_column(String(16), nullable=False)
    subject: Mapped[str | None] = mapped_column(String(300))
    body: Mapped[str] = mapped_column(Text, nullable=False)
    status: Mapped[str] = mapped_column(String(16), nullable=False)
    status_reason: Mapped[str | None] = mapped_column(String(500))
    sent_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    read_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    # Outbox columns: a QUEUED email is sent by the worker (server/jobs).
    to_address: Mapped[str | None] = mapped_column(String(320))
    html_body: Mapped[str | None] = mapped_column(Text)
    attempts: Mapped[int] = mapped_column(Integer, nullable=False, server_default=text("0"))
    # QUEUED: the next try. SENDING: when the send counts as abandoned (its worker is gone).
    next_attempt_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), nullable=False, server_default=func.now()
    )
    job_item_id: Mapped[uuid.UUID | None] = mapped_column(UUID(as_uuid=True))


class AccountHistoryEntry(Base):
    """The audit trail of a customer's account: who did what, when, with before/after values.
    Survives every delete (the customer link is cleared; the name snapshot stays)."""

    __tablename__ = "account_history"
    __table_args__ = (
        tenant_unique("account_history"),
        tenant_fk(["customer_id"], "customers", ondelete="SET NULL (customer_id)"),
        CheckConstraint(
            "actor_kind IN ('STAFF', 'CUSTOMER', 'ADDITIONAL_USER', 'SYSTEM')", name="actor_kind"
        ),
        Index("uq_account_history_business_number", "business_id", "number", unique=True),
        Index("ix_account_history_tab", "business_id", "customer_id", "created_at", "id"),
    )

    id: Mapped[uuid.UUID] = uuid_pk()
    business_id: Mapped[uuid.UUID] = mapped_column(
        UUID(as_uuid=True), ForeignKey("businesses.id", ondelete="CASCADE"), nullable=False
    )
    number: Mapped[int] = mapped_column(BigInteger, nullable=False)
    customer_id: Mapped[uuid.UUID | None] = mapped_column(UUID(as_uuid=True))
    customer_name: Mapped[str] = mapped_column(String(201), nullable=False)
    actor_kind: Mapped[str] = mapped_column(String(16), nullable=False)
    actor_id: Mapped[uuid.UUID | None] = mapped_column(UUID(as_uuid=True))
    actor_name: Mapped[str] = mapped_column(String(200), nullable=False)
    action: Mapped[str] = mapped_column(String(64), nullable=False)
    subject_type: Mapped[str | None] = mapped_column(String(64))
    subject_id: Mapped[uuid.UUID | None] = mapped_column(UUID(as_uuid=True))
    before: Mapped[dict[str, Any] | None] = mapped_column(JSONB)
    after: Mapped[dict[str, Any] | None] = mapped_column(JSONB)
    created_at: Mapped[datetime] = created_at()


class PerCustomerTotals:
    """What triggers keep per customer for the profile (migrations 0011 and 0012): keyed by
    business and customer first, and gone with the customer."""

    @declared_attr.directive
    def __table_args__(cls) -> tuple[Any, ...]:
        return (tenant_fk(["customer_id"], "customers", ondelete="CASCADE"),)

    # Both first in the key, as the tables have them (a mixin's columns would otherwise come
    # after the class's own).
    @declared_attr
    def business_id(cls) -> Mapped[uuid.UUID]:
        return mapped_column(
            UUID(as_uuid=True),
            ForeignKey("businesses.id", ondelete="CASCADE"),
            primary_key=True,
            sort_order=-2,
        )

    customer_id: Mapped[uuid.UUID] = mapped_column(
        UUID(as_uuid=True), primary_key=True, sort_order=-1
    )


class HistoryTally(PerCustomerTotals, Base):
    """How many rows a customer's profile tab holds (migration 0011): the tab's total without a
    search or state filter, read instead of counted. Kept by statement triggers on the eight
    tab tables, in the transaction of the change; `tab` names the table."""

    __tablename__ = "history_tallies"

    tab: Mapped[str] = mapped_column(String(32), primary_key=True)
    rows: Mapped[int] = mapped_column(BigInteger, nullable=False)


class SalesMonth(PerCustomerTotals, Base):
    """A customer's sales of one kind (bookings, passes, videos) in one month of the business's
    time zone, by the chart's rules (migration 0012): what `salesActivity` reads. Kept by
    statement triggers on the three tables and on payments, in the transaction of the change."""

    __tablename__ = "sales_months"

    kind: Mapped[str] = mapped_column(String(16), primary_key=True)
    month: Mapped[date] = mapped_column(Date, primary_key=True)
    sales: Mapped[int] = mapped_column(BigInteger, nullable=False)
    amount: Mapped[int] = mapped_column(BigInteger, nullable=False)
    credits: Mapped[int] = mapped_column(BigInteger, nullable=False)
