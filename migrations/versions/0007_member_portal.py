"""Member portal: log-in throttle counters, the portal's business lookup and verified emails.

`login_throttles` is global (an allowed exception to `business_id`): one row per account
(a hash of business and lower-cased email) or client address. Row-level security is enabled with
a policy that lets the service role see nothing: the counters are read and written only by two
SECURITY DEFINER PL/pgSQL functions owned by the owner, `login_attempt_begin` (counts one attempt
atomically, or answers how long to wait) and `login_attempt_succeeded` (clears the account).
`portal_business(ref)` finds a business by slug or id for the public log-in fields, answering only
its id. `email_verified_at` records when a member proved they read their login email; a trigger
clears it whenever the email changes, whoever changes it (staff, the member, a merge).

Revision ID: 0007
Revises: 0004
Create Date: 2026-11-22 09:00:00.000000
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0007"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

SERVICE = "customer_service"

# Per row: forget old failures once the last one is older than the window; refuse while locked
# (counting nothing); otherwise count this attempt as a failure before the password is checked
# (so concurrent attempts cannot overtake the limit) and, at the limit, lock for a wait that
# doubles with each lock-out up to the cap. Rows are locked account first, then address, by one
# upsert each, so two attempts never wait on each other in opposite orders.
LOGIN_ATTEMPT_BEGIN = """
CREATE FUNCTION login_attempt_begin(
    p_account text, p_address text, p_account_limit integer, p_address_limit integer,
    p_window interval, p_first_wait interval, p_max_wait interval)
RETURNS integer
LANGUAGE plpgsql VOLATILE SECURITY DEFINER
SET search_path = public AS $$
DECLARE
    r login_throttles;
    scopes text[] := ARRAY['ACCOUNT', 'ADDRESS'];
    keys text[] := ARRAY[p_account, p_address];
    limits integer[] := ARRAY[p_account_limit, p_address_limit];
    seen login_throttles[] := ARRAY[]::login_throttles[];
    wait_s integer := 0;
    i integer;
BEGIN
    FOR i IN 1..2 LOOP
        CONTINUE WHEN keys[i] IS NULL;
        INSERT INTO login_throttles AS t (scope, key) VALUES (scopes[i], keys[i])
        ON CONFLICT (scope, key) DO UPDATE SET scope = t.scope
        RETURNING * INTO r;
        IF r.last_failure_at IS NULL OR r.last_failure_at < now() - p_window THEN
            IF r.locked_until IS NULL OR r.locked_until <= now() THEN
                r.failures := 0;
                r.lockouts := 0;
            END IF;
        END IF;
        IF r.locked_until > now() THEN
            wait_s := greatest(wait_s, ceil(extract(epoch FROM r.locked_until - now()))::integer);
        END IF;
        seen := seen || r;
    END LOOP;
    IF wait_s > 0 THEN
        RETURN wait_s;
    END IF;
    FOREACH r IN ARRAY seen LOOP
        i := CASE r.scope WHEN 'ACCOUNT' THEN 1 ELSE 2 END;
        r.failures := r.failures + 1;
        r.last_failure_at := now();
        IF r.failures >= limits[i] THEN
            r.locked_until := now() + least(p_first_wait * power(2, least(r.lockouts, 20)), p_max_wait);
            r.lockouts := r.lockouts + 1;
        END IF;
        UPDATE login_throttles SET failures = r.failures, lockouts = r.lockouts,
            last_failure_at = r.last_failure_at, locked_until = r.locked_until
        WHERE scope = r.scope AND key = r.key;
    END LOOP;
    -- Forget counters nobody has touched for a day (a few per call, never waiting for them).
    DELETE FROM login_throttles WHERE (scope, key) IN (
        SELECT scope, key FROM login_throttles
        WHERE last_failure_at < now() - interval '1 day'
          AND (locked_until IS NULL OR locked_until < now())
        LIMIT 20 FOR UPDATE SKIP LOCKED);
    RETURN 0;
END $$
"""

# A successful log-in: the account starts afresh; the address keeps its count but this attempt,
# counted as a failure in advance, is taken back.
LOGIN_ATTEMPT_SUCCEEDED = """
CREATE FUNCTION login_attempt_succeeded(p_account text, p_address text)
RETURNS void
LANGUAGE plpgsql VOLATILE SECURITY DEFINER
SET search_path = public AS $$
BEGIN
    DELETE FROM login_throttles WHERE scope = 'ACCOUNT' AND key = p_account;
    UPDATE login_throttles SET failures = greatest(failures - 1, 0)
    WHERE scope = 'ADDRESS' AND key = p_address;
END $$
"""

PORTAL_BUSINESS = """
CREATE FUNCTION portal_business(p_ref text)
RETURNS uuid
LANGUAGE plpgsql STABLE SECURITY DEFINER
SET search_path = public AS $$
DECLARE v uuid;
BEGIN
    SELECT b.id INTO v FROM businesses b
    WHERE b.slug = lower(p_ref) OR b.id::text = lower(p_ref);
    RETURN v;
END $$
"""

FUNCTIONS = (
    "login_attempt_begin(text, text, integer, integer, interval, interval, interval)",
    "login_attempt_succeeded(text, text)",
    "portal_business(text)",
)


CLEAR_EMAIL_VERIFIED = """
CREATE FUNCTION clear_email_verified() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    IF lower(NEW.email) IS DISTINCT FROM lower(OLD.email) THEN
        NEW.email_verified_at := NULL;
    END IF;
    RETURN NEW;
END;
$$
"""


def upgrade() -> None:
    op.create_table(
        "login_throttles",
        sa.Column("scope", sa.String(length=8), nullable=False),
        sa.Column("key", sa.String(length=128), nullable=False),
        sa.Column("failures", sa.Integer(), server_default=sa.text("0"), nullable=False),
        sa.Column("lockouts", sa.Integer(), server_default=sa.text("0"), nullable=False),
        sa.Column("last_failure_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("locked_until", sa.DateTime(timezone=True), nullable=True),
        sa.CheckConstraint("scope IN ('ACCOUNT', 'ADDRESS')", name=op.f("ck_login_throttles_scope")),
        sa.PrimaryKeyConstraint("scope", "key", name=op.f("pk_login_throttles")),
    )
    op.execute("ALTER TABLE login_throttles ENABLE ROW LEVEL SECURITY")
    op.execute("CREATE POLICY only_through_functions ON login_throttles USING (false)")
    op.execute(f"REVOKE ALL ON login_throttles FROM {SERVICE}")
    for table in ("customers", "additional_users"):
        op.add_column(
            table, sa.Column("email_verified_at", sa.DateTime(timezone=True), nullable=True)
        )
    for body in (LOGIN_ATTEMPT_BEGIN, LOGIN_ATTEMPT_SUCCEEDED, PORTAL_BUSINESS):
        op.execute(body)
    op.execute(CLEAR_EMAIL_VERIFIED)
    for table in ("customers", "additional_users"):
        op.execute(
            f"CREATE TRIGGER {table}_email_verified BEFORE UPDATE OF email ON {table}"
            " FOR EACH ROW EXECUTE FUNCTION clear_email_verified()"
        )
    for function in FUNCTIONS:
        op.execute(f"REVOKE ALL ON FUNCTION {function} FROM PUBLIC")
        op.execute(f"GRANT EXECUTE ON FUNCTION {function} TO {SERVICE}")


def downgrade() -> None:
    for function in FUNCTIONS:
        op.execute(f"DROP FUNCTION IF EXISTS {function}")
    for table in ("additional_users", "customers"):
        op.execute(f"DROP TRIGGER IF EXISTS {table}_email_verified ON {table}")
        op.drop_column(table, "email_verified_at")
    op.execute("DROP FUNCTION IF EXISTS clear_email_verified()")
    op.drop_table("login_throttles")
