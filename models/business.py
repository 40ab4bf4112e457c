"""Businesses (the tenants), their staff and their per-business counters."""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import BigInteger, CheckConstraint, ForeignKey, Integer, String, text
from sqlalchemy.dialects.postgresql import UUID
from sqlalchemy.orm import Mapped, mapped_column

from models.base import Base, created_at, tenant_index, tenant_unique, uuid_pk


class Business(Base):
    """A tenant: a gym, studio, kids' club or event organiser."""

    __tablename__ = "businesses"
    __table_args__ = (
        CheckConstraint("char_length(currency) = 3", name="currency_iso"),
        CheckConstraint("char_length(country) = 2", name="country_iso"),
    )

    id: Mapped[uuid.UUID] = uuid_pk()
    name: Mapped[str] = mapped_column(String(200), nullable=False)
    slug: Mapped[str] = mapped_column(String(100), nullable=False, unique=True)
    time_zone: Mapped[str] = mapped_column(String(64), nullable=False)
    currency: Mapped[str] = mapped_column(String(3), nullable=False)
    country: Mapped[str] = mapped_column(String(2), nullable=False)
    stripe_account_id: Mapped[str | None] = mapped_column(String(255), unique=True)
    created_at: Mapped[datetime] = created_at()


class StaffUser(Base):
    """An owner or staff member of one business (identities live in the staff identity service;
    this row gives them a name for history and a token version)."""

    __tablename__ = "staff_users"
    __table_args__ = (
        tenant_unique("staff_users"),
        CheckConstraint("role IN ('OWNER', 'STAFF')", name="role"),
        tenant_index("staff_users", "email"),
    )

    id: Mapped[uuid.UUID] = uuid_pk()
    business_id: Mapped[uuid.UUID] = mapped_column(
        UUID(as_uuid=True), ForeignKey("businesses.id", ondelete="CASCADE"), nullable=False
    )
    email: Mapped[str] = mapped_column(String(320), nullable=False)
    display_name: Mapped[str] = mapped_column(String(200), nullable=False)
    role: Mapped[str] = mapped_column(String(16), nullable=False)
    token_version: Mapped[int] = mapped_column(Integer, nullable=False, server_default=text("1"))
    created_at: Mapped[datetime] = created_at()


class NumberCounter(Base):
    """The next short, human-readable `number` per business and kind of row (C-1042 over the
    phone). Incremented with `UPDATE ... RETURNING` inside the inserting transaction."""

    __tablename__ = "number_counters"

    business_id: Mapped[uuid.UUID] = mapped_column(
        UUID(as_uuid=True),
        ForeignKey("businesses.id", ondelete="CASCADE"),
        primary_key=True,
    )
    kind: Mapped[str] = mapped_column(String(32), primary_key=True)
    last_value: Mapped[int] = mapped_column(BigInteger, nullable=False, server_default=text("0"))
