"""The trusted documents: the operations front-ends send, known by the SHA-256 of their text,
requested either by Apollo's persisted-query extension or by sending the text itself."""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from graphql import GraphQLError, GraphQLSchema, parse, validate

from schema.compiled.plan import NotCompilable, OperationPlan, compile_operations
from schema.compiled.sql_plan import SqlPlan, compile_sql
from schema.errors import ApiError, ErrorCode

log = logging.getLogger(__name__)


def document_hash(text: str) -> str:
    """The document's address: SHA-256 of its UTF-8 text, hex, as Apollo clients compute it."""
    return hashlib.sha256(text.encode()).hexdigest()


@dataclass(frozen=True)
class TrustedDocument:
    """One trusted document with its plans, or the reason it runs through plain execution."""

    name: str
    text: str
    sha256: str
    plans: Mapping[str | None, OperationPlan] = field(default_factory=dict)
    not_compiled_because: str | None = None
    # Operations answered by one SQL statement, and why the others are not.
    sql_plans: Mapping[str | None, SqlPlan] = field(default_factory=dict)
    not_sql_because: str | None = None

    def plan_for(self, operation_name: str | None) -> OperationPlan | None:
        """The plan graphql-core would pick for this operation name, if compiled."""
        if operation_name is None:
            return next(iter(self.plans.values())) if len(self.plans) == 1 else None
        return self.plans.get(operation_name)

    def sql_plan_for(self, operation_name: str | None) -> SqlPlan | None:
        """The operation's one-statement plan, if it has one."""
        if operation_name is None:
            return next(iter(self.sql_plans.values())) if len(self.sql_plans) == 1 else None
        return self.sql_plans.get(operation_name)


@dataclass(frozen=True)
class Lookup:
    """What a request asks for: a trusted document, plain text to run as it is, or an error."""

    document: TrustedDocument | None = None
    query: str | None = None
    error: GraphQLError | None = None


def _persisted_hash(extensions: Mapping[str, Any] | None) -> str | None:
    persisted = (extensions or {}).get("persistedQuery")
    if not isinstance(persisted, Mapping):
        return None
    sha = persisted.get("sha256Hash")
    return sha.lower() if isinstance(sha, str) else None


class TrustedDocuments:
    """The registry, built once at start-up."""

    def __init__(self, documents: Iterable[TrustedDocument], *, trusted_only: bool) -> None:
        self.by_hash = {document.sha256: document for document in documents}
        self.trusted_only = trusted_only

    @classmethod
    def load(
        cls,
        schema: GraphQLSchema,
        directories: Iterable[Path],
        *,
        trusted_only: bool,
        compile_plans: bool = True,
    ) -> TrustedDocuments:
        documents = [
            _trusted_document(schema, path, compile_plans)
            for directory in directories
            for path in sorted(directory.glob("*.graphql"))
        ]
        for document in documents:
            if document.not_compiled_because is None:
                log.info("trusted document %s (%s) compiled", document.name, document.sha256)
                if document.not_sql_because is None:
                    log.info("trusted document %s runs as one SQL statement", document.name)
                else:
                    log.info(
                        "trusted document %s keeps its executor plan, not one SQL statement: %s",
                        document.name,
                        document.not_sql_because,
                    )
            else:
                log.info(
                    "trusted document %s (%s) runs through plain execution: %s",
                    document.name,
                    document.sha256,
                    document.not_compiled_because,
                )
        return cls(documents, trusted_only=trusted_only)

    def lookup(self, query: str | None, extensions: Mapping[str, Any] | None) -> Lookup:
        sha = _persisted_hash(extensions)
        if sha is not None:
            return self._by_persisted_hash(sha, query)
        if query is None:
            return Lookup()
        document = self.by_hash.get(document_hash(query))
        if document is not None:
            return Lookup(document=document, query=document.text)
        return self._untrusted(query)

    def _by_persisted_hash(self, sha: str, query: str | None) -> Lookup:
        if query is not None and document_hash(query) != sha:
            return Lookup(
                error=_error(
                    ErrorCode.PERSISTED_QUERY_HASH_MISMATCH,
                    "The persistedQuery sha256Hash is not the SHA-256 of the query text.",
                )
            )
        document = self.by_hash.get(sha)
        if document is not None:
            return Lookup(document=document, query=document.text)
        if query is None:
            return Lookup(
                error=_error(
                    ErrorCode.PERSISTED_QUERY_NOT_FOUND,
                    "No trusted document has this hash; send the query text with it.",
                )
            )
        return self._untrusted(query)

    def _untrusted(self, query: str) -> Lookup:
        """A document that is not trusted: run as it is, unless only trusted ones may run."""
        if self.trusted_only:
            return Lookup(
                error=_error(
                    ErrorCode.DOCUMENT_NOT_TRUSTED,
                    "Only trusted documents are accepted here, and this one is not among them.",
                )
            )
        return Lookup(query=query)


def _error(code: ErrorCode, message: str) -> GraphQLError:
    return ApiError(
        code,
        message,
        "extensions.persistedQuery" if code is not ErrorCode.DOCUMENT_NOT_TRUSTED else "query",
    )


def _trusted_document(schema: GraphQLSchema, path: Path, compile_plans: bool) -> TrustedDocument:
    text = path.read_text()
    name, sha = path.name, document_hash(text)
    if not compile_plans:
        return TrustedDocument(name, text, sha, not_compiled_because="compiling is turned off")
    try:
        document = parse(text)
    except GraphQLError as error:
        return TrustedDocument(name, text, sha, not_compiled_because=f"it does not parse: {error}")
    errors = validate(schema, document)
    if errors:
        return TrustedDocument(
            name, text, sha, not_compiled_because=f"it does not validate: {errors[0].message}"
        )
    try:
        plans = compile_operations(schema, document)
    except NotCompilable as reason:
        return TrustedDocument(name, text, sha, not_compiled_because=str(reason))
    try:
        sql_plans = {
            operation: compile_sql(schema, document, plan.operation)
            for operation, plan in plans.items()
        }
    except NotCompilable as reason:
        return TrustedDocument(name, text, sha, plans=plans, not_sql_because=str(reason))
    return TrustedDocument(name, text, sha, plans=plans, sql_plans=sql_plans)
