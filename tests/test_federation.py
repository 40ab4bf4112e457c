"""Federation: `_service`, `_entities` validation, batching and tenancy."""

from __future__ import annotations

import uuid

from schema.build import schema
from server.settings import REPO_ROOT
from tests import factories
from tests.conftest import Api

ENTITIES = """
query($reps: [_Any!]!) {
  _entities(representations: $reps) {
    __typename
    ... on Customer { id fullName }
    ... on Participant { id fullName }
    ... on AdditionalUser { id fullName }
  }
}
"""


def test_checked_in_sdl_is_current() -> None:
    checked_in = (REPO_ROOT / "schema.graphql").read_text()
    assert checked_in == schema.as_str() + "\n", (
        "schema.graphql is stale: run `python -m server export-schema` and commit it"
    )


async def test_service_sdl_needs_no_token(api: Api) -> None:
    body = await api.data("{ _service { sdl } }")
    assert body["_service"]["sdl"] == schema.as_str()


async def test_entities_resolve_in_order_with_nulls_and_per_index_errors(
    api: Api, owner: factories.Owner, two_businesses: tuple[factories.BusinessFixture, ...]
) -> None:
    mine, other = two_businesses
    ada = await factories.customer(owner, mine.id, "Ada", "Lovelace")
    kid = await factories.participant(owner, ada, "Byron")
    helper = await factories.additional_user(owner, ada, "Charles")
    theirs = await factories.customer(owner, other.id, "Not", "Yours")
    reps = [
        {"__typename": "Customer", "id": str(ada["id"])},
        {"__typename": "Participant", "id": str(kid["id"])},
        {"__typename": "AdditionalUser", "id": str(helper["id"])},
        {"__typename": "Customer", "id": str(theirs["id"])},
        {"__typename": "Customer", "id": str(uuid.uuid4())},
        {"__typename": "Spaceship", "id": str(ada["id"])},
        {"__typename": "Customer", "id": "not-a-uuid"},
        {"id": str(ada["id"])},
    ]
    body = await api.post(ENTITIES, {"reps": reps}, api.token(mine.id, "staff", mine.staff_id))
    assert body["data"]["_entities"] == [
        {"__typename": "Customer", "id": str(ada["id"]), "fullName": "Ada Lovelace"},
        {"__typename": "Participant", "id": str(kid["id"]), "fullName": "Byron Lovelace"},
        {"__typename": "AdditionalUser", "id": str(helper["id"]), "fullName": "Charles Lovelace"},
        None,
        None,
        None,
        None,
        None,
    ]
    errors = sorted((e["path"], e["extensions"]["code"]) for e in body["errors"])
    assert errors == [
        (["_entities", 5], "INVALID_REPRESENTATION"),
        (["_entities", 6], "INVALID_REPRESENTATION"),
        (["_entities", 7], "INVALID_REPRESENTATION"),
    ]


async def test_more_than_100_representations_fail_the_call(
    api: Api, two_businesses: tuple[factories.BusinessFixture, ...]
) -> None:
    mine, _ = two_businesses
    reps = [{"__typename": "Customer", "id": str(uuid.uuid4())}] * 101
    body = await api.post(ENTITIES, {"reps": reps}, api.token(mine.id, "staff", mine.staff_id))
    assert body["data"] is None
    assert body["errors"][0]["extensions"]["code"] == "TOO_MANY_REPRESENTATIONS"


async def test_entities_need_a_token(api: Api) -> None:
    body = await api.post(ENTITIES, {"reps": [{"__typename": "Customer", "id": str(uuid.uuid4())}]})
    assert body["errors"][0]["extensions"]["code"] == "UNAUTHENTICATED"


async def test_entities_cost_the_same_statements_for_1_or_100_representations(
    api: Api, owner: factories.Owner, two_businesses: tuple[factories.BusinessFixture, ...]
) -> None:
    mine, _ = two_businesses
    people = []
    for i in range(34):
        ada = await factories.customer(owner, mine.id, f"Ada{i}", "Lovelace")
        people.append({"__typename": "Customer", "id": str(ada["id"])})
        kid = await factories.participant(owner, ada, f"Kid{i}")
        people.append({"__typename": "Participant", "id": str(kid["id"])})
        if i < 32:
            helper = await factories.additional_user(owner, ada, f"Helper{i}")
            people.append({"__typename": "AdditionalUser", "id": str(helper["id"])})
    assert len(people) == 100
    token = api.token(mine.id, "staff", mine.staff_id)
    await api.data(ENTITIES, {"reps": people[:3]}, token)
    few = api.last_statements
    body = await api.data(ENTITIES, {"reps": people}, token)
    assert all(entity is not None for entity in body["_entities"])
    assert api.last_statements == few
    assert 1 <= few <= 4
