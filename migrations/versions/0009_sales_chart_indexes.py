"""Sales chart indexes: a customer's purchases of the chart's window, read from the index alone.

The profile's 12-month chart sums a customer's bookings, passes and videos by month. Through the
tabs' indexes it visited every row of the window in the table (a few hundred for a busy
customer, scattered over the heap: about 3 ms of the profile's one statement). These indexes
carry what the chart reads, cancelled rows left out where the chart leaves them out.

Revision ID: 0009
Revises: 0008
Create Date: 2026-11-21 14:20:00.000000
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0009"
down_revision: str | None = "0008"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

NOT_CANCELLED = sa.text("state <> 'CANCELLED'")
INDEXES = (
    (
        "ix_bookings_sales",
        "bookings",
        ["business_id", "customer_id", "booked_at"],
        ["paid_with", "price_amount", "refunded_amount", "price_credits"],
        NOT_CANCELLED,
    ),
    (
        "ix_customer_passes_sales",
        "customer_passes",
        ["business_id", "customer_id", "purchased_at"],
        ["price_amount", "payment_id"],
        None,
    ),
    (
        "ix_video_purchases_sales",
        "video_purchases",
        ["business_id", "customer_id", "purchased_at"],
        ["price_amount", "price_credits", "payment_id"],
        NOT_CANCELLED,
    ),
)


def upgrade() -> None:
    for name, table, columns, include, where in INDEXES:
        op.create_index(name, table, columns, postgresql_include=include, postgresql_where=where)


def downgrade() -> None:
    for name, table, *_ in INDEXES:
        op.drop_index(name, table_name=table)
