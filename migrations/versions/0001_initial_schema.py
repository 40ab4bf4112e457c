"""Initial schema: the whole data model under row-level security.

Besides the tables this revision creates the text helpers the generated search columns use,
the tenant policies, the service role's grants, per-business numbering and the triggers that keep
each customer's derived category current in the transaction that changes their history.

Revision ID: 0001
Revises: 
Create Date: 2026-11-21 06:07:27.503031
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0001"
down_revision: str | None = None

OWNER = "customer_owner"
SERVICE = "customer_service"
TENANT = "NULLIF(current_setting('app.business_id', true), '')::uuid"

# Every table that carries business_id (businesses itself is keyed by id).
TENANT_TABLES = (
    "staff_users", "number_counters", "customers", "participants", "additional_users",
    "login_emails", "payment_methods", "consent_records", "facilitators", "events",
    "sessions", "services", "pass_products", "videos", "plans", "questionnaires",
    "payments", "customer_passes", "bookings", "appointments", "video_purchases",
    "customer_subscriptions", "questionnaire_responses", "notes", "refunds", "messages",
    "account_history",
)
# Tables whose rows get a per-business `number` on insert when none is given.
NUMBERED_TABLES = (
    "customers", "additional_users", "payments", "customer_passes", "bookings",
    "appointments", "video_purchases", "customer_subscriptions", "questionnaire_responses",
    "notes", "refunds", "messages", "account_history",
)
# History that makes a customer PRIMARY (PRODUCT.md, "The people").
CATEGORY_TABLES = (
    "bookings", "appointments", "customer_passes", "video_purchases",
    "customer_subscriptions", "questionnaire_responses", "payments",
)

branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def _prologue() -> None:
    op.execute("CREATE EXTENSION IF NOT EXISTS pg_trgm")
    op.execute("CREATE EXTENSION IF NOT EXISTS unaccent")
    # unaccent() is only STABLE (it reads a dictionary); generated columns need IMMUTABLE. Naming
    # the dictionary explicitly makes the result fixed, which is what the wrapper promises.
    op.execute(
        """
        CREATE FUNCTION immutable_unaccent(value text) RETURNS text
        LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE
        SET search_path = public
        AS $$ SELECT public.unaccent('public.unaccent'::regdictionary, value) $$
        """
    )


def _epilogue() -> None:
    for table in TENANT_TABLES:
        op.execute(f"ALTER TABLE {table} ENABLE ROW LEVEL SECURITY")
        op.execute(
            f"CREATE POLICY tenant_isolation ON {table} "
            f"USING (business_id = {TENANT}) WITH CHECK (business_id = {TENANT})"
        )
    op.execute("ALTER TABLE businesses ENABLE ROW LEVEL SECURITY")
    op.execute(
        f"CREATE POLICY tenant_isolation ON businesses USING (id = {TENANT}) WITH CHECK (id = {TENANT})"
    )
    op.execute(f"GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA public TO {SERVICE}")
    op.execute(f"REVOKE INSERT, UPDATE, DELETE ON alembic_version FROM {SERVICE}")
    op.execute(
        f"ALTER DEFAULT PRIVILEGES FOR ROLE {OWNER} IN SCHEMA public "
        f"GRANT SELECT, INSERT, UPDATE, DELETE ON TABLES TO {SERVICE}"
    )

    op.execute(
        """
        CREATE FUNCTION assign_number() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN
            IF NEW.number IS NULL THEN
                INSERT INTO number_counters AS c (business_id, kind, last_value)
                VALUES (NEW.business_id, TG_TABLE_NAME, 1)
                ON CONFLICT (business_id, kind) DO UPDATE SET last_value = c.last_value + 1
                RETURNING last_value INTO NEW.number;
            END IF;
            RETURN NEW;
        END $$
        """
    )
    for table in NUMBERED_TABLES:
        op.execute(
            f"CREATE TRIGGER assign_number BEFORE INSERT ON {table} "
            "FOR EACH ROW EXECUTE FUNCTION assign_number()"
        )

    has_history = " OR ".join(
        f"EXISTS (SELECT 1 FROM {t} h WHERE h.business_id = c.business_id AND h.customer_id = c.id)"
        for t in CATEGORY_TABLES
    )
    op.execute(
        f"""
        CREATE FUNCTION refresh_customer_categories(customer_ids uuid[]) RETURNS void
        LANGUAGE sql AS $$
            UPDATE customers AS c SET category = derived.category
            FROM (
                SELECT c.id, CASE
                    WHEN {has_history} THEN 'PRIMARY'
                    WHEN c.origin IN ('STAFF', 'SERVICE') THEN 'LEAD'
                    ELSE 'APP_USER' END AS category
                FROM customers c WHERE c.id = ANY(customer_ids)
            ) AS derived
            WHERE c.id = derived.id AND c.category IS DISTINCT FROM derived.category
        $$
        """
    )
    op.execute(
        """
        CREATE FUNCTION history_inserted() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN
            PERFORM refresh_customer_categories(ARRAY(
                SELECT DISTINCT customer_id FROM new_rows WHERE customer_id IS NOT NULL));
            RETURN NULL;
        END $$
        """
    )
    op.execute(
        """
        CREATE FUNCTION history_deleted() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN
            PERFORM refresh_customer_categories(ARRAY(
                SELECT DISTINCT customer_id FROM old_rows WHERE customer_id IS NOT NULL));
            RETURN NULL;
        END $$
        """
    )
    op.execute(
        """
        CREATE FUNCTION history_moved() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN
            PERFORM refresh_customer_categories(ARRAY(
                SELECT o.customer_id FROM old_rows o JOIN new_rows n USING (id)
                WHERE o.customer_id IS DISTINCT FROM n.customer_id AND o.customer_id IS NOT NULL
                UNION
                SELECT n.customer_id FROM old_rows o JOIN new_rows n USING (id)
                WHERE o.customer_id IS DISTINCT FROM n.customer_id AND n.customer_id IS NOT NULL));
            RETURN NULL;
        END $$
        """
    )
    for table in CATEGORY_TABLES:
        op.execute(
            f"CREATE TRIGGER category_on_insert AFTER INSERT ON {table} "
            "REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION history_inserted()"
        )
        op.execute(
            f"CREATE TRIGGER category_on_delete AFTER DELETE ON {table} "
            "REFERENCING OLD TABLE AS old_rows FOR EACH STATEMENT EXECUTE FUNCTION history_deleted()"
        )
        op.execute(
            f"CREATE TRIGGER category_on_update AFTER UPDATE ON {table} "
            "REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows "
            "FOR EACH STATEMENT EXECUTE FUNCTION history_moved()"
        )


def _token_version_function() -> None:
    # Checked on every request before any tenant transaction exists, so it reads across the
    # policy: SECURITY DEFINER, owned by the owner, answering one number for one subject.
    op.execute(
        """
        CREATE FUNCTION current_token_version(p_role text, p_business uuid, p_subject uuid)
        RETURNS integer LANGUAGE plpgsql STABLE SECURITY DEFINER
        SET search_path = public AS $$
        DECLARE v integer;
        BEGIN
            IF p_role IN ('owner', 'staff') THEN
                SELECT s.token_version INTO v FROM staff_users s
                WHERE s.business_id = p_business AND s.id = p_subject AND lower(s.role) = p_role;
            ELSIF p_role = 'customer' THEN
                SELECT c.token_version INTO v FROM customers c
                WHERE c.business_id = p_business AND c.id = p_subject
                  AND c.status = 'ACTIVE' AND c.app_access_enabled;
            ELSIF p_role = 'additional_user' THEN
                SELECT a.token_version INTO v FROM additional_users a
                JOIN customers c ON c.business_id = a.business_id AND c.id = a.customer_id
                WHERE a.business_id = p_business AND a.id = p_subject
                  AND a.app_access_enabled AND c.status = 'ACTIVE';
            END IF;
            RETURN v;
        END $$
        """
    )
    op.execute("REVOKE ALL ON FUNCTION current_token_version(text, uuid, uuid) FROM PUBLIC")
    op.execute(f"GRANT EXECUTE ON FUNCTION current_token_version(text, uuid, uuid) TO {SERVICE}")


def _drop_functions() -> None:
    for name in (
        "current_token_version(text, uuid, uuid)",
        "history_moved()",
        "history_deleted()",
        "history_inserted()",
        "refresh_customer_categories(uuid[])",
        "assign_number()",
        "immutable_unaccent(text)",
    ):
        op.execute(f"DROP FUNCTION IF EXISTS {name}")
    op.execute(
        f"ALTER DEFAULT PRIVILEGES FOR ROLE {OWNER} IN SCHEMA public "
        f"REVOKE SELECT, INSERT, UPDATE, DELETE ON TABLES FROM {SERVICE}"
    )


def upgrade() -> None:
    _prologue()
    _create_tables()
    _epilogue()
    _token_version_function()


def downgrade() -> None:
    _drop_tables()
    _drop_functions()


def _create_tables() -> None:
    op.create_table('businesses',
    sa.Column('id', sa.UUID(), server_default=sa.text('gen_random_uuid()'), nullable=False),
    sa.Column('name', sa.String(length=200), nullable=False),
    sa.Column('slug', sa.String(length=100), nullable=False),
    sa.Column('time_zone', sa.String(length=64), nullable=False),
    sa.Column('currency', sa.String(length=3), nullable=False),
    sa.Column('country', sa.String(length=2), nullable=False),
    sa.Column('stripe_account_id', sa.String(length=255), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.CheckConstraint('char_length(country) = 2', name=op.f('ck_businesses_country_iso')),
    sa.CheckConstraint('char_length(currency) = 3', name=op.f('ck_businesses_currency_iso')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_businesses')),
    sa.UniqueConstraint('slug', name=op.f('uq_businesses_slug')),
    sa.UniqueConstraint('stripe_account_id', name=op.f('uq_businesses_stripe_account_id'))
    )
    op.create_table('customers',
    sa.Column('id', sa.UUID(), server_default=sa.text('gen_random_uuid()'), nullable=False),
    sa.Column('business_id', sa.UUID(), nullable=False),
    sa.Column('number', sa.BigInteger(), nullable=False),
    sa.Column('first_name', sa.String(length=100), nullable=False),
    sa.Column('last_name', sa.String(length=100), nullable=False),
    sa.Column('email', sa.String(length=320), nullable=True),
    sa.Column('mobile', sa.String(length=20), nullable=True),
    sa.Column('password_hash', sa.String(length=255), nullable=True),
    sa.Column('status', sa.String(length=16), server_default='ACTIVE', nullable=False),
    sa.Column('archived_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('merged_into_id', sa.UUID(), nullable=True),
    sa.Column('origin', sa.String(length=16), nullable=False),
    sa.Column('category', sa.String(length=16), nullable=False),
    sa.Column('app_access_enabled', sa.Boolean(), server_default=sa.text('true'), nullable=False),
    sa.Column('marketing_consent', sa.Boolean(), server_default=sa.text('false'), nullable=False),
    sa.Column('token_version', sa.Integer(), server_default=sa.text('1'), nullable=False),
    sa.Column('version', sa.Integer(), server_default=sa.text('1'), nullable=False),
    sa.Column('stripe_customer_id', sa.String(length=255), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.Column('name_key', sa.String(), sa.Computed("immutable_unaccent(lower(last_name || ' ' || first_name))", persisted=True), nullable=False),
    sa.Column('first_key', sa.String(), sa.Computed('immutable_unaccent(lower(first_name))', persisted=True), nullable=False),
    sa.Column('last_key', sa.String(), sa.Computed('immutable_unaccent(lower(last_name))', persisted=True), nullable=False),
    sa.Column('email_key', sa.String(), sa.Computed('immutable_unaccent(lower(email))', persisted=True), nullable=True),
    sa.Column('mobile_digits', sa.String(), sa.Computed("immutable_unaccent(lower(regexp_replace(coalesce(mobile, ''), '[^0-9]', '', 'g')))", persisted=True), nullable=False),
    sa.Column('search_text', sa.String(), sa.Computed("immutable_unaccent(lower(first_name || ' ' || last_name || ' ' || coalesce(email, '') || ' ' || regexp_replace(coalesce(mobile, ''), '[^0-9]', '', 'g')))", persisted=True), nullable=False),
    sa.CheckConstraint("btrim(first_name) <> '' OR btrim(last_name) <> ''", name=op.f('ck_customers_has_name')),
    sa.CheckConstraint("category IN ('PRIMARY', 'LEAD', 'APP_USER')", name=op.f('ck_customers_category')),
    sa.CheckConstraint("merged_into_id IS NULL OR status = 'ARCHIVED'", name=op.f('ck_customers_merged_is_archived')),
    sa.CheckConstraint("origin IN ('STAFF', 'SERVICE', 'PORTAL_SIGNUP')", name=op.f('ck_customers_origin')),
    sa.CheckConstraint("status IN ('ACTIVE', 'ARCHIVED')", name=op.f('ck_customers_status')),
    sa.CheckConstraint('merged_into_id IS NULL OR merged_into_id <> id', name=op.f('ck_customers_not_merged_into_self')),
    sa.CheckConstraint('number > 0', name=op.f('ck_customers_number_positive')),
    sa.ForeignKeyConstraint(['business_id', 'merged_into_id'], ['customers.business_id', 'customers.id'], name='fk_customers_merged_into'),
    sa.ForeignKeyConstraint(['business_id'], ['businesses.id'], name=op.f('fk_customers_business_id_businesses'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_customers')),
    sa.UniqueConstraint('business_id', 'id', name='uq_customers_business_id_id')
    )
    op.create_index('ix_customers_business_email_key', 'customers', ['business_id', 'email_key'], unique=False)
    op.create_index('ix_customers_business_merged_into_id', 'customers', ['business_id', 'merged_into_id'], unique=False, postgresql_where=sa.text('merged_into_id IS NOT NULL'))
    op.create_index('ix_customers_business_mobile_digits', 'customers', ['business_id', 'mobile_digits'], unique=False)
    op.create_index('ix_customers_business_status_first_key', 'customers', ['business_id', 'status', 'first_key'], unique=False)
    op.create_index('ix_customers_business_status_last_key', 'customers', ['business_id', 'status', 'last_key'], unique=False)
    op.create_index('ix_customers_business_status_name_key_id', 'customers', ['business_id', 'status', 'name_key', 'id'], unique=False)
    op.create_index('uq_customers_business_number', 'customers', ['business_id', 'number'], unique=True)
    op.create_table('events',
    sa.Column('id', sa.UUID(), server_default=sa.text('gen_random_uuid()'), nullable=False),
    sa.Column('business_id', sa.UUID(), nullable=False),
    sa.Column('name', sa.String(length=200), nullable=False),
    sa.Column('description', sa.Text(), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.ForeignKeyConstraint(['business_id'], ['businesses.id'], name=op.f('fk_events_business_id_businesses'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_events')),
    sa.UniqueConstraint('business_id', 'id', name='uq_events_business_id_id')
    )
    op.create_index('ix_events_business_name', 'events', ['business_id', 'name'], unique=False)
    op.create_table('facilitators',
    sa.Column('id', sa.UUID(), server_default=sa.text('gen_random_uuid()'), nullable=False),
    sa.Column('business_id', sa.UUID(), nullable=False),
    sa.Column('name', sa.String(length=200), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.ForeignKeyConstraint(['business_id'], ['businesses.id'], name=op.f('fk_facilitators_business_id_businesses'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_facilitators')),
    sa.UniqueConstraint('business_id', 'id', name='uq_facilitators_business_id_id')
    )
    op.create_index('ix_facilitators_business_name', 'facilitators', ['business_id', 'name'], unique=False)
    op.create_table('number_counters',
    sa.Column('business_id', sa.UUID(), nullable=False),
    sa.Column('kind', sa.String(length=32), nullable=False),
    sa.Column('last_value', sa.BigInteger(), server_default=sa.text('0'), nullable=False),
    sa.ForeignKeyConstraint(['business_id'], ['businesses.id'], name=op.f('fk_number_counters_business_id_businesses'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('business_id', 'kind', name=op.f('pk_number_counters'))
    )
    op.create_table('pass_products',
    sa.Column('id', sa.UUID(), server_default=sa.text('gen_random_uuid()'), nullable=False),
    sa.Column('business_id', sa.UUID(), nullable=False),
    sa.Column('name', sa.String(length=200), nullable=False),
    sa.Column('uses', sa.Integer(), nullable=True),
    sa.Column('validity_days', sa.Integer(), nullable=True),
    sa.Column('price_amount', sa.BigInteger(), nullable=False),
    sa.Column('currency', sa.String(length=3), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.CheckConstraint('price_amount >= 0', name=op.f('ck_pass_products_price_not_negative')),
    sa.CheckConstraint('uses IS NULL OR uses > 0', name=op.f('ck_pass_products_uses_positive')),
    sa.CheckConstraint('validity_days IS NULL OR validity_days > 0', name=op.f('ck_pass_products_validity_positive')),
    sa.ForeignKeyConstraint(['business_id'], ['businesses.id'], name=op.f('fk_pass_products_business_id_businesses'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_pass_products')),
    sa.UniqueConstraint('business_id', 'id', name='uq_pass_products_business_id_id')
    )
    op.create_index('ix_pass_products_business_name', 'pass_products', ['business_id', 'name'], unique=False)
    op.create_table('plans',
    sa.Column('id', sa.UUID(), server_default=sa.text('gen_random_uuid()'), nullable=False),
    sa.Column('business_id', sa.UUID(), nullable=False),
    sa.Column('name', sa.String(length=200), nullable=False),
    sa.Column('amount', sa.BigInteger(), nullable=False),
    sa.Column('currency', sa.String(length=3), nullable=False),
    sa.Column('interval_unit', sa.String(length=8), nullable=False),
    sa.Column('interval_count', sa.Integer(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.CheckConstraint("interval_unit IN ('WEEK', 'MONTH', 'YEAR')", name=op.f('ck_plans_interval_unit')),
    sa.CheckConstraint('amount > 0', name=op.f('ck_plans_amount_positive')),
    sa.CheckConstraint('interval_count > 0', name=op.f('ck_plans_interval_positive')),
    sa.ForeignKeyConstraint(['business_id'], ['businesses.id'], name=op.f('fk_plans_business_id_businesses'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_plans')),
    sa.UniqueConstraint('business_id', 'id', name='uq_plans_business_id_id')
    )
    op.create_index('ix_plans_business_name', 'plans', ['business_id', 'name'], unique=False)
    op.create_table('questionnaires',
    sa.Column('id', sa.UUID(), server_default=sa.text('gen_random_uuid()'), nullable=False),
    sa.Column('business_id', sa.UUID(), nullable=False),
    sa.Column('name', sa.String(length=200), nullable=False),
    sa.Column('questions', postgresql.JSONB(astext_type=sa.Text()), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.ForeignKeyConstraint(['business_id'], ['businesses.id'], name=op.f('fk_questionnaires_business_id_businesses'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_questionnaires')),
    sa.UniqueConstraint('business_id', 'id', name='uq_questionnaires_business_id_id')
    )
    op.create_index('ix_questionnaires_business_name', 'questionnaires', ['business_id', 'name'], unique=False)
    op.create_table('services',
    sa.Column('id', sa.UUID(), server_default=sa.text('gen_random_uuid()'), nullable=False),
    sa.Column('business_id', sa.UUID(), nullable=False),
    sa.Column('name', sa.String(length=200), nullable=False),
    sa.Column('duration_minutes', sa.Integer(), nullable=False),
    sa.Column('price_amount', sa.BigInteger(), nullable=False),
    sa.Column('currency', sa.String(length=3), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.CheckConstraint('duration_minutes > 0', name=op.f('ck_services_duration_positive')),
    sa.CheckConstraint('price_amount >= 0', name=op.f('ck_services_price_not_negative')),
    sa.ForeignKeyConstraint(['business_id'], ['businesses.id'], name=op.f('fk_services_business_id_businesses'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_services')),
    sa.UniqueConstraint('business_id', 'id', name='uq_services_business_id_id')
    )
    op.create_index('ix_services_business_name', 'services', ['business_id', 'name'], unique=False)
    op.create_table('staff_users',
    sa.Column('id', sa.UUID(), server_default=sa.text('gen_random_uuid()'), nullable=False),
    sa.Column('business_id', sa.UUID(), nullable=False),
    sa.Column('email', sa.String(length=320), nullable=False),
    sa.Column('display_name', sa.String(length=200), nullable=False),
    sa.Column('role', sa.String(length=16), nullable=False),
    sa.Column('token_version', sa.Integer(), server_default=sa.text('1'), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.CheckConstraint("role IN ('OWNER', 'STAFF')", name=op.f('ck_staff_users_role')),
    sa.ForeignKeyConstraint(['business_id'], ['businesses.id'], name=op.f('fk_staff_users_business_id_businesses'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_staff_users')),
    sa.UniqueConstraint('business_id', 'id', name='uq_staff_users_business_id_id')
    )
    op.create_index('ix_staff_users_business_email', 'staff_users', ['business_id', 'email'], unique=False)
    op.create_table('videos',
    sa.Column('id', sa.UUID(), server_default=sa.text('gen_random_uuid()'), nullable=False),
    sa.Column('business_id', sa.UUID(), nullable=False),
    sa.Column('name', sa.String(length=200), nullable=False),
    sa.Column('price_amount', sa.BigInteger(), nullable=False),
    sa.Column('currency', sa.String(length=3), nullable=False),
    sa.Column('price_credits', sa.Integer(), nullable=True),
    sa.Column('access_days', sa.Integer(), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.CheckConstraint('price_amount >= 0', name=op.f('ck_videos_price_not_negative')),
    sa.CheckConstraint('price_credits IS NULL OR price_credits > 0', name=op.f('ck_videos_credits_positive')),
    sa.ForeignKeyConstraint(['business_id'], ['businesses.id'], name=op.f('fk_videos_business_id_businesses'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_videos')),
    sa.UniqueConstraint('business_id', 'id', name='uq_videos_business_id_id')
    )
    op.create_index('ix_videos_business_name', 'videos', ['business_id', 'name'], unique=False)
    op.create_table('account_history',
    sa.Column('id', sa.UUID(), server_default=sa.text('gen_random_uuid()'), nullable=False),
    sa.Column('business_id', sa.UUID(), nullable=False),
    sa.Column('number', sa.BigInteger(), nullable=False),
    sa.Column('customer_id', sa.UUID(), nullable=True),
    sa.Column('customer_name', sa.String(length=201), nullable=False),
    sa.Column('actor_kind', sa.String(length=16), nullable=False),
    sa.Column('actor_id', sa.UUID(), nullable=True),
    sa.Column('actor_name', sa.String(length=200), nullable=False),
    sa.Column('action', sa.String(length=64), nullable=False),
    sa.Column('subject_type', sa.String(length=64), nullable=True),
    sa.Column('subject_id', sa.UUID(), nullable=True),
    sa.Column('before', postgresql.JSONB(astext_type=sa.Text()), nullable=True),
    sa.Column('after', postgresql.JSONB(astext_type=sa.Text()), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.CheckConstraint("actor_kind IN ('STAFF', 'CUSTOMER', 'ADDITIONAL_USER', 'SYSTEM')", name=op.f('ck_account_history_actor_kind')),
    sa.ForeignKeyConstraint(['business_id', 'customer_id'], ['customers.business_id', 'customers.id'], name=op.f('fk_account_history_business_id_customer_id_customers'), ondelete='SET NULL (customer_id)'),
    sa.ForeignKeyConstraint(['business_id'], ['businesses.id'], name=op.f('fk_account_history_business_id_businesses'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_account_history')),
    sa.UniqueConstraint('business_id', 'id', name='uq_account_history_business_id_id')
    )
    op.create_index('ix_account_history_tab', 'account_history', ['business_id', 'customer_id', 'created_at', 'id'], unique=False)
    op.create_index('uq_account_history_business_number', 'account_history', ['business_id', 'number'], unique=True)
    op.create_table('additional_users',
    sa.Column('id', sa.UUID(), server_default=sa.text('gen_random_uuid()'), nullable=False),
    sa.Column('business_id', sa.UUID(), nullable=False),
    sa.Column('customer_id', sa.UUID(), nullable=False),
    sa.Column('number', sa.BigInteger(), nullable=False),
    sa.Column('first_name', sa.String(length=100), nullable=False),
    sa.Column('last_name', sa.String(length=100), nullable=False),
    sa.Column('email', sa.String(length=320), nullable=False),
    sa.Column('mobile', sa.String(length=20), nullable=True),
    sa.Column('password_hash', sa.String(length=255), nullable=True),
    sa.Column('app_access_enabled', sa.Boolean(), server_default=sa.text('true'), nullable=False),
    sa.Column('marketing_consent', sa.Boolean(), server_default=sa.text('false'), nullable=False),
    sa.Column('token_version', sa.Integer(), server_default=sa.text('1'), nullable=False),
    sa.Column('version', sa.Integer(), server_default=sa.text('1'), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.Column('name_key', sa.String(), sa.Computed("immutable_unaccent(lower(last_name || ' ' || first_name))", persisted=True), nullable=False),
    sa.Column('email_key', sa.String(), sa.Computed('immutable_unaccent(lower(email))', persisted=True), nullable=False),
    sa.Column('search_text', sa.String(), sa.Computed("immutable_unaccent(lower(first_name || ' ' || last_name || ' ' || email || ' ' || regexp_replace(coalesce(mobile, ''), '[^0-9]', '', 'g')))", persisted=True), nullable=False),
    sa.CheckConstraint("btrim(first_name) <> '' OR btrim(last_name) <> ''", name=op.f('ck_additional_users_has_name')),
    sa.ForeignKeyConstraint(['business_id', 'customer_id'], ['customers.business_id', 'customers.id'], name=op.f('fk_additional_users_business_id_customer_id_customers'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['business_id'], ['businesses.id'], name=op.f('fk_additional_users_business_id_businesses'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_additional_users')),
    sa.UniqueConstraint('business_id', 'id', name='uq_additional_users_business_id_id')
    )
    op.create_index('ix_additional_users_business_customer_id', 'additional_users', ['business_id', 'customer_id'], unique=False)
    op.create_index('ix_additional_users_business_name_key_id', 'additional_users', ['business_id', 'name_key', 'id'], unique=False)
    op.create_index('uq_additional_users_business_number', 'additional_users', ['business_id', 'number'], unique=True)
    op.create_table('participants',
    sa.Column('id', sa.UUID(), server_default=sa.text('gen_random_uuid()'), nullable=False),
    sa.Column('business_id', sa.UUID(), nullable=False),
    sa.Column('customer_id', sa.UUID(), nullable=False),
    sa.Column('is_self', sa.Boolean(), server_default=sa.text('false'), nullable=False),
    sa.Column('first_name', sa.String(length=100), nullable=False),
    sa.Column('last_name', sa.String(length=100), nullable=False),
    sa.Column('date_of_birth', sa.Date(), nullable=True),
    sa.Column('email', sa.String(length=320), nullable=True),
    sa.Column('mobile', sa.String(length=20), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.Column('name_key', sa.String(), sa.Computed("immutable_unaccent(lower(last_name || ' ' || first_name))", persisted=True), nullable=False),
    sa.Column('search_text', sa.String(), sa.Computed("immutable_unaccent(lower(first_name || ' ' || last_name || ' ' || coalesce(email, '') || ' ' || regexp_replace(coalesce(mobile, ''), '[^0-9]', '', 'g')))", persisted=True), nullable=False),
    sa.CheckConstraint("btrim(first_name) <> '' OR btrim(last_name) <> ''", name=op.f('ck_participants_has_name')),
    sa.ForeignKeyConstraint(['business_id', 'customer_id'], ['customers.business_id', 'customers.id'], name=op.f('fk_participants_business_id_customer_id_customers'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['business_id'], ['businesses.id'], name=op.f('fk_participants_business_id_businesses'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_participants')),
    sa.UniqueConstraint('business_id', 'id', name='uq_participants_business_id_id')
    )
    op.create_index('ix_participants_business_customer_id', 'participants', ['business_id', 'customer_id'], unique=False)
    op.create_index('ix_participants_business_name_key_id', 'participants', ['business_id', 'name_key', 'id'], unique=False)
    op.create_index('uq_participants_one_self', 'participants', ['business_id', 'customer_id'], unique=True, postgresql_where=sa.text('is_self'))
    op.create_table('payment_methods',
    sa.Column('id', sa.UUID(), server_default=sa.text('gen_random_uuid()'), nullable=False),
    sa.Column('business_id', sa.UUID(), nullable=False),
    sa.Column('customer_id', sa.UUID(), nullable=False),
    sa.Column('stripe_payment_method_id', sa.String(length=255), nullable=False),
    sa.Column('brand', sa.String(length=32), nullable=False),
    sa.Column('last4', sa.String(length=4), nullable=False),
    sa.Column('exp_month', sa.SmallInteger(), nullable=False),
    sa.Column('exp_year', sa.SmallInteger(), nullable=False),
    sa.Column('is_default', sa.Boolean(), server_default=sa.text('false'), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.CheckConstraint('exp_month BETWEEN 1 AND 12', name=op.f('ck_payment_methods_exp_month')),
    sa.ForeignKeyConstraint(['business_id', 'customer_id'], ['customers.business_id', 'customers.id'], name=op.f('fk_payment_methods_business_id_customer_id_customers'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['business_id'], ['businesses.id'], name=op.f('fk_payment_methods_business_id_businesses'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_payment_methods')),
    sa.UniqueConstraint('business_id', 'id', name='uq_payment_methods_business_id_id')
    )
    op.create_index('ix_payment_methods_business_customer_id', 'payment_methods', ['business_id', 'customer_id'], unique=False)
    op.create_index('uq_payment_methods_one_default', 'payment_methods', ['business_id', 'customer_id'], unique=True, postgresql_where=sa.text('is_default'))
    op.create_index('uq_payment_methods_stripe_id', 'payment_methods', ['business_id', 'stripe_payment_method_id'], unique=True)
    op.create_table('sessions',
    sa.Column('id', sa.UUID(), server_default=sa.text('gen_random_uuid()'), nullable=False),
    sa.Column('business_id', sa.UUID(), nullable=False),
    sa.Column('event_id', sa.UUID(), nullable=False),
    sa.Column('facilitator_id', sa.UUID(), nullable=True),
    sa.Column('starts_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('ends_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('time_zone', sa.String(length=64), nullable=False),
    sa.Column('capacity', sa.Integer(), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.CheckConstraint('capacity IS NULL OR capacity > 0', name=op.f('ck_sessions_capacity_positive')),
    sa.CheckConstraint('ends_at > starts_at', name=op.f('ck_sessions_ends_after_start')),
    sa.ForeignKeyConstraint(['business_id', 'event_id'], ['events.business_id', 'events.id'], name=op.f('fk_sessions_business_id_event_id_events'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['business_id', 'facilitator_id'], ['facilitators.business_id', 'facilitators.id'], name=op.f('fk_sessions_business_id_facilitator_id_facilitators'), ondelete='SET NULL (facilitator_id)'),
    sa.ForeignKeyConstraint(['business_id'], ['businesses.id'], name=op.f('fk_sessions_business_id_businesses'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_sessions')),
    sa.UniqueConstraint('business_id', 'id', name='uq_sessions_business_id_id')
    )
    op.create_index('ix_sessions_business_event_id_starts_at', 'sessions', ['business_id', 'event_id', 'starts_at'], unique=False)
    op.create_table('consent_records',
    sa.Column('id', sa.UUID(), server_default=sa.text('gen_random_uuid()'), nullable=False),
    sa.Column('business_id', sa.UUID(), nullable=False),
    sa.Column('customer_id', sa.UUID(), nullable=True),
    sa.Column('additional_user_id', sa.UUID(), nullable=True),
    sa.Column('granted', sa.Boolean(), nullable=False),
    sa.Column('source', sa.String(length=32), nullable=False),
    sa.Column('wording', sa.String(length=2000), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.CheckConstraint("source IN ('MEMBER_PORTAL', 'STAFF', 'UNSUBSCRIBE_LINK', 'SIGN_UP', 'IMPORT')", name=op.f('ck_consent_records_source')),
    sa.CheckConstraint('(customer_id IS NULL) <> (additional_user_id IS NULL)', name=op.f('ck_consent_records_exactly_one_person')),
    sa.ForeignKeyConstraint(['business_id', 'additional_user_id'], ['additional_users.business_id', 'additional_users.id'], name=op.f('fk_consent_records_business_id_additional_user_id_additional_users'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['business_id', 'customer_id'], ['customers.business_id', 'customers.id'], name=op.f('fk_consent_records_business_id_customer_id_customers'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['business_id'], ['businesses.id'], name=op.f('fk_consent_records_business_id_businesses'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_consent_records')),
    sa.UniqueConstraint('business_id', 'id', name='uq_consent_records_business_id_id')
    )
    op.create_index('ix_consent_records_business_additional_user_id', 'consent_records', ['business_id', 'additional_user_id'], unique=False)
    op.create_index('ix_consent_records_business_customer_id_created_at', 'consent_records', ['business_id', 'customer_id', 'created_at'], unique=False)
    op.create_table('customer_subscriptions',
    sa.Column('plan_id', sa.UUID(), nullable=False),
    sa.Column('state', sa.String(length=16), nullable=False),
    sa.Column('amount', sa.BigInteger(), nullable=False),
    sa.Column('currency', sa.String(length=3), nullable=False),
    sa.Column('interval_unit', sa.String(length=8), nullable=False),
    sa.Column('interval_count', sa.Integer(), nullable=False),
    sa.Column('started_on', sa.Date(), nullable=False),
    sa.Column('next_payment_on', sa.Date(), nullable=True),
    sa.Column('id', sa.UUID(), server_default=sa.text('gen_random_uuid()'), nullable=False),
    sa.Column('number', sa.BigInteger(), nullable=False),
    sa.Column('customer_id', sa.UUID(), nullable=True),
    sa.Column('customer_name', sa.String(length=201), nullable=False),
    sa.Column('participant_id', sa.UUID(), nullable=True),
    sa.Column('participant_name', sa.String(length=201), nullable=True),
    sa.Column('acted_by_additional_user_id', sa.UUID(), nullable=True),
    sa.Column('created_by_staff_id', sa.UUID(), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.Column('business_id', sa.UUID(), nullable=False),
    sa.CheckConstraint("interval_unit IN ('WEEK', 'MONTH', 'YEAR')", name=op.f('ck_customer_subscriptions_interval_unit')),
    sa.CheckConstraint("state IN ('ACTIVE', 'PAUSED', 'SUSPENDED')", name=op.f('ck_customer_subscriptions_state')),
    sa.CheckConstraint('amount >= 0', name=op.f('ck_customer_subscriptions_amount_not_negative')),
    sa.CheckConstraint('char_length(currency) = 3', name=op.f('ck_customer_subscriptions_currency_iso')),
    sa.CheckConstraint('interval_count > 0', name=op.f('ck_customer_subscriptions_interval_positive')),
    sa.ForeignKeyConstraint(['business_id', 'acted_by_additional_user_id'], ['additional_users.business_id', 'additional_users.id'], name=op.f('fk_customer_subscriptions_business_id_acted_by_additional_user_id_additional_users'), ondelete='SET NULL (acted_by_additional_user_id)'),
    sa.ForeignKeyConstraint(['business_id', 'created_by_staff_id'], ['staff_users.business_id', 'staff_users.id'], name=op.f('fk_customer_subscriptions_business_id_created_by_staff_id_staff_users'), ondelete='SET NULL (created_by_staff_id)'),
    sa.ForeignKeyConstraint(['business_id', 'customer_id'], ['customers.business_id', 'customers.id'], name=op.f('fk_customer_subscriptions_business_id_customer_id_customers'), ondelete='SET NULL (customer_id)'),
    sa.ForeignKeyConstraint(['business_id', 'participant_id'], ['participants.business_id', 'participants.id'], name=op.f('fk_customer_subscriptions_business_id_participant_id_participants'), ondelete='SET NULL (participant_id)'),
    sa.ForeignKeyConstraint(['business_id', 'plan_id'], ['plans.business_id', 'plans.id'], name=op.f('fk_customer_subscriptions_business_id_plan_id_plans')),
    sa.ForeignKeyConstraint(['business_id'], ['businesses.id'], name=op.f('fk_customer_subscriptions_business_id_businesses'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_customer_subscriptions')),
    sa.UniqueConstraint('business_id', 'id', name='uq_customer_subscriptions_business_id_id')
    )
    op.create_index('ix_customer_subscriptions_business_acted_by_additional_user_id', 'customer_subscriptions', ['business_id', 'acted_by_additional_user_id'], unique=False, postgresql_where=sa.text('acted_by_additional_user_id IS NOT NULL'))
    op.create_index('ix_customer_subscriptions_business_participant_id', 'customer_subscriptions', ['business_id', 'participant_id'], unique=False, postgresql_where=sa.text('participant_id IS NOT NULL'))
    op.create_index('ix_customer_subscriptions_business_plan_id', 'customer_subscriptions', ['business_id', 'plan_id'], unique=False)
    op.create_index('ix_customer_subscriptions_tab', 'customer_subscriptions', ['business_id', 'customer_id', 'created_at', 'id'], unique=False)
    op.create_index('uq_customer_subscriptions_business_number', 'customer_subscriptions', ['business_id', 'number'], unique=True)
    op.create_table('login_emails',
    sa.Column('business_id', sa.UUID(), nullable=False),
    sa.Column('email_key', sa.String(length=320), nullable=False),
    sa.Column('customer_id', sa.UUID(), nullable=True),
    sa.Column('additional_user_id', sa.UUID(), nullable=True),
    sa.CheckConstraint('(customer_id IS NULL) <> (additional_user_id IS NULL)', name=op.f('ck_login_emails_exactly_one_owner')),
    sa.ForeignKeyConstraint(['business_id', 'additional_user_id'], ['additional_users.business_id', 'additional_users.id'], name=op.f('fk_login_emails_business_id_additional_user_id_additional_users'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['business_id', 'customer_id'], ['customers.business_id', 'customers.id'], name=op.f('fk_login_emails_business_id_customer_id_customers'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['business_id'], ['businesses.id'], name=op.f('fk_login_emails_business_id_businesses'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('business_id', 'email_key', name=op.f('pk_login_emails'))
    )
    op.create_index('uq_login_emails_additional_user', 'login_emails', ['business_id', 'additional_user_id'], unique=True)
    op.create_index('uq_login_emails_customer', 'login_emails', ['business_id', 'customer_id'], unique=True)
    op.create_table('messages',
    sa.Column('recipient_additional_user_id', sa.UUID(), nullable=True),
    sa.Column('channel', sa.String(length=8), nullable=False),
    sa.Column('purpose', sa.String(length=16), nullable=False),
    sa.Column('subject', sa.String(length=300), nullable=True),
    sa.Column('body', sa.Text(), nullable=False),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('status_reason', sa.String(length=500), nullable=True),
    sa.Column('sent_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('read_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('id', sa.UUID(), server_default=sa.text('gen_random_uuid()'), nullable=False),
    sa.Column('number', sa.BigInteger(), nullable=False),
    sa.Column('customer_id', sa.UUID(), nullable=True),
    sa.Column('customer_name', sa.String(length=201), nullable=False),
    sa.Column('participant_id', sa.UUID(), nullable=True),
    sa.Column('participant_name', sa.String(length=201), nullable=True),
    sa.Column('acted_by_additional_user_id', sa.UUID(), nullable=True),
    sa.Column('created_by_staff_id', sa.UUID(), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.Column('business_id', sa.UUID(), nullable=False),
    sa.CheckConstraint("channel IN ('EMAIL', 'IN_APP', 'SMS')", name=op.f('ck_messages_channel')),
    sa.CheckConstraint("purpose IN ('SERVICE', 'MARKETING')", name=op.f('ck_messages_purpose')),
    sa.CheckConstraint("status IN ('QUEUED', 'SENDING', 'SENT', 'FAILED', 'SKIPPED')", name=op.f('ck_messages_status')),
    sa.ForeignKeyConstraint(['business_id', 'acted_by_additional_user_id'], ['additional_users.business_id', 'additional_users.id'], name=op.f('fk_messages_business_id_acted_by_additional_user_id_additional_users'), ondelete='SET NULL (acted_by_additional_user_id)'),
    sa.ForeignKeyConstraint(['business_id', 'created_by_staff_id'], ['staff_users.business_id', 'staff_users.id'], name=op.f('fk_messages_business_id_created_by_staff_id_staff_users'), ondelete='SET NULL (created_by_staff_id)'),
    sa.ForeignKeyConstraint(['business_id', 'customer_id'], ['customers.business_id', 'customers.id'], name=op.f('fk_messages_business_id_customer_id_customers'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['business_id', 'participant_id'], ['participants.business_id', 'participants.id'], name=op.f('fk_messages_business_id_participant_id_participants'), ondelete='SET NULL (participant_id)'),
    sa.ForeignKeyConstraint(['business_id', 'recipient_additional_user_id'], ['additional_users.business_id', 'additional_users.id'], name=op.f('fk_messages_business_id_recipient_additional_user_id_additional_users'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['business_id'], ['businesses.id'], name=op.f('fk_messages_business_id_businesses'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_messages')),
    sa.UniqueConstraint('business_id', 'id', name='uq_messages_business_id_id')
    )
    op.create_index('ix_messages_business_acted_by_additional_user_id', 'messages', ['business_id', 'acted_by_additional_user_id'], unique=False, postgresql_where=sa.text('acted_by_additional_user_id IS NOT NULL'))
    op.create_index('ix_messages_business_participant_id', 'messages', ['business_id', 'participant_id'], unique=False, postgresql_where=sa.text('participant_id IS NOT NULL'))
    op.create_index('ix_messages_business_recipient_additional_user_id', 'messages', ['business_id', 'recipient_additional_user_id'], unique=False, postgresql_where=sa.text('recipient_additional_user_id IS NOT NULL'))
    op.create_index('ix_messages_tab', 'messages', ['business_id', 'customer_id', 'created_at', 'id'], unique=False)
    op.create_index('uq_messages_business_number', 'messages', ['business_id', 'number'], unique=True)
    op.create_table('notes',
    sa.Column('content', sa.Text(), nullable=False),
    sa.Column('author_name', sa.String(length=200), nullable=False),
    sa.Column('updated_by_staff_id', sa.UUID(), nullable=True),
    sa.Column('updated_by_name', sa.String(length=200), nullable=True),
    sa.Column('id', sa.UUID(), server_default=sa.text('gen_random_uuid()'), nullable=False),
    sa.Column('number', sa.BigInteger(), nullable=False),
    sa.Column('customer_id', sa.UUID(), nullable=True),
    sa.Column('customer_name', sa.String(length=201), nullable=False),
    sa.Column('participant_id', sa.UUID(), nullable=True),
    sa.Column('participant_name', sa.String(length=201), nullable=True),
    sa.Column('acted_by_additional_user_id', sa.UUID(), nullable=True),
    sa.Column('created_by_staff_id', sa.UUID(), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.Column('business_id', sa.UUID(), nullable=False),
    sa.CheckConstraint('char_length(btrim(content)) BETWEEN 1 AND 10000', name=op.f('ck_notes_content_length')),
    sa.ForeignKeyConstraint(['business_id', 'acted_by_additional_user_id'], ['additional_users.business_id', 'additional_users.id'], name=op.f('fk_notes_business_id_acted_by_additional_user_id_additional_users'), ondelete='SET NULL (acted_by_additional_user_id)'),
    sa.ForeignKeyConstraint(['business_id', 'created_by_staff_id'], ['staff_users.business_id', 'staff_users.id'], name=op.f('fk_notes_business_id_created_by_staff_id_staff_users'), ondelete='SET NULL (created_by_staff_id)'),
    sa.ForeignKeyConstraint(['business_id', 'customer_id'], ['customers.business_id', 'customers.id'], name=op.f('fk_notes_business_id_customer_id_customers'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['business_id', 'participant_id'], ['participants.business_id', 'participants.id'], name=op.f('fk_notes_business_id_participant_id_participants'), ondelete='SET NULL (participant_id)'),
    sa.ForeignKeyConstraint(['business_id', 'updated_by_staff_id'], ['staff_users.business_id', 'staff_users.id'], name=op.f('fk_notes_business_id_updated_by_staff_id_staff_users'), ondelete='SET NULL (updated_by_staff_id)'),
    sa.ForeignKeyConstraint(['business_id'], ['businesses.id'], name=op.f('fk_notes_business_id_businesses'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_notes')),
    sa.UniqueConstraint('business_id', 'id', name='uq_notes_business_id_id')
    )
    op.create_index('ix_notes_business_acted_by_additional_user_id', 'notes', ['business_id', 'acted_by_additional_user_id'], unique=False, postgresql_where=sa.text('acted_by_additional_user_id IS NOT NULL'))
    op.create_index('ix_notes_business_participant_id', 'notes', ['business_id', 'participant_id'], unique=False, postgresql_where=sa.text('participant_id IS NOT NULL'))
    op.create_index('ix_notes_tab', 'notes', ['business_id', 'customer_id', 'created_at', 'id'], unique=False)
    op.create_index('uq_notes_business_number', 'notes', ['business_id', 'number'], unique=True)
    op.create_table('payments',
    sa.Column('amount', sa.BigInteger(), nullable=False),
    sa.Column('currency', sa.String(length=3), nullable=False),
    sa.Column('refunded_amount', sa.BigInteger(), server_default='0', nullable=False),
    sa.Column('method', sa.String(length=16), nullable=False),
    sa.Column('stripe_payment_intent_id', sa.String(length=255), nullable=True),
    sa.Column('description', sa.String(length=300), nullable=False),
    sa.Column('paid_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('id', sa.UUID(), server_default=sa.text('gen_random_uuid()'), nullable=False),
    sa.Column('number', sa.BigInteger(), nullable=False),
    sa.Column('customer_id', sa.UUID(), nullable=True),
    sa.Column('customer_name', sa.String(length=201), nullable=False),
    sa.Column('participant_id', sa.UUID(), nullable=True),
    sa.Column('participant_name', sa.String(length=201), nullable=True),
    sa.Column('acted_by_additional_user_id', sa.UUID(), nullable=True),
    sa.Column('created_by_staff_id', sa.UUID(), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.Column('business_id', sa.UUID(), nullable=False),
    sa.CheckConstraint("(method = 'STRIPE') = (stripe_payment_intent_id IS NOT NULL)", name=op.f('ck_payments_stripe_has_intent')),
    sa.CheckConstraint("method IN ('STRIPE', 'MANUAL')", name=op.f('ck_payments_method')),
    sa.CheckConstraint('amount >= 0', name=op.f('ck_payments_amount_not_negative')),
    sa.CheckConstraint('char_length(currency) = 3', name=op.f('ck_payments_currency_iso')),
    sa.CheckConstraint('refunded_amount BETWEEN 0 AND amount', name=op.f('ck_payments_refund_within_amount')),
    sa.ForeignKeyConstraint(['business_id', 'acted_by_additional_user_id'], ['additional_users.business_id', 'additional_users.id'], name=op.f('fk_payments_business_id_acted_by_additional_user_id_additional_users'), ondelete='SET NULL (acted_by_additional_user_id)'),
    sa.ForeignKeyConstraint(['business_id', 'created_by_staff_id'], ['staff_users.business_id', 'staff_users.id'], name=op.f('fk_payments_business_id_created_by_staff_id_staff_users'), ondelete='SET NULL (created_by_staff_id)'),
    sa.ForeignKeyConstraint(['business_id', 'customer_id'], ['customers.business_id', 'customers.id'], name=op.f('fk_payments_business_id_customer_id_customers'), ondelete='SET NULL (customer_id)'),
    sa.ForeignKeyConstraint(['business_id', 'participant_id'], ['participants.business_id', 'participants.id'], name=op.f('fk_payments_business_id_participant_id_participants'), ondelete='SET NULL (participant_id)'),
    sa.ForeignKeyConstraint(['business_id'], ['businesses.id'], name=op.f('fk_payments_business_id_businesses'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_payments')),
    sa.UniqueConstraint('business_id', 'id', name='uq_payments_business_id_id')
    )
    op.create_index('ix_payments_business_acted_by_additional_user_id', 'payments', ['business_id', 'acted_by_additional_user_id'], unique=False, postgresql_where=sa.text('acted_by_additional_user_id IS NOT NULL'))
    op.create_index('ix_payments_business_participant_id', 'payments', ['business_id', 'participant_id'], unique=False, postgresql_where=sa.text('participant_id IS NOT NULL'))
    op.create_index('ix_payments_tab', 'payments', ['business_id', 'customer_id', 'paid_at', 'id'], unique=False)
    op.create_index('uq_payments_business_number', 'payments', ['business_id', 'number'], unique=True)
    op.create_index('uq_payments_stripe_intent', 'payments', ['business_id', 'stripe_payment_intent_id'], unique=True)
    op.create_table('questionnaire_responses',
    sa.Column('questionnaire_id', sa.UUID(), nullable=False),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('answers', postgresql.JSONB(astext_type=sa.Text()), server_default=sa.text("'{}'::jsonb"), nullable=False),
    sa.Column('answers_submitted', sa.Integer(), server_default='0', nullable=False),
    sa.Column('submitted_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('id', sa.UUID(), server_default=sa.text('gen_random_uuid()'), nullable=False),
    sa.Column('number', sa.BigInteger(), nullable=False),
    sa.Column('customer_id', sa.UUID(), nullable=True),
    sa.Column('customer_name', sa.String(length=201), nullable=False),
    sa.Column('participant_id', sa.UUID(), nullable=True),
    sa.Column('participant_name', sa.String(length=201), nullable=True),
    sa.Column('acted_by_additional_user_id', sa.UUID(), nullable=True),
    sa.Column('created_by_staff_id', sa.UUID(), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.Column('business_id', sa.UUID(), nullable=False),
    sa.CheckConstraint("(status = 'COMPLETED') = (submitted_at IS NOT NULL)", name=op.f('ck_questionnaire_responses_completed_has_time')),
    sa.CheckConstraint("status IN ('ASSIGNED', 'COMPLETED')", name=op.f('ck_questionnaire_responses_status')),
    sa.ForeignKeyConstraint(['business_id', 'acted_by_additional_user_id'], ['additional_users.business_id', 'additional_users.id'], name=op.f('fk_questionnaire_responses_business_id_acted_by_additional_user_id_additional_users'), ondelete='SET NULL (acted_by_additional_user_id)'),
    sa.ForeignKeyConstraint(['business_id', 'created_by_staff_id'], ['staff_users.business_id', 'staff_users.id'], name=op.f('fk_questionnaire_responses_business_id_created_by_staff_id_staff_users'), ondelete='SET NULL (created_by_staff_id)'),
    sa.ForeignKeyConstraint(['business_id', 'customer_id'], ['customers.business_id', 'customers.id'], name=op.f('fk_questionnaire_responses_business_id_customer_id_customers'), ondelete='SET NULL (customer_id)'),
    sa.ForeignKeyConstraint(['business_id', 'participant_id'], ['participants.business_id', 'participants.id'], name=op.f('fk_questionnaire_responses_business_id_participant_id_participants'), ondelete='SET NULL (participant_id)'),
    sa.ForeignKeyConstraint(['business_id', 'questionnaire_id'], ['questionnaires.business_id', 'questionnaires.id'], name=op.f('fk_questionnaire_responses_business_id_questionnaire_id_questionnaires')),
    sa.ForeignKeyConstraint(['business_id'], ['businesses.id'], name=op.f('fk_questionnaire_responses_business_id_businesses'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_questionnaire_responses')),
    sa.UniqueConstraint('business_id', 'id', name='uq_questionnaire_responses_business_id_id')
    )
    op.create_index('ix_questionnaire_responses_business_acted_by_additional_user_id', 'questionnaire_responses', ['business_id', 'acted_by_additional_user_id'], unique=False, postgresql_where=sa.text('acted_by_additional_user_id IS NOT NULL'))
    op.create_index('ix_questionnaire_responses_business_participant_id', 'questionnaire_responses', ['business_id', 'participant_id'], unique=False, postgresql_where=sa.text('participant_id IS NOT NULL'))
    op.create_index('ix_questionnaire_responses_tab', 'questionnaire_responses', ['business_id', 'customer_id', 'created_at', 'id'], unique=False)
    op.create_index('uq_questionnaire_responses_business_number', 'questionnaire_responses', ['business_id', 'number'], unique=True)
    op.create_table('appointments',
    sa.Column('service_id', sa.UUID(), nullable=False),
    sa.Column('facilitator_id', sa.UUID(), nullable=False),
    sa.Column('booked_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('starts_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('duration_minutes', sa.Integer(), nullable=False),
    sa.Column('price_amount', sa.BigInteger(), nullable=False),
    sa.Column('currency', sa.String(length=3), nullable=False),
    sa.Column('paid_with', sa.String(length=16), nullable=False),
    sa.Column('payment_id', sa.UUID(), nullable=True),
    sa.Column('state', sa.String(length=16), nullable=False),
    sa.Column('cancelled_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('id', sa.UUID(), server_default=sa.text('gen_random_uuid()'), nullable=False),
    sa.Column('number', sa.BigInteger(), nullable=False),
    sa.Column('customer_id', sa.UUID(), nullable=True),
    sa.Column('customer_name', sa.String(length=201), nullable=False),
    sa.Column('participant_id', sa.UUID(), nullable=True),
    sa.Column('participant_name', sa.String(length=201), nullable=True),
    sa.Column('acted_by_additional_user_id', sa.UUID(), nullable=True),
    sa.Column('created_by_staff_id', sa.UUID(), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.Column('business_id', sa.UUID(), nullable=False),
    sa.CheckConstraint("paid_with IN ('STRIPE', 'MANUAL', 'FREE', 'CREDITS')", name=op.f('ck_appointments_paid_with')),
    sa.CheckConstraint("state IN ('SCHEDULED', 'CANCELLED')", name=op.f('ck_appointments_state')),
    sa.CheckConstraint('char_length(currency) = 3', name=op.f('ck_appointments_currency_iso')),
    sa.CheckConstraint('duration_minutes BETWEEN 1 AND 1440', name=op.f('ck_appointments_duration_range')),
    sa.CheckConstraint('price_amount >= 0', name=op.f('ck_appointments_price_amount_not_negative')),
    sa.ForeignKeyConstraint(['business_id', 'acted_by_additional_user_id'], ['additional_users.business_id', 'additional_users.id'], name=op.f('fk_appointments_business_id_acted_by_additional_user_id_additional_users'), ondelete='SET NULL (acted_by_additional_user_id)'),
    sa.ForeignKeyConstraint(['business_id', 'created_by_staff_id'], ['staff_users.business_id', 'staff_users.id'], name=op.f('fk_appointments_business_id_created_by_staff_id_staff_users'), ondelete='SET NULL (created_by_staff_id)'),
    sa.ForeignKeyConstraint(['business_id', 'customer_id'], ['customers.business_id', 'customers.id'], name=op.f('fk_appointments_business_id_customer_id_customers'), ondelete='SET NULL (customer_id)'),
    sa.ForeignKeyConstraint(['business_id', 'facilitator_id'], ['facilitators.business_id', 'facilitators.id'], name=op.f('fk_appointments_business_id_facilitator_id_facilitators')),
    sa.ForeignKeyConstraint(['business_id', 'participant_id'], ['participants.business_id', 'participants.id'], name=op.f('fk_appointments_business_id_participant_id_participants'), ondelete='SET NULL (participant_id)'),
    sa.ForeignKeyConstraint(['business_id', 'payment_id'], ['payments.business_id', 'payments.id'], name=op.f('fk_appointments_business_id_payment_id_payments')),
    sa.ForeignKeyConstraint(['business_id', 'service_id'], ['services.business_id', 'services.id'], name=op.f('fk_appointments_business_id_service_id_services')),
    sa.ForeignKeyConstraint(['business_id'], ['businesses.id'], name=op.f('fk_appointments_business_id_businesses'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_appointments')),
    sa.UniqueConstraint('business_id', 'id', name='uq_appointments_business_id_id')
    )
    op.create_index('ix_appointments_business_acted_by_additional_user_id', 'appointments', ['business_id', 'acted_by_additional_user_id'], unique=False, postgresql_where=sa.text('acted_by_additional_user_id IS NOT NULL'))
    op.create_index('ix_appointments_business_facilitator_id_starts_at', 'appointments', ['business_id', 'facilitator_id', 'starts_at'], unique=False)
    op.create_index('ix_appointments_business_participant_id', 'appointments', ['business_id', 'participant_id'], unique=False, postgresql_where=sa.text('participant_id IS NOT NULL'))
    op.create_index('ix_appointments_tab', 'appointments', ['business_id', 'customer_id', 'booked_at', 'id'], unique=False)
    op.create_index('uq_appointments_business_number', 'appointments', ['business_id', 'number'], unique=True)
    op.create_table('customer_passes',
    sa.Column('pass_product_id', sa.UUID(), nullable=False),
    sa.Column('purchased_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('valid_from', sa.Date(), nullable=False),
    sa.Column('valid_until', sa.Date(), nullable=True),
    sa.Column('uses_total', sa.Integer(), nullable=True),
    sa.Column('uses_remaining', sa.Integer(), nullable=True),
    sa.Column('price_amount', sa.BigInteger(), nullable=False),
    sa.Column('currency', sa.String(length=3), nullable=False),
    sa.Column('state', sa.String(length=16), nullable=False),
    sa.Column('payment_id', sa.UUID(), nullable=True),
    sa.Column('id', sa.UUID(), server_default=sa.text('gen_random_uuid()'), nullable=False),
    sa.Column('number', sa.BigInteger(), nullable=False),
    sa.Column('customer_id', sa.UUID(), nullable=True),
    sa.Column('customer_name', sa.String(length=201), nullable=False),
    sa.Column('participant_id', sa.UUID(), nullable=True),
    sa.Column('participant_name', sa.String(length=201), nullable=True),
    sa.Column('acted_by_additional_user_id', sa.UUID(), nullable=True),
    sa.Column('created_by_staff_id', sa.UUID(), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.Column('business_id', sa.UUID(), nullable=False),
    sa.CheckConstraint("state IN ('COMPLETED', 'MANUAL')", name=op.f('ck_customer_passes_state')),
    sa.CheckConstraint('(uses_total IS NULL) = (uses_remaining IS NULL)', name=op.f('ck_customer_passes_unlimited_both')),
    sa.CheckConstraint('char_length(currency) = 3', name=op.f('ck_customer_passes_currency_iso')),
    sa.CheckConstraint('price_amount >= 0', name=op.f('ck_customer_passes_price_amount_not_negative')),
    sa.CheckConstraint('uses_remaining IS NULL OR uses_remaining BETWEEN 0 AND uses_total', name=op.f('ck_customer_passes_uses_range')),
    sa.CheckConstraint('valid_until IS NULL OR valid_until >= valid_from', name=op.f('ck_customer_passes_valid_range')),
    sa.ForeignKeyConstraint(['business_id', 'acted_by_additional_user_id'], ['additional_users.business_id', 'additional_users.id'], name=op.f('fk_customer_passes_business_id_acted_by_additional_user_id_additional_users'), ondelete='SET NULL (acted_by_additional_user_id)'),
    sa.ForeignKeyConstraint(['business_id', 'created_by_staff_id'], ['staff_users.business_id', 'staff_users.id'], name=op.f('fk_customer_passes_business_id_created_by_staff_id_staff_users'), ondelete='SET NULL (created_by_staff_id)'),
    sa.ForeignKeyConstraint(['business_id', 'customer_id'], ['customers.business_id', 'customers.id'], name=op.f('fk_customer_passes_business_id_customer_id_customers'), ondelete='SET NULL (customer_id)'),
    sa.ForeignKeyConstraint(['business_id', 'participant_id'], ['participants.business_id', 'participants.id'], name=op.f('fk_customer_passes_business_id_participant_id_participants'), ondelete='SET NULL (participant_id)'),
    sa.ForeignKeyConstraint(['business_id', 'pass_product_id'], ['pass_products.business_id', 'pass_products.id'], name=op.f('fk_customer_passes_business_id_pass_product_id_pass_products')),
    sa.ForeignKeyConstraint(['business_id', 'payment_id'], ['payments.business_id', 'payments.id'], name=op.f('fk_customer_passes_business_id_payment_id_payments')),
    sa.ForeignKeyConstraint(['business_id'], ['businesses.id'], name=op.f('fk_customer_passes_business_id_businesses'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_customer_passes')),
    sa.UniqueConstraint('business_id', 'id', name='uq_customer_passes_business_id_id')
    )
    op.create_index('ix_customer_passes_business_acted_by_additional_user_id', 'customer_passes', ['business_id', 'acted_by_additional_user_id'], unique=False, postgresql_where=sa.text('acted_by_additional_user_id IS NOT NULL'))
    op.create_index('ix_customer_passes_business_participant_id', 'customer_passes', ['business_id', 'participant_id'], unique=False, postgresql_where=sa.text('participant_id IS NOT NULL'))
    op.create_index('ix_customer_passes_tab', 'customer_passes', ['business_id', 'customer_id', 'purchased_at', 'id'], unique=False)
    op.create_index('uq_customer_passes_business_number', 'customer_passes', ['business_id', 'number'], unique=True)
    op.create_table('bookings',
    sa.Column('session_id', sa.UUID(), nullable=False),
    sa.Column('booked_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('state', sa.String(length=16), nullable=False),
    sa.Column('paid_with', sa.String(length=16), nullable=False),
    sa.Column('price_amount', sa.BigInteger(), nullable=False),
    sa.Column('currency', sa.String(length=3), nullable=False),
    sa.Column('price_credits', sa.Integer(), nullable=True),
    sa.Column('customer_pass_id', sa.UUID(), nullable=True),
    sa.Column('payment_id', sa.UUID(), nullable=True),
    sa.Column('refunded_amount', sa.BigInteger(), server_default='0', nullable=False),
    sa.Column('cancelled_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('id', sa.UUID(), server_default=sa.text('gen_random_uuid()'), nullable=False),
    sa.Column('number', sa.BigInteger(), nullable=False),
    sa.Column('customer_id', sa.UUID(), nullable=True),
    sa.Column('customer_name', sa.String(length=201), nullable=False),
    sa.Column('participant_id', sa.UUID(), nullable=True),
    sa.Column('participant_name', sa.String(length=201), nullable=True),
    sa.Column('acted_by_additional_user_id', sa.UUID(), nullable=True),
    sa.Column('created_by_staff_id', sa.UUID(), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.Column('business_id', sa.UUID(), nullable=False),
    sa.CheckConstraint("(state = 'CANCELLED') = (cancelled_at IS NOT NULL)", name=op.f('ck_bookings_cancelled_has_time')),
    sa.CheckConstraint("paid_with <> 'CREDITS' OR price_credits IS NOT NULL", name=op.f('ck_bookings_credits_have_count')),
    sa.CheckConstraint("paid_with IN ('STRIPE', 'MANUAL', 'FREE', 'CREDITS')", name=op.f('ck_bookings_paid_with')),
    sa.CheckConstraint("state IN ('COMPLETED', 'MANUAL', 'PACKAGE', 'CANCELLED')", name=op.f('ck_bookings_state')),
    sa.CheckConstraint('char_length(currency) = 3', name=op.f('ck_bookings_currency_iso')),
    sa.CheckConstraint('price_amount >= 0', name=op.f('ck_bookings_price_amount_not_negative')),
    sa.CheckConstraint('price_credits IS NULL OR price_credits > 0', name=op.f('ck_bookings_credits_positive')),
    sa.CheckConstraint('refunded_amount BETWEEN 0 AND price_amount', name=op.f('ck_bookings_refund_within_price')),
    sa.ForeignKeyConstraint(['business_id', 'acted_by_additional_user_id'], ['additional_users.business_id', 'additional_users.id'], name=op.f('fk_bookings_business_id_acted_by_additional_user_id_additional_users'), ondelete='SET NULL (acted_by_additional_user_id)'),
    sa.ForeignKeyConstraint(['business_id', 'created_by_staff_id'], ['staff_users.business_id', 'staff_users.id'], name=op.f('fk_bookings_business_id_created_by_staff_id_staff_users'), ondelete='SET NULL (created_by_staff_id)'),
    sa.ForeignKeyConstraint(['business_id', 'customer_id'], ['customers.business_id', 'customers.id'], name=op.f('fk_bookings_business_id_customer_id_customers'), ondelete='SET NULL (customer_id)'),
    sa.ForeignKeyConstraint(['business_id', 'customer_pass_id'], ['customer_passes.business_id', 'customer_passes.id'], name=op.f('fk_bookings_business_id_customer_pass_id_customer_passes'), ondelete='SET NULL (customer_pass_id)'),
    sa.ForeignKeyConstraint(['business_id', 'participant_id'], ['participants.business_id', 'participants.id'], name=op.f('fk_bookings_business_id_participant_id_participants'), ondelete='SET NULL (participant_id)'),
    sa.ForeignKeyConstraint(['business_id', 'payment_id'], ['payments.business_id', 'payments.id'], name=op.f('fk_bookings_business_id_payment_id_payments')),
    sa.ForeignKeyConstraint(['business_id', 'session_id'], ['sessions.business_id', 'sessions.id'], name=op.f('fk_bookings_business_id_session_id_sessions')),
    sa.ForeignKeyConstraint(['business_id'], ['businesses.id'], name=op.f('fk_bookings_business_id_businesses'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_bookings')),
    sa.UniqueConstraint('business_id', 'id', name='uq_bookings_business_id_id')
    )
    op.create_index('ix_bookings_business_acted_by_additional_user_id', 'bookings', ['business_id', 'acted_by_additional_user_id'], unique=False, postgresql_where=sa.text('acted_by_additional_user_id IS NOT NULL'))
    op.create_index('ix_bookings_business_participant_id', 'bookings', ['business_id', 'participant_id'], unique=False, postgresql_where=sa.text('participant_id IS NOT NULL'))
    op.create_index('ix_bookings_business_session_id_participant_id', 'bookings', ['business_id', 'session_id', 'participant_id'], unique=False)
    op.create_index('ix_bookings_tab', 'bookings', ['business_id', 'customer_id', 'booked_at', 'id'], unique=False)
    op.create_index('uq_bookings_business_number', 'bookings', ['business_id', 'number'], unique=True)
    op.create_table('video_purchases',
    sa.Column('video_id', sa.UUID(), nullable=False),
    sa.Column('purchased_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('expires_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('price_amount', sa.BigInteger(), nullable=False),
    sa.Column('currency', sa.String(length=3), nullable=False),
    sa.Column('price_credits', sa.Integer(), nullable=True),
    sa.Column('customer_pass_id', sa.UUID(), nullable=True),
    sa.Column('payment_id', sa.UUID(), nullable=True),
    sa.Column('state', sa.String(length=16), nullable=False),
    sa.Column('cancelled_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('id', sa.UUID(), server_default=sa.text('gen_random_uuid()'), nullable=False),
    sa.Column('number', sa.BigInteger(), nullable=False),
    sa.Column('customer_id', sa.UUID(), nullable=True),
    sa.Column('customer_name', sa.String(length=201), nullable=False),
    sa.Column('participant_id', sa.UUID(), nullable=True),
    sa.Column('participant_name', sa.String(length=201), nullable=True),
    sa.Column('acted_by_additional_user_id', sa.UUID(), nullable=True),
    sa.Column('created_by_staff_id', sa.UUID(), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.Column('business_id', sa.UUID(), nullable=False),
    sa.CheckConstraint("state IN ('ACTIVE', 'CANCELLED')", name=op.f('ck_video_purchases_state')),
    sa.CheckConstraint('char_length(currency) = 3', name=op.f('ck_video_purchases_currency_iso')),
    sa.CheckConstraint('expires_at IS NULL OR expires_at > purchased_at', name=op.f('ck_video_purchases_expiry_after')),
    sa.CheckConstraint('price_amount >= 0', name=op.f('ck_video_purchases_price_amount_not_negative')),
    sa.CheckConstraint('price_credits IS NULL OR price_credits > 0', name=op.f('ck_video_purchases_credits_positive')),
    sa.ForeignKeyConstraint(['business_id', 'acted_by_additional_user_id'], ['additional_users.business_id', 'additional_users.id'], name=op.f('fk_video_purchases_business_id_acted_by_additional_user_id_additional_users'), ondelete='SET NULL (acted_by_additional_user_id)'),
    sa.ForeignKeyConstraint(['business_id', 'created_by_staff_id'], ['staff_users.business_id', 'staff_users.id'], name=op.f('fk_video_purchases_business_id_created_by_staff_id_staff_users'), ondelete='SET NULL (created_by_staff_id)'),
    sa.ForeignKeyConstraint(['business_id', 'customer_id'], ['customers.business_id', 'customers.id'], name=op.f('fk_video_purchases_business_id_customer_id_customers'), ondelete='SET NULL (customer_id)'),
    sa.ForeignKeyConstraint(['business_id', 'customer_pass_id'], ['customer_passes.business_id', 'customer_passes.id'], name=op.f('fk_video_purchases_business_id_customer_pass_id_customer_passes'), ondelete='SET NULL (customer_pass_id)'),
    sa.ForeignKeyConstraint(['business_id', 'participant_id'], ['participants.business_id', 'participants.id'], name=op.f('fk_video_purchases_business_id_participant_id_participants'), ondelete='SET NULL (participant_id)'),
    sa.ForeignKeyConstraint(['business_id', 'payment_id'], ['payments.business_id', 'payments.id'], name=op.f('fk_video_purchases_business_id_payment_id_payments')),
    sa.ForeignKeyConstraint(['business_id', 'video_id'], ['videos.business_id', 'videos.id'], name=op.f('fk_video_purchases_business_id_video_id_videos')),
    sa.ForeignKeyConstraint(['business_id'], ['businesses.id'], name=op.f('fk_video_purchases_business_id_businesses'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_video_purchases')),
    sa.UniqueConstraint('business_id', 'id', name='uq_video_purchases_business_id_id')
    )
    op.create_index('ix_video_purchases_business_acted_by_additional_user_id', 'video_purchases', ['business_id', 'acted_by_additional_user_id'], unique=False, postgresql_where=sa.text('acted_by_additional_user_id IS NOT NULL'))
    op.create_index('ix_video_purchases_business_participant_id', 'video_purchases', ['business_id', 'participant_id'], unique=False, postgresql_where=sa.text('participant_id IS NOT NULL'))
    op.create_index('ix_video_purchases_tab', 'video_purchases', ['business_id', 'customer_id', 'purchased_at', 'id'], unique=False)
    op.create_index('uq_video_purchases_business_number', 'video_purchases', ['business_id', 'number'], unique=True)
    op.create_table('refunds',
    sa.Column('payment_id', sa.UUID(), nullable=False),
    sa.Column('booking_id', sa.UUID(), nullable=True),
    sa.Column('amount', sa.BigInteger(), nullable=False),
    sa.Column('currency', sa.String(length=3), nullable=False),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('reason', sa.String(length=500), nullable=True),
    sa.Column('stripe_refund_id', sa.String(length=255), nullable=True),
    sa.Column('failure_reason', sa.String(length=500), nullable=True),
    sa.Column('id', sa.UUID(), server_default=sa.text('gen_random_uuid()'), nullable=False),
    sa.Column('number', sa.BigInteger(), nullable=False),
    sa.Column('customer_id', sa.UUID(), nullable=True),
    sa.Column('customer_name', sa.String(length=201), nullable=False),
    sa.Column('participant_id', sa.UUID(), nullable=True),
    sa.Column('participant_name', sa.String(length=201), nullable=True),
    sa.Column('acted_by_additional_user_id', sa.UUID(), nullable=True),
    sa.Column('created_by_staff_id', sa.UUID(), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.Column('business_id', sa.UUID(), nullable=False),
    sa.CheckConstraint("status IN ('PENDING', 'SUCCEEDED', 'FAILED')", name=op.f('ck_refunds_status')),
    sa.CheckConstraint('amount > 0', name=op.f('ck_refunds_amount_positive')),
    sa.CheckConstraint('char_length(currency) = 3', name=op.f('ck_refunds_currency_iso')),
    sa.ForeignKeyConstraint(['business_id', 'acted_by_additional_user_id'], ['additional_users.business_id', 'additional_users.id'], name=op.f('fk_refunds_business_id_acted_by_additional_user_id_additional_users'), ondelete='SET NULL (acted_by_additional_user_id)'),
    sa.ForeignKeyConstraint(['business_id', 'booking_id'], ['bookings.business_id', 'bookings.id'], name=op.f('fk_refunds_business_id_booking_id_bookings'), ondelete='SET NULL (booking_id)'),
    sa.ForeignKeyConstraint(['business_id', 'created_by_staff_id'], ['staff_users.business_id', 'staff_users.id'], name=op.f('fk_refunds_business_id_created_by_staff_id_staff_users'), ondelete='SET NULL (created_by_staff_id)'),
    sa.ForeignKeyConstraint(['business_id', 'customer_id'], ['customers.business_id', 'customers.id'], name=op.f('fk_refunds_business_id_customer_id_customers'), ondelete='SET NULL (customer_id)'),
    sa.ForeignKeyConstraint(['business_id', 'participant_id'], ['participants.business_id', 'participants.id'], name=op.f('fk_refunds_business_id_participant_id_participants'), ondelete='SET NULL (participant_id)'),
    sa.ForeignKeyConstraint(['business_id', 'payment_id'], ['payments.business_id', 'payments.id'], name=op.f('fk_refunds_business_id_payment_id_payments')),
    sa.ForeignKeyConstraint(['business_id'], ['businesses.id'], name=op.f('fk_refunds_business_id_businesses'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_refunds')),
    sa.UniqueConstraint('business_id', 'id', name='uq_refunds_business_id_id')
    )
    op.create_index('ix_refunds_business_acted_by_additional_user_id', 'refunds', ['business_id', 'acted_by_additional_user_id'], unique=False, postgresql_where=sa.text('acted_by_additional_user_id IS NOT NULL'))
    op.create_index('ix_refunds_business_participant_id', 'refunds', ['business_id', 'participant_id'], unique=False, postgresql_where=sa.text('participant_id IS NOT NULL'))
    op.create_index('ix_refunds_business_payment_id', 'refunds', ['business_id', 'payment_id'], unique=False)
    op.create_index('ix_refunds_business_status_created_at', 'refunds', ['business_id', 'status', 'created_at'], unique=False, postgresql_where=sa.text("status = 'PENDING'"))
    op.create_index('ix_refunds_tab', 'refunds', ['business_id', 'customer_id', 'created_at', 'id'], unique=False)
    op.create_index('uq_refunds_business_number', 'refunds', ['business_id', 'number'], unique=True)


def _drop_tables() -> None:
    op.drop_index('uq_refunds_business_number', table_name='refunds')
    op.drop_index('ix_refunds_tab', table_name='refunds')
    op.drop_index('ix_refunds_business_status_created_at', table_name='refunds', postgresql_where=sa.text("status = 'PENDING'"))
    op.drop_index('ix_refunds_business_payment_id', table_name='refunds')
    op.drop_index('ix_refunds_business_participant_id', table_name='refunds', postgresql_where=sa.text('participant_id IS NOT NULL'))
    op.drop_index('ix_refunds_business_acted_by_additional_user_id', table_name='refunds', postgresql_where=sa.text('acted_by_additional_user_id IS NOT NULL'))
    op.drop_table('refunds')
    op.drop_index('uq_video_purchases_business_number', table_name='video_purchases')
    op.drop_index('ix_video_purchases_tab', table_name='video_purchases')
    op.drop_index('ix_video_purchases_business_participant_id', table_name='video_purchases', postgresql_where=sa.text('participant_id IS NOT NULL'))
    op.drop_index('ix_video_purchases_business_acted_by_additional_user_id', table_name='video_purchases', postgresql_where=sa.text('acted_by_additional_user_id IS NOT NULL'))
    op.drop_table('video_purchases')
    op.drop_index('uq_bookings_business_number', table_name='bookings')
    op.drop_index('ix_bookings_tab', table_name='bookings')
    op.drop_index('ix_bookings_business_session_id_participant_id', table_name='bookings')
    op.drop_index('ix_bookings_business_participant_id', table_name='bookings', postgresql_where=sa.text('participant_id IS NOT NULL'))
    op.drop_index('ix_bookings_business_acted_by_additional_user_id', table_name='bookings', postgresql_where=sa.text('acted_by_additional_user_id IS NOT NULL'))
    op.drop_table('bookings')
    op.drop_index('uq_customer_passes_business_number', table_name='customer_passes')
    op.drop_index('ix_customer_passes_tab', table_name='customer_passes')
    op.drop_index('ix_customer_passes_business_participant_id', table_name='customer_passes', postgresql_where=sa.text('participant_id IS NOT NULL'))
    op.drop_index('ix_customer_passes_business_acted_by_additional_user_id', table_name='customer_passes', postgresql_where=sa.text('acted_by_additional_user_id IS NOT NULL'))
    op.drop_table('customer_passes')
    op.drop_index('uq_appointments_business_number', table_name='appointments')
    op.drop_index('ix_appointments_tab', table_name='appointments')
    op.drop_index('ix_appointments_business_participant_id', table_name='appointments', postgresql_where=sa.text('participant_id IS NOT NULL'))
    op.drop_index('ix_appointments_business_facilitator_id_starts_at', table_name='appointments')
    op.drop_index('ix_appointments_business_acted_by_additional_user_id', table_name='appointments', postgresql_where=sa.text('acted_by_additional_user_id IS NOT NULL'))
    op.drop_table('appointments')
    op.drop_index('uq_questionnaire_responses_business_number', table_name='questionnaire_responses')
    op.drop_index('ix_questionnaire_responses_tab', table_name='questionnaire_responses')
    op.drop_index('ix_questionnaire_responses_business_participant_id', table_name='questionnaire_responses', postgresql_where=sa.text('participant_id IS NOT NULL'))
    op.drop_index('ix_questionnaire_responses_business_acted_by_additional_user_id', table_name='questionnaire_responses', postgresql_where=sa.text('acted_by_additional_user_id IS NOT NULL'))
    op.drop_table('questionnaire_responses')
    op.drop_index('uq_payments_stripe_intent', table_name='payments')
    op.drop_index('uq_payments_business_number', table_name='payments')
    op.drop_index('ix_payments_tab', table_name='payments')
    op.drop_index('ix_payments_business_participant_id', table_name='payments', postgresql_where=sa.text('participant_id IS NOT NULL'))
    op.drop_index('ix_payments_business_acted_by_additional_user_id', table_name='payments', postgresql_where=sa.text('acted_by_additional_user_id IS NOT NULL'))
    op.drop_table('payments')
    op.drop_index('uq_notes_business_number', table_name='notes')
    op.drop_index('ix_notes_tab', table_name='notes')
    op.drop_index('ix_notes_business_participant_id', table_name='notes', postgresql_where=sa.text('participant_id IS NOT NULL'))
    op.drop_index('ix_notes_business_acted_by_additional_user_id', table_name='notes', postgresql_where=sa.text('acted_by_additional_user_id IS NOT NULL'))
    op.drop_table('notes')
    op.drop_index('uq_messages_business_number', table_name='messages')
    op.drop_index('ix_messages_tab', table_name='messages')
    op.drop_index('ix_messages_business_recipient_additional_user_id', table_name='messages', postgresql_where=sa.text('recipient_additional_user_id IS NOT NULL'))
    op.drop_index('ix_messages_business_participant_id', table_name='messages', postgresql_where=sa.text('participant_id IS NOT NULL'))
    op.drop_index('ix_messages_business_acted_by_additional_user_id', table_name='messages', postgresql_where=sa.text('acted_by_additional_user_id IS NOT NULL'))
    op.drop_table('messages')
    op.drop_index('uq_login_emails_customer', table_name='login_emails')
    op.drop_index('uq_login_emails_additional_user', table_name='login_emails')
    op.drop_table('login_emails')
    op.drop_index('uq_customer_subscriptions_business_number', table_name='customer_subscriptions')
    op.drop_index('ix_customer_subscriptions_tab', table_name='customer_subscriptions')
    op.drop_index('ix_customer_subscriptions_business_plan_id', table_name='customer_subscriptions')
    op.drop_index('ix_customer_subscriptions_business_participant_id', table_name='customer_subscriptions', postgresql_where=sa.text('participant_id IS NOT NULL'))
    op.drop_index('ix_customer_subscriptions_business_acted_by_additional_user_id', table_name='customer_subscriptions', postgresql_where=sa.text('acted_by_additional_user_id IS NOT NULL'))
    op.drop_table('customer_subscriptions')
    op.drop_index('ix_consent_records_business_customer_id_created_at', table_name='consent_records')
    op.drop_index('ix_consent_records_business_additional_user_id', table_name='consent_records')
    op.drop_table('consent_records')
    op.drop_index('ix_sessions_business_event_id_starts_at', table_name='sessions')
    op.drop_table('sessions')
    op.drop_index('uq_payment_methods_stripe_id', table_name='payment_methods')
    op.drop_index('uq_payment_methods_one_default', table_name='payment_methods', postgresql_where=sa.text('is_default'))
    op.drop_index('ix_payment_methods_business_customer_id', table_name='payment_methods')
    op.drop_table('payment_methods')
    op.drop_index('uq_participants_one_self', table_name='participants', postgresql_where=sa.text('is_self'))
    op.drop_index('ix_participants_business_name_key_id', table_name='participants')
    op.drop_index('ix_participants_business_customer_id', table_name='participants')
    op.drop_table('participants')
    op.drop_index('uq_additional_users_business_number', table_name='additional_users')
    op.drop_index('ix_additional_users_business_name_key_id', table_name='additional_users')
    op.drop_index('ix_additional_users_business_customer_id', table_name='additional_users')
    op.drop_table('additional_users')
    op.drop_index('uq_account_history_business_number', table_name='account_history')
    op.drop_index('ix_account_history_tab', table_name='account_history')
    op.drop_table('account_history')
    op.drop_index('ix_videos_business_name', table_name='videos')
    op.drop_table('videos')
    op.drop_index('ix_staff_users_business_email', table_name='staff_users')
    op.drop_table('staff_users')
    op.drop_index('ix_services_business_name', table_name='services')
    op.drop_table('services')
    op.drop_index('ix_questionnaires_business_name', table_name='questionnaires')
    op.drop_table('questionnaires')
    op.drop_index('ix_plans_business_name', table_name='plans')
    op.drop_table('plans')
    op.drop_index('ix_pass_products_business_name', table_name='pass_products')
    op.drop_table('pass_products')
    op.drop_table('number_counters')
    op.drop_index('ix_facilitators_business_name', table_name='facilitators')
    op.drop_table('facilitators')
    op.drop_index('ix_events_business_name', table_name='events')
    op.drop_table('events')
    op.drop_index('uq_customers_business_number', table_name='customers')
    op.drop_index('ix_customers_business_status_name_key_id', table_name='customers')
    op.drop_index('ix_customers_business_status_last_key', table_name='customers')
    op.drop_index('ix_customers_business_status_first_key', table_name='customers')
    op.drop_index('ix_customers_business_mobile_digits', table_name='customers')
    op.drop_index('ix_customers_business_merged_into_id', table_name='customers', postgresql_where=sa.text('merged_into_id IS NOT NULL'))
    op.drop_index('ix_customers_business_email_key', table_name='customers')
    op.drop_table('customers')
    op.drop_table('businesses')
