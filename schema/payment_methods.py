"""Saved cards, for the staff portal and the member portal alike: adding one through a Stripe
SetupIntent, listing, choosing the default, removing.

Every field here takes the customer the same way: staff name them (`customerId`); a member
(customer token) may name themselves or leave `customerId` out, which means "me", and anyone
else's cards are answered exactly like another business's (NOT_FOUND, or null for the list).
Additional users are refused every field with FORBIDDEN: payment methods are the buyer's alone.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated, Any

import strawberry
from sqlalchemy import Row
from strawberry.types import Info

from resolvers import payment_methods
from schema.errors import ApiError, ErrorCode, UserError
from schema.permissions import STAFF, RolePermission, authenticated_viewer
from server.auth import Role
from server.context import Context

MAX_SETUP_INTENT_ID = 255


class MayUsePaymentMethods(RolePermission):
    """Staff and customers; never additional users."""

    roles = STAFF | {Role.CUSTOMER}
    phrase = "a member"
    message = "Additional users cannot see or change payment methods."


@strawberry.type(
    description="A card saved at Stripe for a customer. Only Stripe's id (kept private) and this "
    "display summary are stored: the card number never reaches this service."
)
class PaymentMethod:
    id: strawberry.ID = strawberry.field(description="The saved card's UUID.")
    customer_id: strawberry.ID = strawberry.field(description="The customer it belongs to.")
    brand: str = strawberry.field(description="Card brand as Stripe names it, e.g. visa.")
    last4: str = strawberry.field(description="Last four digits.")
    exp_month: int = strawberry.field(description="Expiry month (1-12).")
    exp_year: int = strawberry.field(description="Expiry year (four digits).")
    expiry: str = strawberry.field(description='Expiry as printed on the card, e.g. "04/2027".')
    is_default: bool = strawberry.field(
        description="The card later payments use. A customer with cards has exactly one."
    )
    created_at: datetime = strawberry.field(description="When the card was saved.")

    @classmethod
    def from_row(cls, row: Row[Any]) -> PaymentMethod:
        return cls(
            id=strawberry.ID(str(row.id)),
            customer_id=strawberry.ID(str(row.customer_id)),
            brand=row.brand,
            last4=row.last4,
            exp_month=row.exp_month,
            exp_year=row.exp_year,
            expiry=f"{row.exp_month:02d}/{row.exp_year}",
            is_default=row.is_default,
            created_at=row.created_at,
        )


@strawberry.type(
    description="Step 1 of saving a card: what Stripe.js needs to collect it. Confirm the "
    "SetupIntent with Stripe.js (`stripe.confirmSetup` / `confirmCardSetup`, Stripe initialised "
    "with `stripeAccount`), then call `paymentMethodSetupComplete`."
)
class PaymentMethodSetupStartPayload:
    setup_intent_id: str | None = strawberry.field(
        description="The SetupIntent's id: pass it to `paymentMethodSetupComplete`."
    )
    client_secret: str | None = strawberry.field(
        description="The SetupIntent's client secret, for Stripe.js only. It is not stored here."
    )
    stripe_account_id: str | None = strawberry.field(
        description="The business's connected Stripe account: Stripe.js must be initialised "
        "with it (`stripeAccount`)."
    )
    errors: list[UserError] = strawberry.field(description="Empty on success.")


@strawberry.type(description="The result of saving a card or choosing the default one.")
class PaymentMethodPayload:
    payment_method: PaymentMethod | None = strawberry.field(description="The card.")
    payment_methods: list[PaymentMethod] | None = strawberry.field(
        description="All the customer's cards after the change: the default first, then the newest."
    )
    errors: list[UserError] = strawberry.field(description="Empty on success.")


@strawberry.type(description="The result of removing a card.")
class PaymentMethodRemovePayload:
    removed_id: strawberry.ID | None = strawberry.field(description="The card that was removed.")
    payment_methods: list[PaymentMethod] | None = strawberry.field(
        description="The customer's cards left (the default first, then the newest)."
    )
    errors: list[UserError] = strawberry.field(description="Empty on success.")


CustomerIdArg = Annotated[
    strawberry.ID | None,
    strawberry.argument(
        description="The customer. Staff must name one; a member may name themselves or leave it "
        'out, meaning "me". Another customer\'s id is answered as not found.'
    ),
]
CardIdArg = Annotated[strawberry.ID, strawberry.argument(description="The saved card's id.")]


def _uuid(value: str, field: str) -> uuid.UUID:
    try:
        return uuid.UUID(str(value))
    except ValueError as error:
        raise ApiError(ErrorCode.INVALID_ARGUMENT, "This id is not a valid UUID.", field) from error


def _customer(info: Info[Context, Any], value: strawberry.ID | None) -> uuid.UUID:
    """The customer an operation is for: the one named, or the member themselves."""
    if value is not None:
        return _uuid(value, "customerId")
    viewer = authenticated_viewer(info)
    if viewer.role is Role.CUSTOMER:
        return viewer.subject_id
    raise ApiError(ErrorCode.INVALID_ARGUMENT, "Name the customer.", "customerId")


def _optional_customer(info: Info[Context, Any], value: strawberry.ID | None) -> uuid.UUID | None:
    """As `_customer`, but staff may leave it out (the SetupIntent names its customer)."""
    if value is None and authenticated_viewer(info).is_staff:
        return None
    return _customer(info, value)


async def _cards(info: Info[Context, Any], customer_id: uuid.UUID) -> list[PaymentMethod]:
    viewer = authenticated_viewer(info)
    rows = await payment_methods.cards_by_customer(
        info.context.reader, viewer.business_id, [customer_id]
    )
    return [PaymentMethod.from_row(row) for row in rows.get(customer_id, [])]


async def _payload(
    info: Info[Context, Any], changed: payment_methods.Changed | None, errors: list[UserError]
) -> PaymentMethodPayload:
    if changed is None:
        return PaymentMethodPayload(payment_method=None, payment_methods=None, errors=errors)
    cards = await _cards(info, changed.customer_id)
    card = next((c for c in cards if c.id == str(changed.payment_method_id)), None)
    return PaymentMethodPayload(payment_method=card, payment_methods=cards, errors=errors)


@strawberry.type(description="Reads of saved cards.")
class PaymentMethodQueries:
    @strawberry.field(
        description="A customer's saved cards: the default first, then the newest. Null when "
        "there is no such customer the viewer may see. Staff: any customer of the business; "
        'a member: themselves (leave `customerId` out for "me"). Additional users: FORBIDDEN.',
        permission_classes=[MayUsePaymentMethods],
    )
    async def payment_methods(
        self, info: Info[Context, Any], customer_id: CustomerIdArg = None
    ) -> list[PaymentMethod] | None:
        rows = await payment_methods.list_cards(info.context, _customer(info, customer_id))
        return [PaymentMethod.from_row(row) for row in rows] if rows is not None else None


@strawberry.type(description="Changes to saved cards.")
class PaymentMethodMutations:
    @strawberry.mutation(
        description="Start saving a card: gives the customer a Stripe customer on the "
        "business's connected account if they have none, and returns a SetupIntent for "
        "Stripe.js. The card is entered in Stripe.js and never reaches this service. Staff for "
        "any customer, a member for themselves; PAYMENT_PROVIDER_UNAVAILABLE when the business "
        "cannot take payments.",
        permission_classes=[MayUsePaymentMethods],
    )
    async def payment_method_setup_start(
        self, info: Info[Context, Any], customer_id: CustomerIdArg = None
    ) -> PaymentMethodSetupStartPayload:
        started, errors = await payment_methods.setup_start(
            info.context, _customer(info, customer_id)
        )
        return PaymentMethodSetupStartPayload(
            setup_intent_id=started.setup_intent_id if started else None,
            client_secret=started.client_secret if started else None,
            stripe_account_id=started.stripe_account_id if started else None,
            errors=errors,
        )

    @strawberry.mutation(
        description="Finish saving a card once Stripe.js has confirmed the SetupIntent: checks "
        "it succeeded for this customer, attaches the card to their Stripe customer and stores "
        "its summary. The first card becomes the default. Completing twice stores it once. "
        "NOT_FOUND for a SetupIntent that is not this customer's; INVALID_STATE while it is "
        "not confirmed yet. Staff for any customer, a member for themselves.",
        permission_classes=[MayUsePaymentMethods],
    )
    async def payment_method_setup_complete(
        self,
        info: Info[Context, Any],
        setup_intent_id: Annotated[
            str,
            strawberry.argument(description="The id `paymentMethodSetupStart` returned."),
        ],
        customer_id: Annotated[
            strawberry.ID | None,
            strawberry.argument(
                description="The customer the card is for, checked against the SetupIntent. "
                'Optional: members may leave it out ("me"), and staff may rely on the '
                "SetupIntent, which names its customer."
            ),
        ] = None,
    ) -> PaymentMethodPayload:
        if not setup_intent_id.startswith("seti_") or len(setup_intent_id) > MAX_SETUP_INTENT_ID:
            raise ApiError(
                ErrorCode.INVALID_ARGUMENT,
                "This is not a Stripe SetupIntent id (seti_...).",
                "setupIntentId",
            )
        changed, errors = await payment_methods.setup_complete(
            info.context, setup_intent_id, _optional_customer(info, customer_id)
        )
        return await _payload(info, changed, errors)

    @strawberry.mutation(
        description="Make a saved card the customer's default (the one later payments use). "
        "Staff for any customer, a member for their own cards.",
        permission_classes=[MayUsePaymentMethods],
    )
    async def payment_method_set_default(
        self, info: Info[Context, Any], id: CardIdArg
    ) -> PaymentMethodPayload:
        changed, errors = await payment_methods.set_default(info.context, _uuid(id, "id"))
        return await _payload(info, changed, errors)

    @strawberry.mutation(
        description="Remove a saved card: it is detached from the customer at Stripe, then "
        "forgotten here. When it was the default, the newest card left becomes the default. "
        "Staff for any customer, a member for their own cards.",
        permission_classes=[MayUsePaymentMethods],
    )
    async def payment_method_remove(
        self, info: Info[Context, Any], id: CardIdArg
    ) -> PaymentMethodRemovePayload:
        card_id = _uuid(id, "id")
        changed, errors = await payment_methods.remove(info.context, card_id)
        if changed is None:
            return PaymentMethodRemovePayload(removed_id=None, payment_methods=None, errors=errors)
        return PaymentMethodRemovePayload(
            removed_id=strawberry.ID(str(card_id)),
            payment_methods=await _cards(info, changed.customer_id),
            errors=errors,
        )
