"""What one GraphQL document may cost: depth, aliases and tokens.

Depth and aliases are measured by one validation rule that walks each fragment once and
remembers its result. Strawberry's stock limiters re-walk a fragment at every spread, so a
document of 17 fragments each spreading the next one twice (2^16 walks, well under the token
limit) kept them busy for seconds; here it costs one walk per fragment.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from functools import partial
from typing import Any, Final

from graphql import (
    ExecutableDefinitionNode,
    FieldNode,
    FragmentDefinitionNode,
    FragmentSpreadNode,
    GraphQLError,
    InlineFragmentNode,
    OperationDefinitionNode,
    SelectionSetNode,
    ValidationContext,
    ValidationRule,
)
from strawberry.extensions import AddValidationRules, MaxTokensLimiter, SchemaExtension

from schema.errors import ErrorCode

MAX_DEPTH: Final = 10
MAX_ALIASES: Final = 15
MAX_TOKENS: Final = 2000


@dataclass(frozen=True)
class Cost:
    """How deep a selection goes (fields nested under fields) and how many aliases it holds,
    each spread of a fragment counting that fragment's aliases again."""

    depth: int = 0
    aliases: int = 0


class _CostMeter:
    def __init__(self, fragments: dict[str, FragmentDefinitionNode]) -> None:
        self.fragments = fragments
        self.known: dict[str, Cost] = {}
        self.walking: set[str] = set()

    def selection_set(self, node: SelectionSetNode | None) -> Cost:
        depth, aliases = 0, 0
        for selection in node.selections if node is not None else ():
            cost = self.selection(selection)
            depth, aliases = max(depth, cost.depth), aliases + cost.aliases
        return Cost(depth, aliases)

    def selection(self, node: Any) -> Cost:
        if isinstance(node, FieldNode):
            inner = self.selection_set(node.selection_set)
            aliases = inner.aliases + (node.alias is not None)
            if node.name.value.startswith("__"):
                # Introspection (`ofType` nested to unwrap types) is bounded by the schema's
                # shape and switched off in production: its depth does not count.
                return Cost(0, aliases)
            return Cost(inner.depth + (node.selection_set is not None), aliases)
        if isinstance(node, InlineFragmentNode):
            return self.selection_set(node.selection_set)
        if isinstance(node, FragmentSpreadNode):
            return self.fragment(node.name.value)
        return Cost()

    def fragment(self, name: str) -> Cost:
        if name in self.known:
            return self.known[name]
        definition = self.fragments.get(name)
        if definition is None or name in self.walking:
            return Cost()  # unknown and cyclic fragments are refused by the standard rules
        self.walking.add(name)
        cost = self.selection_set(definition.selection_set)
        self.walking.discard(name)
        self.known[name] = cost
        return cost


class CostRule(ValidationRule):
    """Refuses an operation deeper than MAX_DEPTH or with more than MAX_ALIASES aliases."""

    def __init__(self, context: ValidationContext) -> None:
        super().__init__(context)
        definitions: list[ExecutableDefinitionNode] = list(context.document.definitions)  # type: ignore[arg-type]
        fragments = {d.name.value: d for d in definitions if isinstance(d, FragmentDefinitionNode)}
        self.meter = _CostMeter(fragments)

    def enter_operation_definition(self, node: OperationDefinitionNode, *_: Any) -> None:
        cost = self.meter.selection_set(node.selection_set)
        if cost.depth > MAX_DEPTH:
            self._refuse(node, f"The operation is {cost.depth} levels deep; at most {MAX_DEPTH}.")
        if cost.aliases > MAX_ALIASES:
            self._refuse(
                node,
                f"The operation uses {cost.aliases} aliases (fragments counted at each spread); "
                f"at most {MAX_ALIASES}.",
            )

    def _refuse(self, node: OperationDefinitionNode, message: str) -> None:
        extensions = {"code": ErrorCode.TOO_COMPLEX.value}
        self.report_error(GraphQLError(message, node, extensions=extensions))


def limit_extensions() -> list[Callable[[], SchemaExtension]]:
    """Factories of the extensions that bound a document's cost (one instance per request)."""
    return [
        partial(MaxTokensLimiter, max_token_count=MAX_TOKENS),
        partial(AddValidationRules, [CostRule]),
    ]
