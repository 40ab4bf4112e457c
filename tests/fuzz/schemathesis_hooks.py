"""The check schemathesis runs instead of its GraphQL server-error check, which fails on every
top-level error: client errors (bad cursor, FORBIDDEN, a malformed id) are answers, not
failures. What fails is HTTP 5xx, or an error at a field path that has no code or hides a bug
(INTERNAL_SERVER_ERROR)."""

from __future__ import annotations

from typing import Any

import schemathesis


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
