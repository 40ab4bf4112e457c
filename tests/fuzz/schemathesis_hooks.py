"""The check schemathesis runs instead of its GraphQL server-error check, which fails on every
top-level error: client errors (bad cursor, FORBIDDEN, a malformed id) are answers, not
failures. What fails is HTTP 5xx, or an error at a field path that has no code or hides a bug
(INTERNAL_SERVER_ERROR)."""

from __future__ import annotations

import json
from typing import Any

import graphql
import schemathesis
from hypothesis import strategies as st

# The `JSON` scalar (questionnaire answers): small objects of answers, written as literals.
ANSWER_KEYS = st.sampled_from(["injuries", "consent", "heard", "unknown key"])
ANSWERS = st.dictionaries(ANSWER_KEYS, st.one_of(st.text(max_size=20), st.booleans()), max_size=3)


def _literal(answers: dict[str, Any]) -> graphql.ValueNode:
    fields = ", ".join(
        f"{key.replace(' ', '_')}: {json.dumps(value)}" for key, value in answers.items()
    )
    return graphql.parse_value("{" + fields + "}")


schemathesis.graphql.scalar("JSON", ANSWERS.map(_literal))


@schemathesis.check
def no_server_errors(ctx: Any, response: Any, case: Any) -> bool | None:
    if response.status_code >= 500:
        raise AssertionError(f"HTTP {response.status_code}: {response.text[:500]}")
    try:
        body = response.json()
    except ValueError:
        return None
    errors = body.get("errors") if isinstance(body, dict) else None
    for error in errors or []:
        if error.get("path") is None:
            continue
        code = (error.get("extensions") or {}).get("code")
        if code is None or code == "INTERNAL_SERVER_ERROR":
            raise AssertionError(f"error without a usable code at {error['path']}: {error}")
    return None
