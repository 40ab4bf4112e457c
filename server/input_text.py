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


def _nul_path(value: Any, path: str) -> str | None:
    """The dotted path of the first string carrying a NUL (keys included), else None."""
    if isinstance(value, str):
        return path if "\x00" in value else None
    if isinstance(value, dict):
        for key, item in value.items():
            inner = f"{path}.{key}" if path else str(key)
            found = inner if "\x00" in str(key) else _nul_path(item, inner)
            if found is not None:
                return found
    if isinstance(value, list):
        for index, item in enumerate(value):
            found = _nul_path(item, f"{path}.{index}")
            if found is not None:
                return found
    return None


def nul_refusal(query: str | None, variables: Any) -> GraphQLError | None:
    """The error to answer with when the operation's arguments carry a NUL, else None. For a
    variable, `extensions.field` is its path (`input.firstName`). A gateway's `_entities` call
    is left to its own per-representation checks (a bad one is null at its index with
    INVALID_REPRESENTATION; representations are parsed, never stored)."""
    if query is not None and "_entities" in query:
        return None
    field = _nul_path(variables or {}, "")
    if field is None and not (query is not None and _NUL_ESCAPE.search(query)):
        return None
    extensions: dict[str, Any] = {"code": ErrorCode.INVALID_ARGUMENT.value}
    if field:
        extensions["field"] = field
    return GraphQLError(NUL_MESSAGE, extensions=extensions)
