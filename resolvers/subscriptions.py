"""Pausing, resuming and suspending subscriptions, as PRODUCT.md's "Bookings" section says:
Active ⇄ Paused; Active or Paused → Suspended; Suspended → Active (resume). Anything else is
INVALID_STATE.

While paused or suspended there is no next payment. Resuming sets it to the first cycle date on
or after the day of resuming (the business's date): cycles are counted from `started_on` by the
plan's interval, each one computed from the start rather than from the previous cycle, so a
monthly subscription started on 31 January is due on 28 (or 29) February and on 31 March again.
"""

from __future__ import annotations

import calendar
import uuid
from dataclasses import dataclass
from datetime import date, timedelta

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection

from resolvers import account_history
from resolvers.account_history import Actor
from resolvers.history_actions import business_clock, customer_name, locked_row, refuse
from schema.errors import ErrorCode


def add_months(day: date, months: int) -> date:
    """The same day `months` later, or the month's last day when it is shorter."""
    index = day.year * 12 + day.month - 1 + months
    year, month = divmod(index, 12)
    last = calendar.monthrange(year, month + 1)[1]
    return date(year, month + 1, min(day.day, last))


def cycle_date(started: date, unit: str, count: int, n: int) -> date:
    """The start of cycle `n` (0 is `started`) for a cycle of `count` WEEKs, MONTHs or YEARs."""
    if unit == "WEEK":
        return started + timedelta(weeks=count * n)
    return add_months(started, count * n * (12 if unit == "YEAR" else 1))


def first_cycle_on_or_after(started: date, unit: str, count: int, day: date) -> date:
    """The first cycle date that is not before `day`."""
    if day <= started:
        return started
    if unit == "WEEK":
        step = 7 * count
        return started + timedelta(days=-(-(day - started).days // step) * step)
    months_per_cycle = count * (12 if unit == "YEAR" else 1)
    elapsed = (day.year - started.year) * 12 + day.month - started.month
    # Cycle n falls in the month of `day` or earlier, cycle n + 1 in a later month: the answer
    # is one of the two.
    n = elapsed // months_per_cycle
    candidate = cycle_date(started, unit, count, n)
    return candidate if candidate >= day else cycle_date(started, unit, count, n + 1)


@dataclass(frozen=True)
class Transition:
    action: str
    allowed_from: frozenset[str]
    to: str


PAUSE = Transition("paused", frozenset({"ACTIVE"}), "PAUSED")
RESUME = Transition("resumed", frozenset({"PAUSED", "SUSPENDED"}), "ACTIVE")
SUSPEND = Transition("suspended", frozenset({"ACTIVE", "PAUSED"}), "SUSPENDED")

_REFUSALS = {
    ("paused", "PAUSED"): "This subscription is already paused.",
    ("paused", "SUSPENDED"): "A suspended subscription cannot be paused: resume it first.",
    ("resumed", "ACTIVE"): "This subscription is already active.",
    ("suspended", "SUSPENDED"): "This subscription is already suspended.",
}


async def change_state(
    conn: AsyncConnection,
    actor: Actor,
    business_id: uuid.UUID,
    subscription_id: uuid.UUID,
    transition: Transition,
) -> uuid.UUID:
    row = await locked_row(
        conn,
        "customer_subscriptions",
        "id, number, customer_id, customer_name, state, interval_unit, interval_count,"
        " started_on, next_payment_on",
        subscription_id,
        "id",
        "subscription",
    )
    if row.state not in transition.allowed_from:
        message = _REFUSALS.get(
            (transition.action, row.state), "This subscription's state does not allow that."
        )
        raise refuse(ErrorCode.INVALID_STATE, "id", message)
    next_payment = None
    if transition.to == "ACTIVE":
        today = (await business_clock(conn)).today
        next_payment = first_cycle_on_or_after(
            row.started_on, row.interval_unit, row.interval_count, today
        )
    await conn.execute(
        text(
            "UPDATE customer_subscriptions SET state = :state, next_payment_on = :next,"
            " updated_at = now() WHERE id = :id"
        ),
        {"state": transition.to, "next": next_payment, "id": row.id},
    )
    await account_history.record(
        conn,
        business_id=business_id,
        actor=actor,
        action=f"subscription.{transition.action}",
        customer_id=row.customer_id,
        customer_name=await customer_name(conn, row.customer_id, row.customer_name),
        subject_type="CustomerSubscription",
        subject_id=row.id,
        before={"number": row.number, "state": row.state, "next_payment_on": row.next_payment_on},
        after={"number": row.number, "state": transition.to, "next_payment_on": next_payment},
    )
    return uuid.UUID(str(row.id))
