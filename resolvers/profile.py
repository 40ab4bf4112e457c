"""Reading the profile page's tabs: search and filter arguments understood, cursors bound to
their tab, customer, search and filter, pages assembled from the tab loaders."""

from __future__ import annotations

import unicodedata
import uuid
from collections.abc import Callable, Sequence
from datetime import datetime
from typing import Any, TypeVar

from sqlalchemy import Row

from loaders.history import TabArgs, TabKey, TabLoader
from schema.errors import ApiError, ErrorCode
from schema.pagination import Connection, build_connection, list_signature, page_request

T = TypeVar("T")

MAX_SEARCH_LENGTH = 200
MAX_TERMS = 8


def parse_tab_search(raw: str | None) -> tuple[str, ...]:
    """What a person typed, as terms that must all match (case and accents are folded in
    SQL). Blank means no search."""
    if raw is None:
        return ()
    if len(raw) > MAX_SEARCH_LENGTH:
        raise ApiError(
            ErrorCode.INVALID_ARGUMENT,
            f"Search text is limited to {MAX_SEARCH_LENGTH} characters.",
            "search",
        )
    cleaned = "".join(" " if unicodedata.category(ch).startswith(("C", "Z")) else ch for ch in raw)
    return tuple(cleaned.split()[:MAX_TERMS])


def _timestamp(value: Any) -> datetime:
    parsed = datetime.fromisoformat(value)
    if parsed.tzinfo is None:
        raise ValueError("a cursor timestamp carries its offset")
    return parsed


CURSOR_KEYS = (_timestamp, uuid.UUID)


async def tab_connection(
    loader: TabLoader,
    customer_id: uuid.UUID,
    search: str | None,
    states: Sequence[str] | None,
    first: int | None,
    after: str | None,
    last: int | None,
    before: str | None,
    build: Callable[[Row[Any]], T],
) -> Connection[T]:
    """One tab of one customer, newest first, with its capped count."""
    terms = parse_tab_search(search)
    state_filter = tuple(sorted(set(states))) if states is not None else None
    signature = list_signature(
        "customer-tab", loader.spec.name, str(customer_id), list(terms), state_filter
    )
    request = page_request(signature, first, after, last, before, key_parsers=CURSOR_KEYS)
    args = TabArgs(
        terms=terms,
        states=state_filter,
        size=request.size,
        backward=request.backward,
        after=(request.after[0], request.after[1]) if request.after else None,
        before=(request.before[0], request.before[1]) if request.before else None,
    )
    page = await loader.load(TabKey(customer_id, args))
    nodes = [(build(row), [row.sort_at.isoformat(), str(row.id)]) for row in page.rows]
    return build_connection(nodes, request, signature, page.total)
