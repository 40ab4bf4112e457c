"""Validation results remembered per parsed document.

Strawberry's `ValidationCache` keys its LRU cache on the document itself, and a graphql-core
document hashes by walking its whole tree: about half a millisecond per profile request, spent
to find a result that never changes. The parser cache already hands out one document object
per query text, so the result is remembered by that object's identity instead (kept alive with
the entry, so its id is never reused while cached)."""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Iterator
from typing import Any

from graphql import DocumentNode, GraphQLError, GraphQLSchema
from strawberry.extensions import SchemaExtension
from strawberry.schema.schema import validate_document

# As many as the parser cache keeps: a document it dropped is parsed afresh, as a new object.
MAX_DOCUMENTS = 128

_Entry = tuple[GraphQLSchema, DocumentNode, tuple[Any, ...], list[GraphQLError]]
_remembered: OrderedDict[int, _Entry] = OrderedDict()


def validated(
    schema: GraphQLSchema, document: DocumentNode, rules: tuple[Any, ...]
) -> list[GraphQLError]:
    """The document's validation errors under `rules`, validated once per document object."""
    key = id(document)
    entry = _remembered.get(key)
    if entry is not None and entry[0] is schema and entry[1] is document and entry[2] == rules:
        _remembered.move_to_end(key)
        return entry[3]
    errors = validate_document(schema, document, rules)
    _remembered[key] = (schema, document, rules, errors)
    if len(_remembered) > MAX_DOCUMENTS:
        _remembered.popitem(last=False)
    return errors


class ValidationByDocument(SchemaExtension):
    """Validates each parsed document once (see the module's note)."""

    def on_validate(self) -> Iterator[None]:
        context = self.execution_context
        document = context.graphql_document
        if document is not None:  # parsed by the hook before this one
            context.pre_execution_errors = validated(
                context.schema._schema, document, tuple(context.validation_rules)
            )
        yield
