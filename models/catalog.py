"""What a business sells: events and their sessions, appointment services and facilitators,
pass products, videos, subscription plans and questionnaires."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import (
    BigInteger,
    CheckConstraint,
    DateTime,
    ForeignKey,
    Integer,
    String,
    Text,
)
from sqlalchemy.dialects.postgresql import JSONB, UUID
from sqlalchemy.orm import Mapped, mapped_column

from models.base import Base, created_at, tenant_fk, tenant_index, tenant_unique, uuid_pk


def _business_id() -> Mapped[uuid.UUID]:
    return mapped_column(
        UUID(as_uuid=True), ForeignKey("businesses.id", ondelete="CASCADE"), nullable=False
    )


def _catalog_args(table: str) -> tuple[Any, ...]:
    return (tenant_unique(table), tenant_index(table, "name"))


class Facilitator(Base):
    """A coach, instructor or therapist who runs sessions and appointments."""

    __tablename__ = "facilitators"
    __table_args__ = _catalog_args("facilitators")

    id: Mapped[uuid.UUID] = uuid_pk()
    business_id: Mapped[uuid.UUID] = _business_id()
    name: Mapped[str] = mapped_column(String(200), nullable=False)
    created_at: Mapped[datetime] = created_at()


class Event(Base):
    """A class, course, camp or event that has bookable sessions."""

    __tablename__ = "events"
    __table_args__ = _catalog_args("events")

    id: Mapped[uuid.UUID] = uuid_pk()
    business_id: Mapped[uuid.UUID] = _business_id()
    name: Mapped[str] = mapped_column(String(200), nullable=False)
    description: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = created_at()


class Session(Base):
    """One occurrence of an event, in its own time zone, with a capacity."""

    __tablename__ = "sessions"
    __table_args__ = (
        tenant_unique("sessions"),
        tenant_fk(["event_id"], "events", ondelete="CASCADE"),
        tenant_fk(["facilitator_id"], "facilitators", ondelete="SET NULL (facilitator_id)"),
        CheckConstraint("ends_at > starts_at", name="ends_after_start"),
        CheckConstraint("capacity IS NULL OR capacity > 0", name="capacity_positive"),
        tenant_index("sessions", "event_id", "starts_at"),
    )

    id: Mapped[uuid.UUID] = uuid_pk()
    business_id: Mapped[uuid.UUID] = _business_id()
    event_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), nullable=False)
    facilitator_id: Mapped[uuid.UUID | None] = mapped_column(UUID(as_uuid=True))
    starts_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), nullable=False)
    ends_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), nullable=False)
    time_zone: Mapped[str] = mapped_column(String(64), nullable=False)
    capacity: Mapped[int | None] = mapped_column(Integer)
    created_at: Mapped[datetime] = created_at()


class Service(Base):
    """An appointment type (a massage, a private lesson) with a default length and price."""

    __tablename__ = "services"
    __table_args__ = (
        *_catalog_args("services"),
        CheckConstraint("duration_minutes > 0", name="duration_positive"),
        CheckConstraint("price_amount >= 0", name="price_not_negative"),
    )

    id: Mapped[uuid.UUID] = uuid_pk()
    business_id: Mapped[uuid.UUID] = _business_id()
    name: Mapped[str] = mapped_column(String(200), nullable=False)
    duration_minutes: Mapped[int] = mapped_column(Integer, nullable=False)
    price_amount: Mapped[int] = mapped_column(BigInteger, nullable=False)
    currency: Mapped[str] = mapped_column(String(3), nullable=False)
    created_at: Mapped[datetime] = created_at()


class PassProduct(Base):
    """A pass for sale: a number of uses (credits) or unlimited, valid for some days."""

    __tablename__ = "pass_products"
    __table_args__ = (
        *_catalog_args("pass_products"),
        CheckConstraint("uses IS NULL OR uses > 0", name="uses_positive"),
        CheckConstraint("validity_days IS NULL OR validity_days > 0", name="validity_positive"),
        CheckConstraint("price_amount >= 0", name="price_not_negative"),
    )

    id: Mapped[uuid.UUID] = uuid_pk()
    business_id: Mapped[uuid.UUID] = _business_id()
    name: Mapped[str] = mapped_column(String(200), nullable=False)
    uses: Mapped[int | None] = mapped_column(Integer)
    validity_days: Mapped[int | None] = mapped_column(Integer)
    price_amount: Mapped[int] = mapped_column(BigInteger, nullable=False)
    currency: Mapped[str] = mapped_column(String(3), nullable=False)
    created_at: Mapped[datetime] = created_at()


class Video(Base):
    """A video on demand, bought with money or pass credits."""

    __tablename__ = "videos"
    __table_args__ = (
        *_catalog_args("videos"),
        CheckConstraint("price_amount >= 0", name="price_not_negative"),
        CheckConstraint("price_credits IS NULL OR price_credits > 0", name="credits_positive"),
    )

    id: Mapped[uuid.UUID] = uuid_pk()
    business_id: Mapped[uuid.UUID] = _business_id()
    name: Mapped[str] = mapped_column(String(200), nullable=False)
    price_amount: Mapped[int] = mapped_column(BigInteger, nullable=False)
    currency: Mapped[str] = mapped_column(String(3), nullable=False)
    price_credits: Mapped[int | None] = mapped_column(Integer)
    access_days: Mapped[int | None] = mapped_column(Integer)
    created_at: Mapped[datetime] = created_at()


class Plan(Base):
    """A subscription plan: a recurring price every `interval_count` `interval_unit`s."""

    __tablename__ = "plans"
    __table_args__ = (
        *_catalog_args("plans"),
        CheckConstraint("interval_unit IN ('WEEK', 'MONTH', 'YEAR')", name="interval_unit"),
        CheckConstraint("interval_count > 0", name="interval_positive"),
        CheckConstraint("amount > 0", name="amount_positive"),
    )

    id: Mapped[uuid.UUID] = uuid_pk()
    business_id: Mapped[uuid.UUID] = _business_id()
    name: Mapped[str] = mapped_column(String(200), nullable=False)
    amount: Mapped[int] = mapped_column(BigInteger, nullable=False)
    currency: Mapped[str] = mapped_column(String(3), nullable=False)
    interval_unit: Mapped[str] = mapped_column(String(8), nullable=False)
    interval_count: Mapped[int] = mapped_column(Integer, nullable=False)
    created_at: Mapped[datetime] = created_at()


class Questionnaire(Base):
    """A form (waiver, health check) whose questions are a JSON list of
    `{key, label, type, required, options?}`."""

    __tablename__ = "questionnaires"
    __table_args__ = _catalog_args("questionnaires")

    id: Mapped[uuid.UUID] = uuid_pk()
    business_id: Mapped[uuid.UUID] = _business_id()
    name: Mapped[str] = mapped_column(String(200), nullable=False)
    questions: Mapped[list[dict[str, Any]]] = mapped_column(JSONB, nullable=False)
    created_at: Mapped[datetime] = created_at()
