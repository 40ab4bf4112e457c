"""The customer directory: one searchable, sortable row per listed person.

Rows are kept current by triggers on customers, participants and additional users (in the
transaction that changes them). Search runs through SECURITY DEFINER PL/pgSQL functions with
custom plans: fragment matching is not leakproof, so under row-level security the planner would
not use the trigram index; the functions apply the tenant setting themselves.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-21 06:15:09.049078
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op


revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


TENANT = "NULLIF(current_setting('app.business_id', true), '')::uuid"
CATEGORIES = ("EVERYONE", "PRIMARY", "LEAD", "APP_USER", "PARTICIPANT", "ADDITIONAL_USER")

# The filter every directory query shares; parameters are the functions' arguments and the
# variables they compute (v_business, v_prefix, v_prefix_end, v_fragment, v_patterns).
FILTER = """
    d.business_id = v_business
    AND d.status = p_status
    AND (p_category = 'EVERYONE'
         OR (p_category = 'PRIMARY' AND d.kind = 'CUSTOMER' AND d.category = 'PRIMARY')
         OR (p_category = 'LEAD' AND d.kind = 'CUSTOMER' AND d.category = 'LEAD')
         OR (p_category = 'APP_USER' AND d.kind = 'CUSTOMER' AND d.category = 'APP_USER')
         OR (p_category = 'PARTICIPANT' AND d.is_participant)
         OR (p_category = 'ADDITIONAL_USER' AND d.kind = 'ADDITIONAL_USER'))
    AND (
        (v_prefix IS NULL AND v_fragment IS NULL AND p_number IS NULL AND p_person_id IS NULL)
        OR ((v_prefix IS NOT NULL OR v_fragment IS NOT NULL)
            AND (v_prefix IS NULL
                 OR (d.first_key >= v_prefix AND d.first_key < v_prefix_end)
                 OR (d.last_key >= v_prefix AND d.last_key < v_prefix_end))
            AND (v_fragment IS NULL OR d.search_text LIKE v_fragment)
            AND (' ' || d.search_text) LIKE ALL (v_patterns))
        OR d.number = p_number
        OR d.person_id = p_person_id)
"""

ARGUMENTS = """
    p_status text, p_category text, p_terms text[], p_digits text, p_number bigint,
    p_person_id uuid"""

# Folds the raw search terms the way the stored keys are folded, and picks the terms that can use
# an index: one short term (a name prefix) and the longest long term (a trigram fragment); every
# other term becomes a LIKE pattern checked on the rows those found.
PREPARE = r"""
    v_business := NULLIF(current_setting('app.business_id', true), '')::uuid;
    IF v_business IS NULL THEN RETURN; END IF;
    IF p_digits IS NOT NULL AND length(p_digits) >= 3 THEN
        v_fragment := '%' || p_digits || '%';
    END IF;
    FOREACH v_term IN ARRAY coalesce(p_terms, '{}'::text[]) LOOP
        v_term := immutable_unaccent(lower(v_term));
        v_term := replace(replace(replace(v_term, '\', '\\'), '%', '\%'), '_', '\_');
        CONTINUE WHEN v_term = '';
        IF char_length(v_term) <= 2 THEN
            IF v_prefix IS NULL THEN
                v_prefix := v_term;
            ELSE
                v_patterns := v_patterns || ('% ' || v_term || '%');
            END IF;
        ELSIF v_fragment IS NULL OR char_length(v_term) + 2 > char_length(v_fragment) THEN
            IF v_fragment IS NOT NULL THEN
                v_patterns := v_patterns || v_fragment;
            END IF;
            v_fragment := '%' || v_term || '%';
        ELSE
            v_patterns := v_patterns || ('%' || v_term || '%');
        END IF;
    END LOOP;
    IF v_prefix IS NOT NULL THEN
        -- The smallest string above every string that starts with the prefix.
        v_prefix_end := left(v_prefix, -1) || chr(ascii(right(v_prefix, 1)) + 1);
        -- The prefix was escaped for LIKE; for comparisons it is used raw.
        v_prefix := replace(replace(replace(v_prefix, '\%', '%'), '\_', '_'), '\\', '\');
        v_prefix_end := replace(replace(replace(v_prefix_end, '\%', '%'), '\_', '_'), '\\', '\');
    END IF;
"""

DECLARE = """
DECLARE
    v_business uuid;
    v_term text;
    v_prefix text;
    v_prefix_end text;
    v_fragment text;
    v_patterns text[] := '{}';
"""

FUNCTION_OPTIONS = """
LANGUAGE plpgsql STABLE SECURITY DEFINER
SET search_path = public
SET plan_cache_mode = force_custom_plan
"""

PAGE_FUNCTION = f"""
CREATE FUNCTION directory_page({ARGUMENTS},
    p_lower_key text, p_lower_id uuid, p_upper_key text, p_upper_id uuid,
    p_descending boolean, p_limit integer)
RETURNS TABLE (person_id uuid, kind text, customer_id uuid, name_key text)
{FUNCTION_OPTIONS}
AS $fn$
{DECLARE}
BEGIN
{PREPARE}
    IF p_descending THEN
        RETURN QUERY
        SELECT d.person_id, d.kind::text, d.customer_id, d.name_key::text
        FROM directory_entries d
        WHERE {FILTER}
          AND (p_lower_key IS NULL OR (d.name_key, d.person_id) > (p_lower_key, p_lower_id))
          AND (p_upper_key IS NULL OR (d.name_key, d.person_id) < (p_upper_key, p_upper_id))
        ORDER BY d.name_key DESC, d.person_id DESC
        LIMIT p_limit;
    ELSE
        RETURN QUERY
        SELECT d.person_id, d.kind::text, d.customer_id, d.name_key::text
        FROM directory_entries d
        WHERE {FILTER}
          AND (p_lower_key IS NULL OR (d.name_key, d.person_id) > (p_lower_key, p_lower_id))
          AND (p_upper_key IS NULL OR (d.name_key, d.person_id) < (p_upper_key, p_upper_id))
        ORDER BY d.name_key, d.person_id
        LIMIT p_limit;
    END IF;
END
$fn$
"""

COUNT_FUNCTION = f"""
CREATE FUNCTION directory_count({ARGUMENTS}, p_cap integer)
RETURNS bigint
{FUNCTION_OPTIONS}
AS $fn$
{DECLARE}
    v_count bigint;
BEGIN
{PREPARE.replace("IF v_business IS NULL THEN RETURN; END IF;", "IF v_business IS NULL THEN RETURN 0; END IF;")}
    SELECT count(*) INTO v_count FROM (
        SELECT 1 FROM directory_entries d WHERE {FILTER} LIMIT p_cap
    ) AS capped;
    RETURN v_count;
END
$fn$
"""

# Keeps a customer's row (and the status of their people's rows) current.
SYNC_CUSTOMER = """
CREATE FUNCTION directory_sync_customer() RETURNS trigger LANGUAGE plpgsql AS $fn$
BEGIN
    INSERT INTO directory_entries AS d (
        person_id, business_id, kind, customer_id, status, category, is_participant,
        number, first_name, last_name, email, mobile)
    VALUES (
        NEW.id, NEW.business_id, 'CUSTOMER', NEW.id, NEW.status, NEW.category,
        EXISTS (SELECT 1 FROM participants p
                WHERE p.business_id = NEW.business_id AND p.customer_id = NEW.id AND p.is_self),
        NEW.number, NEW.first_name, NEW.last_name, NEW.email, NEW.mobile)
    ON CONFLICT (person_id) DO UPDATE SET
        status = EXCLUDED.status, category = EXCLUDED.category, number = EXCLUDED.number,
        first_name = EXCLUDED.first_name, last_name = EXCLUDED.last_name,
        email = EXCLUDED.email, mobile = EXCLUDED.mobile;
    IF TG_OP = 'UPDATE' AND NEW.status IS DISTINCT FROM OLD.status THEN
        UPDATE directory_entries SET status = NEW.status
        WHERE business_id = NEW.business_id AND customer_id = NEW.id AND kind <> 'CUSTOMER';
    END IF;
    RETURN NULL;
END
$fn$
"""

# A participant is listed on its own unless it is the customer themselves, in which case the
# customer's row is marked as a participant instead.
SYNC_PARTICIPANT = """
CREATE FUNCTION directory_sync_participant() RETURNS trigger LANGUAGE plpgsql AS $fn$
DECLARE
    r participants%ROWTYPE;
BEGIN
    IF TG_OP IN ('UPDATE', 'DELETE') THEN
        DELETE FROM directory_entries WHERE business_id = OLD.business_id AND person_id = OLD.id;
    END IF;
    IF TG_OP IN ('INSERT', 'UPDATE') AND NOT NEW.is_self THEN
        INSERT INTO directory_entries (
            person_id, business_id, kind, customer_id, status, category, is_participant,
            number, first_name, last_name, email, mobile)
        SELECT NEW.id, NEW.business_id, 'PARTICIPANT', NEW.customer_id, c.status, NULL, true,
               NULL, NEW.first_name, NEW.last_name, NEW.email, NEW.mobile
        FROM customers c WHERE c.business_id = NEW.business_id AND c.id = NEW.customer_id;
    END IF;
    FOREACH r IN ARRAY ARRAY[OLD, NEW] LOOP
        CONTINUE WHEN r.id IS NULL;
        UPDATE directory_entries d SET is_participant = EXISTS (
            SELECT 1 FROM participants p
            WHERE p.business_id = r.business_id AND p.customer_id = r.customer_id AND p.is_self)
        WHERE d.business_id = r.business_id AND d.person_id = r.customer_id;
    END LOOP;
    RETURN NULL;
END
$fn$
"""

SYNC_ADDITIONAL_USER = """
CREATE FUNCTION directory_sync_additional_user() RETURNS trigger LANGUAGE plpgsql AS $fn$
BEGIN
    IF TG_OP IN ('UPDATE', 'DELETE') THEN
        DELETE FROM directory_entries WHERE business_id = OLD.business_id AND person_id = OLD.id;
    END IF;
    IF TG_OP IN ('INSERT', 'UPDATE') THEN
        INSERT INTO directory_entries (
            person_id, business_id, kind, customer_id, status, category, is_participant,
            number, first_name, last_name, email, mobile)
        SELECT NEW.id, NEW.business_id, 'ADDITIONAL_USER', NEW.customer_id, c.status, NULL, false,
               NEW.number, NEW.first_name, NEW.last_name, NEW.email, NEW.mobile
        FROM customers c WHERE c.business_id = NEW.business_id AND c.id = NEW.customer_id;
    END IF;
    RETURN NULL;
END
$fn$
"""

# For bulk loads that ran with triggers disabled (the scale seeder): rebuild one business's rows.
REBUILD = """
CREATE FUNCTION directory_rebuild(p_business uuid) RETURNS void LANGUAGE sql AS $fn$
    DELETE FROM directory_entries WHERE business_id = p_business;
    INSERT INTO directory_entries (
        person_id, business_id, kind, customer_id, status, category, is_participant,
        number, first_name, last_name, email, mobile)
    SELECT c.id, c.business_id, 'CUSTOMER', c.id, c.status, c.category,
           EXISTS (SELECT 1 FROM participants p
                   WHERE p.business_id = c.business_id AND p.customer_id = c.id AND p.is_self),
           c.number, c.first_name, c.last_name, c.email, c.mobile
    FROM customers c WHERE c.business_id = p_business
    UNION ALL
    SELECT p.id, p.business_id, 'PARTICIPANT', p.customer_id, c.status, NULL, true,
           NULL, p.first_name, p.last_name, p.email, p.mobile
    FROM participants p JOIN customers c ON c.business_id = p.business_id AND c.id = p.customer_id
    WHERE p.business_id = p_business AND NOT p.is_self
    UNION ALL
    SELECT a.id, a.business_id, 'ADDITIONAL_USER', a.customer_id, c.status, NULL, false,
           a.number, a.first_name, a.last_name, a.email, a.mobile
    FROM additional_users a
    JOIN customers c ON c.business_id = a.business_id AND c.id = a.customer_id
    WHERE a.business_id = p_business;
$fn$
"""

FUNCTIONS = (
    "directory_page(text, text, text[], text, bigint, uuid, text, uuid, text, uuid, boolean, integer)",
    "directory_count(text, text, text[], text, bigint, uuid, integer)",
    "directory_rebuild(uuid)",
    "directory_sync_additional_user()",
    "directory_sync_participant()",
    "directory_sync_customer()",
)


def upgrade() -> None:
    op.execute("CREATE EXTENSION IF NOT EXISTS btree_gin")
    _create_table()
    op.execute("ALTER TABLE directory_entries ENABLE ROW LEVEL SECURITY")
    op.execute(
        "CREATE POLICY tenant_isolation ON directory_entries "
        f"USING (business_id = {TENANT}) WITH CHECK (business_id = {TENANT})"
    )
    for statement in (SYNC_CUSTOMER, SYNC_PARTICIPANT, SYNC_ADDITIONAL_USER, REBUILD):
        op.execute(statement)
    op.execute(
        "CREATE TRIGGER directory_sync AFTER INSERT OR UPDATE OF "
        "status, category, number, first_name, last_name, email, mobile ON customers "
        "FOR EACH ROW EXECUTE FUNCTION directory_sync_customer()"
    )
    op.execute(
        "CREATE TRIGGER directory_sync AFTER INSERT OR DELETE OR UPDATE OF "
        "customer_id, is_self, first_name, last_name, email, mobile ON participants "
        "FOR EACH ROW EXECUTE FUNCTION directory_sync_participant()"
    )
    op.execute(
        "CREATE TRIGGER directory_sync AFTER INSERT OR DELETE OR UPDATE OF "
        "customer_id, number, first_name, last_name, email, mobile ON additional_users "
        "FOR EACH ROW EXECUTE FUNCTION directory_sync_additional_user()"
    )
    op.execute(PAGE_FUNCTION)
    op.execute(COUNT_FUNCTION)
    for name in FUNCTIONS[:2]:
        op.execute(f"REVOKE ALL ON FUNCTION {name} FROM PUBLIC")
        op.execute(f"GRANT EXECUTE ON FUNCTION {name} TO customer_service")
    op.execute("REVOKE ALL ON FUNCTION directory_rebuild(uuid) FROM PUBLIC")
    # Existing people (a database migrated with data in it) get their rows.
    op.execute("SELECT directory_rebuild(id) FROM businesses")


def downgrade() -> None:
    for table in ("customers", "participants", "additional_users"):
        op.execute(f"DROP TRIGGER IF EXISTS directory_sync ON {table}")
    _drop_table()
    for name in FUNCTIONS:
        op.execute(f"DROP FUNCTION IF EXISTS {name}")


def _create_table() -> None:
    op.create_table(
        "directory_entries",
        sa.Column("person_id", sa.UUID(), nullable=False),
        sa.Column("business_id", sa.UUID(), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("customer_id", sa.UUID(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("category", sa.String(length=16), nullable=True),
        sa.Column("is_participant", sa.Boolean(), nullable=False),
        sa.Column("number", sa.BigInteger(), nullable=True),
        sa.Column("first_name", sa.String(length=100), nullable=False),
        sa.Column("last_name", sa.String(length=100), nullable=False),
        sa.Column("email", sa.String(length=320), nullable=True),
        sa.Column("mobile", sa.String(length=20), nullable=True),
        sa.Column(
            "name_key",
            sa.String(),
            sa.Computed(
                "immutable_unaccent(lower(last_name || ' ' || first_name))", persisted=True
            ),
            nullable=False,
        ),
        sa.Column(
            "first_key",
            sa.String(),
            sa.Computed("immutable_unaccent(lower(first_name))", persisted=True),
            nullable=False,
        ),
        sa.Column(
            "last_key",
            sa.String(),
            sa.Computed("immutable_unaccent(lower(last_name))", persisted=True),
            nullable=False,
        ),
        sa.Column(
            "search_text",
            sa.String(),
            sa.Computed(
                "immutable_unaccent(lower(first_name || ' ' || last_name || ' ' || coalesce(email, '') || ' ' || regexp_replace(coalesce(mobile, ''), '[^0-9]', '', 'g')))",
                persisted=True,
            ),
            nullable=False,
        ),
        sa.CheckConstraint(
            "(kind = 'CUSTOMER') = (category IS NOT NULL)",
            name=op.f("ck_directory_entries_category_only_for_customers"),
        ),
        sa.CheckConstraint(
            "kind IN ('CUSTOMER', 'PARTICIPANT', 'ADDITIONAL_USER')",
            name=op.f("ck_directory_entries_kind"),
        ),
        sa.CheckConstraint(
            "status IN ('ACTIVE', 'ARCHIVED')", name=op.f("ck_directory_entries_status")
        ),
        sa.ForeignKeyConstraint(
            ["business_id", "customer_id"],
            ["customers.business_id", "customers.id"],
            name=op.f("fk_directory_entries_business_id_customer_id_customers"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["business_id"],
            ["businesses.id"],
            name=op.f("fk_directory_entries_business_id_businesses"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("person_id", name=op.f("pk_directory_entries")),
    )
    op.create_index(
        "ix_directory_entries_additional_user",
        "directory_entries",
        ["business_id", "status", "name_key", "person_id"],
        unique=False,
        postgresql_where=sa.text("kind = 'ADDITIONAL_USER'"),
    )
    op.create_index(
        "ix_directory_entries_app_user",
        "directory_entries",
        ["business_id", "status", "name_key", "person_id"],
        unique=False,
        postgresql_where=sa.text("kind = 'CUSTOMER' AND category = 'APP_USER'"),
    )
    op.create_index(
        "ix_directory_entries_customer",
        "directory_entries",
        ["business_id", "customer_id"],
        unique=False,
    )
    op.create_index(
        "ix_directory_entries_everyone",
        "directory_entries",
        ["business_id", "status", "name_key", "person_id"],
        unique=False,
    )
    op.create_index(
        "ix_directory_entries_first_key",
        "directory_entries",
        ["business_id", "status", "first_key"],
        unique=False,
    )
    op.create_index(
        "ix_directory_entries_last_key",
        "directory_entries",
        ["business_id", "status", "last_key"],
        unique=False,
    )
    op.create_index(
        "ix_directory_entries_lead",
        "directory_entries",
        ["business_id", "status", "name_key", "person_id"],
        unique=False,
        postgresql_where=sa.text("kind = 'CUSTOMER' AND category = 'LEAD'"),
    )
    op.create_index(
        "ix_directory_entries_number", "directory_entries", ["business_id", "number"], unique=False
    )
    op.create_index(
        "ix_directory_entries_participant",
        "directory_entries",
        ["business_id", "status", "name_key", "person_id"],
        unique=False,
        postgresql_where=sa.text("is_participant"),
    )
    op.create_index(
        "ix_directory_entries_primary",
        "directory_entries",
        ["business_id", "status", "name_key", "person_id"],
        unique=False,
        postgresql_where=sa.text("kind = 'CUSTOMER' AND category = 'PRIMARY'"),
    )
    op.create_index(
        "ix_directory_entries_search_trgm",
        "directory_entries",
        ["business_id", "search_text"],
        unique=False,
        postgresql_using="gin",
        postgresql_ops={"search_text": "gin_trgm_ops"},
    )
    op.create_index(
        "uq_directory_entries_person",
        "directory_entries",
        ["business_id", "person_id"],
        unique=True,
    )


def _drop_table() -> None:
    op.drop_index("uq_directory_entries_person", table_name="directory_entries")
    op.drop_index(
        "ix_directory_entries_search_trgm",
        table_name="directory_entries",
        postgresql_using="gin",
        postgresql_ops={"search_text": "gin_trgm_ops"},
    )
    op.drop_index(
        "ix_directory_entries_primary",
        table_name="directory_entries",
        postgresql_where=sa.text("kind = 'CUSTOMER' AND category = 'PRIMARY'"),
    )
    op.drop_index(
        "ix_directory_entries_participant",
        table_name="directory_entries",
        postgresql_where=sa.text("is_participant"),
    )
    op.drop_index("ix_directory_entries_number", table_name="directory_entries")
    op.drop_index(
        "ix_directory_entries_lead",
        table_name="directory_entries",
        postgresql_where=sa.text("kind = 'CUSTOMER' AND category = 'LEAD'"),
    )
    op.drop_index("ix_directory_entries_last_key", table_name="directory_entries")
    op.drop_index("ix_directory_entries_first_key", table_name="directory_entries")
    op.drop_index("ix_directory_entries_everyone", table_name="directory_entries")
    op.drop_index("ix_directory_entries_customer", table_name="directory_entries")
    op.drop_index(
        "ix_directory_entries_app_user",
        table_name="directory_entries",
        postgresql_where=sa.text("kind = 'CUSTOMER' AND category = 'APP_USER'"),
    )
    op.drop_index(
        "ix_directory_entries_additional_user",
        table_name="directory_entries",
        postgresql_where=sa.text("kind = 'ADDITIONAL_USER'"),
    )
    op.drop_table("directory_entries")
