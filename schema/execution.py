"""A leaner graphql-core execution context for the plain execution path.

Most fields of a page are plain attributes holding a scalar or an enum (the profile document
resolves about 1,400 fields, three quarters of them leaves). graphql-core treats each of them
like any other field: it builds a resolve info, calls Strawberry's default resolver through three
Python calls, asks whether the result is awaitable and dispatches through `complete_value`.
For a leaf read straight from an attribute none of that changes the answer, so such fields are
read with `getattr` and coerced with the type's own `coerce_output_value`, exactly what
`complete_leaf_value` does; an object read from an attribute goes straight to its subfields.
Anything unusual (a null, a value the scalar refuses, resolve
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
    GraphQLOutputType,
    GraphQLSchema,
    is_leaf_type,
)
from graphql.execution.executor import Executor
from graphql.pyutils import Path, Undefined, gather_with_cancel
from graphql.type.definition import GraphQLResolveInfoHelpers
from strawberry.schema.schema import StrawberryGraphQLCoreExecutionContext
from strawberry.schema.schema_converter import GraphQLCoreConverter

# Set on a GraphQLField whose value is a leaf read from a plain attribute: (attribute, type).
PLAIN_LEAF = "_plain_leaf"
# Set on a GraphQLField whose value is an object read from a plain attribute, of a type that
# needs no `is_type_of` check: (attribute, object type, the field's type).
PLAIN_OBJECT = "_plain_object"
PlainObject = tuple[str, GraphQLObjectType, GraphQLOutputType]


def mark_plain_leaves(schema: GraphQLSchema) -> int:
    """Mark the fields that are plain attributes of a leaf type, or of an object type that
    needs no check of what it is given; returns how many leaves."""
    marked = 0
    for named in schema.type_map.values():
        if not isinstance(named, GraphQLObjectType) or named.name.startswith("__"):
            continue
        for field in named.fields.values():
            name = plain_attribute(field)
            if name is None:
                continue
            inner = field.type.of_type if isinstance(field.type, GraphQLNonNull) else field.type
            if is_leaf_type(inner):  # lists are not leaves, even of scalars
                setattr(field, PLAIN_LEAF, (name, inner, isinstance(field.type, GraphQLNonNull)))
                marked += 1
            elif isinstance(inner, GraphQLObjectType) and not inner.is_type_of:
                setattr(field, PLAIN_OBJECT, (name, inner, field.type))
    return marked


def plain_attribute(field: GraphQLField) -> str | None:
    """The Python attribute behind a field that Strawberry resolves by reading it (no resolver,
    no permission classes, no extensions, no arguments), or None."""
    if field.args or not getattr(field.resolve, "_is_default", False):
        return None
    definition = (field.extensions or {}).get(GraphQLCoreConverter.DEFINITION_BACKREF)
    if definition is None or definition.default_resolver is not getattr:
        return None
    name: str = definition.python_name
    return name


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


async def awaited_fields(results: dict[str, Any], awaitable_fields: list[str]) -> dict[str, Any]:
    """`results` with its awaitable fields awaited (side by side when there are several), as
    graphql-core's `execute_fields` finishes a selection."""
    if len(awaitable_fields) == 1:
        field = awaitable_fields[0]
        results[field] = await results[field]
    else:
        awaited = await gather_with_cancel(*(results[field] for field in awaitable_fields))
        results.update(zip(awaitable_fields, awaited, strict=True))
    return results


async def completed_later(
    executor: Executor[Any],
    completed: Awaitable[Any],
    return_type: GraphQLOutputType,
    field_details_list: Any,
    path: Path,
) -> Any:
    """A field's awaited value, its error handled as graphql-core's `execute_field` handles
    the error of an awaited completion (null where allowed, otherwise up to the parent)."""
    try:
        return await completed
    except Exception as raw_error:
        executor.handle_field_error(raw_error, return_type, field_details_list, path)
        return None


def _alive(owner: weakref.ref[Executor[Any]]) -> Executor[Any]:
    executor = owner()
    if executor is None:
        raise RuntimeError("The operation these helpers belonged to has finished.")
    return executor


# Returned by `_read_leaf` when the field must take graphql-core's ordinary path.
_ORDINARY = object()

# A selection's fields in order: response name, field group, the plain-leaf and plain-object
# markers.
_Entry = tuple[str, Any, tuple[str, Any, bool] | None, PlainObject | None]


def _read_leaf(source: Any, leaf: tuple[str, Any, bool]) -> Any:
    """The completed value of a plain leaf of `source`, or `_ORDINARY` when it is not the
    simple case (a null where none is allowed, a value the scalar refuses)."""
    name, leaf_type, non_null = leaf
    value = getattr(source, name, Undefined)
    if value is None:
        return _ORDINARY if non_null else None
    if value is Undefined:
        return _ORDINARY
    try:
        coerced = leaf_type.coerce_output_value(value)
    except Exception:  # the ordinary path reports it, with its location
        return _ORDINARY
    return _ORDINARY if coerced is None or coerced is Undefined else coerced


class LeanExecutionContext(StrawberryGraphQLCoreExecutionContext):
    """Reads plain leaf fields directly; every other field as graphql-core does.

    A selection set (a grouped field set, collected once per type and field group in a
    request) is turned into a list of entries on first use, so that for every further object
    of that selection a plain leaf costs one attribute read and one coercion: no path, no field
    lookup, no call into graphql-core. An object read from an attribute (a price, a node, an
    event) goes straight to its subfields, as graphql-core would after building resolve info
    and calling the default resolver."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        detach_async_helpers(self)
        manager = self.middleware_manager
        # An extension with a `resolve` hook must see every field: then take no shortcut.
        self._shortcuts = manager is None or manager._middleware_resolvers is None
        self._selections: dict[int, tuple[Any, list[_Entry]]] = {}

    def _entries(self, parent_type: GraphQLObjectType, grouped_field_set: Any) -> list[_Entry]:
        known = self._selections.get(id(grouped_field_set))
        if known is not None and known[0] is grouped_field_set:
            return known[1]
        entries: list[_Entry] = []
        for response_name, field_details_list in grouped_field_set.items():
            field_def = self.schema.get_field(parent_type, field_details_list[0].node.name.value)
            leaf = getattr(field_def, PLAIN_LEAF, None) if self._shortcuts else None
            plain_object = getattr(field_def, PLAIN_OBJECT, None) if self._shortcuts else None
            entries.append((response_name, field_details_list, leaf, plain_object))
        # Keyed by identity, the set kept alive with its entries so that its id stays its own.
        self._selections[id(grouped_field_set)] = (grouped_field_set, entries)
        return entries

    def execute_fields(
        self,
        parent_type: GraphQLObjectType,
        source_value: Any,
        path: Path | None,
        grouped_field_set: Any,
        position_context: Any,
    ) -> Any:
        """graphql-core's `execute_fields`, with plain leaves read on the spot and plain
        objects completed without a resolver call."""
        results: dict[str, Any] = {}
        is_awaitable = self.is_awaitable
        awaitable_fields: list[str] = []
        try:
            for response_name, field_details_list, leaf, plain_object in self._entries(
                parent_type, grouped_field_set
            ):
                if leaf is not None:
                    value = _read_leaf(source_value, leaf)
                    if value is not _ORDINARY:
                        results[response_name] = value
                        continue
                field_path = Path(path, response_name, parent_type.name)
                result = _ORDINARY
                if plain_object is not None:
                    result = self._plain_object(
                        source_value, plain_object, field_details_list, field_path, position_context
                    )
                if result is _ORDINARY:
                    result = super().execute_field(
                        parent_type, source_value, field_details_list, field_path, position_context
                    )
                if result is not Undefined:
                    results[response_name] = result
                    if is_awaitable(result):
                        awaitable_fields.append(response_name)
        except Exception:
            if awaitable_fields:
                self.settle_in_background([results[field] for field in awaitable_fields])
            raise
        if not awaitable_fields:
            return results
        return awaited_fields(results, awaitable_fields)

    def _plain_object(
        self,
        source: Any,
        plain_object: PlainObject,
        field_details_list: Any,
        path: Path,
        position_context: Any,
    ) -> Any:
        """What `execute_field` makes of an object read from an attribute, without resolve
        info or resolver calls: its subfields, with their errors handled as the field's own.
        `_ORDINARY` for a missing or null value (the ordinary path reports a non-null one)."""
        name, object_type, return_type = plain_object
        value = getattr(source, name, None)
        if value is None:
            return _ORDINARY
        try:
            completed = self.collect_and_execute_subfields(
                object_type, field_details_list, path, value, position_context
            )
        except Exception as raw_error:
            self.handle_field_error(raw_error, return_type, field_details_list, path)
            return None
        if self.is_awaitable(completed):
            return completed_later(self, completed, return_type, field_details_list, path)
        return completed

    def execute_field(
        self,
        parent_type: GraphQLObjectType,
        source: Any,
        field_details_list: Any,
        path: Path,
        position_context: Any,
    ) -> Any:
        """For fields executed one by one (mutations, serially)."""
        field_def = self.schema.get_field(parent_type, field_details_list[0].node.name.value)
        leaf = getattr(field_def, PLAIN_LEAF, None) if self._shortcuts else None
        if leaf is not None:
            value = _read_leaf(source, leaf)
            if value is not _ORDINARY:
                return value
        return super().execute_field(
            parent_type, source, field_details_list, path, position_context
        )
