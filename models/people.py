"""The people of a business: customers (account holders), their participants and their
additional users, plus the login-email namespace they share."""

from __future__ import annotations

import uuid
from datetime import date, datetime

from sqlalchemy import (
    BigInteger,
    Boolean,
    CheckConstraint,
    Date,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    SmallInteger,
    String,
    text,
)
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

NAME_LENGTH = 100
EMAIL_LENGTH = 320
MOBILE_LENGTH = 20

# Digits only, so "7700 900" can match "+447700900123" with a plain prefix/fragment comparison.
MOBILE_DIGITS = "regexp_replace(coalesce(mobile, ''), '[^0-9]', '', 'g')"


def _business_id() -> Mapped[uuid.UUID]:
    return mapped_column(
        UUID(as_uuid=True), ForeignKey("businesses.id", ondelete="CASCADE"), nullable=False
    )


class Customer(Base):
    """An account holder (the buyer). Their category is derived from their history and kept
    current by triggers in the transaction that changes the history."""

    __tablename__ = "customers"
    __table_args__ = (
        tenant_unique("customers"),
        tenant_fk(["merged_into_id"], "customers", name="fk_customers_merged_into"),
        CheckConstraint("category IN ('PRIMARY', 'LEAD', 'APP_USER')", name="category"),
        CheckConstraint("origin IN ('STAFF', 'SERVICE', 'PORTAL_SIGNUP')", name="origin"),
        CheckConstraint("status IN ('ACTIVE', 'ARCHIVED')", name="status"),
        CheckConstraint("merged_into_id IS NULL OR status = 'ARCHIVED'", name="merged_is_archived"),
        CheckConstraint(
            "merged_into_id IS NULL OR merged_into_id <> id", name="not_merged_into_self"
        ),
        CheckConstraint("number > 0", name="number_positive"),
        CheckConstraint("btrim(first_name) <> '' OR btrim(last_name) <> ''", name="has_name"),
        Index("uq_customers_business_number", "business_id", "number", unique=True),
        tenant_index("customers", "status", "name_key", "id"),
        tenant_index("customers", "status", "first_key"),
        tenant_index("customers", "status", "last_key"),
        tenant_index("customers", "email_key"),
        tenant_index("customers", "mobile_digits"),
        tenant_index(
            "customers", "merged_into_id", postgresql_where=text("merged_into_id IS NOT NULL")
        ),
    )

    id: Mapped[uuid.UUID] = uuid_pk()
    business_id: Mapped[uuid.UUID] = _business_id()
    number: Mapped[int] = mapped_column(BigInteger, nullable=False)
    first_name: Mapped[str] = mapped_column(String(NAME_LENGTH), nullable=False)
    last_name: Mapped[str] = mapped_column(String(NAME_LENGTH), nullable=False)
    email: Mapped[str | None] = mapped_column(String(EMAIL_LENGTH))
    mobile: Mapped[str | None] = mapped_column(String(MOBILE_LENGTH))
    password_hash: Mapped[str | None] = mapped_column(String(255))
    status: Mapped[str] = mapped_column(String(16), nullable=False, server_default="ACTIVE")
    archived_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    merged_into_id: Mapped[uuid.UUID | None] = mapped_column(UUID(as_uuid=True))
    origin: Mapped[str] = mapped_column(String(16), nullable=False)
    category: Mapped[str] = mapped_column(String(16), nullable=False)
    app_access_enabled: Mapped[bool] = mapped_column(
        Boolean, nullable=False, server_default=text("true")
    )
    marketing_consent: Mapped[bool] = mapped_column(
        Boolean, nullable=False, server_default=text("false")
    )
    token_version: Mapped[int] = mapped_column(Integer, nullable=False, server_default=text("1"))
    # When the person last proved they read their login email (a verification link).
    email_verified_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    version: Mapped[int] = mapped_column(Integer, nullable=False, server_default=text("1"))
    stripe_customer_id: Mapped[str | None] = mapped_column(String(255))
    created_at: Mapped[datetime] = created_at()
    updated_at: Mapped[datetime] = updated_at()
    # Sort key: "last first", folded, so that the list sorts by last name then first name.
    name_key: Mapped[str] = mapped_column(
        String, folded("last_name || ' ' || first_name"), nullable=False
    )
    first_key: Mapped[str] = mapped_column(String, folded("first_name"), nullable=False)
    last_key: Mapped[str] = mapped_column(String, folded("last_name"), nullable=False)
    email_key: Mapped[str | None] = mapped_column(String, folded("email"))
    mobile_digits: Mapped[str] = mapped_column(String, folded(MOBILE_DIGITS), nullable=False)
    search_text: Mapped[str] = mapped_column(
        String,
        folded(
            "first_name || ' ' || last_name || ' ' || coalesce(email, '') || ' ' || "
            + MOBILE_DIGITS
        ),
        nullable=False,
    )


class Participant(Base):
    """Who attends. Belongs to exactly one customer; `is_self` marks the customer themselves."""

    __tablename__ = "participants"
    __table_args__ = (
        tenant_unique("participants"),
        tenant_fk(["customer_id"], "customers", ondelete="CASCADE"),
        CheckConstraint("btrim(first_name) <> '' OR btrim(last_name) <> ''", name="has_name"),
        Index(
            "uq_participants_one_self",
            "business_id",
            "customer_id",
            unique=True,
            postgresql_where=text("is_self"),
        ),
        tenant_index("participants", "customer_id"),
        tenant_index("participants", "name_key", "id"),
    )

    id: Mapped[uuid.UUID] = uuid_pk()
    business_id: Mapped[uuid.UUID] = _business_id()
    customer_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), nullable=False)
    is_self: Mapped[bool] = mapped_column(Boolean, nullable=False, server_default=text("false"))
    first_name: Mapped[str] = mapped_column(String(NAME_LENGTH), nullable=False)
    last_name: Mapped[str] = mapped_column(String(NAME_LENGTH), nullable=False)
    date_of_birth: Mapped[date | None] = mapped_column(Date)
    email: Mapped[str | None] = mapped_column(String(EMAIL_LENGTH))
    mobile: Mapped[str | None] = mapped_column(String(MOBILE_LENGTH))
    created_at: Mapped[datetime] = created_at()
    updated_at: Mapped[datetime] = updated_at()
    name_key: Mapped[str] = mapped_column(
        String, folded("last_name || ' ' || first_name"), nullable=False
    )
    search_text: Mapped[str] = mapped_column(
        String,
        folded(
            "first_name || ' ' || last_name || ' ' || coalesce(email, '') || ' ' || "
            + MOBILE_DIGITS
        ),
        nullable=False,
    )


class AdditionalUser(Base):
    """A person with their own login who acts for a customer's account."""

    __tablename__ = "additional_users"
    __table_args__ = (
        tenant_unique("additional_users"),
        tenant_fk(["customer_id"], "customers", ondelete="CASCADE"),
        CheckConstraint("btrim(first_name) <> '' OR btrim(last_name) <> ''", name="has_name"),
        Index("uq_additional_users_business_number", "business_id", "number", unique=True),
        tenant_index("additional_users", "customer_id"),
        tenant_index("additional_users", "name_key", "id"),
    )

    id: Mapped[uuid.UUID] = uuid_pk()
    business_id: Mapped[uuid.UUID] = _business_id()
    customer_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), nullable=False)
    number: Mapped[int] = mapped_column(BigInteger, nullable=False)
    first_name: Mapped[str] = mapped_column(String(NAME_LENGTH), nullable=False)
    last_name: Mapped[str] = mapped_column(String(NAME_LENGTH), nullable=False)
    email: Mapped[str] = mapped_column(String(EMAIL_LENGTH), nullable=False)
    mobile: Mapped[str | None] = mapped_column(String(MOBILE_LENGTH))
    password_hash: Mapped[str | None] = mapped_column(String(255))
    app_access_enabled: Mapped[bool] = mapped_column(
        Boolean, nullable=False, server_default=text("true")
    )
    marketing_consent: Mapped[bool] = mapped_column(
        Boolean, nullable=False, server_default=text("false")
    )
    token_version: Mapped[int] = mapped_column(Integer, nullable=False, server_default=text("1"))
    # When the person last proved they read their login email (a verification link).
    email_verified_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    version: Mapped[int] = mapped_column(Integer, nullable=False, server_default=text("1"))
    created_at: Mapped[datetime] = created_at()
    updated_at: Mapped[datetime] = updated_at()
    name_key: Mapped[str] = mapped_column(
        String, folded("last_name || ' ' || first_name"), nullable=False
    )
    email_key: Mapped[str] = mapped_column(String, folded("email"), nullable=False)
    search_text: Mapped[str] = mapped_column(
        String,
        folded("first_name || ' ' || last_name || ' ' || email || ' ' || " + MOBILE_DIGITS),
        nullable=False,
    )


class LoginEmail(Base):
    """The login-email namespace that customers and additional users share per business:
    case-insensitive, archived people included. One row per person with an email."""

    __tablename__ = "login_emails"
    __table_args__ = (
        tenant_fk(["customer_id"], "customers", ondelete="CASCADE"),
        tenant_fk(["additional_user_id"], "additional_users", ondelete="CASCADE"),
        CheckConstraint(
            "(customer_id IS NULL) <> (additional_user_id IS NULL)", name="exactly_one_owner"
        ),
        Index("uq_login_emails_customer", "business_id", "customer_id", unique=True),
        Index("uq_login_emails_additional_user", "business_id", "additional_user_id", unique=True),
    )

    business_id: Mapped[uuid.UUID] = mapped_column(
        UUID(as_uuid=True),
        ForeignKey("businesses.id", ondelete="CASCADE"),
        primary_key=True,
    )
    email_key: Mapped[str] = mapped_column(String(EMAIL_LENGTH), primary_key=True)
    customer_id: Mapped[uuid.UUID | None] = mapped_column(UUID(as_uuid=True))
    additional_user_id: Mapped[uuid.UUID | None] = mapped_column(UUID(as_uuid=True))


class PaymentMethod(Base):
    """A card saved at Stripe for a customer: only Stripe's id and a display summary."""

    __tablename__ = "payment_methods"
    __table_args__ = (
        tenant_unique("payment_methods"),
        tenant_fk(["customer_id"], "customers", ondelete="CASCADE"),
        CheckConstraint("exp_month BETWEEN 1 AND 12", name="exp_month"),
        Index(
            "uq_payment_methods_one_default",
            "business_id",
            "customer_id",
            unique=True,
            postgresql_where=text("is_default"),
        ),
        Index(
            "uq_payment_methods_stripe_id",
            "business_id",
            "stripe_payment_method_id",
            unique=True,
        ),
        tenant_index("payment_methods", "customer_id"),
    )

    id: Mapped[uuid.UUID] = uuid_pk()
    business_id: Mapped[uuid.UUID] = _business_id()
    customer_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), nullable=False)
    stripe_payment_method_id: Mapped[str] = mapped_column(String(255), nullable=False)
    brand: Mapped[str] = mapped_column(String(32), nullable=False)
    last4: Mapped[str] = mapped_column(String(4), nullable=False)
    exp_month: Mapped[int] = mapped_column(SmallInteger, nullable=False)
    exp_year: Mapped[int] = mapped_column(SmallInteger, nullable=False)
    is_default: Mapped[bool] = mapped_column(Boolean, nullable=False, server_default=text("false"))
    created_at: Mapped[datetime] = created_at()


class ConsentRecord(Base):
    """Each change of marketing consent: when, where from and the wording shown."""

    __tablename__ = "consent_records"
    __table_args__ = (
        tenant_unique("consent_records"),
        tenant_fk(["customer_id"], "customers", ondelete="CASCADE"),
        tenant_fk(["additional_user_id"], "additional_users", ondelete="CASCADE"),
        CheckConstraint(
            "(customer_id IS NULL) <> (additional_user_id IS NULL)", name="exactly_one_person"
        ),
        CheckConstraint(
            "source IN ('MEMBER_PORTAL', 'STAFF', 'UNSUBSCRIBE_LINK', 'SIGN_UP', 'IMPORT')",
            name="source",
        ),
        tenant_index("consent_records", "customer_id", "created_at"),
        tenant_index("consent_records", "additional_user_id"),
    )

    id: Mapped[uuid.UUID] = uuid_pk()
    business_id: Mapped[uuid.UUID] = _business_id()
    customer_id: Mapped[uuid.UUID | None] = mapped_column(UUID(as_uuid=True))
    additional_user_id: Mapped[uuid.UUID | None] = mapped_column(UUID(as_uuid=True))
    granted: Mapped[bool] = mapped_column(Boolean, nullable=False)
    source: Mapped[str] = mapped_column(String(32), nullable=False)
    wording: Mapped[str] = mapped_column(String(2000), nullable=False)
    created_at: Mapped[datetime] = created_at()
