"""Email campaign audiences: named lists of people a business may send marketing email to.

A member is a customer or an additional user (exactly one of the two), at most once per
audience. People are added only with marketing consent; deleting a person removes them from
every audience (their consent goes with them).
"""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import CheckConstraint, ForeignKey, Index, String, UniqueConstraint, text
from sqlalchemy.dialects.postgresql import UUID
from sqlalchemy.orm import Mapped, mapped_column

from models.base import (
    Base,
    created_at,
    folded,
    tenant_fk,
    tenant_index,
    tenant_unique,
    updated_at,
    uuid_pk,
)

AUDIENCE_NAME_LENGTH = 200


def _business_id() -> Mapped[uuid.UUID]:
    return mapped_column(
        UUID(as_uuid=True), ForeignKey("businesses.id", ondelete="CASCADE"), nullable=False
    )


class CampaignAudience(Base):
    """A named audience for email campaigns; names are unique per business, ignoring case and
    accents."""

    __tablename__ = "campaign_audiences"
    __table_args__ = (
        tenant_unique("campaign_audiences"),
        tenant_fk(
            ["created_by_staff_id"], "staff_users", ondelete="SET NULL (created_by_staff_id)"
        ),
        CheckConstraint("btrim(name) <> ''", name="has_name"),
        # Also the list's sort order (name, then id).
        Index("uq_campaign_audiences_business_name_key", "business_id", "name_key", unique=True),
    )

    id: Mapped[uuid.UUID] = uuid_pk()
    business_id: Mapped[uuid.UUID] = _business_id()
    name: Mapped[str] = mapped_column(String(AUDIENCE_NAME_LENGTH), nullable=False)
    name_key: Mapped[str] = mapped_column(String, folded("name"), nullable=False)
    created_by_staff_id: Mapped[uuid.UUID | None] = mapped_column(UUID(as_uuid=True))
    created_at: Mapped[datetime] = created_at()
    updated_at: Mapped[datetime] = updated_at()


class CampaignAudienceMember(Base):
    """One person in one audience."""

    __tablename__ = "campaign_audience_members"
    __table_args__ = (
        tenant_unique("campaign_audience_members"),
        tenant_fk(["audience_id"], "campaign_audiences", ondelete="CASCADE"),
        tenant_fk(["customer_id"], "customers", ondelete="CASCADE"),
        tenant_fk(["additional_user_id"], "additional_users", ondelete="CASCADE"),
        tenant_fk(["added_by_staff_id"], "staff_users", ondelete="SET NULL (added_by_staff_id)"),
        CheckConstraint(
            "(customer_id IS NULL) <> (additional_user_id IS NULL)", name="exactly_one_person"
        ),
        # No duplicates: a person is in an audience once (NULLs never collide, so each
        # constraint only concerns its own kind of person).
        UniqueConstraint(
            "business_id",
            "audience_id",
            "customer_id",
            name="uq_campaign_audience_members_customer",
        ),
        UniqueConstraint(
            "business_id",
            "audience_id",
            "additional_user_id",
            name="uq_campaign_audience_members_additional_user",
        ),
        # The members list, in the order they were added.
        tenant_index("campaign_audience_members", "audience_id", "added_at", "id"),
        # Deleting a person finds their memberships without a scan.
        tenant_index(
            "campaign_audience_members",
            "customer_id",
            postgresql_where=text("customer_id IS NOT NULL"),
        ),
        tenant_index(
            "campaign_audience_members",
            "additional_user_id",
            postgresql_where=text("additional_user_id IS NOT NULL"),
        ),
    )

    id: Mapped[uuid.UUID] = uuid_pk()
    business_id: Mapped[uuid.UUID] = _business_id()
    audience_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), nullable=False)
    customer_id: Mapped[uuid.UUID | None] = mapped_column(UUID(as_uuid=True))
    additional_user_id: Mapped[uuid.UUID | None] = mapped_column(UUID(as_uuid=True))
    added_by_staff_id: Mapped[uuid.UUID | None] = mapped_column(UUID(as_uuid=True))
    added_at: Mapped[datetime] = created_at()
