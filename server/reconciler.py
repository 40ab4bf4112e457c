"""Finishes Stripe calls that a request could not: the process died between commit and call,
Stripe was unreachable, or the result could not be written.

A call is only judged once it is older than the whole time a request may spend on it
(`stripe_calls.request_budget`) plus a margin, so no request can still be sending it. Then Stripe
is asked, by listing and matching `metadata.pending_id`: a call Stripe knows is completed with
the object found; a call it does not know never reached it and is failed, releasing what it
reserved (a refund gives its amount back). The reconciler never sends a request again: the
caller's intent may be stale by now, and a person can simply try again.

The worker calls `reconcile_once(database, stripe)` periodically (every minute is plenty). Each
run claims up to `limit` rows through `stale_pending_calls(age, max_rows)`, a SECURITY DEFINER
function (the only way to see pending calls of every business), which marks them claimed for
`age` so that concurrent reconcilers skip them while they ask Stripe with no transaction open.
Each claimed call is then finished in its own transaction under its business.
"""

from __future__ import annotations

import logging
import uuid
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

from sqlalchemy import text

from integrations.stripe_client import (
    StripeGateway,
    StripePermanentError,
    StripeTransientError,
    StripeUnavailable,
)
from resolvers import stripe_calls
from server.db import Database

log = logging.getLogger(__name__)

# Added to the request budget before a pending call is judged.
MARGIN = timedelta(seconds=60)
NOT_AT_STRIPE = "Stripe has no record of this request: it never reached Stripe."


@dataclass
class ReconcileReport:
    """What one run did, by call id."""

    completed: list[uuid.UUID] = field(default_factory=list)
    failed: list[uuid.UUID] = field(default_factory=list)
    # Stripe could not be asked; the claim lapses and a later run tries again.
    unresolved: list[uuid.UUID] = field(default_factory=list)


def default_age(stripe: StripeGateway) -> timedelta:
    return stripe_calls.request_budget(stripe) + MARGIN


async def reconcile_once(
    database: Database,
    stripe: StripeGateway,
    *,
    age: timedelta | None = None,
    limit: int = 100,
) -> ReconcileReport:
    """Finish up to `limit` calls pending for longer than `age` (default: the request budget
    plus a minute). Safe to run in several processes at once."""
    report = ReconcileReport()
    if not stripe.configured:
        return report
    age = age if age is not None else default_age(stripe)
    for business_id, call_id in await _claim(database, age, limit):
        try:
            await _reconcile(database, stripe, business_id, call_id, report)
        except Exception:
            # One bad row must not stop the others; it is retried when its claim lapses.
            log.exception("reconciling stripe call %s failed", call_id)
            report.unresolved.append(call_id)
    return report


async def _claim(
    database: Database, age: timedelta, limit: int
) -> list[tuple[uuid.UUID, uuid.UUID]]:
    async with database.engine.connect() as conn:
        rows = (
            await conn.execute(
                text("SELECT business_id, id FROM stale_pending_calls(:age, :limit)"),
                {"age": age, "limit": limit},
            )
        ).all()
        await conn.commit()
    return [(row[0], row[1]) for row in rows]


async def _reconcile(
    database: Database,
    stripe: StripeGateway,
    business_id: uuid.UUID,
    call_id: uuid.UUID,
    report: ReconcileReport,
) -> None:
    async with database.transaction(business_id) as conn:
        call = await stripe_calls.load_call(conn, business_id=business_id, call_id=call_id)
    if call is None or call.status != stripe_calls.PENDING:
        return
    kind = stripe_calls.KINDS.get(call.kind)
    if kind is None:
        log.error("stripe call %s has unknown kind %s", call.id, call.kind)
        report.unresolved.append(call.id)
        return
    try:
        found: Any | None = await kind.find(stripe.for_account(call.stripe_account_id), call)
    except StripePermanentError as error:
        # The list's own target (the PaymentIntent, the customer) is unknown to Stripe: then so
        # is anything created under it. Any other refusal (keys, permissions) proves nothing.
        if error.http_status not in (400, 404):
            log.warning("stripe call %s: cannot ask Stripe: %s", call.id, error.summary())
            log.debug("stripe call %s: %s", call.id, error)
            report.unresolved.append(call.id)
            return
        found = None
    except (StripeTransientError, StripeUnavailable) as error:
        said = error.summary() if isinstance(error, StripeTransientError) else type(error).__name__
        log.warning("stripe call %s: cannot ask Stripe: %s", call.id, said)
        log.debug("stripe call %s: %s", call.id, error)
        report.unresolved.append(call.id)
        return

    if found is not None:
        status = await database.run_mutation(
            business_id,
            lambda conn: stripe_calls.complete_call(
                conn,
                business_id=business_id,
                call_id=call.id,
                stripe_object=stripe_calls.as_dict(found),
            ),
        )
        if status == stripe_calls.SUCCEEDED:
            report.completed.append(call.id)
    else:
        status = await database.run_mutation(
            business_id,
            lambda conn: stripe_calls.fail_call(
                conn, business_id=business_id, call_id=call.id, reason=NOT_AT_STRIPE
            ),
        )
        if status == stripe_calls.FAILED:
            report.failed.append(call.id)
