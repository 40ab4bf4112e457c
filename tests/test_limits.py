"""What one request may cost, and what production hides: body size, batching, depth, aliases
(through fragments), tokens, page and list sizes, `_entities`, introspection and GraphiQL,
error masking and the statement timeout. Includes the known limiter bypasses: circular
fragments, aliases hidden in fragment spreads, fragments that fan out, deeply nested
fragments and a 20 MB variable."""

from __future__ import annotations

import logging
import uuid
from collections.abc import AsyncIterator
from dataclasses import replace
from typing import Any, cast

import asyncpg
import httpx
import pytest
import strawberry
from graphql import GraphQLError, get_introspection_query

from schema.build import MAX_BATCHED_OPERATIONS, MAX_REPRESENTATIONS
from schema.limits import MAX_ALIASES, MAX_DEPTH, MAX_TOKENS
from schema.masking import ErrorMasking, LogsErrorsQuietly, log_errors
from server.auth import TokenService
from server.body_limit import MAX_GRAPHQL_BODY_BYTES
from server.context import Context
from server.database_setup import asyncpg_url
from server.settings import Settings
from tests import database as testdb
from tests import factories
from tests.conftest import Api, serving

Businesses = tuple[factories.BusinessFixture, factories.BusinessFixture]


def _staff(api: Api, business: factories.BusinessFixture) -> str:
    return api.token(business.id, "staff", business.staff_id)


def _codes(body: dict[str, Any]) -> list[str | None]:
    return [e.get("extensions", {}).get("code") for e in body.get("errors", [])]


# Body size and batching


async def test_a_body_over_1_mb_is_refused_with_413(api: Api) -> None:
    padding = "#" * MAX_GRAPHQL_BODY_BYTES  # a comment: valid GraphQL, just too large
    response = await api.http.post("/graphql", json={"query": f"{{ __typename }}\n{padding}"})
    assert response.status_code == 413


async def test_a_20_mb_variable_is_refused_before_it_is_parsed(api: Api) -> None:
    query = "query ($s: String) { __typename }"
    response = await api.http.post(
        "/graphql", json={"query": query, "variables": {"s": "x" * 20_000_000}}
    )
    assert response.status_code == 413


async def test_a_streamed_body_without_length_is_cut_at_1_mb(api: Api) -> None:
    async def chunks() -> AsyncIterator[bytes]:
        yield b'{"query": "{ __typename }", "variables": {"s": "'
        for _ in range(3):
            yield b"x" * 512 * 1024
        yield b'"}}'

    response = await api.http.post(
        "/graphql", content=chunks(), headers={"content-type": "application/json"}
    )
    assert response.status_code == 413


async def test_a_body_under_the_cap_is_answered(api: Api) -> None:
    padding = "#" * (MAX_GRAPHQL_BODY_BYTES - 1000)
    response = await api.http.post("/graphql", json={"query": f"{{ __typename }}\n{padding}"})
    assert response.status_code == 200 and response.json() == {"data": {"__typename": "Query"}}


async def test_at_most_10_operations_are_batched(api: Api) -> None:
    batch = [{"query": "{ __typename }"}] * MAX_BATCHED_OPERATIONS
    answered = await api.http.post("/graphql", json=batch)
    assert answered.status_code == 200 and len(answered.json()) == MAX_BATCHED_OPERATIONS
    refused = await api.http.post("/graphql", json=[*batch, {"query": "{ __typename }"}])
    assert refused.status_code == 400


# Depth, aliases and tokens


def _nested(levels: int) -> str:
    """`customers { edges { node { participants { customer { participants ...` `levels` deep."""
    inner = "id"
    chain = ["customers", "edges", "node"] + ["participants", "customer"] * levels
    for name in reversed(chain[:levels]):
        inner = f"{name} {{ {inner} }}"
    return "{ " + inner + " }"


async def test_depth_is_capped_at_10(api: Api, two_businesses: Businesses) -> None:
    token = _staff(api, two_businesses[0])
    assert (await api.data(_nested(MAX_DEPTH), token=token))["customers"] is not None
    body = await api.post(_nested(MAX_DEPTH + 1), token=token)
    assert body.get("data") is None and _codes(body) == ["TOO_COMPLEX"]


async def test_depth_counts_through_deeply_nested_fragments(
    api: Api, two_businesses: Businesses
) -> None:
    """Each fragment adds one level and spreads the next: 12 levels in all."""
    fragments = "\n".join(
        f"fragment L{i} on Participant {{ customer {{ participants {{ ...L{i + 1} }} }} }}"
        for i in range(4)
    )
    document = (
        "{ customers { edges { node { participants { ...L0 } } } } }\n"
        f"{fragments}\nfragment L4 on Participant {{ id }}"
    )
    body = await api.post(document, token=_staff(api, two_businesses[0]))
    assert _codes(body) == ["TOO_COMPLEX"]
    assert "levels deep" in body["errors"][0]["message"]


async def test_broken_and_unfitting_documents_carry_codes(
    api: Api, two_businesses: Businesses
) -> None:
    token = _staff(api, two_businesses[0])
    broken = await api.post("{ customers(", token=token)
    assert _codes(broken) == ["GRAPHQL_PARSE_FAILED"] and broken["errors"][0]["locations"]
    unfitting = await api.post("query($unused: Int) { customers(first: 1) { nope } }", token=token)
    assert _codes(unfitting) == ["GRAPHQL_VALIDATION_FAILED", "GRAPHQL_VALIDATION_FAILED"]
    # Errors that already say what they are keep their own codes.
    deep = "{ a0: __typename " + " ".join(f"a{i}: __typename" for i in range(1, 20)) + " }"
    assert _codes(await api.post(deep, token=token)) == ["TOO_COMPLEX"]


async def test_aliases_are_capped_at_15(api: Api) -> None:
    allowed = " ".join(f"a{i}: __typename" for i in range(MAX_ALIASES))
    assert len(await api.data(f"{{ {allowed} }}")) == MAX_ALIASES
    body = await api.post(f"{{ {allowed} extra: __typename }}")
    assert _codes(body) == ["TOO_COMPLEX"]


async def test_aliases_hidden_in_fragment_spreads_are_counted(api: Api) -> None:
    """Four aliases in a fragment spread twice, once inside an inline fragment and once through
    another fragment: 16 aliases."""
    document = (
        "{ ...A ...A ... { ...A } ...B }\n"
        "fragment A on Query { a: __typename b: __typename c: __typename d: __typename }\n"
        "fragment B on Query { ...A }"
    )
    body = await api.post(document)
    assert _codes(body) == ["TOO_COMPLEX"]
    assert "16 aliases" in body["errors"][0]["message"]


async def test_fragments_that_fan_out_are_measured_once_each(api: Api) -> None:
    """F0 spreads F1 twice, F1 spreads F2 twice, ...: 2^24 spreads of one alias. The stock
    limiters walk every spread (minutes); this is measured in one walk per fragment."""
    levels = 24
    fragments = "\n".join(
        f"fragment F{i} on Query {{ ...F{i + 1} ...F{i + 1} }}" for i in range(levels)
    )
    document = f"{{ ...F0 }}\n{fragments}\nfragment F{levels} on Query {{ a: __typename }}"
    body = await api.post(document)
    assert _codes(body) == ["TOO_COMPLEX"]
    assert f"{2**levels} aliases" in body["errors"][0]["message"]


async def test_circular_fragments_are_refused(api: Api) -> None:
    document = (
        "{ ...A }\nfragment A on Query { __typename ...B }\nfragment B on Query { __typename ...A }"
    )
    body = await api.post(document)
    assert body.get("data") is None
    assert any("Cannot spread fragment 'A' within itself" in e["message"] for e in body["errors"])


async def test_tokens_are_capped_at_2000(api: Api) -> None:
    def document(tokens: int) -> str:  # 13 tokens around the list
        values = " ".join(["1"] * (tokens - 13))
        return f"query {{ _entities(representations: [{values}]) {{ __typename }} }}"

    parsed = await api.post(document(MAX_TOKENS))
    assert _codes(parsed) == ["UNAUTHENTICATED"]  # parsed and validated, then refused
    body = await api.post(document(MAX_TOKENS + 1))
    assert body.get("data") is None
    assert "more than 2000 tokens" in body["errors"][0]["message"]


# Pages, input lists and _entities


async def test_page_size_input_lists_and_representations_are_capped(
    api: Api, owner: factories.Owner, two_businesses: Businesses
) -> None:
    token = _staff(api, two_businesses[0])
    page = await api.post("{ customers(first: 101) { totalCount } }", token=token)
    assert _codes(page) == ["INVALID_ARGUMENT"]
    ids = [str(uuid.uuid4()) for _ in range(101)]
    bulk = await api.post(
        "mutation ($ids: [ID!]) { peopleArchive(selection: {ids: $ids}) { errors { code } } }",
        {"ids": ids},
        token,
    )
    assert _codes(bulk) == ["TOO_MANY_IDS"]
    representations = [{"__typename": "Customer", "id": i} for i in ids[: MAX_REPRESENTATIONS + 1]]
    entities = await api.post(
        "query ($r: [_Any!]!) { _entities(representations: $r) { __typename } }",
        {"r": representations},
        token,
    )
    assert _codes(entities) == ["TOO_MANY_REPRESENTATIONS"]
    ada = await factories.customer(owner, two_businesses[0].id)
    member = api.token(two_businesses[0].id, "customer", ada["id"])
    inbox = await api.post(
        "mutation ($ids: [ID!]!) { memberMessagesMarkRead(ids: $ids) { errors { code } } }",
        {"ids": ids},
        member,
    )
    assert _codes(inbox) == ["TOO_MANY_IDS"]


# Every list of ids or objects the schema accepts as input, and where its cap of 100 is
# enforced (each one is tested above). A new one fails here until its cap is added and tested.
# Lists of enum values (tab state filters) are left out: they select, never fan out work, and
# the body cap bounds them.
CAPPED_INPUT_LISTS = {
    "Query._entities.representations": "schema/build.py MAX_REPRESENTATIONS",
    "PeopleSelectionInput.ids": "resolvers/selection.py MAX_IDS",
    "Mutation.memberMessagesMarkRead.ids": "schema/member.py MAX_MARK_READ",
}


def _input_lists() -> set[str]:
    from graphql import (
        GraphQLEnumType,
        GraphQLInputObjectType,
        GraphQLInputType,
        GraphQLObjectType,
        get_named_type,
        is_list_type,
    )
    from graphql import get_nullable_type as nullable

    from schema.build import schema

    def fans_out(type_: GraphQLInputType) -> bool:
        listed = is_list_type(nullable(type_))
        return listed and not isinstance(get_named_type(type_), GraphQLEnumType)

    found = set()
    for type_ in schema._schema.type_map.values():
        if type_.name.startswith("__"):
            continue
        if isinstance(type_, GraphQLInputObjectType):
            for name, field in type_.fields.items():
                if fans_out(field.type):
                    found.add(f"{type_.name}.{name}")
        elif isinstance(type_, GraphQLObjectType):
            for field_name, field in type_.fields.items():
                for name, argument in field.args.items():
                    if fans_out(argument.type):
                        found.add(f"{type_.name}.{field_name}.{name}")
    return found


def test_every_input_list_has_a_cap() -> None:
    assert _input_lists() == set(CAPPED_INPUT_LISTS)


# Production: introspection, GraphiQL, _service


@pytest.fixture
async def production_http(
    settings: Settings, tokens: TokenService
) -> AsyncIterator[httpx.AsyncClient]:
    production = replace(settings, graphiql=False, introspection=False)
    async with serving(production, tokens) as api:
        yield api.http


INTROSPECTION = "{ __schema { queryType { name } } }"


async def test_introspection_and_graphiql_are_on_in_development(api: Api) -> None:
    assert await api.data(INTROSPECTION) == {"__schema": {"queryType": {"name": "Query"}}}
    # The full query tools send nests `ofType` deeper than 10: introspection depth is not
    # counted.
    full = await api.data(get_introspection_query(descriptions=True))
    assert any(t["name"] == "Customer" for t in full["__schema"]["types"])
    page = await api.http.get("/graphql", headers={"Accept": "text/html"})
    assert page.status_code == 200 and "graphiql" in page.text.lower()


async def test_production_hides_introspection_and_graphiql_but_answers_service(
    production_http: httpx.AsyncClient,
) -> None:
    refused = (await production_http.post("/graphql", json={"query": INTROSPECTION})).json()
    assert refused.get("data") is None
    assert "introspection" in refused["errors"][0]["message"].lower()
    page = await production_http.get("/graphql", headers={"Accept": "text/html"})
    assert "graphiql" not in page.text.lower()
    service = await production_http.post("/graphql", json={"query": "{ _service { sdl } }"})
    assert "type Customer" in service.json()["data"]["_service"]["sdl"]


def test_production_settings_default_to_no_introspection_or_graphiql(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from server.settings import load_settings

    monkeypatch.setenv("APP_ENV", "production")
    production = load_settings()
    assert not production.graphiql and not production.introspection and not production.debug


# Error masking


@strawberry.type
class _Broken:
    @strawberry.field
    def answer(self) -> int:
        return 1 // 0


class _BrokenSchema(LogsErrorsQuietly, strawberry.Schema):
    """The smallest schema with our masking and logging, and a bug."""


def _broken_schema() -> strawberry.Schema:
    return _BrokenSchema(query=_Broken, extensions=[ErrorMasking])


async def test_unexpected_errors_are_masked_and_logged_without_their_message(
    settings: Settings, caplog: pytest.LogCaptureFixture
) -> None:
    context = Context(db=cast(Any, None), settings=settings, viewer=None)
    with caplog.at_level(logging.DEBUG, logger="schema.errors"):
        result = await _broken_schema().execute("{ answer }", context_value=context)
    assert result.errors is not None
    [error] = result.errors
    assert error.message == "Something failed on our side."
    assert error.extensions == {"code": "INTERNAL_SERVER_ERROR"} and error.path == ["answer"]
    above_debug = [r.getMessage() for r in caplog.records if r.levelno > logging.DEBUG]
    assert len(above_debug) == 1 and "ZeroDivisionError at ['answer']" in above_debug[0]
    assert "by zero" not in above_debug[0]
    debug_context = Context(db=cast(Any, None), settings=replace(settings, debug=True), viewer=None)
    shown = await _broken_schema().execute("{ answer }", context_value=debug_context)
    assert shown.errors is not None and "by zero" in shown.errors[0].message


async def test_the_log_keeps_type_and_path_and_hides_the_message_above_debug(
    settings: Settings, caplog: pytest.LogCaptureFixture
) -> None:
    try:
        raise ValueError("ada@example.com already exists")
    except ValueError as exc:
        error = GraphQLError("x", path=["customerCreate"], original_error=exc)
    with caplog.at_level(logging.DEBUG, logger="schema.errors"):
        log_errors([error])
    [above, debug] = caplog.records
    assert above.levelno == logging.ERROR and "ValueError" in above.getMessage()
    assert "customerCreate" in above.getMessage() and "ada@" not in above.getMessage()
    assert debug.levelno == logging.DEBUG and "ada@example.com" in debug.getMessage()


# Statement timeout


async def test_the_service_role_has_a_5_second_statement_timeout(
    db: testdb.ClonedDatabase,
) -> None:
    conn = await asyncpg.connect(asyncpg_url(db.service_url))
    try:
        assert await conn.fetchval("SHOW statement_timeout") == "5s"
        with pytest.raises(asyncpg.QueryCanceledError):
            await conn.execute("SET statement_timeout = 50; SELECT pg_sleep(1)")
    finally:
        await conn.close()
