"""Stripe: calls in flight, webhook events seen, and the two cross-business lookups.

`stripe_calls` holds a row per Stripe request that creates something, committed before the
request is sent; `stripe_events` records each webhook event once. Both are tenant tables under the
usual policy. Two SECURITY DEFINER PL/pgSQL functions, owned by the owner, are the only ways the
service role reads across businesses here: `stale_pending_calls(age, max_rows)` (the reconciler
claims old pending calls) and `business_for_stripe_account(account)` (a webhook finds its
business).

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-21 07:00:00.000000
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

SERVICE = "customer_service"
TENANT = "NULLIF(current_setting('app.business_id', true), '')::uuid"
TABLES = ("stripe_calls", "stripe_events")

# Claims pending calls older than `age` that no other reconciler holds: SKIP LOCKED lets
# reconcilers run side by side, and `claimed_until` keeps a claimed row out of other claims
# while its claimant asks Stripe (with no transaction open).
STALE_PENDING_CALLS = """
CREATE FUNCTION stale_pending_calls(age interval, max_rows integer DEFAULT 100)
RETURNS TABLE (business_id uuid, id uuid)
LANGUAGE plpgsql VOLATILE SECURITY DEFINER
SET search_path = public AS $$
#variable_conflict use_column
BEGIN
    RETURN QUERY
    WITH stale AS (
        SELECT c.business_id, c.id FROM stripe_calls c
        WHERE c.status = 'PENDING'
          AND c.created_at < now() - age
          AND (c.claimed_until IS NULL OR c.claimed_until < now())
        ORDER BY c.created_at
        LIMIT max_rows
        FOR UPDATE SKIP LOCKED
    )
    UPDATE stripe_calls AS c SET claimed_until = now() + age
    FROM stale
    WHERE c.business_id = stale.business_id AND c.id = stale.id
    RETURNING c.business_id, c.id;
END $$
"""

# A webhook names a connected account, not a business: this answers only the id.
BUSINESS_FOR_STRIPE_ACCOUNT = """
CREATE FUNCTION business_for_stripe_account(account text)
RETURNS uuid
LANGUAGE plpgsql STABLE SECURITY DEFINER
SET search_path = public AS $$
DECLARE v uuid;
BEGIN
    SELECT b.id INTO v FROM businesses b WHERE b.stripe_account_id = account;
    RETURN v;
END $$
"""

FUNCTIONS = (
    "stale_pending_calls(interval, integer)",
    "business_for_stripe_account(text)",
)


def upgrade() -> None:
    _create_tables()
    for table in TABLES:
        op.execute(f"ALTER TABLE {table} ENABLE ROW LEVEL SECURITY")
        op.execute(
            f"CREATE POLICY tenant_isolation ON {table} "
            f"USING (business_id = {TENANT}) WITH CHECK (business_id = {TENANT})"
        )
    op.execute(STALE_PENDING_CALLS)
    op.execute(BUSINESS_FOR_STRIPE_ACCOUNT)
    for function in FUNCTIONS:
        op.execute(f"REVOKE ALL ON FUNCTION {function} FROM PUBLIC")
        op.execute(f"GRANT EXECUTE ON FUNCTION {function} TO {SERVICE}")


def downgrade() -> None:
    for function in FUNCTIONS:
        op.execute(f"DROP FUNCTION IF EXISTS {function}")
    op.drop_table("stripe_events")
    op.drop_index(
        "ix_stripe_calls_business_subject_id",
        table_name="stripe_calls",
        postgresql_where=sa.text("subject_id IS NOT NULL"),
    )
    op.drop_index(
        "ix_stripe_calls_business_created_at",
        table_name="stripe_calls",
        postgresql_where=sa.text("status = 'PENDING'"),
    )
    op.drop_table("stripe_calls")


def _create_tables() -> None:
    op.create_table(
        "stripe_calls",
        sa.Column("id", sa.UUID(), server_default=sa.text("gen_random_uuid()"), nullable=False),
        sa.Column("business_id", sa.UUID(), nullable=False),
        sa.Column("kind", sa.String(length=40), nullable=False),
        sa.Column("status", sa.String(length=16), server_default="PENDING", nullable=False),
        sa.Column("subject_id", sa.UUID(), nullable=True),
        sa.Column("stripe_account_id", sa.String(length=255), nullable=False),
        sa.Column(
            "params",
            postgresql.JSONB(astext_type=sa.Text()),
            server_default=sa.text("'{}'::jsonb"),
            nullable=False,
        ),
        sa.Column("stripe_object_id", sa.String(length=255), nullable=True),
        sa.Column("failure_reason", sa.String(length=500), nullable=True),
        sa.Column("claimed_until", sa.DateTime(timezone=True), nullable=True),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.Column("completed_at", sa.DateTime(timezone=True), nullable=True),
        sa.CheckConstraint(
            "(status = 'PENDING') = (completed_at IS NULL)",
            name=op.f("ck_stripe_calls_completed_has_time"),
        ),
        sa.CheckConstraint(
            "status IN ('PENDING', 'SUCCEEDED', 'FAILED')", name=op.f("ck_stripe_calls_status")
        ),
        sa.ForeignKeyConstraint(
            ["business_id"],
            ["businesses.id"],
            name=op.f("fk_stripe_calls_business_id_businesses"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_stripe_calls")),
        sa.UniqueConstraint("business_id", "id", name="uq_stripe_calls_business_id_id"),
    )
    op.create_index(
        "ix_stripe_calls_business_created_at",
        "stripe_calls",
        ["business_id", "created_at"],
        unique=False,
        postgresql_where=sa.text("status = 'PENDING'"),
    )
    op.create_index(
        "ix_stripe_calls_business_subject_id",
        "stripe_calls",
        ["business_id", "subject_id"],
        unique=False,
        postgresql_where=sa.text("subject_id IS NOT NULL"),
    )
    op.create_table(
        "stripe_events",
        sa.Column("id", sa.UUID(), server_default=sa.text("gen_random_uuid()"), nullable=False),
        sa.Column("business_id", sa.UUID(), nullable=False),
        sa.Column("event_id", sa.String(length=255), nullable=False),
        sa.Column("type", sa.String(length=100), nullable=False),
        sa.Column("object_id", sa.String(length=255), nullable=True),
        sa.Column(
            "received_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.ForeignKeyConstraint(
            ["business_id"],
            ["businesses.id"],
            name=op.f("fk_stripe_events_business_id_businesses"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_stripe_events")),
        sa.UniqueConstraint("business_id", "event_id", name="uq_stripe_events_business_event"),
        sa.UniqueConstraint("business_id", "id", name="uq_stripe_events_business_id_id"),
    )
