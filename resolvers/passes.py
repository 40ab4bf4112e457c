"""Passes assigned by staff (state MANUAL): paid outside Stripe or given. Passes bought by card
(COMPLETED) come from checkout elsewhere.

Defaults come from the pass product: valid from the business's today for its `validity_days`
(no end without them), with its uses (unlimited without them) and its price.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import date, timedelta

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection

from resolvers import account_history
from resolvers.account_history import Actor
from resolvers.history_actions import (
    Clock,
    Default,
    amount_error,
    business_clock,
    locked_account,
    manual_payment,
    participant_of,
    refuse,
    staff_id,
)
from schema.errors import ErrorCode, UserError, UserFacingError, user_error

MAX_USES = 10_000
# How far from today a validity date may lie: beyond this it is a typo (and date arithmetic
# near year 9999 would overflow).
MAX_YEARS_AWAY = 10


@dataclass(frozen=True)
class NewPass:
    customer_id: uuid.UUID
    participant_id: uuid.UUID | None
    pass_product_id: uuid.UUID
    valid_from: date | Default
    # None: no end.
    valid_until: date | Default | None
    # None: unlimited.
    uses: int | Default | None
    price: int | Default


@dataclass(frozen=True)
class _Product:
    name: str
    uses: int | None
    validity_days: int | None
    price: int
    currency: str


async def _product(conn: AsyncConnection, product_id: uuid.UUID) -> _Product:
    row = (
        await conn.execute(
            text(
                "SELECT name, uses, validity_days, price_amount, currency FROM pass_products"
                " WHERE id = :id"
            ),
            {"id": product_id},
        )
    ).first()
    if row is None:
        raise refuse(
            ErrorCode.NOT_FOUND, "input.passProductId", "No such pass product in this business."
        )
    return _Product(row.name, row.uses, row.validity_days, row.price_amount, row.currency)


@dataclass(frozen=True)
class _Terms:
    valid_from: date
    valid_until: date | None
    uses: int | None
    price: int


def _near(day: date, today: date, field: str, errors: list[UserError]) -> bool:
    span = timedelta(days=366 * MAX_YEARS_AWAY)
    if abs(day - today) > span:
        errors.append(
            user_error(
                ErrorCode.OUT_OF_RANGE,
                field,
                f"Choose a date within {MAX_YEARS_AWAY} years of today.",
            )
        )
        return False
    return True


def terms_for(new: NewPass, product: _Product, clock: Clock) -> _Terms:
    """The pass's dates, uses and price: what staff typed, else the product's."""
    errors: list[UserError] = []
    today = clock.today
    valid_from = today if isinstance(new.valid_from, Default) else new.valid_from
    from_ok = _near(valid_from, today, "input.validFrom", errors)
    valid_until: date | None
    if isinstance(new.valid_until, Default):
        days = product.validity_days
        valid_until = valid_from + timedelta(days=days) if days is not None and from_ok else None
    else:
        valid_until = new.valid_until
    if valid_until is not None and _near(valid_until, today, "input.validUntil", errors):
        if valid_until < valid_from:
            errors.append(
                user_error(
                    ErrorCode.INVALID_DATE_RANGE,
                    "input.validUntil",
                    "The last valid day comes before the first.",
                )
            )
        elif valid_until < today:
            errors.append(
                user_error(
                    ErrorCode.IN_THE_PAST,
                    "input.validUntil",
                    "This pass would already have expired.",
                )
            )
    uses = product.uses if isinstance(new.uses, Default) else new.uses
    if uses is not None and not 1 <= uses <= MAX_USES:
        errors.append(
            user_error(
                ErrorCode.OUT_OF_RANGE,
                "input.uses",
                f"A pass has 1 to {MAX_USES} uses, or none for unlimited.",
            )
        )
    price = product.price if isinstance(new.price, Default) else new.price
    problem = amount_error(price, "input.price")
    if problem is not None:
        errors.append(problem)
    if errors:
        raise UserFacingError(*errors)
    return _Terms(valid_from, valid_until, uses, price)


async def assign_pass(
    conn: AsyncConnection, actor: Actor, business_id: uuid.UUID, new: NewPass
) -> uuid.UUID:
    account = await locked_account(conn, new.customer_id, "input.customerId")
    who = await participant_of(conn, account, new.participant_id, "input.participantId")
    product = await _product(conn, new.pass_product_id)
    clock = await business_clock(conn)
    terms = terms_for(new, product, clock)
    payment_id = None
    if terms.price > 0:
        payment_id = await manual_payment(
            conn,
            business_id=business_id,
            account=account,
            amount=terms.price,
            currency=product.currency,
            description=f"Pass: {product.name}",
            paid_at=clock.now,
            staff_id=staff_id(actor),
        )
    row = (
        await conn.execute(
            text(
                "INSERT INTO customer_passes (business_id, customer_id, customer_name,"
                " participant_id, participant_name, created_by_staff_id, pass_product_id,"
                " purchased_at, valid_from, valid_until, uses_total, uses_remaining,"
                " price_amount, currency, state, payment_id)"
                " VALUES (:business, :customer, :name, :participant, :participant_name, :staff,"
                " :product, :at, :from, :until, :uses, :uses, :price, :currency, 'MANUAL',"
                " :payment) RETURNING id, number"
            ),
            {
                "business": business_id,
                "customer": account.id,
                "name": account.name,
                "participant": who.id,
                "participant_name": who.name,
                "staff": staff_id(actor),
                "product": new.pass_product_id,
                "at": clock.now,
                "from": terms.valid_from,
                "until": terms.valid_until,
                "uses": terms.uses,
                "price": terms.price,
                "currency": product.currency,
                "payment": payment_id,
            },
        )
    ).one()
    await account_history.record(
        conn,
        business_id=business_id,
        actor=actor,
        action="pass.assigned",
        customer_id=account.id,
        customer_name=account.name,
        subject_type="CustomerPass",
        subject_id=row.id,
        after={
            "number": row.number,
            "pass": product.name,
            "participant": who.name,
            "valid_from": terms.valid_from,
            "valid_until": terms.valid_until,
            "uses": terms.uses,
            "price": terms.price,
            "currency": product.currency,
        },
    )
    return uuid.UUID(str(row.id))
