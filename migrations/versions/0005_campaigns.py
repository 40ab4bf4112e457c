"""Email campaign audiences: `campaign_audiences` and their members.

Both are tenant tables under the same policy as the others: `business_id` on every row,
composite foreign keys (a member cannot point into another business), row-level security on
`app.business_id`, and the service role's grants. A member is a customer or an additional user,
once per audience.

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-21 07:09:14.864306
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

SERVICE = "customer_service"
TENANT = "NULLIF(current_setting('app.business_id', true), '')::uuid"
TABLES = ("campaign_audiences", "campaign_audience_members")


def upgrade() -> None:
    _create_tables()
    for table in TABLES:
        op.execute(f"ALTER TABLE {table} ENABLE ROW LEVEL SECURITY")
        op.execute(
            f"CREATE POLICY tenant_isolation ON {table} "
            f"USING (business_id = {TENANT}) WITH CHECK (business_id = {TENANT})"
        )
        op.execute(f"GRANT SELECT, INSERT, UPDATE, DELETE ON {table} TO {SERVICE}")


def downgrade() -> None:
    op.drop_index(
        "ix_campaign_audience_members_business_customer_id",
        table_name="campaign_audience_members",
        postgresql_where=sa.text("customer_id IS NOT NULL"),
    )
    op.drop_index(
        "ix_campaign_audience_members_business_audience_id_added_at_id",
        table_name="campaign_audience_members",
    )
    op.drop_index(
        "ix_campaign_audience_members_business_additional_user_id",
        table_name="campaign_audience_members",
        postgresql_where=sa.text("additional_user_id IS NOT NULL"),
    )
    op.drop_table("campaign_audience_members")
    op.drop_index("uq_campaign_audiences_business_name_key", table_name="campaign_audiences")
    op.drop_table("campaign_audiences")


def _create_tables() -> None:
    op.create_table(
        "campaign_audiences",
        sa.Column("id", sa.UUID(), server_default=sa.text("gen_random_uuid()"), nullable=False),
        sa.Column("business_id", sa.UUID(), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column(
            "name_key",
            sa.String(),
            sa.Computed("immutable_unaccent(lower(name))", persisted=True),
            nullable=False,
        ),
        sa.Column("created_by_staff_id", sa.UUID(), nullable=True),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.Column(
            "updated_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.CheckConstraint("btrim(name) <> ''", name=op.f("ck_campaign_audiences_has_name")),
        sa.ForeignKeyConstraint(
            ["business_id", "created_by_staff_id"],
            ["staff_users.business_id", "staff_users.id"],
            name=op.f("fk_campaign_audiences_business_id_created_by_staff_id_staff_users"),
            ondelete="SET NULL (created_by_staff_id)",
        ),
        sa.ForeignKeyConstraint(
            ["business_id"],
            ["businesses.id"],
            name=op.f("fk_campaign_audiences_business_id_businesses"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_campaign_audiences")),
        sa.UniqueConstraint("business_id", "id", name="uq_campaign_audiences_business_id_id"),
    )
    op.create_index(
        "uq_campaign_audiences_business_name_key",
        "campaign_audiences",
        ["business_id", "name_key"],
        unique=True,
    )
    op.create_table(
        "campaign_audience_members",
        sa.Column("id", sa.UUID(), server_default=sa.text("gen_random_uuid()"), nullable=False),
        sa.Column("business_id", sa.UUID(), nullable=False),
        sa.Column("audience_id", sa.UUID(), nullable=False),
        sa.Column("customer_id", sa.UUID(), nullable=True),
        sa.Column("additional_user_id", sa.UUID(), nullable=True),
        sa.Column("added_by_staff_id", sa.UUID(), nullable=True),
        sa.Column(
            "added_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False
        ),
        sa.CheckConstraint(
            "(customer_id IS NULL) <> (additional_user_id IS NULL)",
            name=op.f("ck_campaign_audience_members_exactly_one_person"),
        ),
        sa.ForeignKeyConstraint(
            ["business_id", "added_by_staff_id"],
            ["staff_users.business_id", "staff_users.id"],
            name=op.f("fk_campaign_audience_members_business_id_added_by_staff_id_staff_users"),
            ondelete="SET NULL (added_by_staff_id)",
        ),
        sa.ForeignKeyConstraint(
            ["business_id", "additional_user_id"],
            ["additional_users.business_id", "additional_users.id"],
            name=op.f(
                "fk_campaign_audience_members_business_id_additional_user_id_additional_users"
            ),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["business_id", "audience_id"],
            ["campaign_audiences.business_id", "campaign_audiences.id"],
            name=op.f("fk_campaign_audience_members_business_id_audience_id_campaign_audiences"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["business_id", "customer_id"],
            ["customers.business_id", "customers.id"],
            name=op.f("fk_campaign_audience_members_business_id_customer_id_customers"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["business_id"],
            ["businesses.id"],
            name=op.f("fk_campaign_audience_members_business_id_businesses"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_campaign_audience_members")),
        sa.UniqueConstraint(
            "business_id",
            "audience_id",
            "additional_user_id",
            name="uq_campaign_audience_members_additional_user",
        ),
        sa.UniqueConstraint(
            "business_id",
            "audience_id",
            "customer_id",
            name="uq_campaign_audience_members_customer",
        ),
        sa.UniqueConstraint(
            "business_id", "id", name="uq_campaign_audience_members_business_id_id"
        ),
    )
    op.create_index(
        "ix_campaign_audience_members_business_additional_user_id",
        "campaign_audience_members",
        ["business_id", "additional_user_id"],
        unique=False,
        postgresql_where=sa.text("additional_user_id IS NOT NULL"),
    )
    op.create_index(
        "ix_campaign_audience_members_business_audience_id_added_at_id",
        "campaign_audience_members",
        ["business_id", "audience_id", "added_at", "id"],
        unique=False,
    )
    op.create_index(
        "ix_campaign_audience_members_business_customer_id",
        "campaign_audience_members",
        ["business_id", "customer_id"],
        unique=False,
        postgresql_where=sa.text("customer_id IS NOT NULL"),
    )
