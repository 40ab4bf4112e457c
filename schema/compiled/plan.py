"""Turning one validated operation into a plan: every selection collected once per runtime
type, and every field classified so that execution can read plain attributes directly."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from enum import Enum
from typing import Any

from graphql import (
    DocumentNode,
    FragmentDefinitionNode,
    GraphQLBoolean,
    GraphQLEnumType,
    GraphQLID,
    GraphQLInt,
    GraphQLList,
    GraphQLNonNull,
    GraphQLObjectType,
    GraphQLOutputType,
    GraphQLScalarType,
    GraphQLSchema,
    GraphQLString,
    OperationDefinitionNode,
    OperationType,
    VariableNode,
    is_abstract_type,
    is_object_type,
    visit,
)
from graphql.execution.collect_fields import (
    CollectedFields,
    FieldDetailsList,
    FragmentDetails,
    collect_fields,
    collect_subfields,
)
from graphql.execution.values import VariableValues
from graphql.language import DirectiveNode, Visitor

from schema.execution import plain_attribute

# Python types whose values graphql-core's built-in scalars return unchanged.
_IDENTITY_SCALARS: dict[GraphQLScalarType, type] = {
    GraphQLString: str,
    GraphQLID: str,
    GraphQLInt: int,
    GraphQLBoolean: bool,
}
_INT_RANGE = range(-(2**31), 2**31)


class NotCompilable(Exception):
    """The document is served by plain execution; the message says why."""


class FieldKind(Enum):
    """How execution obtains and completes a field's value."""

    # `__typename`: the parent type's name.
    TYPENAME = "typename"
    # A plain attribute holding a scalar or enum value.
    LEAF = "leaf"
    # A plain attribute holding an object whose type needs no runtime check.
    OBJECT = "object"
    # A plain attribute holding a list of such objects.
    OBJECT_LIST = "object_list"
    # Anything with a resolver, arguments, permissions or an abstract type: graphql-core's
    # own field execution, with the sub-selections still taken from the plan.
    RESOLVED = "resolved"


@dataclass(frozen=True, slots=True)
class FieldPlan:
    """One response key of a selection on one object type."""

    response_name: str
    details: FieldDetailsList
    kind: FieldKind
    return_type: GraphQLOutputType
    attribute: str = ""
    # Whether null is a value of the field (graphql-core then completes None as None).
    nullable: bool = True
    # LEAF: the Python type returned unchanged, or the leaf's output coercion.
    identity_type: type | None = None
    coerce: Any = None
    # OBJECT / OBJECT_LIST: the object type and its planned selection.
    object_type: GraphQLObjectType | None = None
    subfields: PlannedFieldSet | None = None
    # OBJECT_LIST: whether the list itself and its items are non-null.
    list_type: GraphQLOutputType | None = None
    item_type: GraphQLOutputType | None = None


class PlannedFieldSet(dict[str, FieldDetailsList]):
    """A grouped field set (what graphql-core collects) carrying the plan of its fields."""

    fields: tuple[FieldPlan, ...] = ()


@dataclass
class OperationPlan:
    """A query operation of a trusted document, ready to run."""

    document: DocumentNode
    operation: OperationDefinitionNode
    root: PlannedFieldSet
    # Keyed like graphql-core's sub-field memo: (object type, id of the field details list).
    # The lists are kept alive by the plan, so their ids stay unique.
    subfields: dict[tuple[GraphQLObjectType, int], CollectedFields] = field(default_factory=dict)

    @property
    def name(self) -> str | None:
        return self.operation.name.value if self.operation.name else None


_NO_VARIABLES = VariableValues({}, {})


class _Compiler:
    def __init__(self, schema: GraphQLSchema, document: DocumentNode) -> None:
        self.schema = schema
        self.document = document
        self.fragments = {
            d.name.value: FragmentDetails(d)
            for d in document.definitions
            if isinstance(d, FragmentDefinitionNode)
        }

    def operation(self, operation: OperationDefinitionNode) -> OperationPlan:
        root_type = self.schema.query_type
        assert root_type is not None
        grouped, _, _ = collect_fields(
            self.schema, self.fragments, _NO_VARIABLES, root_type, operation
        )
        plan = OperationPlan(self.document, operation, PlannedFieldSet())
        plan.root = self._field_set(plan, root_type, grouped)
        return plan

    def _field_set(
        self, plan: OperationPlan, parent: GraphQLObjectType, grouped: dict[str, FieldDetailsList]
    ) -> PlannedFieldSet:
        planned = PlannedFieldSet(grouped)
        planned.fields = tuple(
            self._field(plan, parent, name, details) for name, details in grouped.items()
        )
        return planned

    def _subfields(
        self, plan: OperationPlan, object_type: GraphQLObjectType, details: FieldDetailsList
    ) -> PlannedFieldSet:
        key = (object_type, id(details))
        known = plan.subfields.get(key)
        if known is not None:
            assert isinstance(known.grouped_field_set, PlannedFieldSet)
            return known.grouped_field_set
        collected = collect_subfields(
            self.schema, self.fragments, _NO_VARIABLES, plan.operation, object_type, details
        )
        planned = self._field_set(plan, object_type, collected.grouped_field_set)
        plan.subfields[key] = CollectedFields(planned, collected.new_defer_usages, [])
        return planned

    def _field(
        self,
        plan: OperationPlan,
        parent: GraphQLObjectType,
        name: str,
        details: FieldDetailsList,
    ) -> FieldPlan:
        node = details[0].node
        field_name = node.name.value
        field_def = self.schema.get_field(parent, field_name)
        if field_def is None:
            raise NotCompilable(f"{parent.name}.{field_name} is not in the schema")
        return_type = field_def.type
        # Plan every runtime type's sub-selection, whatever kind the field is.
        for object_type in self._object_types(return_type):
            self._subfields(plan, object_type, details)
        if field_name == "__typename":
            return FieldPlan(name, details, FieldKind.TYPENAME, return_type)
        attribute = None if node.arguments else plain_attribute(field_def)
        if attribute is None:
            return FieldPlan(name, details, FieldKind.RESOLVED, return_type)
        inner = return_type.of_type if isinstance(return_type, GraphQLNonNull) else return_type
        # A list of scalars or enums is not a leaf: graphql-core completes it item by item.
        if isinstance(inner, GraphQLScalarType | GraphQLEnumType):
            return FieldPlan(
                name,
                details,
                FieldKind.LEAF,
                return_type,
                attribute,
                nullable=not isinstance(return_type, GraphQLNonNull),
                identity_type=_IDENTITY_SCALARS.get(inner)
                if isinstance(inner, GraphQLScalarType)
                else None,
                coerce=inner.coerce_output_value,
            )
        if isinstance(inner, GraphQLObjectType) and inner.is_type_of is None:
            subfields = self._subfields(plan, inner, details)
            return FieldPlan(
                name,
                details,
                FieldKind.OBJECT,
                return_type,
                attribute,
                object_type=inner,
                subfields=subfields,
            )
        if isinstance(inner, GraphQLList):
            item = inner.of_type
            item_object = item.of_type if isinstance(item, GraphQLNonNull) else item
            if isinstance(item_object, GraphQLObjectType) and item_object.is_type_of is None:
                subfields = self._subfields(plan, item_object, details)
                return FieldPlan(
                    name,
                    details,
                    FieldKind.OBJECT_LIST,
                    return_type,
                    attribute,
                    object_type=item_object,
                    subfields=subfields,
                    list_type=inner,
                    item_type=item,
                )
        return FieldPlan(name, details, FieldKind.RESOLVED, return_type)

    def _object_types(self, return_type: GraphQLOutputType) -> Iterator[GraphQLObjectType]:
        named = _unwrap(return_type)
        if is_object_type(named):
            yield named
        elif is_abstract_type(named):
            yield from self.schema.get_possible_types(named)


def _unwrap(type_: GraphQLOutputType) -> Any:
    while isinstance(type_, GraphQLNonNull | GraphQLList):
        type_ = type_.of_type
    return type_


class _VariableConditions(Visitor):
    """Finds @skip/@include whose condition is a variable: their selections depend on the
    request, so they cannot be collected once."""

    def __init__(self) -> None:
        super().__init__()
        self.found: list[str] = []

    def enter_directive(self, node: DirectiveNode, *_: Any) -> None:
        if node.name.value in {"skip", "include"} and any(
            isinstance(argument.value, VariableNode) for argument in node.arguments or ()
        ):
            self.found.append(f"@{node.name.value}")


def compile_operations(
    schema: GraphQLSchema, document: DocumentNode
) -> dict[str | None, OperationPlan]:
    """Plans for every operation of a validated document, by operation name (None for an
    anonymous one). Raises NotCompilable with the reason when the document is not a query
    the compiler handles."""
    conditions = _VariableConditions()
    visit(document, conditions)
    if conditions.found:
        raise NotCompilable(f"{conditions.found[0]} depends on a variable")
    operations = [d for d in document.definitions if isinstance(d, OperationDefinitionNode)]
    if not operations:
        raise NotCompilable("it has no operation")
    for definition in document.definitions:
        if isinstance(definition, FragmentDefinitionNode) and definition.variable_definitions:
            raise NotCompilable(f"fragment {definition.name.value} declares variables")
    compiler = _Compiler(schema, document)
    plans: dict[str | None, OperationPlan] = {}
    for operation in operations:
        if operation.operation is not OperationType.QUERY:
            raise NotCompilable(f"{operation.operation.value} operations run as they are")
        try:
            plan = compiler.operation(operation)
        except RecursionError as error:
            raise NotCompilable("its selections nest too deeply") from error
        plans[plan.name] = plan
    return plans


__all__ = ["FieldKind", "FieldPlan", "NotCompilable", "OperationPlan", "PlannedFieldSet"]
