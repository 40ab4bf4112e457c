"""History tallies: how many rows each of a customer's eight profile tabs holds.

Every tab of the profile shows its total ("Bookings (6,250)"). Counted, that is up to 10,001
index entries read per tab and request: a few hundredths of a millisecond for a typical customer,
but 5-6 ms per tab for one with six thousand rows in each, most of such a profile's cost.
`history_tallies` keeps the number per customer and tab table; statement triggers on the eight
tables add what a statement added and take away what it removed or moved to another customer
(a merge, a transfer, a deleted customer's rows unlinked), in the transaction of the change. A
tab's total without a search or state filter is read from it; a search is still counted.

Removals only lower existing tallies: when a customer is deleted their tallies go with them (the
foreign key cascades), and nothing must be added back for a customer who is gone.

Revision ID: 0011
Revises: 0010
Create Date: 2026-11-21 18:40:00.000000
"""

from __future__ import annotations

from collections.abc import Sequence

from alembic import op

revision: str = "0011"
down_revision: str | None = "0010"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

TENANT = "NULLIF(current_setting('app.business_id', true), '')::uuid"

# The tables of the profile's eight tabs (loaders.history.TABS).
TAB_TABLES = (
    "bookings",
    "appointments",
    "customer_passes",
    "video_purchases",
    "customer_subscriptions",
    "questionnaire_responses",
    "notes",
    "account_history",
)

TABLE = """
CREATE TABLE history_tallies (
    business_id uuid NOT NULL,
    customer_id uuid NOT NULL,
    tab varchar(32) NOT NULL,
    rows bigint NOT NULL,
    CONSTRAINT pk_history_tallies PRIMARY KEY (business_id, customer_id, tab),
    CONSTRAINT fk_history_tallies_business_id_businesses
        FOREIGN KEY (business_id) REFERENCES businesses (id) ON DELETE CASCADE,
    CONSTRAINT fk_history_tallies_business_id_customer_id_customers
        FOREIGN KEY (business_id, customer_id) REFERENCES customers (business_id, id)
        ON DELETE CASCADE
)"""


def _apply(changes: str) -> str:
    """Adds each customer's net change (`changes`: business_id, customer_id, change), in key
    order (two edits of one customer take the tallies' row locks in the same order): gains
    through an upsert, losses by lowering the existing row only."""
    net = (
        f"SELECT business_id, customer_id, sum(change) AS change FROM ({changes}) AS changes"
        " WHERE customer_id IS NOT NULL GROUP BY business_id, customer_id"
    )
    return f"""
        INSERT INTO history_tallies AS t (business_id, customer_id, tab, rows)
        SELECT business_id, customer_id, TG_ARGV[0], change FROM ({net}) AS n
        WHERE change > 0 ORDER BY business_id, customer_id
        ON CONFLICT (business_id, customer_id, tab) DO UPDATE SET rows = t.rows + EXCLUDED.rows;
        UPDATE history_tallies AS t SET rows = t.rows + n.change FROM ({net}) AS n
        WHERE n.change < 0 AND t.business_id = n.business_id AND t.customer_id = n.customer_id
          AND t.tab = TG_ARGV[0];"""


_MOVED = (
    "SELECT n.business_id, n.customer_id, 1 AS change FROM new_rows n"
    " JOIN old_rows o ON o.id = n.id WHERE o.customer_id IS DISTINCT FROM n.customer_id"
    " UNION ALL SELECT o.business_id, o.customer_id, -1 FROM old_rows o"
    " JOIN new_rows n ON n.id = o.id WHERE o.customer_id IS DISTINCT FROM n.customer_id"
)

TALLY_FUNCTION = f"""
CREATE FUNCTION history_tally() RETURNS trigger LANGUAGE plpgsql AS $fn$
BEGIN
    IF TG_OP = 'INSERT' THEN{_apply("SELECT business_id, customer_id, 1 AS change FROM new_rows")}
    ELSIF TG_OP = 'UPDATE' THEN{_apply(_MOVED)}
    ELSE{_apply("SELECT business_id, customer_id, -1 AS change FROM old_rows")}
    END IF;
    RETURN NULL;
END
$fn$
"""


def _triggers(table: str) -> tuple[str, ...]:
    # Transition tables allow one event per trigger.
    run = f"FOR EACH STATEMENT EXECUTE FUNCTION history_tally('{table}')"
    return (
        f"CREATE TRIGGER history_tally_insert AFTER INSERT ON {table}"
        f" REFERENCING NEW TABLE AS new_rows {run}",
        f"CREATE TRIGGER history_tally_update AFTER UPDATE ON {table}"
        f" REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows {run}",
        f"CREATE TRIGGER history_tally_delete AFTER DELETE ON {table}"
        f" REFERENCING OLD TABLE AS old_rows {run}",
    )


# For bulk loads that ran with triggers off (the scale seeder), and to fill the table here.
_COUNTS = " UNION ALL ".join(
    f"SELECT business_id, customer_id, '{table}' AS tab, count(*) AS rows FROM {table}"
    " WHERE business_id = p_business AND customer_id IS NOT NULL"
    " GROUP BY business_id, customer_id"
    for table in TAB_TABLES
)
REBUILD_FUNCTION = f"""
CREATE FUNCTION history_tallies_rebuild(p_business uuid) RETURNS void LANGUAGE sql AS $fn$
    DELETE FROM history_tallies WHERE business_id = p_business;
    INSERT INTO history_tallies (business_id, customer_id, tab, rows) {_COUNTS};
$fn$
"""


def upgrade() -> None:
    op.execute(TABLE)
    op.execute("ALTER TABLE history_tallies ENABLE ROW LEVEL SECURITY")
    op.execute(
        "CREATE POLICY tenant_isolation ON history_tallies "
        f"USING (business_id = {TENANT}) WITH CHECK (business_id = {TENANT})"
    )
    op.execute(TALLY_FUNCTION)
    op.execute(REBUILD_FUNCTION)
    op.execute("REVOKE ALL ON FUNCTION history_tallies_rebuild(uuid) FROM PUBLIC")
    op.execute("SELECT history_tallies_rebuild(id) FROM businesses")
    for table in TAB_TABLES:
        for statement in _triggers(table):
            op.execute(statement)


def downgrade() -> None:
    for table in TAB_TABLES:
        for name in ("insert", "update", "delete"):
            op.execute(f"DROP TRIGGER history_tally_{name} ON {table}")
    op.execute("DROP TABLE history_tallies")
    op.execute("DROP FUNCTION history_tallies_rebuild(uuid)")
    op.execute("DROP FUNCTION history_tally()")
