"""Errors the caller may see, and what the logs keep of them.

Outside debug mode an unexpected exception reaches the caller only as `INTERNAL_SERVER_ERROR`
with its path; errors we raise on purpose (`GraphQLError`s with a code) pass unchanged. The
log records unexpected errors by type, path and traceback at ERROR; their messages, which may
quote row values (names, emails), only at DEBUG.
"""

from __future__ import annotations

import logging
import traceback
from collections.abc import Iterator

from graphql import GraphQLError
from strawberry.extensions import MaskErrors, ParserCache, SchemaExtension
from strawberry.types import ExecutionContext

from schema.errors import ErrorCode
from server.context import Context

log = logging.getLogger("schema.errors")

INTERNAL_MESSAGE = "Something failed on our side."


def is_unexpected(error: GraphQLError) -> bool:
    """A bug or an outage rather than an answer: an exception that is not a GraphQLError."""
    original = error.original_error
    return original is not None and not isinstance(original, GraphQLError)


class ErrorMasking(MaskErrors):
    """Replaces unexpected errors with INTERNAL_SERVER_ERROR unless the service runs in debug."""

    def __init__(self) -> None:
        super().__init__(should_mask_error=is_unexpected, error_message=INTERNAL_MESSAGE)

    def anonymise_error(self, error: GraphQLError) -> GraphQLError:
        return GraphQLError(
            INTERNAL_MESSAGE,
            nodes=error.nodes,
            path=error.path,
            extensions={"code": ErrorCode.INTERNAL_SERVER_ERROR.value},
        )

    def on_operation(self) -> Iterator[None]:
        context = self.execution_context.context
        if isinstance(context, Context) and context.settings.debug:
            yield
            return
        yield from super().on_operation()


class ValidationCodes(SchemaExtension):
    """Validation errors carry a code like every other error, so that a client can tell a
    document that does not fit the schema from a refused one without reading messages."""

    def on_validate(self) -> Iterator[None]:
        yield
        for error in self.execution_context.pre_execution_errors or ():
            _set_code(error, ErrorCode.GRAPHQL_VALIDATION_FAILED)


class CodedParserCache(ParserCache):
    """Strawberry's parser cache, whose syntax errors carry GRAPHQL_PARSE_FAILED (the cache
    parses inside its own hook, before any later hook could label the error)."""

    def on_parse(self) -> Iterator[None]:
        try:
            yield from super().on_parse()
        except GraphQLError as error:
            _set_code(error, ErrorCode.GRAPHQL_PARSE_FAILED)
            raise


def _set_code(error: GraphQLError, code: ErrorCode) -> None:
    if error.extensions is None:
        error.extensions = {}
    error.extensions.setdefault("code", code.value)


def masked(errors: list[GraphQLError], debug: bool) -> list[GraphQLError]:
    """What `ErrorMasking` makes of errors, for results produced outside Strawberry's
    extension hooks (the compiled path)."""
    if debug:
        return errors
    masking = ErrorMasking()
    return [masking.anonymise_error(e) if is_unexpected(e) else e for e in errors]


def log_errors(errors: list[GraphQLError]) -> None:
    """Logs unexpected errors without their messages above DEBUG; answers are not logged."""
    for error in errors:
        if not is_unexpected(error):
            continue
        original = error.original_error
        assert original is not None
        frames = "\n".join(
            f"  {frame.filename}:{frame.lineno} in {frame.name}"
            for frame in traceback.extract_tb(original.__traceback__)
        )
        log.error("unexpected %s at %s\n%s", type(original).__name__, error.path, frames)
        log.debug("unexpected error message at %s: %s", error.path, original)


class LogsErrorsQuietly:
    """A schema mixin: errors are logged by `log_errors` instead of Strawberry's logger, which
    writes every error's message (row values included) at ERROR."""

    def process_errors(
        self, errors: list[GraphQLError], execution_context: ExecutionContext | None = None
    ) -> None:
        log_errors(errors)
