"""The lean execution context answers exactly as graphql-core's own does: plain leaf fields read
straight from attributes, everything unusual (nulls, refused values, resolvers, extensions
that see every field) through the ordinary path with its ordinary errors."""

from __future__ import annotations

from collections.abc import Callable
from enum import Enum
from typing import Any, cast

import strawberry
from graphql import GraphQLObjectType, parse, specified_rules
from strawberry.extensions import SchemaExtension

from schema.build import schema as service_schema
from schema.execution import PLAIN_LEAF, LeanExecutionContext, mark_plain_leaves
from schema.validation_cache import MAX_DOCUMENTS, validated


@strawberry.enum(description="A colour.")
class Colour(Enum):
    RED = "red"
    BLUE = "blue"


def _shout(root: Thing) -> str:
    return root.name.upper()


@strawberry.type(description="A thing with every kind of field.")
class Thing:
    name: str = strawberry.field(description="Non-null text.")
    nickname: str | None = strawberry.field(description="Nullable text.")
    size: int = strawberry.field(description="Non-null number.")
    colour: Colour = strawberry.field(description="An enum.")
    tags: list[str] = strawberry.field(description="A list: not a leaf.")
    shout: str = strawberry.field(resolver=_shout, description="A resolver: not an attribute.")


def _thing(**overrides: Any) -> Thing:
    values: dict[str, Any] = {
        "name": "box",
        "nickname": None,
        "size": 3,
        "colour": Colour.BLUE,
        "tags": ["a", "b"],
    }
    values.update(overrides)
    return Thing(**values)


def _schema(source: Callable[[], Any], extensions: list[Any] | None = None) -> strawberry.Schema:
    def resolve_thing() -> Thing:
        return source()  # type: ignore[no-any-return]

    @strawberry.type(description="Root.")
    class Query:
        thing: Thing = strawberry.field(resolver=resolve_thing, description="The thing.")

    built = strawberry.Schema(
        query=Query,
        execution_context_class=LeanExecutionContext,
        extensions=extensions or [],
    )
    mark_plain_leaves(built._schema)
    return built


DOCUMENT = "{ thing { name nickname size colour tags shout } }"


async def test_plain_leaves_answer_as_graphql_core_does() -> None:
    result = await _schema(_thing).execute(DOCUMENT)
    assert result.errors is None
    assert result.data == {
        "thing": {
            "name": "box",
            "nickname": None,
            "size": 3,
            "colour": "BLUE",
            "tags": ["a", "b"],
            "shout": "BOX",
        }
    }


def test_only_plain_leaf_attributes_are_marked() -> None:
    built = _schema(_thing)
    fields = cast(GraphQLObjectType, built._schema.type_map["Thing"]).fields
    marked = {name for name, field in fields.items() if hasattr(field, PLAIN_LEAF)}
    assert marked == {"name", "nickname", "size", "colour"}
    # The service's own schema: a customer's scalars are plain, its tabs are not.
    customer = cast(GraphQLObjectType, service_schema._schema.type_map["Customer"]).fields
    assert hasattr(customer["number"], PLAIN_LEAF)
    assert not hasattr(customer["bookings"], PLAIN_LEAF)


async def test_a_null_in_a_non_null_leaf_is_the_ordinary_error() -> None:
    result = await _schema(lambda: _thing(name=None)).execute("{ thing { name } }")
    assert result.data is None
    assert result.errors is not None
    assert result.errors[0].message == "Cannot return null for non-nullable field Thing.name."
    assert result.errors[0].path == ["thing", "name"]


async def test_a_value_the_scalar_refuses_is_the_ordinary_error() -> None:
    result = await _schema(lambda: _thing(size="three")).execute("{ thing { size } }")
    assert result.data is None
    assert result.errors is not None
    assert result.errors[0].message == "Int cannot represent non-integer value: 'three'"
    assert result.errors[0].path == ["thing", "size"]


async def test_an_extension_that_resolves_every_field_still_sees_plain_leaves() -> None:
    seen: list[str] = []

    class Watch(SchemaExtension):
        def resolve(
            self, _next: Callable[..., Any], root: Any, info: Any, *args: Any, **kwargs: Any
        ) -> Any:
            seen.append(info.field_name)
            return _next(root, info, *args, **kwargs)

    result = await _schema(_thing, [Watch]).execute("{ thing { name size } }")
    assert result.data == {"thing": {"name": "box", "size": 3}}
    assert seen == ["thing", "name", "size"]


def test_each_parsed_document_is_validated_once() -> None:
    graphql_schema = service_schema._schema
    rules = tuple(specified_rules)
    document = parse("{ __typename }")
    first = validated(graphql_schema, document, rules)
    assert first == [] and validated(graphql_schema, document, rules) is first
    # The same text parsed again is another object, validated afresh.
    assert validated(graphql_schema, parse("{ __typename }"), rules) is not first
    wrong = validated(graphql_schema, parse("{ noSuchField }"), rules)
    assert [e.message for e in wrong] == ["Cannot query field 'noSuchField' on type 'Query'."]


def test_the_validation_memory_is_bounded() -> None:
    graphql_schema = service_schema._schema
    rules = tuple(specified_rules)
    document = parse("{ __typename }")
    first = validated(graphql_schema, document, rules)
    others = [parse("{ __typename }") for _ in range(MAX_DOCUMENTS)]
    for other in others:
        validated(graphql_schema, other, rules)
    assert validated(graphql_schema, document, rules) is not first
