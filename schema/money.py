"""Money in integer minor units with an ISO currency; pass credits as their own unit."""

from __future__ import annotations

import strawberry

# ISO 4217 currencies without minor units (everything else here has two).
ZERO_DECIMAL = {"JPY", "KRW", "VND", "CLP", "ISK", "UGX", "XAF", "XOF", "PYG", "RWF"}


@strawberry.type(description="An amount of money: integer minor units plus an ISO 4217 currency.")
class Money:
    amount: int = strawberry.field(
        description="Minor units (pence, cents): 1000 with GBP is £10.00."
    )
    currency: str = strawberry.field(description="ISO 4217 code, e.g. GBP.")

    @strawberry.field(description='The amount as a decimal string in major units, e.g. "10.00".')
    def decimal(self) -> str:
        if self.currency in ZERO_DECIMAL:
            return str(self.amount)
        sign = "-" if self.amount < 0 else ""
        whole, cents = divmod(abs(self.amount), 100)
        return f"{sign}{whole}.{cents:02d}"


@strawberry.type(
    description="A price: money, or a number of pass credits (one credit is one use; "
    'shown as "1 CR").'
)
class Price:
    money: Money | None = strawberry.field(
        description="The price in money; null when paid in credits."
    )
    credits: int | None = strawberry.field(
        description="The price in pass credits; null when paid in money."
    )


def price_of(amount: int, currency: str, credits: int | None) -> Price:
    if credits is not None:
        return Price(money=None, credits=credits)
    return Price(money=Money(amount=amount, currency=currency), credits=None)
