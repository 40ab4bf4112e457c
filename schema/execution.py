"""A leaner graphql-core execution context for the plain execution path.

Most fields of a page are plain attributes holding a scalar or an enum (the profile document
resolves about 1,400 fields, three quarters of them leaves). graphql-core treats each of them
like any other field: it builds a resolve info, calls Strawberry's default resolver through three
Python calls, asks whether the result is awaitable and dispatches through `complete_value`.
For a leaf read straight from an attribute none of that changes the answer, so such fields are
read with `getattr` and coerced with the type's own `coerce_output_value`, exactly what
`complete_leaf_value` does. Anything unusual (a null, a value the scalar refuses, resolve
middleware from an extension) goes down graphql-core's ordinary path, which reports the error
as usual.
"""

from __future__ import annotations

import weakref
from collections.abc import Awaitable, Sequence
from typing import Any

from graphql import (
    GraphQLField,
    GraphQLNonNull,
    GraphQLObjectType,
    GraphQLSchema,
    is_leaf_type,
)
from graphql.execution.executor import Executor
from graphql.pyutils import Path, Undefined
from graphql.type.definition import GraphQLResolveInfoHelpers
from strawberry.schema.schema import StrawberryGraphQLCoreExecutionContext
from strawberry.schema.schema_converter import GraphQLCoreConverter

# Set on a GraphQLField whose value is a leaf read from a plain attribute: (attribute, type).
PLAIN_LEAF = "_plain_leaf"


def mark_plain_leaves(schema: GraphQLSchema) -> int:
    """Mark the fields that are plain attributes of a leaf type; returns how many."""
    marked = 0
    for named in schema.type_map.values():
        if not isinstance(named, GraphQLObjectType) or named.name.startswith("__"):
            continue
        for field in named.fields.values():
            leaf = _plain_leaf(field)
            if leaf is not None:
                setattr(field, PLAIN_LEAF, leaf)
                marked += 1
    return marked


def _plain_leaf(field: GraphQLField) -> tuple[str, Any, bool] | None:
    definition = (field.extensions or {}).get(GraphQLCoreConverter.DEFINITION_BACKREF)
    # Strawberry marks the resolver it generates for a field without resolver or extensions.
    if definition is None or not getattr(field.resolve, "_is_default", False):
        return None
    non_null = isinstance(field.type, GraphQLNonNull)
    leaf = field.type.of_type if isinstance(field.type, GraphQLNonNull) else field.type
    if not is_leaf_type(leaf) or field.args:  # lists are not leaves, even of scalars
        return None
    return definition.python_name, leaf, non_null


def detach_async_helpers(executor: Executor[Any]) -> None:
    """Give the executor resolve-info helpers that do not hold it strongly.

    graphql-core keeps bound methods of the executor in `executor.async_helpers`: a reference
    cycle. Everything the request built hangs off the executor (its context, loaders and
    their rows, the collected fields), so all of it outlived the request until the cyclic
    collector found it: about 20,000 objects every dozen profile requests, freed in one pause
    of 25-60 ms. Without the cycle, reference counting frees a request's objects as it ends."""
    owner = weakref.ref(executor)

    def gather(values: Sequence[Awaitable[Any]]) -> Awaitable[list[Any]]:
        return _alive(owner).gather_async_work(values)

    def track(values: Sequence[Any]) -> None:
        _alive(owner).track_async_work(values)

    executor.async_helpers = GraphQLResolveInfoHelpers(gather=gather, track=track)


def _alive(owner: weakref.ref[Executor[Any]]) -> Executor[Any]:
    executor = owner()
    if executor is None:
        raise RuntimeError("The operation these helpers belonged to has finished.")
    return executor


class LeanExecutionContext(StrawberryGraphQLCoreExecutionContext):
    """Reads plain leaf fields directly; every other field as graphql-core does."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        detach_async_helpers(self)

    def _without_resolve_middleware(self) -> bool:
        # An extension with a `resolve` hook must see every field: then take no shortcut.
        manager = self.middleware_manager
        return manager is None or manager._middleware_resolvers is None

    def execute_field(
        self,
        parent_type: GraphQLObjectType,
        source: Any,
        field_details_list: Any,
        path: Path,
        position_context: Any,
    ) -> Any:
        field_def = self.schema.get_field(parent_type, field_details_list[0].node.name.value)
        leaf = getattr(field_def, PLAIN_LEAF, None)
        if leaf is not None and self._without_resolve_middleware():
            name, leaf_type, non_null = leaf
            value = getattr(source, name, Undefined)
            if value is None and not non_null:
                return None
            if value is not None and value is not Undefined:
                try:
                    coerced = leaf_type.coerce_output_value(value)
                except Exception:  # the ordinary path reports it, with its location
                    coerced = None
                if coerced is not None and coerced is not Undefined:
                    return coerced
        return super().execute_field(
            parent_type, source, field_details_list, path, position_context
        )
