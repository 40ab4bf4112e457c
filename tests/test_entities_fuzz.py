"""`_entities` fuzzed: lists of representations mixing the viewer's own rows, rows they may
not see, other businesses' rows, every entity type with unknown ids, unknown and missing
typenames, malformed ids, values that are not objects at all, extra keys, and lists beyond
100. Each index answers exactly as ARCHITECTURE.md says, and nothing else leaks."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Any

import orjson
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from schema.build import MAX_REPRESENTATIONS, schema
from tests import factories
from tests.conftest import Api

ENTITIES = """
query ($reps: [_Any!]!) { _entities(representations: $reps) {
  __typename ... on Customer { id } ... on Participant { id } } }
"""
ENTITY_TYPES = sorted(t.name for t in schema._schema.get_type("_Entity").types)  # type: ignore[union-attr]

VISIBLE, HIDDEN, INVALID = "visible", "hidden", "invalid"


@dataclass(frozen=True)
class People:
    business: factories.BusinessFixture
    ada: str  # the member
    bob: str  # another customer of the same business
    kid: str  # Ada's participant
    theirs: str  # a customer of another business
    their_kid: str


@pytest.fixture
async def people(
    owner: factories.Owner, two_businesses: tuple[factories.BusinessFixture, ...]
) -> People:
    mine, other = two_businesses
    ada = await factories.customer(owner, mine.id, "Ada", "Lovelace")
    bob = await factories.customer(owner, mine.id, "Bob", "Other")
    kid = await factories.participant(owner, ada, "Byron")
    theirs = await factories.customer(owner, other.id, "Not", "Yours")
    their_kid = await factories.participant(owner, theirs, "Nope")
    return People(
        mine,
        *(str(r["id"]) for r in (ada, bob, kid, theirs, their_kid)),
    )


def _parses_as_uuid(value: object) -> bool:
    try:
        uuid.UUID(str(value))
    except ValueError:
        return False
    return isinstance(value, str)


MALFORMED_IDS = st.one_of(
    st.text(max_size=40).filter(lambda v: not _parses_as_uuid(v)),
    st.integers(),
    st.none(),
    st.booleans(),
    st.lists(st.integers(), max_size=2),
    st.uuids().map(lambda u: f"{u}'; DROP TABLE customers; --"),
)
NOT_OBJECTS = st.one_of(st.integers(), st.text(max_size=10), st.lists(st.integers(), max_size=2))


def representations(people: People, staff: bool) -> st.SearchStrategy[list[tuple[str, Any]]]:
    """(expected outcome, representation) pairs, sometimes more than 100 of them."""
    own = [("Customer", people.ada), ("Participant", people.kid)]
    seen_by_staff_only = [("Customer", people.bob)]
    elsewhere = [("Customer", people.theirs), ("Participant", people.their_kid)]
    visible = own + (seen_by_staff_only if staff else [])
    hidden = elsewhere + ([] if staff else seen_by_staff_only)

    def rep(pair: tuple[str, str]) -> dict[str, Any]:
        return {"__typename": pair[0], "id": pair[1]}

    one = st.one_of(
        st.sampled_from(visible).map(lambda p: (VISIBLE, rep(p))),
        st.sampled_from(visible).map(lambda p: (VISIBLE, {**rep(p), "extra": [1, 2]})),
        st.sampled_from(hidden).map(lambda p: (HIDDEN, rep(p))),
        st.tuples(st.sampled_from(ENTITY_TYPES), st.uuids()).map(
            lambda p: (HIDDEN, {"__typename": p[0], "id": str(p[1])})
        ),
        st.text(max_size=20)
        .filter(lambda t: t not in ENTITY_TYPES)
        .map(lambda t: (INVALID, {"__typename": t, "id": people.ada})),
        st.just((INVALID, {"id": people.ada})),
        st.tuples(st.sampled_from(ENTITY_TYPES), MALFORMED_IDS).map(
            lambda p: (INVALID, {"__typename": p[0], "id": p[1]})
        ),
        NOT_OBJECTS.map(lambda v: (INVALID, v)),
    )
    return st.tuples(st.lists(one, max_size=6), st.sampled_from([1, 1, 1, 17, 26])).map(
        lambda drawn: drawn[0] * drawn[1]
    )


async def _check(api: Api, token: str, people: People, drawn: list[tuple[str, Any]]) -> None:
    reps = [rep for _, rep in drawn]
    body = await api.post(ENTITIES, {"reps": reps}, token)
    answer = orjson.dumps(body).decode()
    for leak in (people.theirs, people.their_kid):
        assert leak not in answer or leak in orjson.dumps(reps).decode()
    codes = [e.get("extensions", {}).get("code") for e in body.get("errors", [])]
    assert "INTERNAL_SERVER_ERROR" not in codes and None not in codes, body
    if len(reps) > MAX_REPRESENTATIONS:
        assert body["data"] is None and codes == ["TOO_MANY_REPRESENTATIONS"]
        return
    results = body["data"]["_entities"]
    assert len(results) == len(reps)
    errors_at = {e["path"][1]: e["extensions"]["code"] for e in body.get("errors", [])}
    for index, ((expected, rep), result) in enumerate(zip(drawn, results, strict=True)):
        if expected == VISIBLE:
            assert result == {"__typename": rep["__typename"], "id": rep["id"]}, index
            assert index not in errors_at
        elif expected == HIDDEN:
            assert result is None and index not in errors_at, (index, rep)
        else:
            assert result is None and errors_at.get(index) == "INVALID_REPRESENTATION", (index, rep)
    assert set(errors_at) == {i for i, (e, _) in enumerate(drawn) if e == INVALID}


@settings(suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.data())
async def test_entities_fuzzed_as_staff(api: Api, people: People, data: st.DataObject) -> None:
    drawn = data.draw(representations(people, staff=True))
    token = api.token(people.business.id, "staff", people.business.staff_id)
    await _check(api, token, people, drawn)


@settings(suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.data())
async def test_entities_fuzzed_as_a_member(api: Api, people: People, data: st.DataObject) -> None:
    drawn = data.draw(representations(people, staff=False))
    token = api.token(people.business.id, "customer", people.ada)
    await _check(api, token, people, drawn)
