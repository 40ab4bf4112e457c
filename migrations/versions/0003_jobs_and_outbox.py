"""Jobs and the email outbox: background work that leaves the request.

`jobs` and `job_items` hold background work and its per-person results; `messages` (the
customer's communication log) becomes the email outbox with a few columns. Both are tenant
tables under the same policy as 0001's. The worker is the only reader across businesses and reads
only through the SECURITY DEFINER functions created here, which hand out `(business_id, id)`
pairs; it then handles each one in a transaction that applies that business.

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-21 07:02:41.118204
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

SERVICE = "customer_service"
TENANT = "NULLIF(current_setting('app.business_id', true), '')::uuid"
NEW_TENANT_TABLES = ("jobs", "job_items")
INTERRUPTED = "Interrupted while sending; not retried to avoid a duplicate."


def upgrade() -> None:
    _create_tables()
    _extend_messages()
    for table in NEW_TENANT_TABLES:
        op.execute(f"ALTER TABLE {table} ENABLE ROW LEVEL SECURITY")
        op.execute(
            f"CREATE POLICY tenant_isolation ON {table} "
            f"USING (business_id = {TENANT}) WITH CHECK (business_id = {TENANT})"
        )
        op.execute(f"GRANT SELECT, INSERT, UPDATE, DELETE ON {table} TO {SERVICE}")
    _claim_functions()
    _orphaned_item_trigger()


def downgrade() -> None:
    op.execute("DROP TRIGGER IF EXISTS job_item_message_deleted ON messages")
    for name in (
        "job_item_message_deleted()",
        "claim_outbox(integer, interval)",
        "claim_jobs(integer, interval)",
    ):
        op.execute(f"DROP FUNCTION IF EXISTS {name}")
    op.drop_constraint(
        op.f("fk_messages_business_id_job_item_id_job_items"), "messages", type_="foreignkey"
    )
    op.drop_constraint(op.f("ck_messages_attempts_not_negative"), "messages", type_="check")
    op.drop_index("uq_messages_job_item", table_name="messages")
    op.drop_index("ix_messages_business_next_attempt_at", table_name="messages")
    for column in ("job_item_id", "next_attempt_at", "attempts", "html_body", "to_address"):
        op.drop_column("messages", column)
    op.drop_index("uq_job_items_position", table_name="job_items")
    op.drop_index("uq_job_items_person", table_name="job_items")
    op.drop_index("ix_job_items_business_job_id_status", table_name="job_items")
    op.drop_table("job_items")
    op.drop_index("ix_jobs_business_run_after", table_name="jobs")
    op.drop_index("ix_jobs_business_created_at", table_name="jobs")
    op.drop_table("jobs")


# Claim due rows of a queue table, fairly across businesses. Open rows are found through the
# business-led partial index: a loose index scan lists the businesses with open rows, each
# contributes its earliest due rows, and they are taken in turns (every business's first, then
# every business's second...), so one business's 50,000 emails do not hold up another's. Locked
# rows are skipped (another worker has them) and the scan goes on to the next candidates.
# Claiming moves each row's due time to the end of a lease in the same statement, so the claim
# shows as soon as this short transaction commits, and a worker that dies lets its lease run out.
CLAIM = """
CREATE FUNCTION {name}(n integer, lease interval DEFAULT interval '{lease}')
RETURNS TABLE (business_id uuid, id uuid)
LANGUAGE plpgsql VOLATILE SECURITY DEFINER
SET search_path = public AS $$
BEGIN
    RETURN QUERY
    WITH RECURSIVE open_businesses AS (
        (SELECT t.business_id FROM {table} t WHERE t.status IN {open}
         ORDER BY t.business_id LIMIT 1)
        UNION ALL
        SELECT (SELECT t.business_id FROM {table} t
                WHERE t.status IN {open} AND t.business_id > o.business_id
                ORDER BY t.business_id LIMIT 1)
        FROM open_businesses o WHERE o.business_id IS NOT NULL
    ),
    candidates AS (
        SELECT c.id, c.due,
               row_number() OVER (PARTITION BY o.business_id ORDER BY c.due) AS turn
        FROM open_businesses o
        CROSS JOIN LATERAL (
            SELECT t.id, t.{due} AS due FROM {table} t
            WHERE t.business_id = o.business_id AND t.status IN {open}
              AND t.{due} <= now(){extra}
            ORDER BY t.{due}
            LIMIT 4 * n
        ) c
        WHERE o.business_id IS NOT NULL
    ),
    picked AS (
        SELECT t.id FROM (SELECT * FROM candidates ORDER BY turn, due LIMIT 4 * n) p
        JOIN {table} t ON t.id = p.id
        WHERE t.status IN {open} AND t.{due} <= now()
        ORDER BY p.turn, p.due
        LIMIT n
        FOR UPDATE OF t SKIP LOCKED
    )
    UPDATE {table} AS t
    SET {claim}
    FROM picked WHERE t.id = picked.id
    RETURNING t.business_id, t.id;
END $$
"""


def _claim_functions() -> None:
    op.execute(
        CLAIM.format(
            name="claim_jobs",
            lease="2 minutes",
            table="jobs",
            open="('QUEUED', 'RUNNING')",
            due="run_after",
            extra="",
            claim="status = 'RUNNING', attempts = t.attempts + 1, run_after = now() + lease, "
            "started_at = coalesce(t.started_at, now()), updated_at = now()",
        )
    )
    # A due SENDING message is one whose sender's lease ran out mid-send: it is handed out too
    # (its due time kept, which is how the worker tells it from one being sent right now), so
    # that the worker reports it and never sends it again.
    op.execute(
        CLAIM.format(
            name="claim_outbox",
            lease="5 minutes",
            table="messages",
            open="('QUEUED', 'SENDING')",
            due="next_attempt_at",
            extra=" AND t.channel = 'EMAIL'",
            claim="next_attempt_at = CASE WHEN t.status = 'SENDING' THEN t.next_attempt_at "
            "ELSE now() + lease END",
        )
    )
    for signature in ("claim_jobs(integer, interval)", "claim_outbox(integer, interval)"):
        op.execute(f"REVOKE ALL ON FUNCTION {signature} FROM PUBLIC")
        op.execute(f"GRANT EXECUTE ON FUNCTION {signature} TO {SERVICE}")


def _orphaned_item_trigger() -> None:
    # A message that is deleted before it was sent (its person was deleted) would leave its job
    # item waiting forever; settle the item in the deleting transaction instead. Runs as the
    # deleting role, inside its tenant.
    op.execute(
        f"""
        CREATE FUNCTION job_item_message_deleted() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN
            UPDATE job_items SET status = 'FAILED', updated_at = now(),
                message = CASE WHEN OLD.status = 'SENDING' THEN '{INTERRUPTED}'
                          ELSE 'The message was deleted with its person before it was sent.' END
            WHERE business_id = OLD.business_id AND id = OLD.job_item_id
              AND status IN ('PENDING', 'SENDING');
            RETURN OLD;
        END $$
        """
    )
    op.execute(
        "CREATE TRIGGER job_item_message_deleted BEFORE DELETE ON messages FOR EACH ROW "
        "WHEN (OLD.job_item_id IS NOT NULL AND OLD.status IN ('QUEUED', 'SENDING')) "
        "EXECUTE FUNCTION job_item_message_deleted()"
    )


def _extend_messages() -> None:
    op.add_column("messages", sa.Column("to_address", sa.String(length=320), nullable=True))
    op.add_column("messages", sa.Column("html_body", sa.Text(), nullable=True))
    op.add_column(
        "messages",
        sa.Column("attempts", sa.Integer(), server_default=sa.text("0"), nullable=False),
    )
    op.add_column(
        "messages",
        sa.Column(
            "next_attempt_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
    )
    op.add_column("messages", sa.Column("job_item_id", sa.UUID(), nullable=True))
    op.create_check_constraint(
        op.f("ck_messages_attempts_not_negative"), "messages", "attempts >= 0"
    )
    op.create_index(
        "ix_messages_business_next_attempt_at",
        "messages",
        ["business_id", "next_attempt_at"],
        unique=False,
        postgresql_where=sa.text("status IN ('QUEUED', 'SENDING')"),
    )
    op.create_index(
        "uq_messages_job_item",
        "messages",
        ["business_id", "job_item_id"],
        unique=True,
        postgresql_where=sa.text("job_item_id IS NOT NULL"),
    )
    op.create_foreign_key(
        op.f("fk_messages_business_id_job_item_id_job_items"),
        "messages",
        "job_items",
        ["business_id", "job_item_id"],
        ["business_id", "id"],
        ondelete="SET NULL (job_item_id)",
    )


def _create_tables() -> None:
    op.create_table(
        "jobs",
        sa.Column("id", sa.UUID(), server_default=sa.text("gen_random_uuid()"), nullable=False),
        sa.Column("business_id", sa.UUID(), nullable=False),
        sa.Column("kind", sa.String(length=64), nullable=False),
        sa.Column(
            "payload",
            postgresql.JSONB(astext_type=sa.Text()),
            server_default=sa.text("'{}'::jsonb"),
            nullable=False,
        ),
        sa.Column("status", sa.String(length=16), server_default="QUEUED", nullable=False),
        sa.Column("attempts", sa.Integer(), server_default=sa.text("0"), nullable=False),
        sa.Column("max_attempts", sa.Integer(), server_default=sa.text("5"), nullable=False),
        sa.Column(
            "run_after", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False
        ),
        sa.Column("error", sa.String(length=500), nullable=True),
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
        sa.Column("started_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("finished_at", sa.DateTime(timezone=True), nullable=True),
        sa.CheckConstraint(
            "status IN ('QUEUED', 'RUNNING', 'HANDLED', 'FAILED')", name=op.f("ck_jobs_status")
        ),
        sa.CheckConstraint("attempts >= 0", name=op.f("ck_jobs_attempts_not_negative")),
        sa.CheckConstraint("max_attempts > 0", name=op.f("ck_jobs_max_attempts_positive")),
        sa.ForeignKeyConstraint(
            ["business_id", "created_by_staff_id"],
            ["staff_users.business_id", "staff_users.id"],
            name=op.f("fk_jobs_business_id_created_by_staff_id_staff_users"),
            ondelete="SET NULL (created_by_staff_id)",
        ),
        sa.ForeignKeyConstraint(
            ["business_id"],
            ["businesses.id"],
            name=op.f("fk_jobs_business_id_businesses"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_jobs")),
        sa.UniqueConstraint("business_id", "id", name="uq_jobs_business_id_id"),
    )
    op.create_index(
        "ix_jobs_business_created_at", "jobs", ["business_id", "created_at"], unique=False
    )
    op.create_index(
        "ix_jobs_business_run_after",
        "jobs",
        ["business_id", "run_after"],
        unique=False,
        postgresql_where=sa.text("status IN ('QUEUED', 'RUNNING')"),
    )
    op.create_table(
        "job_items",
        sa.Column("id", sa.UUID(), server_default=sa.text("gen_random_uuid()"), nullable=False),
        sa.Column("business_id", sa.UUID(), nullable=False),
        sa.Column("job_id", sa.UUID(), nullable=False),
        sa.Column("position", sa.BigInteger(), nullable=False),
        sa.Column("person_id", sa.UUID(), nullable=False),
        sa.Column("status", sa.String(length=16), server_default="PENDING", nullable=False),
        sa.Column("message", sa.String(length=500), nullable=True),
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
        sa.CheckConstraint(
            "status IN ('PENDING', 'SENDING', 'DONE', 'FAILED', 'SKIPPED')",
            name=op.f("ck_job_items_status"),
        ),
        sa.ForeignKeyConstraint(
            ["business_id", "job_id"],
            ["jobs.business_id", "jobs.id"],
            name=op.f("fk_job_items_business_id_job_id_jobs"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["business_id"],
            ["businesses.id"],
            name=op.f("fk_job_items_business_id_businesses"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_job_items")),
        sa.UniqueConstraint("business_id", "id", name="uq_job_items_business_id_id"),
    )
    op.create_index(
        "ix_job_items_business_job_id_status",
        "job_items",
        ["business_id", "job_id", "status"],
        unique=False,
    )
    op.create_index(
        "uq_job_items_person", "job_items", ["business_id", "job_id", "person_id"], unique=True
    )
    op.create_index(
        "uq_job_items_position", "job_items", ["business_id", "job_id", "position"], unique=True
    )
