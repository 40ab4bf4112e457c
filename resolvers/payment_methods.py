"""Saved cards: the one module behind the staff portal's and the member portal's card forms.

A card is added in two calls. `setup_start` makes sure the customer has a Stripe customer on the
business's connected account and creates a SetupIntent for it; its client secret goes to
Stripe.js, which collects the card, so the card itself never reaches us. `setup_complete`
retrieves the SetupIntent on the same account, checks that it succeeded and that it is the one
we made for this customer (its `metadata.pending_id` is our `stripe_calls` row, whose subject is
the customer), attaches the PaymentMethod explicitly and stores its id with a display summary.
Cards are listed, made the default and removed (detached at Stripe first) here too.

Who may act: staff for any customer of their business; a customer for themselves only (anyone
else's cards are answered as NOT_FOUND, like another business's); additional users never (the
schema refuses them before anything here runs). No Stripe request is made while a database
transaction, the request's read snapshot included, is open.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import Any, TypeVar, cast

from sqlalchemy import Row, Table, text
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncConnection

from integrations.stripe_client import (
    ConnectedAccount,
    StripeCallError,
    StripeGateway,
    StripePermanentError,
    StripeUnavailable,
)
from models import PaymentMethod
from resolvers import account_history, stripe_calls
from resolvers.account_history import Actor
from resolvers.mutations import run
from resolvers.stripe_calls import provider_unavailable
from schema.errors import ErrorCode, UserError, UserFacingError, user_error
from server.auth import Role, Viewer
from server.context import Context
from server.db import ReadTransaction

T = TypeVar("T")

cards = cast(Table, PaymentMethod.__table__)

# How a setup start that found another request creating the customer's Stripe customer looks
# again: soon, then less often. It waits at most the other request's whole Stripe budget.
FIRST_WAIT_S = 0.05
LONGEST_WAIT_S = 1.0

ADDED = "payment_method.added"
REMOVED = "payment_method.removed"
DEFAULT_CHANGED = "payment_method.default_changed"

CARD_COLUMNS = (
    "pm.id, pm.customer_id, pm.brand, pm.last4, pm.exp_month, pm.exp_year, pm.is_default, "
    "pm.created_at"
)
# Default first, then the newest: the order of every list, and who inherits the default.
CARD_ORDER = "pm.is_default DESC, pm.created_at DESC, pm.id DESC"


@dataclass(frozen=True)
class SetupStarted:
    """What Stripe.js needs to collect a card: the SetupIntent, its client secret and the
    connected account it lives on."""

    setup_intent_id: str
    client_secret: str
    stripe_account_id: str


@dataclass(frozen=True)
class Changed:
    """The customer whose cards changed, and the card the change was about."""

    customer_id: uuid.UUID
    payment_method_id: uuid.UUID


def _refused(code: ErrorCode, field: str | None, message: str) -> UserFacingError:
    return UserFacingError(user_error(code, field, message))


def _no_customer(field: str) -> UserFacingError:
    return _refused(ErrorCode.NOT_FOUND, field, "No such customer in this business.")


def _no_card(field: str) -> UserFacingError:
    return _refused(ErrorCode.NOT_FOUND, field, "No such card in this business.")


def _no_setup(field: str) -> UserFacingError:
    return _refused(ErrorCode.NOT_FOUND, field, "No such card setup for this customer.")


def _stripe_down(action: str) -> UserFacingError:
    return provider_unavailable(f"Stripe did not answer while {action}; try again in a minute.")


def _viewer(context: Context) -> Viewer:
    assert context.viewer is not None, "reached only through the permission check"
    return context.viewer


def _may_act_for(viewer: Viewer, customer_id: uuid.UUID) -> bool:
    """Staff act for every customer of their business (row-level security keeps the rest out);
    a customer only for themselves; an additional user for nobody."""
    if viewer.is_staff:
        return True
    return viewer.role is Role.CUSTOMER and viewer.subject_id == customer_id


def _check_may_act(viewer: Viewer, customer_id: uuid.UUID, error: UserFacingError) -> None:
    if not _may_act_for(viewer, customer_id):
        raise error


async def _answer(
    context: Context, action: Callable[[], Awaitable[T]]
) -> tuple[T | None, list[UserError]]:
    """Run a multi-step operation; refusals come back as errors, and later reads come from a
    fresh snapshot."""
    try:
        return await action(), []
    except UserFacingError as refused:
        return None, refused.errors
    finally:
        await context.fresh_snapshot()


async def _read(context: Context, sql: str, params: dict[str, Any]) -> Row[Any] | None:
    """One row from the request's snapshot, which is then closed: a Stripe call may follow, and
    no transaction may be held across one."""
    try:
        return (await context.reader.execute(text(sql), params)).first()
    finally:
        await context.fresh_snapshot()


def _account(context: Context, stripe_account_id: str | None) -> ConnectedAccount:
    """The business's connected account; PAYMENT_PROVIDER_UNAVAILABLE when payments are off."""
    if context.stripe is None:
        raise provider_unavailable("Payments are not configured on this server.")
    try:
        return context.stripe.for_account(stripe_account_id)
    except StripeUnavailable as error:
        raise provider_unavailable(str(error)) from error


def _gateway(context: Context) -> StripeGateway:
    assert context.stripe is not None, "checked by `_account` first"
    return context.stripe


# Reads ------------------------------------------------------------------------------------------


async def cards_by_customer(
    reader: ReadTransaction, business_id: uuid.UUID, customer_ids: Sequence[uuid.UUID]
) -> dict[uuid.UUID, list[Row[Any]]]:
    """The saved cards of each customer that exists in the business (default first, then the
    newest), in one statement whatever the number of customers: ready to back a loader when
    `Customer` gets a card list. Customers that do not exist are absent from the answer."""
    if not customer_ids:
        return {}
    rows = (
        await reader.execute(
            text(
                f"SELECT c.id AS owner_id, {CARD_COLUMNS} FROM customers c "
                "LEFT JOIN payment_methods pm "
                "ON pm.business_id = c.business_id AND pm.customer_id = c.id "
                "WHERE c.business_id = :b "
                f"AND c.id = ANY(:ids) ORDER BY c.id, {CARD_ORDER}"
            ),
            {"b": business_id, "ids": list(customer_ids)},
        )
    ).all()
    found: dict[uuid.UUID, list[Row[Any]]] = {}
    for row in rows:
        listed = found.setdefault(row.owner_id, [])
        if row.id is not None:
            listed.append(row)
    return found


async def list_cards(context: Context, customer_id: uuid.UUID) -> list[Row[Any]] | None:
    """The customer's saved cards, or None when there is no such customer the viewer may act
    for (indistinguishable from a missing one)."""
    viewer = _viewer(context)
    if not _may_act_for(viewer, customer_id):
        return None
    found = await cards_by_customer(context.reader, viewer.business_id, [customer_id])
    return found.get(customer_id)


# Adding a card: step 1 ---------------------------------------------------------------------------


async def setup_start(
    context: Context, customer_id: uuid.UUID
) -> tuple[SetupStarted | None, list[UserError]]:
    """Start saving a card for the customer: their Stripe customer (made once, whatever the
    number of concurrent starts), then a SetupIntent for it."""
    return await _answer(context, lambda: _setup_start(context, customer_id))


async def _setup_start(context: Context, customer_id: uuid.UUID) -> SetupStarted:
    viewer = _viewer(context)
    _check_may_act(viewer, customer_id, _no_customer("customerId"))
    found = await _read(
        context,
        "SELECT b.stripe_account_id, c.id AS customer_id, c.stripe_customer_id, c.merged_into_id "
        "FROM businesses b LEFT JOIN customers c ON c.business_id = b.id AND c.id = :c "
        "WHERE b.id = :b",
        {"b": viewer.business_id, "c": customer_id},
    )
    if found is None or found.customer_id is None:
        raise _no_customer("customerId")
    _refuse_merged(found.merged_into_id)
    account = _account(context, found.stripe_account_id)
    stripe_customer = found.stripe_customer_id or await _ensure_stripe_customer(
        context, customer_id
    )

    async def prepare(conn: AsyncConnection) -> stripe_calls.CallRequest:
        current = await _customer_for_update(conn, viewer.business_id, customer_id)
        if current is None:
            raise _no_customer("customerId")
        return stripe_calls.setup_intent_request(customer_id, stripe_customer_id=stripe_customer)

    outcome = await stripe_calls.run(
        context.db, _gateway(context), viewer.business_id, prepare, counter=context.counter
    )
    if outcome.status == stripe_calls.FAILED:
        raise provider_unavailable(
            f"Stripe refused to start saving a card: {outcome.failure_reason}"
        )
    if outcome.status != stripe_calls.SUCCEEDED or outcome.stripe_object is None:
        raise _stripe_down("starting to save the card")
    setup = outcome.stripe_object
    return SetupStarted(setup.id, setup.client_secret, account.account_id)


def _refuse_merged(merged_into_id: uuid.UUID | None) -> None:
    if merged_into_id is not None:
        raise _refused(
            ErrorCode.INVALID_STATE,
            "customerId",
            "This customer was merged into another: save cards on that customer.",
        )


async def _customer_for_update(
    conn: AsyncConnection, business_id: uuid.UUID, customer_id: uuid.UUID
) -> Row[Any] | None:
    """Lock the customer: every change to a customer's cards (and their Stripe customer) takes
    this lock first, so concurrent changes to one customer run one after the other."""
    return (
        await conn.execute(
            text(
                "SELECT id, first_name, last_name, email, stripe_customer_id, merged_into_id "
                "FROM customers WHERE business_id = :b AND id = :c FOR UPDATE"
            ),
            {"b": business_id, "c": customer_id},
        )
    ).first()


class _StripeCustomerReady(Exception):
    """The customer has a Stripe customer: nothing to create."""

    def __init__(self, stripe_customer_id: str) -> None:
        super().__init__(stripe_customer_id)
        self.stripe_customer_id = stripe_customer_id


class _StripeCustomerUnderway(Exception):
    """Another request is creating the customer's Stripe customer right now."""


async def _ensure_stripe_customer(context: Context, customer_id: uuid.UUID) -> str:
    """The customer's Stripe customer, created through a `customer.create` call when missing.

    Two setups started at once must not make two Stripe customers (the cards saved on the
    second would be lost to the first). Under the customer's row lock, a start that finds a
    `customer.create` call still pending for them does not send one of its own: it waits for
    that one to finish, as long as its request may take, and then uses the stored id."""
    viewer = _viewer(context)
    gateway = _gateway(context)
    loop = asyncio.get_running_loop()
    deadline = loop.time() + stripe_calls.request_budget(gateway).total_seconds()
    wait = FIRST_WAIT_S

    async def prepare(conn: AsyncConnection) -> stripe_calls.CallRequest:
        customer = await _customer_for_update(conn, viewer.business_id, customer_id)
        if customer is None:
            raise _no_customer("customerId")
        _refuse_merged(customer.merged_into_id)
        if customer.stripe_customer_id:
            raise _StripeCustomerReady(customer.stripe_customer_id)
        pending = (
            await conn.execute(
                text(
                    "SELECT 1 FROM stripe_calls WHERE business_id = :b AND subject_id = :c "
                    "AND kind = :kind AND status = :pending LIMIT 1"
                ),
                {
                    "b": viewer.business_id,
                    "c": customer_id,
                    "kind": stripe_calls.CUSTOMER.name,
                    "pending": stripe_calls.PENDING,
                },
            )
        ).first()
        if pending is not None:
            raise _StripeCustomerUnderway()
        name = f"{customer.first_name} {customer.last_name}".strip()
        return stripe_calls.customer_request(customer_id, email=customer.email, name=name)

    while True:
        try:
            call = await stripe_calls.begin(
                context.db, gateway, viewer.business_id, prepare, counter=context.counter
            )
        except _StripeCustomerReady as ready:
            return ready.stripe_customer_id
        except _StripeCustomerUnderway:
            if loop.time() >= deadline:
                raise _stripe_down("creating the customer at Stripe") from None
            await asyncio.sleep(wait)
            wait = min(wait * 2, LONGEST_WAIT_S)
            continue
        outcome = await stripe_calls.perform(context.db, gateway, call, counter=context.counter)
        if outcome.status == stripe_calls.FAILED:
            raise provider_unavailable(
                f"Stripe refused to create the customer: {outcome.failure_reason}"
            )
        if outcome.status != stripe_calls.SUCCEEDED:
            raise _stripe_down("creating the customer at Stripe")
        # Succeeded: the next pass reads the id the call stored on the customer.


# Adding a card: step 2 ---------------------------------------------------------------------------


async def setup_complete(
    context: Context, setup_intent_id: str, customer_id: uuid.UUID | None
) -> tuple[Changed | None, list[UserError]]:
    """Store the card of a succeeded SetupIntent that we made for the customer. `customer_id`,
    when given, is the customer the caller expects it to be for. Completing twice stores one
    card."""
    return await _answer(context, lambda: _setup_complete(context, setup_intent_id, customer_id))


async def _setup_complete(
    context: Context, setup_intent_id: str, expected: uuid.UUID | None
) -> Changed:
    viewer = _viewer(context)
    if expected is not None:
        _check_may_act(viewer, expected, _no_customer("customerId"))
    found = await _read(
        context,
        "SELECT b.stripe_account_id, c.id AS customer_id FROM businesses b "
        "LEFT JOIN customers c ON c.business_id = b.id AND c.id = :c WHERE b.id = :b",
        {"b": viewer.business_id, "c": expected},
    )
    if found is None or (expected is not None and found.customer_id is None):
        raise _no_customer("customerId")
    account = _account(context, found.stripe_account_id)

    setup = await _retrieve_setup(account, setup_intent_id)
    owner = await _setup_owner(context, setup)
    if owner is None or (expected is not None and owner.customer_id != expected):
        raise _no_setup("setupIntentId")
    _check_may_act(viewer, owner.customer_id, _no_setup("setupIntentId"))
    if setup.get("status") != "succeeded" or not setup.get("payment_method"):
        raise _refused(
            ErrorCode.INVALID_STATE,
            "setupIntentId",
            "The card has not been confirmed yet: finish entering it, then try again.",
        )
    if owner.stored_card_id is not None:
        # Completed before: the card is stored and attached; nothing to send again.
        return Changed(owner.customer_id, owner.stored_card_id)
    payment_method_id = _object_id(setup["payment_method"])
    summary = await _attach(account, payment_method_id, setup["customer"])
    card_id = await _store_card(
        context, owner.customer_id, setup["customer"], payment_method_id, summary
    )
    return Changed(owner.customer_id, card_id)


async def _retrieve_setup(account: ConnectedAccount, setup_intent_id: str) -> dict[str, Any]:
    try:
        setup = await account.retrieve_setup_intent(setup_intent_id)
    except StripePermanentError:
        raise _no_setup("setupIntentId") from None
    except StripeCallError:
        raise _stripe_down("looking up the card setup") from None
    return stripe_calls.as_dict(setup)


@dataclass(frozen=True)
class _SetupOwner:
    customer_id: uuid.UUID
    stored_card_id: uuid.UUID | None


async def _setup_owner(context: Context, setup: dict[str, Any]) -> _SetupOwner | None:
    """The customer we created this SetupIntent for, when it is ours and still on their Stripe
    customer: its `metadata.pending_id` names our call row, whose subject is the customer. None
    for anything else (made elsewhere, another business's, tampered with)."""
    metadata = setup.get("metadata")
    try:
        pending_id = uuid.UUID(
            str(metadata.get("pending_id")) if isinstance(metadata, dict) else ""
        )
    except ValueError:
        return None
    stripe_customer = setup.get("customer")
    if not isinstance(stripe_customer, str):
        return None
    viewer = _viewer(context)
    row = await _read(
        context,
        "SELECT c.id AS customer_id, pm.id AS stored_card_id FROM stripe_calls sc "
        "JOIN customers c ON c.business_id = sc.business_id AND c.id = sc.subject_id "
        "LEFT JOIN payment_methods pm ON pm.business_id = c.business_id "
        "AND pm.customer_id = c.id AND pm.stripe_payment_method_id = :pm "
        "WHERE sc.business_id = :b AND sc.id = :call AND sc.kind = :kind "
        "AND sc.params ->> 'customer' = :sc AND c.stripe_customer_id = :sc",
        {
            "b": viewer.business_id,
            "call": pending_id,
            "kind": stripe_calls.SETUP_INTENT.name,
            "sc": stripe_customer,
            "pm": _object_id(setup.get("payment_method")) or "",
        },
    )
    return _SetupOwner(row.customer_id, row.stored_card_id) if row is not None else None


def _object_id(value: Any) -> str:
    """An id from a field Stripe may send as an id or as the expanded object."""
    if isinstance(value, dict):
        return str(value.get("id") or "")
    return str(value or "")


@dataclass(frozen=True)
class CardSummary:
    brand: str
    last4: str
    exp_month: int
    exp_year: int

    def as_history(self, is_default: bool) -> dict[str, Any]:
        return {
            "brand": self.brand,
            "last4": self.last4,
            "expiry": f"{self.exp_month:02d}/{self.exp_year}",
            "isDefault": is_default,
        }


async def _attach(
    account: ConnectedAccount, payment_method_id: str, stripe_customer: str
) -> CardSummary:
    """Attach the PaymentMethod to the customer's Stripe customer (harmless when it already
    is) and read its display summary from the answer."""
    try:
        attached = stripe_calls.as_dict(
            await account.attach_payment_method(payment_method_id, customer=stripe_customer)
        )
    except StripePermanentError as error:
        raise _refused(
            ErrorCode.INVALID, "setupIntentId", f"Stripe refused the card: {error.message}"
        ) from None
    except StripeCallError:
        raise _stripe_down("saving the card") from None
    card = attached.get("card")
    if attached.get("type") != "card" or not isinstance(card, dict):
        raise _refused(ErrorCode.INVALID, "setupIntentId", "Only cards can be saved.")
    summary = CardSummary(
        brand=str(card.get("brand") or "unknown")[:32],
        last4=str(card.get("last4") or "")[-4:],
        exp_month=int(card.get("exp_month") or 0),
        exp_year=int(card.get("exp_year") or 0),
    )
    if not 1 <= summary.exp_month <= 12 or not 1000 <= summary.exp_year <= 9999:
        raise _refused(ErrorCode.INVALID, "setupIntentId", "Stripe sent no usable card expiry.")
    return summary


async def _store_card(
    context: Context,
    customer_id: uuid.UUID,
    stripe_customer: str,
    payment_method_id: str,
    summary: CardSummary,
) -> uuid.UUID:
    business_id = _viewer(context).business_id

    async def work(conn: AsyncConnection, actor: Actor) -> uuid.UUID:
        customer = await _customer_for_update(conn, business_id, customer_id)
        if customer is None or customer.stripe_customer_id != stripe_customer:
            raise _no_setup("setupIntentId")
        has_default = (
            await conn.execute(
                text(
                    "SELECT EXISTS (SELECT 1 FROM payment_methods WHERE business_id = :b "
                    "AND customer_id = :c AND is_default)"
                ),
                {"b": business_id, "c": customer_id},
            )
        ).scalar_one()
        inserted = (
            await conn.execute(
                insert(cards)
                .values(
                    business_id=business_id,
                    customer_id=customer_id,
                    stripe_payment_method_id=payment_method_id,
                    brand=summary.brand,
                    last4=summary.last4,
                    exp_month=summary.exp_month,
                    exp_year=summary.exp_year,
                    is_default=not has_default,
                )
                .on_conflict_do_nothing(index_elements=["business_id", "stripe_payment_method_id"])
                .returning(cards.c.id)
            )
        ).scalar_one_or_none()
        if inserted is None:
            # A concurrent completion of the same SetupIntent stored it first.
            return await _stored_card(conn, business_id, customer_id, payment_method_id)
        await account_history.record(
            conn,
            business_id=business_id,
            actor=actor,
            action=ADDED,
            customer_id=customer_id,
            customer_name=_name(customer),
            subject_type="PaymentMethod",
            subject_id=inserted,
            after=summary.as_history(not has_default),
        )
        return cast(uuid.UUID, inserted)

    stored, errors = await run(context, work)
    if errors:
        raise UserFacingError(*errors)
    assert stored is not None
    return stored


async def _stored_card(
    conn: AsyncConnection, business_id: uuid.UUID, customer_id: uuid.UUID, payment_method_id: str
) -> uuid.UUID:
    found = (
        await conn.execute(
            text(
                "SELECT id FROM payment_methods WHERE business_id = :b AND customer_id = :c "
                "AND stripe_payment_method_id = :pm"
            ),
            {"b": business_id, "c": customer_id, "pm": payment_method_id},
        )
    ).scalar_one_or_none()
    if found is None:
        # Stripe lets one PaymentMethod belong to one customer only; a row of another customer
        # for it would mean our records and Stripe's disagree.
        raise _refused(
            ErrorCode.INVALID_STATE, "setupIntentId", "This card is saved for another customer."
        )
    return cast(uuid.UUID, found)


def _name(customer: Row[Any]) -> str:
    return f"{customer.first_name} {customer.last_name}".strip()


# Default and removal ----------------------------------------------------------------------------


def _summary(card: Row[Any], is_default: bool | None = None) -> dict[str, Any]:
    return CardSummary(card.brand, card.last4, card.exp_month, card.exp_year).as_history(
        card.is_default if is_default is None else is_default
    )


async def _card(
    conn: AsyncConnection, business_id: uuid.UUID, card_id: uuid.UUID
) -> Row[Any] | None:
    return (
        await conn.execute(
            text(
                f"SELECT {CARD_COLUMNS}, pm.stripe_payment_method_id FROM payment_methods pm "
                "WHERE pm.business_id = :b AND pm.id = :id"
            ),
            {"b": business_id, "id": card_id},
        )
    ).first()


async def _provider_in(conn: AsyncConnection, context: Context) -> None:
    """PAYMENT_PROVIDER_UNAVAILABLE when the business cannot take payments."""
    account = (
        await conn.execute(
            text("SELECT stripe_account_id FROM businesses WHERE id = :b"),
            {"b": _viewer(context).business_id},
        )
    ).scalar()
    _account(context, account)


async def set_default(
    context: Context, card_id: uuid.UUID
) -> tuple[Changed | None, list[UserError]]:
    """Make the card the customer's default (the one later payments use)."""
    viewer = _viewer(context)

    async def work(conn: AsyncConnection, actor: Actor) -> Changed:
        card = await _card(conn, viewer.business_id, card_id)
        if card is None or not _may_act_for(viewer, card.customer_id):
            raise _no_card("id")
        await _provider_in(conn, context)
        customer = await _customer_for_update(conn, viewer.business_id, card.customer_id)
        card = await _card(conn, viewer.business_id, card_id)  # it may have gone while we waited
        if customer is None or card is None:
            raise _no_card("id")
        if card.is_default:
            return Changed(card.customer_id, card_id)
        previous = (
            await conn.execute(
                text(
                    f"UPDATE payment_methods pm SET is_default = false WHERE pm.business_id = :b "
                    f"AND pm.customer_id = :c AND pm.is_default RETURNING {CARD_COLUMNS}"
                ),
                {"b": viewer.business_id, "c": card.customer_id},
            )
        ).first()
        await conn.execute(
            text(
                "UPDATE payment_methods SET is_default = true WHERE business_id = :b AND id = :id"
            ),
            {"b": viewer.business_id, "id": card_id},
        )
        await _record_default(conn, actor, viewer.business_id, customer, previous, card)
        return Changed(card.customer_id, card_id)

    return await run(context, work)


async def _record_default(
    conn: AsyncConnection,
    actor: Actor,
    business_id: uuid.UUID,
    customer: Row[Any],
    previous: Row[Any] | None,
    new: Row[Any],
) -> None:
    await account_history.record(
        conn,
        business_id=business_id,
        actor=actor,
        action=DEFAULT_CHANGED,
        customer_id=customer.id,
        customer_name=_name(customer),
        subject_type="PaymentMethod",
        subject_id=new.id,
        before={"default": _summary(previous, True) if previous is not None else None},
        after={"default": _summary(new, True)},
    )


async def remove(context: Context, card_id: uuid.UUID) -> tuple[Changed | None, list[UserError]]:
    """Detach the card at Stripe, then forget it; when it was the default, the newest card left
    becomes the default."""
    return await _answer(context, lambda: _remove(context, card_id))


async def _remove(context: Context, card_id: uuid.UUID) -> Changed:
    viewer = _viewer(context)
    found = await _read(
        context,
        "SELECT b.stripe_account_id, pm.customer_id, pm.stripe_payment_method_id, "
        "c.stripe_customer_id FROM businesses b "
        "JOIN payment_methods pm ON pm.business_id = b.id AND pm.id = :id "
        "JOIN customers c ON c.business_id = pm.business_id AND c.id = pm.customer_id "
        "WHERE b.id = :b",
        {"b": viewer.business_id, "id": card_id},
    )
    if found is None or not _may_act_for(viewer, found.customer_id):
        raise _no_card("id")
    account = _account(context, found.stripe_account_id)
    # Detach first: a card we forgot but Stripe still holds could still be charged, while a
    # row left behind by a failure here is removed by trying again.
    await _detach(account, found.stripe_payment_method_id, found.stripe_customer_id)

    async def work(conn: AsyncConnection, actor: Actor) -> Changed:
        customer = await _customer_for_update(conn, viewer.business_id, found.customer_id)
        removed = (
            await conn.execute(
                text(
                    "DELETE FROM payment_methods pm WHERE pm.business_id = :b AND pm.id = :id "
                    f"RETURNING {CARD_COLUMNS}"
                ),
                {"b": viewer.business_id, "id": card_id},
            )
        ).first()
        if customer is None or removed is None:
            raise _no_card("id")  # removed meanwhile, with its customer or by another request
        await account_history.record(
            conn,
            business_id=viewer.business_id,
            actor=actor,
            action=REMOVED,
            customer_id=customer.id,
            customer_name=_name(customer),
            subject_type="PaymentMethod",
            subject_id=card_id,
            before=_summary(removed),
        )
        if removed.is_default:
            await _promote_newest(conn, actor, viewer.business_id, customer, removed)
        return Changed(customer.id, card_id)

    changed, errors = await run(context, work)
    if errors:
        raise UserFacingError(*errors)
    assert changed is not None
    return changed


async def _detach(
    account: ConnectedAccount, payment_method_id: str, stripe_customer: str | None
) -> None:
    try:
        await account.detach_payment_method(payment_method_id)
    except StripePermanentError as error:
        # Refused because it is already off the customer (an earlier removal got this far, or
        # it was removed in Stripe's dashboard): then there is nothing left to detach.
        if await _still_attached(account, payment_method_id, stripe_customer):
            raise _refused(
                ErrorCode.INVALID, "id", f"Stripe refused to remove the card: {error.message}"
            ) from None
    except StripeCallError:
        raise _stripe_down("removing the card") from None


async def _still_attached(
    account: ConnectedAccount, payment_method_id: str, stripe_customer: str | None
) -> bool:
    if not stripe_customer:
        return False
    try:
        held = await account.list_payment_methods(customer=stripe_customer)
    except StripeCallError:
        raise _stripe_down("removing the card") from None
    return any(card.id == payment_method_id for card in held)


async def _promote_newest(
    conn: AsyncConnection,
    actor: Actor,
    business_id: uuid.UUID,
    customer: Row[Any],
    removed: Row[Any],
) -> None:
    newest = (
        await conn.execute(
            text(
                f"UPDATE payment_methods pm SET is_default = true WHERE pm.business_id = :b "
                f"AND pm.id = (SELECT pm.id FROM payment_methods pm WHERE pm.business_id = :b "
                f"AND pm.customer_id = :c ORDER BY {CARD_ORDER} LIMIT 1) RETURNING {CARD_COLUMNS}"
            ),
            {"b": business_id, "c": customer.id},
        )
    ).first()
    if newest is not None:
        await _record_default(conn, actor, business_id, customer, removed, newest)
