"""Federation of the history and catalog entities: batched `resolve_reference`, the same
authorization as every other read, and tenancy."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Any

import pytest

from tests import factories
from tests import history_factories as hf
from tests.conftest import Api

ENTITIES = """
query($reps: [_Any!]!) {
  _entities(representations: $reps) {
    __typename
    ... on Booking { id number event { name } session { startsAt { localDateTime } } }
    ... on Appointment { id number service { name } }
    ... on CustomerPass { id number passProduct { name } }
    ... on VideoPurchase { id number video { name } }
    ... on CustomerSubscription { id number plan { name } }
    ... on QuestionnaireResponse { id number questionnaire { name } }
    ... on Note { id number content }
    ... on AccountHistoryEntry { id number action }
    ... on Payment { id number amount { amount } }
    ... on Refund { id number amount { amount } status }
    ... on Message { id number subject }
    ... on Event { id name }
    ... on Session { id event { name } facilitator { name } }
    ... on Service { id name }
    ... on Facilitator { id name }
    ... on PassProduct { id name }
    ... on Video { id name }
    ... on Plan { id name }
    ... on Questionnaire { id name questionCount }
  }
}
"""

WHEN = datetime(2026, 5, 1, 9, tzinfo=UTC)


async def _account(owner: factories.Owner, customer: Any, cat: hf.Catalog) -> dict[str, Any]:
    """One row of every history kind for `customer`, by typename."""
    pay = await hf.payment(owner, customer, 1500, WHEN, stripe=True)
    booking = await hf.booking(owner, customer, cat, WHEN, payment_id=pay["id"])
    refund = await owner.insert(
        "refunds", business_id=customer["business_id"], customer_id=customer["id"],
        customer_name="x", payment_id=pay["id"], booking_id=booking["id"], amount=500,
        currency="GBP", status="SUCCEEDED",
    )  # fmt: skip
    message = await owner.insert(
        "messages", business_id=customer["business_id"], customer_id=customer["id"],
        customer_name="x", channel="EMAIL", purpose="SERVICE", subject="Welcome",
        body="Hello", status="SENT",
    )  # fmt: skip
    rows = {
        "Booking": booking,
        "Appointment": await hf.appointment(owner, customer, cat, WHEN),
        "CustomerPass": await hf.customer_pass(owner, customer, cat, WHEN),
        "VideoPurchase": await hf.video_purchase(owner, customer, cat, WHEN),
        "CustomerSubscription": await hf.subscription(owner, customer, cat, WHEN),
        "QuestionnaireResponse": await hf.response(owner, customer, cat, WHEN),
        "Note": await hf.note(owner, customer, "Private", WHEN),
        "AccountHistoryEntry": await hf.account_entry(owner, customer, "customer.created", WHEN),
        "Payment": pay,
        "Refund": refund,
        "Message": message,
    }
    return {name: str(row["id"]) for name, row in rows.items()}


def _catalog_ids(cat: hf.Catalog) -> dict[str, str]:
    return {
        "Event": str(cat.event),
        "Session": str(cat.session),
        "Service": str(cat.service),
        "Facilitator": str(cat.facilitator),
        "PassProduct": str(cat.ten_pack),
        "Video": str(cat.video),
        "Plan": str(cat.plan),
        "Questionnaire": str(cat.questionnaire),
    }


@pytest.fixture
async def world(
    owner: factories.Owner, two_businesses: tuple[factories.BusinessFixture, ...]
) -> dict[str, Any]:
    mine, other = two_businesses
    cat = await hf.catalog(owner, mine.id)
    ada = await factories.customer(owner, mine.id, "Ada", "Lovelace")
    helper = await factories.additional_user(owner, ada, "Charles")
    bob = await factories.customer(owner, mine.id, "Bob", "Other")
    their_cat = await hf.catalog(owner, other.id)
    stranger = await factories.customer(owner, other.id, "Not", "Yours")
    return {
        "mine": mine,
        "other": other,
        "ada": ada,
        "helper": helper,
        "ada_rows": await _account(owner, ada, cat),
        "bob_rows": await _account(owner, bob, cat),
        "catalog": _catalog_ids(cat),
        "their_rows": {**await _account(owner, stranger, their_cat), **_catalog_ids(their_cat)},
    }


def reps(ids: dict[str, str]) -> list[dict[str, str]]:
    return [{"__typename": name, "id": value} for name, value in ids.items()]


def staff(api: Api, world: dict[str, Any]) -> str:
    mine = world["mine"]
    return api.token(mine.id, "staff", mine.staff_id)


async def test_every_history_and_catalog_entity_resolves(api: Api, world: dict[str, Any]) -> None:
    mine = {**world["ada_rows"], **world["catalog"]}
    body = await api.data(ENTITIES, {"reps": reps(mine)}, staff(api, world))
    entities = body["_entities"]
    assert [(e["__typename"], e["id"]) for e in entities] == list(mine.items())
    by_type = {e["__typename"]: e for e in entities}
    assert by_type["Booking"]["event"] == {"name": "Sunrise Yoga"}
    assert by_type["Booking"]["session"] == {"startsAt": {"localDateTime": "2026-06-10T09:30:00"}}
    assert by_type["Session"]["facilitator"] == {"name": "Grace Hopper"}
    assert by_type["Refund"]["status"] == "SUCCEEDED"
    assert by_type["Questionnaire"]["questionCount"] == 3


async def test_100_mixed_representations_cost_a_constant_number_of_statements(
    api: Api, world: dict[str, Any]
) -> None:
    everything = reps({**world["ada_rows"], **world["catalog"]}) + reps(world["bob_rows"])
    token = staff(api, world)
    await api.data(ENTITIES, {"reps": everything[:19]}, token)
    one_each = api.last_statements
    hundred = (everything * 4)[:100]
    body = await api.data(ENTITIES, {"reps": hundred}, token)
    assert all(entity is not None for entity in body["_entities"])
    assert api.last_statements == one_each
    assert one_each <= 19  # one statement per entity type at most


async def test_another_business_rows_resolve_to_null(api: Api, world: dict[str, Any]) -> None:
    theirs = reps(world["their_rows"])
    body = await api.data(ENTITIES, {"reps": theirs}, staff(api, world))
    assert body["_entities"] == [None] * len(theirs)


async def test_a_member_resolves_only_their_own_rows_and_never_notes(
    api: Api, world: dict[str, Any]
) -> None:
    mine = world["mine"]
    token = api.token(mine.id, "customer", world["ada"]["id"])
    own, bobs = world["ada_rows"], world["bob_rows"]
    body = await api.data(ENTITIES, {"reps": reps(own) + reps(bobs)}, token)
    resolved = [e["__typename"] if e else None for e in body["_entities"]]
    staff_only = {"Note", "AccountHistoryEntry"}
    assert resolved == [None if name in staff_only else name for name in own] + [None] * len(bobs)
    # The catalog is the business's: members read it too.
    body = await api.data(ENTITIES, {"reps": reps(world["catalog"])}, token)
    assert all(entity is not None for entity in body["_entities"])


async def test_an_additional_user_resolves_their_buyer_rows(
    api: Api, world: dict[str, Any]
) -> None:
    mine = world["mine"]
    token = api.token(mine.id, "additional_user", world["helper"]["id"])
    own, bobs = world["ada_rows"], world["bob_rows"]
    body = await api.data(
        ENTITIES,
        {"reps": [{"__typename": "Booking", "id": own["Booking"]},
                  {"__typename": "Booking", "id": bobs["Booking"]},
                  {"__typename": "Note", "id": own["Note"]}]},
        token,
    )  # fmt: skip
    assert body["_entities"] == [
        {"__typename": "Booking", "id": own["Booking"], "number": 1,
         "event": {"name": "Sunrise Yoga"},
         "session": {"startsAt": {"localDateTime": "2026-06-10T09:30:00"}}},
        None,
        None,
    ]  # fmt: skip


async def test_bad_representations_of_history_types(api: Api, world: dict[str, Any]) -> None:
    booking = world["ada_rows"]["Booking"]
    representations = [
        {"__typename": "Booking", "id": booking},
        {"__typename": "Booking", "id": "not-a-uuid"},
        {"__typename": "Subscription", "id": booking},
        {"__typename": "Booking", "id": str(uuid.uuid4())},
        {"__typename": "SalesMonth", "id": booking},
    ]
    body = await api.post(ENTITIES, {"reps": representations}, staff(api, world))
    assert [e and e["id"] for e in body["data"]["_entities"]] == [booking, None, None, None, None]
    assert sorted((e["path"], e["extensions"]["code"]) for e in body["errors"]) == [
        (["_entities", 1], "INVALID_REPRESENTATION"),
        (["_entities", 2], "INVALID_REPRESENTATION"),
        (["_entities", 4], "INVALID_REPRESENTATION"),
    ]
