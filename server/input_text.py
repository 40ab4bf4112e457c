"""Refuse the NUL character in a request's arguments before anything runs.

PostgreSQL cannot store U+0000 in text ("invalid byte sequence", SQLSTATE 22021), so a NUL in any
argument would otherwise fail deep inside a resolver as an unexpected error. Checked once per
operation, on the variables and on the document's string escapes (the only way a literal can
carry one), it is an ordinary invalid-argument error whatever field it was sent to."""

from __future__ import annotations

import re
from typing import Any

from graphql import GraphQLError

from schema.errors import ErrorCode

NUL_MESSAGE = "Text may not contain the NUL character (U+0000)."
# `\u0000` or `\u{0}` not itself escaped (an even number of backslashes before it).
_NUL_ESCAPE = re.compile(r"(?<!\\)(?:\\\\)*\\u(?:0000|\{0+\})", re.IGNORECASE)


def _has_nul(value: Any) -> bool:
    if isinstance(value, str):
        return "\x00" in value
    if isinstance(value, dict):
        return any(_has_nul(k) or _has_nul(v) for k, v in value.items())
    if isinstance(value, list):
        return any(_has_nul(item) for item in value)
    return False


def nul_refusal(query: str | None, variables: Any) -> GraphQLError | None:
    """The error to answer with when the operation's arguments carry a NUL, else None."""
    if (query is not None and _NUL_ESCAPE.search(query)) or _has_nul(variables):
        return GraphQLError(NUL_MESSAGE, extensions={"code": ErrorCode.INVALID_ARGUMENT.value})
    return None
