"""Sales months: a customer's bookings, passes and videos summed per month of the business's zone.

The profile's chart (`salesActivity`) read every sale of its window: about 1 ms of the profile's
one statement for a customer with a few hundred, and growing with the history. `sales_months`
keeps, per customer, kind and local month, the count, the money (net of refunds) and the credits
the chart shows, by the chart's rules: cancelled bookings and videos left out, a booking's own
refund taken off, a pass's or video's payment's refunds taken off (never below zero), credits
apart. Statement triggers keep it in the transaction of each change: on the three tables (a new
sale, a cancellation, a refund, a transfer or merge moving a row to another customer) and on
`payments` (a refund of the payment a pass or video was bought with). A change of the business's
time zone rebuilds its months.

A change is applied as the difference between what the changed rows counted before and after,
and only for customers that still exist: a deleted customer's months go with them (the foreign
key cascades) and nothing is added back.

Revision ID: 0012
Revises: 0011
Create Date: 2026-11-21 18:30:00.000000
"""

from __future__ import annotations

from collections.abc import Sequence

from alembic import op

revision: str = "0012"
down_revision: str | None = "0011"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

TENANT = "NULLIF(current_setting('app.business_id', true), '')::uuid"

TABLE = """
CREATE TABLE sales_months (
    business_id uuid NOT NULL,
    customer_id uuid NOT NULL,
    kind varchar(16) NOT NULL,
    month date NOT NULL,
    sales bigint NOT NULL,
    amount bigint NOT NULL,
    credits bigint NOT NULL,
    CONSTRAINT pk_sales_months PRIMARY KEY (business_id, customer_id, kind, month),
    CONSTRAINT fk_sales_months_business_id_businesses
        FOREIGN KEY (business_id) REFERENCES businesses (id) ON DELETE CASCADE,
    CONSTRAINT fk_sales_months_business_id_customer_id_customers
        FOREIGN KEY (business_id, customer_id) REFERENCES customers (business_id, id)
        ON DELETE CASCADE
)"""


def _month(at: str) -> str:
    return f"date_trunc('month', {at} AT TIME ZONE biz.time_zone)::date"


# What each row of a kind counts for (`x`: the rows; columns business_id, customer_id, kind,
# month, sales, amount, credits), by the rules of the account summary (loaders.history).
def _payment(payments: str) -> str:
    """The row's payment, as `pay`, from `payments` (the table, or a payment trigger's rows)."""
    return f"LEFT JOIN {payments} pay ON pay.business_id = x.business_id AND pay.id = x.payment_id"


_NET_OF_PAYMENT = "greatest(0, x.price_amount - coalesce(pay.refunded_amount, 0))"


def bookings_counted(rows: str) -> str:
    return f"""SELECT x.business_id, x.customer_id, 'bookings' AS kind,
        {_month("x.booked_at")} AS month, 1 AS sales,
        CASE WHEN x.paid_with <> 'CREDITS' THEN x.price_amount - x.refunded_amount ELSE 0 END
            AS amount,
        CASE WHEN x.paid_with = 'CREDITS' THEN coalesce(x.price_credits, 0) ELSE 0 END AS credits
    FROM {rows} x JOIN businesses biz ON biz.id = x.business_id
    WHERE x.state <> 'CANCELLED' AND x.customer_id IS NOT NULL"""


def passes_counted(rows: str, payments: str = "payments") -> str:
    return f"""SELECT x.business_id, x.customer_id, 'passes' AS kind,
        {_month("x.purchased_at")} AS month, 1 AS sales, {_NET_OF_PAYMENT} AS amount,
        0 AS credits
    FROM {rows} x JOIN businesses biz ON biz.id = x.business_id {_payment(payments)}
    WHERE x.customer_id IS NOT NULL"""


def videos_counted(rows: str, payments: str = "payments") -> str:
    return f"""SELECT x.business_id, x.customer_id, 'videos' AS kind,
        {_month("x.purchased_at")} AS month, 1 AS sales,
        CASE WHEN x.price_credits IS NULL THEN {_NET_OF_PAYMENT} ELSE 0 END AS amount,
        coalesce(x.price_credits, 0) AS credits
    FROM {rows} x JOIN businesses biz ON biz.id = x.business_id {_payment(payments)}
    WHERE x.state <> 'CANCELLED' AND x.customer_id IS NOT NULL"""


COUNTED = {
    "bookings": bookings_counted,
    "customer_passes": passes_counted,
    "video_purchases": videos_counted,
}


def _apply(added: str, removed: str) -> str:
    """Adds what `added` counts and takes away what `removed` counts, per customer, kind and
    month, in key order (two edits of one customer lock the rows in the same order), for
    customers that exist."""
    return f"""
        INSERT INTO sales_months AS t
            (business_id, customer_id, kind, month, sales, amount, credits)
        SELECT d.business_id, d.customer_id, d.kind, d.month,
            sum(d.sign * d.sales), sum(d.sign * d.amount), sum(d.sign * d.credits)
        FROM (SELECT 1 AS sign, * FROM ({added}) a
              UNION ALL SELECT -1, * FROM ({removed}) r) d
        JOIN customers c ON c.business_id = d.business_id AND c.id = d.customer_id
        GROUP BY d.business_id, d.customer_id, d.kind, d.month
        HAVING sum(d.sign * d.sales) <> 0 OR sum(d.sign * d.amount) <> 0
            OR sum(d.sign * d.credits) <> 0
        ORDER BY d.business_id, d.customer_id, d.kind, d.month
        ON CONFLICT (business_id, customer_id, kind, month) DO UPDATE SET
            sales = t.sales + EXCLUDED.sales, amount = t.amount + EXCLUDED.amount,
            credits = t.credits + EXCLUDED.credits;"""


_NOTHING = (
    "SELECT NULL::uuid AS business_id, NULL::uuid AS customer_id, NULL::text AS kind,"
    " NULL::date AS month, 0 AS sales, 0::bigint AS amount, 0::bigint AS credits WHERE false"
)


def _sales_function(table: str) -> str:
    counted = COUNTED[table]
    return f"""
CREATE FUNCTION sales_months_of_{table}() RETURNS trigger LANGUAGE plpgsql AS $fn$
BEGIN
    IF TG_OP = 'INSERT' THEN{_apply(counted("new_rows"), _NOTHING)}
    ELSIF TG_OP = 'UPDATE' THEN{_apply(counted("new_rows"), counted("old_rows"))}
    ELSE{_apply(_NOTHING, counted("old_rows"))}
    END IF;
    RETURN NULL;
END
$fn$
"""


# A payment's refund changes what the passes and videos bought with it count: the payments whose
# refunded amount changed, after and before the change.
_REFUNDED = (
    "(SELECT {side}.* FROM new_rows n JOIN old_rows o ON o.id = n.id"
    " WHERE o.refunded_amount IS DISTINCT FROM n.refunded_amount)"
)


def _bought_with(payments: str) -> str:
    """What the passes and videos bought with `payments` count, those payments' refunds taken
    off."""
    return " UNION ALL ".join(
        counted(
            f"(SELECT x.* FROM {table} x WHERE x.payment_id IN (SELECT id FROM {payments} p))",
            payments,
        )
        for table, counted in (
            ("customer_passes", passes_counted),
            ("video_purchases", videos_counted),
        )
    )


PAYMENTS_FUNCTION = f"""
CREATE FUNCTION sales_months_of_payments() RETURNS trigger LANGUAGE plpgsql AS $fn$
BEGIN{_apply(_bought_with(_REFUNDED.format(side="n")), _bought_with(_REFUNDED.format(side="o")))}
    RETURN NULL;
END
$fn$
"""

BUSINESS_FUNCTION = """
CREATE FUNCTION sales_months_of_business() RETURNS trigger LANGUAGE plpgsql
SECURITY DEFINER SET search_path = public AS $fn$
BEGIN
    PERFORM sales_months_rebuild(NEW.id);
    RETURN NULL;
END
$fn$
"""

# For bulk loads that ran with triggers off (the scale seeder), a change of time zone, and to
# fill the table here.
_ALL_COUNTED = " UNION ALL ".join(
    f"SELECT * FROM ({counted(table)}) c WHERE c.business_id = p_business"
    for table, counted in COUNTED.items()
)
REBUILD_FUNCTION = f"""
CREATE FUNCTION sales_months_rebuild(p_business uuid) RETURNS void LANGUAGE sql AS $fn$
    DELETE FROM sales_months WHERE business_id = p_business;
    INSERT INTO sales_months (business_id, customer_id, kind, month, sales, amount, credits)
    SELECT business_id, customer_id, kind, month, sum(sales), sum(amount), sum(credits)
    FROM ({_ALL_COUNTED}) AS counted
    GROUP BY business_id, customer_id, kind, month;
$fn$
"""


def _triggers(table: str, function: str) -> tuple[str, ...]:
    # Transition tables allow one event per trigger.
    run = f"FOR EACH STATEMENT EXECUTE FUNCTION {function}()"
    return (
        f"CREATE TRIGGER sales_months_insert AFTER INSERT ON {table}"
        f" REFERENCING NEW TABLE AS new_rows {run}",
        f"CREATE TRIGGER sales_months_update AFTER UPDATE ON {table}"
        f" REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows {run}",
        f"CREATE TRIGGER sales_months_delete AFTER DELETE ON {table}"
        f" REFERENCING OLD TABLE AS old_rows {run}",
    )


TRIGGERS = (
    *(s for table in COUNTED for s in _triggers(table, f"sales_months_of_{table}")),
    "CREATE TRIGGER sales_months_refund AFTER UPDATE ON payments"
    " REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows"
    " FOR EACH STATEMENT EXECUTE FUNCTION sales_months_of_payments()",
    "CREATE TRIGGER sales_months_time_zone AFTER UPDATE OF time_zone ON businesses"
    " FOR EACH ROW WHEN (OLD.time_zone IS DISTINCT FROM NEW.time_zone)"
    " EXECUTE FUNCTION sales_months_of_business()",
)
FUNCTIONS = (
    *(f"sales_months_of_{table}()" for table in COUNTED),
    "sales_months_of_payments()",
    "sales_months_of_business()",
    "sales_months_rebuild(uuid)",
)


def upgrade() -> None:
    op.execute(TABLE)
    op.execute("ALTER TABLE sales_months ENABLE ROW LEVEL SECURITY")
    op.execute(
        "CREATE POLICY tenant_isolation ON sales_months "
        f"USING (business_id = {TENANT}) WITH CHECK (business_id = {TENANT})"
    )
    op.execute(REBUILD_FUNCTION)
    op.execute("REVOKE ALL ON FUNCTION sales_months_rebuild(uuid) FROM PUBLIC")
    for table in COUNTED:
        op.execute(_sales_function(table))
    op.execute(PAYMENTS_FUNCTION)
    op.execute(BUSINESS_FUNCTION)
    op.execute("SELECT sales_months_rebuild(id) FROM businesses")
    for statement in TRIGGERS:
        op.execute(statement)


def downgrade() -> None:
    for table in COUNTED:
        for name in ("insert", "update", "delete"):
            op.execute(f"DROP TRIGGER sales_months_{name} ON {table}")
    op.execute("DROP TRIGGER sales_months_refund ON payments")
    op.execute("DROP TRIGGER sales_months_time_zone ON businesses")
    op.execute("DROP TABLE sales_months")
    for signature in FUNCTIONS:
        op.execute(f"DROP FUNCTION {signature}")
