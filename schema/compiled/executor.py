"""graphql-core's executor driven by a plan.

Everything that resolves (resolvers, permissions, arguments, abstract types, errors) runs
through graphql-core's own methods, so results, nulls and errors are its results, nulls and
errors. What the plan changes: selections are collected once per document rather than per
request, and fields that merely read a plain attribute are read and completed here, without
building resolve info, paths or argument maps. Whenever such a field's value is not the
simple case (null, an unexpected type, a value its scalar refuses), the field is handed back
to graphql-core, which reads the attribute again and reports exactly what it would have.
"""

from __future__ import annotations

from typing import Any, cast

from graphql import GraphQLObjectType, Undefined
from graphql.execution.collect_fields import CollectedFields, FieldDetailsList, GroupedFieldSet
from graphql.execution.executor import Executor
from graphql.pyutils import AwaitableOrValue, Path, gather_with_cancel

from schema.compiled.plan import FieldKind, FieldPlan, OperationPlan, PlannedFieldSet
from schema.execution import awaited_fields, completed_later, detach_async_helpers

_UNREADABLE = object()
_INT_MIN = -(2**31)
_INT_MAX = 2**31 - 1


class PlanExecutor(Executor[Any]):
    """Runs one request of a compiled operation (`plan` is set right after `build`)."""

    plan: OperationPlan

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        detach_async_helpers(self)

    def execute_collected_root_fields(
        self,
        root_type: GraphQLObjectType,
        root_value: Any,
        grouped_field_set: GroupedFieldSet,
        serially: bool,
        new_defer_usages: Any,
    ) -> AwaitableOrValue[dict[str, Any]]:
        # The plan's root set equals what was just collected: no selection depends on a
        # variable (the compiler refuses those documents).
        return self.execute_root_grouped_field_set(
            root_type, root_value, self.plan.root, serially, None
        )

    def collect_subfields(
        self, return_type: GraphQLObjectType, field_details_list: FieldDetailsList
    ) -> CollectedFields:
        planned = self.plan.subfields.get((return_type, id(field_details_list)))
        if planned is not None:
            return planned
        return super().collect_subfields(return_type, field_details_list)

    def execute_fields(
        self,
        parent_type: GraphQLObjectType,
        source_value: Any,
        path: Path | None,
        grouped_field_set: GroupedFieldSet,
        position_context: Any,
    ) -> AwaitableOrValue[dict[str, Any]]:
        if not isinstance(grouped_field_set, PlannedFieldSet):
            return super().execute_fields(
                parent_type, source_value, path, grouped_field_set, position_context
            )
        results: dict[str, Any] = {}
        is_awaitable = self.is_awaitable
        awaitable_fields: list[str] = []
        leaf, typename = FieldKind.LEAF, FieldKind.TYPENAME
        try:
            for field in grouped_field_set.fields:
                name = field.response_name
                # Leaves read from an attribute: the bulk of a response, so handled inline.
                if field.kind is leaf:
                    try:
                        value = getattr(source_value, field.attribute)
                    except Exception:  # graphql-core reads it again and reports it
                        value = _UNREADABLE
                    if value is None and field.nullable:
                        results[name] = None
                        continue
                    completed = _leaf(field, value)
                    if completed is not None:
                        results[name] = completed
                        continue
                elif field.kind is typename:
                    results[name] = parent_type.name
                    continue
                result = self._planned_field(parent_type, source_value, path, field)
                if result is Undefined:
                    continue
                results[name] = result
                if is_awaitable(result):
                    awaitable_fields.append(name)
        except Exception:
            if awaitable_fields:
                self.settle_in_background([results[name] for name in awaitable_fields])
            raise
        if not awaitable_fields:
            return results
        return awaited_fields(results, awaitable_fields)

    def _planned_field(
        self, parent_type: GraphQLObjectType, source: Any, path: Path | None, field: FieldPlan
    ) -> Any:
        kind = field.kind
        if kind is FieldKind.OBJECT or kind is FieldKind.OBJECT_LIST:
            try:
                value = getattr(source, field.attribute)
            except Exception:
                value = None
            if value is not None:
                if kind is FieldKind.OBJECT:
                    return self._object(parent_type, path, field, value)
                if type(value) is list and None not in value:
                    return self._object_list(parent_type, path, field, value)
        return self.execute_field(
            parent_type,
            source,
            field.details,
            Path(path, field.response_name, parent_type.name),
            None,
        )

    def _object(
        self, parent_type: GraphQLObjectType, path: Path | None, field: FieldPlan, value: Any
    ) -> Any:
        """What `execute_field` does for an object read from an attribute."""
        field_path = Path(path, field.response_name, parent_type.name)
        assert field.object_type is not None and field.subfields is not None
        try:
            completed = self.execute_fields(
                field.object_type, value, field_path, field.subfields, None
            )
            if self.is_awaitable(completed):
                return completed_later(
                    self, completed, field.return_type, field.details, field_path
                )
        except Exception as raw_error:
            self.handle_field_error(raw_error, field.return_type, field.details, field_path)
            return None
        return completed

    def _object_list(
        self, parent_type: GraphQLObjectType, path: Path | None, field: FieldPlan, items: list[Any]
    ) -> Any:
        """What `execute_field` and `complete_iterable_value` do for a list of objects read
        from an attribute, none of them null."""
        field_path = Path(path, field.response_name, parent_type.name)
        assert field.object_type is not None and field.subfields is not None
        assert field.item_type is not None
        object_type, subfields, item_type = field.object_type, field.subfields, field.item_type
        is_awaitable = self.is_awaitable
        try:
            completed: list[Any] = []
            awaitable_indices: list[int] = []
            try:
                for index, item in enumerate(items):
                    item_path = field_path.add_key(index, None)
                    try:
                        value = self.execute_fields(object_type, item, item_path, subfields, None)
                        if is_awaitable(value):
                            value = completed_later(
                                self, value, item_type, field.details, item_path
                            )
                            awaitable_indices.append(index)
                    except Exception as raw_error:
                        self.handle_field_error(raw_error, item_type, field.details, item_path)
                        value = None
                    completed.append(value)
            except Exception:
                awaitables = [completed[index] for index in awaitable_indices]
                if awaitables:
                    self.settle_in_background(awaitables)
                raise
            if not awaitable_indices:
                return completed
            gathered = self._gather_items(completed, awaitable_indices)
            return completed_later(self, gathered, field.return_type, field.details, field_path)
        except Exception as raw_error:
            self.handle_field_error(raw_error, field.return_type, field.details, field_path)
            return None

    @staticmethod
    async def _gather_items(completed: list[Any], awaitable_indices: list[int]) -> list[Any]:
        if len(awaitable_indices) == 1:
            index = awaitable_indices[0]
            completed[index] = await completed[index]
        else:
            awaited = await gather_with_cancel(*(completed[index] for index in awaitable_indices))
            for index, value in zip(awaitable_indices, awaited, strict=True):
                completed[index] = value
        return completed


def _leaf(field: FieldPlan, value: Any) -> Any:
    """The output value of a scalar or enum in the simple case; None when graphql-core must
    decide (null, or a value its scalar refuses: it then reports what it always does)."""
    if value is None or value is _UNREADABLE:
        return None
    identity = field.identity_type
    if identity is not None and type(value) is identity:
        if identity is int and not _INT_MIN <= cast(int, value) <= _INT_MAX:
            return None
        return value
    try:
        coerced = field.coerce(value)
    except Exception:
        return None
    return None if coerced is Undefined else coerced
