"""One shared vocabulary of error codes, used both for errors-as-data (`UserError` in mutation
payloads) and for top-level errors (`extensions.code`, `extensions.field`)."""

from __future__ import annotations

from enum import Enum
from typing import Any

import strawberry
from graphql import GraphQLError


@strawberry.enum(description="What went wrong, as a stable machine-readable code.")
class ErrorCode(Enum):
    UNAUTHENTICATED = strawberry.enum_value(
        "UNAUTHENTICATED", description="No valid token was sent, or it has expired or been revoked."
    )
    FORBIDDEN = strawberry.enum_value("FORBIDDEN", description="The viewer's role may not do this.")
    NOT_FOUND = strawberry.enum_value(
        "NOT_FOUND", description="No such object in the viewer's business."
    )
    INVALID = strawberry.enum_value("INVALID", description="The value is not acceptable.")
    REQUIRED = strawberry.enum_value("REQUIRED", description="A value is required.")
    TOO_LONG = strawberry.enum_value("TOO_LONG", description="The value is too long.")
    DUPLICATE = strawberry.enum_value(
        "DUPLICATE", description="The value is already used by someone else."
    )
    STALE = strawberry.enum_value(
        "STALE", description="The object changed since it was read; reload and try again."
    )
    HAS_HISTORY = strawberry.enum_value(
        "HAS_HISTORY", description="The person has history and cannot be deleted: archive them."
    )
    INVALID_STATE = strawberry.enum_value(
        "INVALID_STATE", description="The object's state does not allow this action."
    )
    INVALID_CURSOR = strawberry.enum_value(
        "INVALID_CURSOR", description="The cursor is malformed or belongs to another list or sort."
    )
    INVALID_ARGUMENT = strawberry.enum_value(
        "INVALID_ARGUMENT", description="An argument is malformed or out of range."
    )
    TOO_MANY_IDS = strawberry.enum_value(
        "TOO_MANY_IDS", description="More ids than one request may name (100)."
    )
    INVALID_REPRESENTATION = strawberry.enum_value(
        "INVALID_REPRESENTATION",
        description="An `_entities` representation has an unknown type or a malformed id.",
    )
    TOO_MANY_REPRESENTATIONS = strawberry.enum_value(
        "TOO_MANY_REPRESENTATIONS", description="More than 100 `_entities` representations."
    )
    PAYMENT_PROVIDER_UNAVAILABLE = strawberry.enum_value(
        "PAYMENT_PROVIDER_UNAVAILABLE",
        description="Payments are not configured for this business, or the provider is down.",
    )
    TOO_MANY_ATTEMPTS = strawberry.enum_value(
        "TOO_MANY_ATTEMPTS", description="Too many attempts; wait before trying again."
    )
    INVALID_CREDENTIALS = strawberry.enum_value(
        "INVALID_CREDENTIALS",
        description="The email or password is not right (the same answer whether or not the "
        "email belongs to anyone).",
    )
    SIGN_IN_REFUSED = strawberry.enum_value(
        "SIGN_IN_REFUSED",
        description="The person may not log in to the member portal: archived, merged, or "
        "their portal access is turned off.",
    )
    TOO_COMPLEX = strawberry.enum_value(
        "TOO_COMPLEX",
        description="The document is too deep (over 10 levels) or uses too many aliases (over 15, "
        "fragments counted at each spread).",
    )
    INTERNAL_SERVER_ERROR = strawberry.enum_value(
        "INTERNAL_SERVER_ERROR", description="Something failed on our side."
    )
    GRAPHQL_PARSE_FAILED = strawberry.enum_value(
        "GRAPHQL_PARSE_FAILED",
        description="The document is not GraphQL (a top-level error with its location).",
    )
    GRAPHQL_VALIDATION_FAILED = strawberry.enum_value(
        "GRAPHQL_VALIDATION_FAILED",
        description="The document does not fit the schema: an unknown field or type, a missing "
        "or mistyped argument or variable (a top-level error with its location).",
    )
    IN_THE_PAST = strawberry.enum_value(
        "IN_THE_PAST",
        description="A time or date given has already passed (a start, an expiry, an end of "
        "validity).",
    )
    ALREADY_STARTED = strawberry.enum_value(
        "ALREADY_STARTED",
        description="The session or appointment has already started.",
    )
    FACILITATOR_UNAVAILABLE = strawberry.enum_value(
        "FACILITATOR_UNAVAILABLE",
        description="The facilitator already has an appointment at an overlapping time.",
    )
    INVALID_DATE_RANGE = strawberry.enum_value(
        "INVALID_DATE_RANGE",
        description="The end of a period comes before its start.",
    )
    OUT_OF_RANGE = strawberry.enum_value(
        "OUT_OF_RANGE",
        description="The number is outside the allowed range (a negative or excessive amount, "
        "a length or count too small or too large).",
    )
    PASS_EXPIRED = strawberry.enum_value(
        "PASS_EXPIRED",
        description="The pass is not valid on this date (expired, or not started yet).",
    )
    PASS_EXHAUSTED = strawberry.enum_value(
        "PASS_EXHAUSTED",
        description="The pass has too few uses left.",
    )
    CAPACITY_REACHED = strawberry.enum_value(
        "CAPACITY_REACHED",
        description="The session is full: every seat is taken by a booking that is not cancelled.",
    )
    ALREADY_BOOKED = strawberry.enum_value(
        "ALREADY_BOOKED",
        description="The participant already has a booking (not cancelled) on this session.",
    )
    PASS_NOT_USABLE = strawberry.enum_value(
        "PASS_NOT_USABLE",
        description="The pass cannot pay for this: it belongs to another customer.",
    )
    EXCEEDS_REFUNDABLE = strawberry.enum_value(
        "EXCEEDS_REFUNDABLE",
        description="More than what remains unrefunded (the message says how much remains).",
    )
    PAYMENT_REFUSED = strawberry.enum_value(
        "PAYMENT_REFUSED",
        description="The payment provider refused the request (or never received it); nothing "
        "was paid or refunded.",
    )
    PERSISTED_QUERY_NOT_FOUND = strawberry.enum_value(
        "PERSISTED_QUERY_NOT_FOUND",
        description="No trusted document has the `persistedQuery` hash sent; send the query "
        "text with it.",
    )
    PERSISTED_QUERY_HASH_MISMATCH = strawberry.enum_value(
        "PERSISTED_QUERY_HASH_MISMATCH",
        description="The `persistedQuery` hash sent is not the SHA-256 of the query text sent.",
    )
    DOCUMENT_NOT_TRUSTED = strawberry.enum_value(
        "DOCUMENT_NOT_TRUSTED",
        description="This deployment accepts only trusted documents, and this is not one.",
    )


@strawberry.type(description="A problem with one input of a mutation, returned as data.")
class UserError:
    code: ErrorCode = strawberry.field(description="What went wrong.")
    field: str | None = strawberry.field(
        description="The input path the problem is about, dotted (`input.email`); null when it "
        "concerns the whole request."
    )
    message: str = strawberry.field(description="What went wrong, for a person to read.")


class ApiError(GraphQLError):
    """A top-level error with `extensions.code` and `extensions.field`."""

    def __init__(
        self, code: ErrorCode, message: str, field: str | None = None, **extra: Any
    ) -> None:
        extensions: dict[str, Any] = {"code": code.value, **extra}
        if field is not None:
            extensions["field"] = field
        super().__init__(message, extensions=extensions)
        self.code = code
        self.field = field


class UserFacingError(Exception):
    """Raised inside a mutation to abort its transaction and answer with `UserError`s."""

    def __init__(self, *errors: UserError) -> None:
        super().__init__("; ".join(e.message for e in errors))
        self.errors = list(errors)


def user_error(code: ErrorCode, field: str | None, message: str) -> UserError:
    return UserError(code=code, field=field, message=message)
