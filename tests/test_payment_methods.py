"""Saved cards through GraphQL against localstripe: adding one through a SetupIntent (Stripe.js's
part played by the test), listing, the default, removal, and who may do what."""

from __future__ import annotations

import asyncio
import json
import uuid
from dataclasses import dataclass
from typing import Any

import pytest

from integrations.stripe_client import StripeGateway
from resolvers.payment_methods import cards_by_customer
from server.db import Database, StatementCounter
from tests import factories
from tests.conftest import Api
from tests.fixtures_stripe import (
    STRIPE_JS_AGENT,
    LocalStripe,
    confirm_setup_as_stripe_js,
    connected_account,
)

CARD_FIELDS = "id customerId brand last4 expMonth expYear expiry isDefault"
START = """
mutation($customerId: ID) { paymentMethodSetupStart(customerId: $customerId) {
  setupIntentId clientSecret stripeAccountId errors { code field message } } }
"""
COMPLETE = f"""
mutation($setupIntentId: String!, $customerId: ID) {{
  paymentMethodSetupComplete(setupIntentId: $setupIntentId, customerId: $customerId) {{
    paymentMethod {{ {CARD_FIELDS} }} paymentMethods {{ {CARD_FIELDS} }}
    errors {{ code field message }} }} }}
"""
SET_DEFAULT = f"""
mutation($id: ID!) {{ paymentMethodSetDefault(id: $id) {{
  paymentMethod {{ {CARD_FIELDS} }} paymentMethods {{ {CARD_FIELDS} }}
  errors {{ code field message }} }} }}
"""
REMOVE = f"""
mutation($id: ID!) {{ paymentMethodRemove(id: $id) {{
  removedId paymentMethods {{ {CARD_FIELDS} }} errors {{ code field message }} }} }}
"""
LIST = f"query($customerId: ID) {{ paymentMethods(customerId: $customerId) {{ {CARD_FIELDS} }} }}"
MASTERCARD = {"number": "5555555555554444", "exp_month": "3", "exp_year": "2031", "cvc": "123"}


@dataclass(frozen=True)
class Shop:
    """A business with a connected account and a customer, seen by staff."""

    business: factories.BusinessFixture
    account: str
    customer: Any
    staff: str


@pytest.fixture
async def shop(stripe_api: Api, owner: factories.Owner) -> Shop:
    account = connected_account()
    business = await factories.business(owner, stripe_account_id=account)
    customer = await factories.customer(owner, business.id, "Ada", "Lovelace")
    return Shop(
        business, account, customer, stripe_api.token(business.id, "staff", business.staff_id)
    )


def member(api: Api, shop: Shop, customer: Any | None = None) -> str:
    customer = customer if customer is not None else shop.customer
    return api.token(shop.business.id, "customer", customer["id"])


async def start(api: Api, token: str, customer_id: Any = None) -> dict[str, Any]:
    variables = {"customerId": str(customer_id)} if customer_id is not None else {}
    result: dict[str, Any] = (await api.data(START, variables, token))["paymentMethodSetupStart"]
    return result


async def complete(
    api: Api, token: str, setup_intent_id: str, customer_id: Any = None
) -> dict[str, Any]:
    variables: dict[str, Any] = {"setupIntentId": setup_intent_id}
    if customer_id is not None:
        variables["customerId"] = str(customer_id)
    result: dict[str, Any] = (await api.data(COMPLETE, variables, token))[
        "paymentMethodSetupComplete"
    ]
    return result


async def add_card(
    api: Api,
    localstripe: LocalStripe,
    shop: Shop,
    token: str | None = None,
    customer_id: Any = None,
    card: dict[str, str] | None = None,
) -> dict[str, Any]:
    """Start, confirm as Stripe.js would, complete: the saved card."""
    token = token or shop.staff
    if customer_id is None and token == shop.staff:
        customer_id = shop.customer["id"]
    started = await start(api, token, customer_id)
    assert started["errors"] == []
    confirmed = await confirm_setup_as_stripe_js(
        localstripe, shop.account, started["setupIntentId"], started["clientSecret"], card=card
    )
    assert confirmed["status"] == "succeeded"
    done = await complete(api, token, started["setupIntentId"], customer_id)
    assert done["errors"] == []
    card_added: dict[str, Any] = done["paymentMethod"]
    return card_added


async def history(owner: factories.Owner, customer_id: uuid.UUID) -> list[tuple[Any, ...]]:
    rows = await owner.c.fetch(
        "SELECT action, actor_kind, before, after FROM account_history "
        "WHERE customer_id = $1 AND action LIKE 'payment_method.%' ORDER BY number",
        customer_id,
    )
    return [(r["action"], r["actor_kind"], _json(r["before"]), _json(r["after"])) for r in rows]


def _json(value: str | None) -> Any:
    return json.loads(value) if value is not None else None


async def stripe_cards(gateway: StripeGateway, shop: Shop, owner: factories.Owner) -> list[str]:
    stripe_customer = await owner.c.fetchval(
        "SELECT stripe_customer_id FROM customers WHERE id = $1", shop.customer["id"]
    )
    held = await gateway.for_account(shop.account).list_payment_methods(customer=stripe_customer)
    return sorted(card.id for card in held)


async def stored_ids(owner: factories.Owner, customer_id: uuid.UUID) -> list[str]:
    rows = await owner.c.fetch(
        "SELECT stripe_payment_method_id FROM payment_methods WHERE customer_id = $1 "
        "ORDER BY stripe_payment_method_id",
        customer_id,
    )
    return [r["stripe_payment_method_id"] for r in rows]


# Adding, listing, default, removal ----------------------------------------------------------------


async def test_a_card_saved_through_a_setup_intent_is_listed_as_the_default(
    stripe_api: Api,
    shop: Shop,
    owner: factories.Owner,
    localstripe: LocalStripe,
    stripe_gateway: StripeGateway,
) -> None:
    customer_id = shop.customer["id"]
    started = await start(stripe_api, shop.staff, customer_id)
    assert started["errors"] == []
    assert started["setupIntentId"].startswith("seti_")
    assert started["clientSecret"].startswith(started["setupIntentId"] + "_secret_")
    assert started["stripeAccountId"] == shop.account

    confirmed = await confirm_setup_as_stripe_js(
        localstripe, shop.account, started["setupIntentId"], started["clientSecret"]
    )
    assert confirmed["status"] == "succeeded"
    done = await complete(stripe_api, shop.staff, started["setupIntentId"], customer_id)

    assert done["errors"] == []
    card = done["paymentMethod"]
    assert {k: v for k, v in card.items() if k != "id"} == {
        "customerId": str(customer_id),
        "brand": "visa",
        "last4": "4242",
        "expMonth": 12,
        "expYear": 2030,
        "expiry": "12/2030",
        "isDefault": True,
    }
    assert done["paymentMethods"] == [card]
    listed = await stripe_api.data(LIST, {"customerId": str(customer_id)}, shop.staff)
    assert listed["paymentMethods"] == [card]

    # Only Stripe's id and the summary are kept; the card is attached at Stripe.
    row = await owner.c.fetchrow(
        "SELECT * FROM payment_methods WHERE id = $1", uuid.UUID(card["id"])
    )
    assert row is not None
    assert row["stripe_payment_method_id"] == confirmed["payment_method"]
    assert (row["brand"], row["last4"], row["exp_month"], row["exp_year"], row["is_default"]) == (
        "visa",
        "4242",
        12,
        2030,
        True,
    )
    assert await stripe_cards(stripe_gateway, shop, owner) == [confirmed["payment_method"]]
    assert await history(owner, customer_id) == [
        (
            "payment_method.added",
            "STAFF",
            None,
            {"brand": "visa", "last4": "4242", "expiry": "12/2030", "isDefault": True},
        )
    ]


async def test_a_second_card_is_not_the_default_until_chosen(
    stripe_api: Api, shop: Shop, owner: factories.Owner, localstripe: LocalStripe
) -> None:
    first = await add_card(stripe_api, localstripe, shop)
    second = await add_card(stripe_api, localstripe, shop, card=MASTERCARD)

    assert (second["last4"], second["expiry"], second["isDefault"]) == ("4444", "03/2031", False)
    listed = await stripe_api.data(LIST, {"customerId": str(shop.customer["id"])}, shop.staff)
    assert [(c["id"], c["isDefault"]) for c in listed["paymentMethods"]] == [
        (first["id"], True),
        (second["id"], False),
    ]

    chosen = (await stripe_api.data(SET_DEFAULT, {"id": second["id"]}, shop.staff))[
        "paymentMethodSetDefault"
    ]
    assert chosen["errors"] == []
    assert chosen["paymentMethod"]["isDefault"] is True
    assert [(c["id"], c["isDefault"]) for c in chosen["paymentMethods"]] == [
        (second["id"], True),
        (first["id"], False),
    ]
    # Choosing the default again changes nothing and records nothing.
    again = (await stripe_api.data(SET_DEFAULT, {"id": second["id"]}, shop.staff))[
        "paymentMethodSetDefault"
    ]
    assert again["errors"] == [] and again["paymentMethods"] == chosen["paymentMethods"]
    assert [entry[:2] for entry in await history(owner, shop.customer["id"])] == [
        ("payment_method.added", "STAFF"),
        ("payment_method.added", "STAFF"),
        ("payment_method.default_changed", "STAFF"),
    ]
    changed = (await history(owner, shop.customer["id"]))[-1]
    assert changed[2] == {
        "default": {"brand": "visa", "last4": "4242", "expiry": "12/2030", "isDefault": True}
    }
    assert changed[3] == {
        "default": {"brand": "visa", "last4": "4444", "expiry": "03/2031", "isDefault": True}
    }


async def test_removing_the_default_promotes_the_newest_left_and_detaches_at_stripe(
    stripe_api: Api,
    shop: Shop,
    owner: factories.Owner,
    localstripe: LocalStripe,
    stripe_gateway: StripeGateway,
) -> None:
    first = await add_card(stripe_api, localstripe, shop)
    second = await add_card(stripe_api, localstripe, shop, card=MASTERCARD)
    third = await add_card(stripe_api, localstripe, shop)
    first_stripe_id = await owner.c.fetchval(
        "SELECT stripe_payment_method_id FROM payment_methods WHERE id = $1",
        uuid.UUID(first["id"]),
    )

    removed = (await stripe_api.data(REMOVE, {"id": first["id"]}, shop.staff))[
        "paymentMethodRemove"
    ]

    assert removed["errors"] == [] and removed["removedId"] == first["id"]
    assert [(c["id"], c["isDefault"]) for c in removed["paymentMethods"]] == [
        (third["id"], True),
        (second["id"], False),
    ]
    assert first_stripe_id not in await stripe_cards(stripe_gateway, shop, owner)
    assert len(await stripe_cards(stripe_gateway, shop, owner)) == 2
    detaches = localstripe.sent("POST", f"/v1/payment_methods/{first_stripe_id}/detach")
    assert len(detaches) == 1
    assert [entry[:2] for entry in (await history(owner, shop.customer["id"]))[3:]] == [
        ("payment_method.removed", "STAFF"),
        ("payment_method.default_changed", "STAFF"),
    ]

    # Removing a card that is not the default leaves the default alone; then the last one goes.
    left = (await stripe_api.data(REMOVE, {"id": second["id"]}, shop.staff))["paymentMethodRemove"]
    assert [(c["id"], c["isDefault"]) for c in left["paymentMethods"]] == [(third["id"], True)]
    last = (await stripe_api.data(REMOVE, {"id": third["id"]}, shop.staff))["paymentMethodRemove"]
    assert last["errors"] == [] and last["paymentMethods"] == []
    assert await stripe_cards(stripe_gateway, shop, owner) == []
    gone = (await stripe_api.data(REMOVE, {"id": third["id"]}, shop.staff))["paymentMethodRemove"]
    assert gone["errors"] == [
        {"code": "NOT_FOUND", "field": "id", "message": "No such card in this business."}
    ]


async def test_completing_twice_stores_one_card(
    stripe_api: Api, shop: Shop, owner: factories.Owner, localstripe: LocalStripe
) -> None:
    started = await start(stripe_api, shop.staff, shop.customer["id"])
    await confirm_setup_as_stripe_js(
        localstripe, shop.account, started["setupIntentId"], started["clientSecret"]
    )

    first = await complete(stripe_api, shop.staff, started["setupIntentId"])
    again = await complete(stripe_api, shop.staff, started["setupIntentId"])
    racing = await asyncio.gather(
        *(complete(stripe_api, shop.staff, started["setupIntentId"]) for _ in range(4))
    )

    assert first["errors"] == [] and first["paymentMethod"]["isDefault"] is True
    for answer in [again, *racing]:
        assert answer["errors"] == []
        assert answer["paymentMethod"] == first["paymentMethod"]
        assert answer["paymentMethods"] == [first["paymentMethod"]]
    assert await owner.c.fetchval("SELECT count(*) FROM payment_methods") == 1
    assert [entry[0] for entry in await history(owner, shop.customer["id"])] == [
        "payment_method.added"
    ]


async def test_concurrent_setup_starts_create_one_stripe_customer(
    stripe_api: Api, shop: Shop, owner: factories.Owner, localstripe: LocalStripe
) -> None:
    starts = await asyncio.gather(
        *(start(stripe_api, shop.staff, shop.customer["id"]) for _ in range(6))
    )

    assert all(s["errors"] == [] for s in starts)
    assert len({s["setupIntentId"] for s in starts}) == 6
    assert len(localstripe.sent("POST", "/v1/customers")) == 1
    stripe_customer = await owner.c.fetchval(
        "SELECT stripe_customer_id FROM customers WHERE id = $1", shop.customer["id"]
    )
    created = localstripe.sent("POST", "/v1/setup_intents")
    assert len(created) == 6
    assert {r.form["customer"] for r in created} == {stripe_customer}
    calls = await owner.c.fetch("SELECT kind, status FROM stripe_calls ORDER BY kind")
    assert [(c["kind"], c["status"]) for c in calls] == [("customer.create", "SUCCEEDED")] + [
        ("setup_intent.create", "SUCCEEDED")
    ] * 6

    # A later start reuses the Stripe customer without asking Stripe for one.
    await start(stripe_api, shop.staff, shop.customer["id"])
    assert len(localstripe.sent("POST", "/v1/customers")) == 1


async def test_every_stripe_call_names_the_connected_account(
    stripe_api: Api, shop: Shop, localstripe: LocalStripe
) -> None:
    first = await add_card(stripe_api, localstripe, shop)
    await add_card(stripe_api, localstripe, shop)
    await stripe_api.data(REMOVE, {"id": first["id"]}, shop.staff)

    ours = [r for r in localstripe.requests if r.headers.get("User-Agent") != STRIPE_JS_AGENT]
    assert {(r.method, r.path.split("/")[2]) for r in ours} == {
        ("POST", "customers"),
        ("POST", "setup_intents"),
        ("GET", "setup_intents"),
        ("POST", "payment_methods"),
    }
    assert [r.path for r in ours if r.path.endswith("/detach")] != []
    assert [r.path for r in ours if r.path.endswith("/attach")] != []
    assert {r.headers.get("Stripe-Account") for r in ours} == {shop.account}


async def test_cards_of_many_customers_are_read_in_one_statement(
    payments_db: Database, owner: factories.Owner
) -> None:
    business = await factories.business(owner)
    elsewhere = await factories.business(owner)
    two_cards = await factories.customer(owner, business.id)
    no_cards = await factories.customer(owner, business.id)
    foreign = await factories.customer(owner, elsewhere.id)
    for number, (customer, is_default) in enumerate(
        [(two_cards, False), (two_cards, True), (foreign, True)]
    ):
        await owner.insert(
            "payment_methods",
            business_id=customer["business_id"],
            customer_id=customer["id"],
            stripe_payment_method_id=f"pm_{number}",
            brand="visa",
            last4=f"000{number}",
            exp_month=1,
            exp_year=2030,
            is_default=is_default,
        )
    counter = StatementCounter()
    reader = payments_db.reader(business.id, counter)
    try:
        found = await cards_by_customer(
            reader, business.id, [two_cards["id"], no_cards["id"], foreign["id"], uuid.uuid4()]
        )
    finally:
        await reader.close()

    assert {customer: [row.last4 for row in rows] for customer, rows in found.items()} == {
        two_cards["id"]: ["0001", "0000"],
        no_cards["id"]: [],
    }
    assert counter.count == 1


# Refusals -----------------------------------------------------------------------------------------


async def test_another_customers_setup_intent_is_refused(
    stripe_api: Api,
    shop: Shop,
    owner: factories.Owner,
    localstripe: LocalStripe,
    stripe_gateway: StripeGateway,
) -> None:
    other = await factories.customer(owner, shop.business.id, "Grace", "Hopper")
    started = await start(stripe_api, shop.staff, shop.customer["id"])
    await confirm_setup_as_stripe_js(
        localstripe, shop.account, started["setupIntentId"], started["clientSecret"]
    )
    not_theirs = {
        "code": "NOT_FOUND",
        "field": "setupIntentId",
        "message": "No such card setup for this customer.",
    }

    as_staff = await complete(stripe_api, shop.staff, started["setupIntentId"], other["id"])
    as_member = await complete(
        stripe_api, member(stripe_api, shop, other), started["setupIntentId"]
    )

    assert as_staff == {"paymentMethod": None, "paymentMethods": None, "errors": [not_theirs]}
    assert as_member["errors"] == [not_theirs]
    # A SetupIntent made at Stripe by someone else, even on this customer's Stripe customer.
    stripe_customer = await owner.c.fetchval(
        "SELECT stripe_customer_id FROM customers WHERE id = $1", shop.customer["id"]
    )
    foreign = await stripe_gateway.for_account(shop.account).create_setup_intent(
        pending_id=uuid.uuid4(), customer=stripe_customer
    )
    assert foreign.client_secret is not None
    await confirm_setup_as_stripe_js(localstripe, shop.account, foreign.id, foreign.client_secret)
    assert (await complete(stripe_api, shop.staff, foreign.id))["errors"] == [not_theirs]
    missing = await complete(stripe_api, shop.staff, "seti_doesnotexist")
    assert missing["errors"] == [not_theirs]
    assert await owner.c.fetchval("SELECT count(*) FROM payment_methods") == 0
    # The right customer still can.
    mine = await complete(stripe_api, member(stripe_api, shop), started["setupIntentId"])
    assert mine["errors"] == [] and mine["paymentMethod"]["last4"] == "4242"


async def test_an_unconfirmed_setup_intent_is_not_stored(
    stripe_api: Api, shop: Shop, owner: factories.Owner, localstripe: LocalStripe
) -> None:
    started = await start(stripe_api, shop.staff, shop.customer["id"])

    done = await complete(stripe_api, shop.staff, started["setupIntentId"])

    assert done["errors"] == [
        {
            "code": "INVALID_STATE",
            "field": "setupIntentId",
            "message": "The card has not been confirmed yet: finish entering it, then try again.",
        }
    ]
    assert await owner.c.fetchval("SELECT count(*) FROM payment_methods") == 0
    assert localstripe.sent("POST", "/v1/payment_methods") == []


async def test_another_business_is_not_found(
    stripe_api: Api, shop: Shop, owner: factories.Owner, localstripe: LocalStripe
) -> None:
    card = await add_card(stripe_api, localstripe, shop)
    started = await start(stripe_api, shop.staff, shop.customer["id"])
    await confirm_setup_as_stripe_js(
        localstripe, shop.account, started["setupIntentId"], started["clientSecret"]
    )
    elsewhere = await factories.business(owner, stripe_account_id=connected_account())
    their_staff = stripe_api.token(elsewhere.id, "staff", elsewhere.staff_id)
    calls_before = await owner.c.fetchval("SELECT count(*) FROM stripe_calls")
    localstripe.requests.clear()

    started_there = await start(stripe_api, their_staff, shop.customer["id"])
    listed = await stripe_api.data(LIST, {"customerId": str(shop.customer["id"])}, their_staff)
    completed = await complete(stripe_api, their_staff, started["setupIntentId"])
    chosen = (await stripe_api.data(SET_DEFAULT, {"id": card["id"]}, their_staff))[
        "paymentMethodSetDefault"
    ]
    removed = (await stripe_api.data(REMOVE, {"id": card["id"]}, their_staff))[
        "paymentMethodRemove"
    ]

    assert started_there == {
        "setupIntentId": None,
        "clientSecret": None,
        "stripeAccountId": None,
        "errors": [
            {
                "code": "NOT_FOUND",
                "field": "customerId",
                "message": "No such customer in this business.",
            }
        ],
    }
    assert listed == {"paymentMethods": None}
    assert [e["code"] for e in completed["errors"]] == ["NOT_FOUND"]
    assert chosen["errors"] == [
        {"code": "NOT_FOUND", "field": "id", "message": "No such card in this business."}
    ]
    assert removed["errors"] == chosen["errors"]
    assert await owner.c.fetchval("SELECT count(*) FROM stripe_calls") == calls_before
    assert await owner.c.fetchval("SELECT count(*) FROM payment_methods") == 1
    # Only the SetupIntent was looked up (localstripe ignores accounts; Stripe would not find it).
    assert [(r.method, r.path) for r in localstripe.requests] == [
        ("GET", f"/v1/setup_intents/{started['setupIntentId']}")
    ]


async def test_additional_users_are_forbidden_every_payment_method_field(
    stripe_api: Api, shop: Shop, owner: factories.Owner, localstripe: LocalStripe
) -> None:
    card = await add_card(stripe_api, localstripe, shop)
    helper = await factories.additional_user(owner, shop.customer)
    token = stripe_api.token(shop.business.id, "additional_user", helper["id"])
    customer = str(shop.customer["id"])
    requests_before = len(localstripe.requests)

    answers = [
        await stripe_api.post(LIST, {"customerId": customer}, token),
        await stripe_api.post(LIST, {}, token),
        await stripe_api.post(START, {"customerId": customer}, token),
        await stripe_api.post(COMPLETE, {"setupIntentId": "seti_123"}, token),
        await stripe_api.post(SET_DEFAULT, {"id": card["id"]}, token),
        await stripe_api.post(REMOVE, {"id": card["id"]}, token),
    ]

    assert [answer["data"] for answer in answers] == [{"paymentMethods": None}] * 2 + [None] * 4
    for answer in answers:
        assert [e["extensions"]["code"] for e in answer["errors"]] == ["FORBIDDEN"]
        assert answer["errors"][0]["message"] == (
            "Additional users cannot see or change payment methods."
        )
    assert len(localstripe.requests) == requests_before
    assert await owner.c.fetchval("SELECT count(*) FROM payment_methods") == 1


async def test_a_member_manages_their_own_cards_and_nobody_elses(
    stripe_api: Api,
    shop: Shop,
    owner: factories.Owner,
    localstripe: LocalStripe,
    stripe_gateway: StripeGateway,
) -> None:
    me = member(stripe_api, shop)
    neighbour = await factories.customer(owner, shop.business.id, "Grace", "Hopper")
    theirs = await add_card(stripe_api, localstripe, shop, customer_id=neighbour["id"])
    theirs_stripe_id = (await stored_ids(owner, neighbour["id"]))[0]

    # "me" by leaving the id out, or by naming myself.
    first = await add_card(stripe_api, localstripe, shop, token=me)
    second = await add_card(
        stripe_api, localstripe, shop, token=me, customer_id=shop.customer["id"], card=MASTERCARD
    )
    assert first["customerId"] == second["customerId"] == str(shop.customer["id"])
    listed = (await stripe_api.data(LIST, {}, me))["paymentMethods"]
    assert [c["id"] for c in listed] == [first["id"], second["id"]]
    named = await stripe_api.data(LIST, {"customerId": str(shop.customer["id"])}, me)
    assert named["paymentMethods"] == listed
    chosen = (await stripe_api.data(SET_DEFAULT, {"id": second["id"]}, me))[
        "paymentMethodSetDefault"
    ]
    assert chosen["errors"] == [] and chosen["paymentMethod"]["isDefault"] is True
    removed = (await stripe_api.data(REMOVE, {"id": second["id"]}, me))["paymentMethodRemove"]
    assert [(c["id"], c["isDefault"]) for c in removed["paymentMethods"]] == [(first["id"], True)]
    assert {entry[1] for entry in await history(owner, shop.customer["id"])} == {"CUSTOMER"}

    # Another customer of the same business: as if they did not exist.
    not_found = {
        "code": "NOT_FOUND",
        "field": "customerId",
        "message": "No such customer in this business.",
    }
    assert (await start(stripe_api, me, neighbour["id"]))["errors"] == [not_found]
    other_list = await stripe_api.data(LIST, {"customerId": str(neighbour["id"])}, me)
    assert other_list == {"paymentMethods": None}
    for mutation, name in (
        (SET_DEFAULT, "paymentMethodSetDefault"),
        (REMOVE, "paymentMethodRemove"),
    ):
        answer = (await stripe_api.data(mutation, {"id": theirs["id"]}, me))[name]
        assert answer["errors"] == [
            {"code": "NOT_FOUND", "field": "id", "message": "No such card in this business."}
        ]
    their_setup = await start(stripe_api, shop.staff, neighbour["id"])
    await confirm_setup_as_stripe_js(
        localstripe, shop.account, their_setup["setupIntentId"], their_setup["clientSecret"]
    )
    refused = await complete(stripe_api, me, their_setup["setupIntentId"], neighbour["id"])
    assert refused["errors"] == [not_found]
    assert await stored_ids(owner, neighbour["id"]) == [theirs_stripe_id]


async def test_staff_must_name_the_customer_and_ids_must_parse(stripe_api: Api, shop: Shop) -> None:
    cases = [
        (START, {}, "customerId"),
        (LIST, {}, "customerId"),
        (START, {"customerId": "not-a-uuid"}, "customerId"),
        (COMPLETE, {"setupIntentId": "pi_123"}, "setupIntentId"),
        (COMPLETE, {"setupIntentId": "seti_" + "x" * 300}, "setupIntentId"),
        (COMPLETE, {"setupIntentId": "seti_1", "customerId": "nope"}, "customerId"),
        (SET_DEFAULT, {"id": "nope"}, "id"),
        (REMOVE, {"id": "nope"}, "id"),
    ]
    for document, variables, field in cases:
        answer = await stripe_api.post(document, variables, shop.staff)
        assert [(e["extensions"]["code"], e["extensions"]["field"]) for e in answer["errors"]] == [
            ("INVALID_ARGUMENT", field)
        ], (document, variables)


async def test_a_merged_customer_gets_no_new_cards(
    stripe_api: Api, shop: Shop, owner: factories.Owner, localstripe: LocalStripe
) -> None:
    target = await factories.customer(owner, shop.business.id, "Grace", "Hopper")
    merged = await factories.customer(
        owner, shop.business.id, "Ada", "Byron", status="ARCHIVED", merged_into_id=target["id"]
    )

    answer = await start(stripe_api, shop.staff, merged["id"])

    assert answer["errors"] == [
        {
            "code": "INVALID_STATE",
            "field": "customerId",
            "message": "This customer was merged into another: save cards on that customer.",
        }
    ]
    assert localstripe.requests == []


# Payments off, and Stripe failing ----------------------------------------------------------------


async def test_without_stripe_configured_payment_actions_are_unavailable(
    api: Api, owner: factories.Owner
) -> None:
    business = await factories.business(owner, stripe_account_id=connected_account())
    customer = await factories.customer(owner, business.id)
    card = await owner.insert(
        "payment_methods",
        business_id=business.id,
        customer_id=customer["id"],
        stripe_payment_method_id="pm_seeded",
        brand="visa",
        last4="4242",
        exp_month=1,
        exp_year=2030,
        is_default=True,
    )
    staff = api.token(business.id, "staff", business.staff_id)

    answers = [
        (await api.data(START, {"customerId": str(customer["id"])}, staff))[
            "paymentMethodSetupStart"
        ],
        (await api.data(COMPLETE, {"setupIntentId": "seti_1"}, staff))[
            "paymentMethodSetupComplete"
        ],
        (await api.data(SET_DEFAULT, {"id": str(card["id"])}, staff))["paymentMethodSetDefault"],
        (await api.data(REMOVE, {"id": str(card["id"])}, staff))["paymentMethodRemove"],
    ]

    for answer in answers:
        assert [(e["code"], e["field"]) for e in answer["errors"]] == [
            ("PAYMENT_PROVIDER_UNAVAILABLE", None)
        ]
        assert answer["errors"][0]["message"] == "Payments are not configured on this server."
    # Reading what is stored still works.
    listed = await api.data(LIST, {"customerId": str(customer["id"])}, staff)
    assert [c["last4"] for c in listed["paymentMethods"]] == ["4242"]
    assert await owner.c.fetchval("SELECT count(*) FROM stripe_calls") == 0
    assert await owner.c.fetchval("SELECT count(*) FROM payment_methods") == 1


async def test_a_business_without_a_connected_account_cannot_save_cards(
    stripe_api: Api, owner: factories.Owner, localstripe: LocalStripe
) -> None:
    business = await factories.business(owner)
    customer = await factories.customer(owner, business.id)
    me = stripe_api.token(business.id, "customer", customer["id"])

    answer = await start(stripe_api, me)

    assert answer["errors"] == [
        {
            "code": "PAYMENT_PROVIDER_UNAVAILABLE",
            "field": None,
            "message": "This business has not connected a Stripe account.",
        }
    ]
    assert localstripe.requests == []
    assert await owner.c.fetchval("SELECT count(*) FROM stripe_calls") == 0


async def test_stripe_failing_mid_way_stores_nothing_and_a_retry_finishes(
    stripe_api: Api,
    shop: Shop,
    owner: factories.Owner,
    localstripe: LocalStripe,
    stripe_gateway: StripeGateway,
) -> None:
    started = await start(stripe_api, shop.staff, shop.customer["id"])
    await confirm_setup_as_stripe_js(
        localstripe, shop.account, started["setupIntentId"], started["clientSecret"]
    )
    localstripe.fail("POST", "/v1/payment_methods/", when="before", action="error")

    failed = await complete(stripe_api, shop.staff, started["setupIntentId"])

    assert [e["code"] for e in failed["errors"]] == ["PAYMENT_PROVIDER_UNAVAILABLE"]
    assert await owner.c.fetchval("SELECT count(*) FROM payment_methods") == 0
    done = await complete(stripe_api, shop.staff, started["setupIntentId"])
    assert done["errors"] == [] and done["paymentMethod"]["isDefault"] is True

    # A detach that fails keeps the card; trying again removes it.
    localstripe.fail("POST", "/v1/payment_methods/", when="after", action="drop")
    kept = (await stripe_api.data(REMOVE, {"id": done["paymentMethod"]["id"]}, shop.staff))[
        "paymentMethodRemove"
    ]
    assert [e["code"] for e in kept["errors"]] == ["PAYMENT_PROVIDER_UNAVAILABLE"]
    assert await owner.c.fetchval("SELECT count(*) FROM payment_methods") == 1
    removed = (await stripe_api.data(REMOVE, {"id": done["paymentMethod"]["id"]}, shop.staff))[
        "paymentMethodRemove"
    ]
    assert removed["errors"] == [] and removed["paymentMethods"] == []
    assert await stripe_cards(stripe_gateway, shop, owner) == []
