"""The federated schema object with its extensions."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from functools import cache, partial
from typing import Any, Final

import strawberry
from graphql import GraphQLError
from graphql.validation import NoSchemaIntrospectionCustomRule
from strawberry.extensions import AddValidationRules, SchemaExtension
from strawberry.federation.schema import FederationAny
from strawberry.federation.schema import Schema as FederationSchema
from strawberry.schema.config import StrawberryConfig
from strawberry.types import Info
from strawberry.types.graphql import OperationType

from schema.errors import ApiError, ErrorCode
from schema.execution import LeanExecutionContext, mark_plain_leaves
from schema.limits import limit_extensions
from schema.masking import CodedParserCache, ErrorMasking, LogsErrorsQuietly, ValidationCodes
from schema.mutation import Mutation
from schema.people import AdditionalUser, Customer, Participant
from schema.permissions import FEDERATION_FIELDS
from schema.profile import PROFILE_ENTITIES
from schema.query import Query
from schema.validation_cache import ValidationByDocument
from server.context import Context

FEDERATION_VERSION: Final = "2.11"
MAX_REPRESENTATIONS = 100
# Operations one HTTP request may batch (a JSON array of operations, as gateways send).
MAX_BATCHED_OPERATIONS = 10


class CloseSnapshot(SchemaExtension):
    """Ends the request's read transaction when the operation is done (HTTP or direct), and
    reports the statement count when asked to. A mutation ends it before it starts: the snapshot
    opened with the token check would be stale after the write, and a mutation takes its own
    connection, never a second one while holding the first."""

    async def on_execute(self) -> AsyncIterator[None]:
        context = self.execution_context.context
        if (
            isinstance(context, Context)
            and self.execution_context.operation_type is OperationType.MUTATION
        ):
            await context.fresh_snapshot()
        yield

    async def on_operation(self) -> AsyncIterator[None]:
        yield
        context = self.execution_context.context
        if isinstance(context, Context):
            await finish_operation(context)


async def finish_operation(context: Context) -> None:
    """Ends the request's read transaction (or leaves it to the HTTP endpoint, after the
    response) and reports the statement count when asked to (plain and compiled execution
    alike)."""
    await context.finish()
    if context.settings.statement_count_header and context.response is not None:
        context.response.headers["x-sql-statements"] = str(context.counter.count)


def _representation_error(index: int, message: str) -> GraphQLError:
    return ApiError(ErrorCode.INVALID_REPRESENTATION, message, f"representations.{index}")


def _is_uuid(value: object) -> bool:
    if not isinstance(value, str):
        return False
    try:
        uuid.UUID(value)
    except ValueError:
        return False
    return True


class SubgraphSchema(LogsErrorsQuietly, FederationSchema):
    """Validates `_entities` representations before resolving them: a bad one gives null at its
    index with INVALID_REPRESENTATION, only more than 100 fails the whole call."""

    def entities_resolver(
        self, info: Info[Context, Any], representations: list[FederationAny]
    ) -> list[FederationAny]:
        FEDERATION_FIELDS["_entities"].check(info)
        if len(representations) > MAX_REPRESENTATIONS:
            raise ApiError(
                ErrorCode.TOO_MANY_REPRESENTATIONS,
                f"At most {MAX_REPRESENTATIONS} representations per call.",
                "representations",
            )
        type_map = self.schema_converter.type_map
        results: list[Any] = []
        for index, representation in enumerate(representations):
            if not isinstance(representation, dict):
                results.append(_representation_error(index, "A representation must be an object."))
                continue
            type_name = representation.get("__typename")
            entry = type_map.get(type_name) if isinstance(type_name, str) else None
            origin = getattr(getattr(entry, "definition", None), "origin", None)
            if origin is None or not hasattr(origin, "resolve_reference"):
                results.append(_representation_error(index, f"Unknown entity type {type_name!r}."))
                continue
            raw_id = representation.get("id")
            if not _is_uuid(raw_id):
                results.append(_representation_error(index, "The id is not a valid UUID."))
                continue
            results.append(origin.resolve_reference(info=info, id=strawberry.ID(str(raw_id))))
        return results


@cache
def build_schema(*, introspection: bool) -> SubgraphSchema:
    """The schema with its extensions: the cost limits run before the caches so that cached
    documents were checked too; masking wraps everything."""
    no_introspection = partial(AddValidationRules, [NoSchemaIntrospectionCustomRule])
    rules = [] if introspection else [no_introspection]
    built = SubgraphSchema(
        query=Query,
        mutation=Mutation,
        types=[Customer, Participant, AdditionalUser, *PROFILE_ENTITIES],
        federation_version=FEDERATION_VERSION,
        extensions=[
            ErrorMasking,
            ValidationCodes,
            CloseSnapshot,
            *limit_extensions(),
            *rules,
            CodedParserCache,
            ValidationByDocument,
        ],
        config=StrawberryConfig(batching_config={"max_operations": MAX_BATCHED_OPERATIONS}),
        execution_context_class=LeanExecutionContext,
    )
    mark_plain_leaves(built._schema)
    return built


# The schema as development serves it (introspection on): the SDL export and direct tests.
schema = build_schema(introspection=True)
