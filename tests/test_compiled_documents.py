"""Compiled trusted documents answer byte for byte what plain execution answers: every
document, every customer shape, every viewer, varied variables, errors and nulls included;
the registry addresses documents by SHA-256 and can refuse everything else."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from schema.build import schema as app_schema
from schema.compiled.registry import TrustedDocuments, document_hash
from server.auth import TokenService
from server.settings import Settings
from tests import factories
from tests.compiled_support import (
    CUSTOMER_LIST,
    PROFILE,
    QUERIES,
    Pair,
    app_pair,
    customer_shapes,
    viewers,
)

# Beyond the front-ends' documents: what a compiler must not get wrong.
EXTRA_DOCUMENTS = {
    "aliases.graphql": """
        query Aliases($id: ID!, $n: Int) {
          me: customer(id: $id) {
            __typename
            ident: id
            name: fullName
            full: fullName
            firstBookings: bookings(first: $n) {
              totalCount edges { node { id when: startsAt { localDateTime } } }
            }
            lastBookings: bookings(last: 2) { edges { cursor node { __typename number } } }
            participants { ... on Participant { fullName } ... Kid }
            notes(first: 1) { totalCount }
          }
          alsoMe: customer(id: $id) { id email @skip(if: true) mobile @include(if: true) }
        }
        fragment Kid on Participant { id isSelf customer { id } }
    """,
    "people_fragments.graphql": """
        query PeopleFragments($search: String, $first: Int) {
          people(search: $search, first: $first) {
            edges {
              node {
                __typename
                ... on Person { id kind }
                ... on Customer { category participants { fullName } }
                ... on Participant { customer { fullName } }
                ... on AdditionalUser { appAccessEnabled }
              }
            }
          }
        }
    """,
}


@pytest.fixture
async def pair(settings: Settings, tokens: TokenService, tmp_path: Path) -> AsyncIterator[Pair]:
    for name, text in EXTRA_DOCUMENTS.items():
        (tmp_path / name).write_text(text)
    async with app_pair(settings, tokens, tmp_path) as apps:
        yield apps


async def _profile_everywhere(
    pair: Pair,
    owner: factories.Owner,
    businesses: tuple[factories.BusinessFixture, ...],
    busy_rows: int,
) -> int:
    mine, other = businesses
    shapes = await customer_shapes(owner, pair, mine, busy_rows=busy_rows)
    bystander = shapes["empty"].customer
    compared = 0
    for shape in shapes.values():
        for token in viewers(pair, mine, other, shape, bystander).values():
            variables = {"id": str(shape.customer["id"])}
            await pair.same(PROFILE, variables, token)
            await pair.same(EXTRA_DOCUMENTS["aliases.graphql"], {**variables, "n": 3}, token)
            compared += 2
    return compared


async def test_profile_matches_plain_execution_for_every_shape_and_viewer(
    pair: Pair, owner: factories.Owner, two_businesses: tuple[factories.BusinessFixture, ...]
) -> None:
    compared = await _profile_everywhere(pair, owner, two_businesses, busy_rows=0)
    assert compared >= 5 * 6 * 2


async def test_profile_matches_with_500_rows_per_tab(
    pair: Pair, owner: factories.Owner, two_businesses: tuple[factories.BusinessFixture, ...]
) -> None:
    mine, _ = two_businesses
    await _profile_everywhere(pair, owner, two_businesses, busy_rows=500)
    # The busy profile is the whole page, nulls in the right places, not an error.
    shapes_token = pair.token(mine.id, "staff", mine.staff_id)
    busy = await factories.customer(owner, mine.id, "Another", "Busy")
    body = await pair.same(PROFILE, {"id": str(busy["id"])}, shapes_token)
    assert "errors" not in body
    assert body["data"]["customer"]["bookings"]["edges"] == []


async def test_customer_role_sees_errors_and_nulls_identically(
    pair: Pair, owner: factories.Owner, two_businesses: tuple[factories.BusinessFixture, ...]
) -> None:
    mine, _ = two_businesses
    shapes = await customer_shapes(owner, pair, mine, busy_rows=0)
    typical = shapes["typical"]
    token = pair.token(mine.id, "customer", typical.customer["id"])
    body = await pair.same(PROFILE, {"id": str(typical.customer["id"])}, token)
    # Notes and account history are staff only: errors at their paths, null in the data.
    assert {tuple(error["path"]) for error in body["errors"]} == {
        ("customer", "notes"),
        ("customer", "accountHistory"),
    }
    assert body["data"]["customer"]["notes"] is None
    # Its own three rows and the two the merged account brought.
    assert body["data"]["customer"]["bookings"]["totalCount"] == 5
    malformed = await pair.same(PROFILE, {"id": "not-a-uuid"}, token)
    assert malformed["data"] == {"customer": None}
    assert malformed["errors"][0]["extensions"]["code"] == "INVALID_ARGUMENT"
    missing_variable = await pair.same(PROFILE, {}, token)
    assert missing_variable["data"] is None


async def test_customer_list_matches_for_every_viewer_and_filter(
    pair: Pair, owner: factories.Owner, two_businesses: tuple[factories.BusinessFixture, ...]
) -> None:
    mine, other = two_businesses
    shapes = await customer_shapes(owner, pair, mine, busy_rows=0)
    people = EXTRA_DOCUMENTS["people_fragments.graphql"]
    tokens = viewers(pair, mine, other, shapes["family"], shapes["empty"].customer)
    for viewer, token in tokens.items():
        # Staff of either business get the statement; anyone else plain execution's refusal.
        one_statement = viewer in {"owner", "staff", "another business"}
        for category in CATEGORIES:
            for status in ("ACTIVE", "ARCHIVED"):
                variables = {"category": category, "status": status}
                if token is None:
                    await pair.same(CUSTOMER_LIST, variables, token)
                    continue
                compiled, plain = await pair.counts(CUSTOMER_LIST, variables, token)
                assert compiled == ("1" if one_statement else plain), (viewer, variables)
        await pair.same(people, {"search": "sha", "first": 50}, token)
    staff = pair.token(mine.id, "staff", mine.staff_id)
    listed = await pair.same(CUSTOMER_LIST, {"first": 100}, staff)
    kinds = {edge["node"]["__typename"] for edge in listed["data"]["people"]["edges"]}
    assert kinds == {"Customer", "Participant", "AdditionalUser"}
    first = await pair.same(CUSTOMER_LIST, {"first": 3}, staff)
    cursor = first["data"]["people"]["pageInfo"]["endCursor"]
    for variables in (
        {"first": 3, "after": cursor},
        {"first": None, "last": 2, "before": cursor},
        {"first": None, "before": cursor},
        {"search": "sha"},
        {"search": "family shape", "category": "PARTICIPANT"},
        {"search": str(shapes["family"].customer["number"])},
        {"search": str(shapes["family"].customer["id"])},
    ):
        compiled, _ = await pair.counts(CUSTOMER_LIST, variables, staff)
        assert compiled == "1", variables
    # A cursor of another sort is refused as plain execution refuses it.
    resorted = {"first": 3, "after": cursor, "order": "DESC"}
    refused = await pair.same(CUSTOMER_LIST, resorted, staff)
    assert refused["errors"][0]["extensions"]["code"] == "INVALID_CURSOR"


page_sizes = st.one_of(st.none(), st.integers(min_value=-2, max_value=102))
searches = st.one_of(
    st.none(), st.sampled_from(["", "s", "sh", "sha", "typ", "kid", "user", "@", "0", "zz"])
)
cursors = st.one_of(st.none(), st.sampled_from(["", "garbage", "AAAA", "next", "previous"]))


@settings(settings.get_profile("ci"), suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    first=page_sizes,
    last=page_sizes,
    search=searches,
    after=cursors,
    before=cursors,
    order=st.sampled_from(["ASC", "DESC", "SIDEWAYS"]),
    category=st.sampled_from(["EVERYONE", "PARTICIPANT", "APP_USER"]),
)
async def test_varied_variables_match_plain_execution(
    pair: Pair,
    owner: factories.Owner,
    two_businesses: tuple[factories.BusinessFixture, ...],
    first: int | None,
    last: int | None,
    search: str | None,
    after: str | None,
    before: str | None,
    order: str,
    category: str,
) -> None:
    mine, _ = two_businesses
    staff = pair.token(mine.id, "staff", mine.staff_id)
    if not await _has_people(pair, staff):
        await customer_shapes(owner, pair, mine, busy_rows=0)
    page = await pair.same(CUSTOMER_LIST, {"first": 4}, staff)
    ends = page["data"]["people"]["pageInfo"]
    real = {"next": ends["endCursor"], "previous": ends["startCursor"]}
    variables: dict[str, Any] = {
        "first": first,
        "last": last,
        "search": search,
        "after": real.get(after or "", after),
        "before": real.get(before or "", before),
        "order": order,
        "category": category,
    }
    await pair.same(CUSTOMER_LIST, variables, staff)
    profile_id = str(page["data"]["people"]["edges"][0]["node"]["id"]) if first else "nope"
    await pair.same(EXTRA_DOCUMENTS["aliases.graphql"], {"id": profile_id, "n": first}, staff)


async def _has_people(pair: Pair, token: str) -> bool:
    body = await pair.same(CUSTOMER_LIST, {"first": 1}, token)
    return bool(body["data"]["people"]["edges"])


# Names that share a sort key (the id breaks the tie) or that a cursor must escape.
AWKWARD_NAMES = (
    ("Ann", "Lee"),
    ("Ann", "Lee"),
    ("ann", "LEE"),
    ('Zoë "Q"', "O'Brien \\ Jr"),
    ("Jürgen", "Straße"),
    ("🎉", "Émile"),
    ("Ａnn", "Lee-Smith"),
)
CATEGORIES = ("EVERYONE", "PRIMARY", "LEAD", "APP_USER", "PARTICIPANT", "ADDITIONAL_USER")


async def _list_of_every_kind(
    owner: factories.Owner, pair: Pair, business: factories.BusinessFixture
) -> None:
    """The customer shapes, plus awkward names: a customer who takes part, a participant and
    an additional user of each, one of them archived."""
    await customer_shapes(owner, pair, business, busy_rows=0)
    for i, (first_name, last_name) in enumerate(AWKWARD_NAMES):
        status = "ARCHIVED" if i == 2 else "ACTIVE"
        person = await factories.customer(owner, business.id, first_name, last_name, status=status)
        if i % 2:
            await factories.participant(owner, person, is_self=True)
        await factories.participant(owner, person, first_name)
        await factories.additional_user(owner, person, first_name)


@settings(settings.get_profile("ci"), suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    status=st.sampled_from(["ACTIVE", "ARCHIVED"]),
    category=st.sampled_from(CATEGORIES),
    order=st.sampled_from(["ASC", "DESC"]),
    size=st.one_of(st.none(), st.integers(min_value=0, max_value=6), st.sampled_from([100, 101])),
    backward=st.booleans(),
    cursor=st.one_of(
        st.none(), st.integers(min_value=0, max_value=60), st.sampled_from(["garbage", "other"])
    ),
    search=st.one_of(st.none(), st.sampled_from(["", "a", "lee", "ann lee", "o'b", "straße"])),
)
async def test_customer_list_pages_are_one_statement_and_match(
    pair: Pair,
    owner: factories.Owner,
    two_businesses: tuple[factories.BusinessFixture, ...],
    status: str,
    category: str,
    order: str,
    size: int | None,
    backward: bool,
    cursor: int | str | None,
    search: str | None,
) -> None:
    mine, _ = two_businesses
    staff = pair.token(mine.id, "staff", mine.staff_id)
    if not await _has_people(pair, staff):
        await _list_of_every_kind(owner, pair, mine)
    listing = {"status": status, "category": category, "order": order, "search": search}
    whole = await pair.same(CUSTOMER_LIST, {**listing, "first": 100}, staff)
    cursors = [edge["cursor"] for edge in whole["data"]["people"]["edges"]]
    if isinstance(cursor, int):
        chosen = cursors[cursor % len(cursors)] if cursors else None
    elif cursor == "other":  # a cursor of the same list in the other order
        reverse = {**listing, "order": "DESC" if order == "ASC" else "ASC", "first": 1}
        chosen = (await pair.same(CUSTOMER_LIST, reverse, staff))["data"]["people"]["pageInfo"][
            "endCursor"
        ]
    else:
        chosen = cursor
    if backward:
        variables = {**listing, "first": None, "last": size, "before": chosen}
    else:
        variables = {**listing, "first": size, "after": chosen}
    # The page, then the next one in the same direction from its own cursors.
    for _ in range(2):
        compiled, plain = await pair.counts(CUSTOMER_LIST, variables, staff)
        body = await pair.same(CUSTOMER_LIST, variables, staff)
        assert compiled == ("1" if "errors" not in body else plain), variables
        if "errors" in body:
            break
        info = body["data"]["people"]["pageInfo"]
        if backward:
            variables = {**variables, "before": info["startCursor"]}
        else:
            variables = {**variables, "after": info["endCursor"]}


async def test_persisted_query_hash_serves_the_trusted_document(
    pair: Pair, owner: factories.Owner, two_businesses: tuple[factories.BusinessFixture, ...]
) -> None:
    mine, _ = two_businesses
    staff = pair.token(mine.id, "staff", mine.staff_id)
    customer = await factories.customer(owner, mine.id, "Hash", "Brown")
    variables = {"id": str(customer["id"])}
    persisted = {"persistedQuery": {"version": 1, "sha256Hash": document_hash(PROFILE)}}
    by_text = await pair.same(PROFILE, variables, staff)
    by_hash = await pair.same(None, variables, staff, persisted)
    assert by_hash == by_text
    assert by_hash["data"]["customer"]["fullName"] == "Hash Brown"
    both = await pair.same(PROFILE, variables, staff, persisted)
    assert both == by_text

    unknown = {"persistedQuery": {"version": 1, "sha256Hash": "0" * 64}}
    body = await pair.same(None, variables, staff, unknown)
    assert body["data"] is None
    assert body["errors"][0]["extensions"]["code"] == "PERSISTED_QUERY_NOT_FOUND"
    mismatch = await pair.same("{ __typename }", variables, staff, persisted)
    assert mismatch["errors"][0]["extensions"]["code"] == "PERSISTED_QUERY_HASH_MISMATCH"
    # Outside trusted-only mode an unknown document still runs as it is.
    untrusted = {"persistedQuery": {"version": 1, "sha256Hash": document_hash("{ __typename }")}}
    assert (await pair.same("{ __typename }", {}, staff, untrusted))["data"] == {
        "__typename": "Query"
    }


async def test_trusted_only_refuses_other_documents(
    settings: Settings,
    tokens: TokenService,
    owner: factories.Owner,
    two_businesses: tuple[factories.BusinessFixture, ...],
) -> None:
    mine, _ = two_businesses
    strict = replace(settings, trusted_documents_only=True)
    async with app_pair(strict, tokens) as apps:
        staff = apps.token(mine.id, "staff", mine.staff_id)
        refused = await apps.same("{ __typename }", {}, staff)
        assert refused["data"] is None
        assert refused["errors"][0]["extensions"] == {
            "code": "DOCUMENT_NOT_TRUSTED",
            "field": "query",
        }
        listed = await apps.same(CUSTOMER_LIST, {"first": 1}, staff)
        assert "errors" not in listed


def test_documents_that_cannot_be_compiled_are_logged_and_run_plainly(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    (tmp_path / "archive.graphql").write_text(
        "mutation($id: ID!) { customerArchive(id: $id) { errors { code } } }"
    )
    (tmp_path / "maybe.graphql").write_text(
        "query($full: Boolean!, $id: ID!) { customer(id: $id) { id email @include(if: $full) } }"
    )
    (tmp_path / "broken.graphql").write_text("{ customer { nope } }")
    with caplog.at_level(logging.INFO, logger="schema.compiled.registry"):
        registry = TrustedDocuments.load(
            app_schema._schema, (QUERIES, tmp_path), trusted_only=False
        )
    reasons = {d.name: d.not_compiled_because for d in registry.by_hash.values()}
    assert reasons == {
        "profile.graphql": None,
        "customer_list.graphql": None,
        "archive.graphql": "mutation operations run as they are",
        "maybe.graphql": "@include depends on a variable",
        "broken.graphql": reasons["broken.graphql"],
    }
    assert (reasons["broken.graphql"] or "").startswith("it does not validate")
    logged = "\n".join(caplog.messages)
    assert "maybe.graphql" in logged and "@include depends on a variable" in logged
    assert "profile.graphql" in logged and "compiled" in logged
