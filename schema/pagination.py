"""Relay-shaped connections with a capped total count, and the cursor codec.

A cursor carries the sort keys of its row plus a signature of the list it came from (which list,
which sort, which filter), so a cursor from another list or sort is refused (INVALID_CURSOR)
instead of silently paging the wrong thing.
"""

from __future__ import annotations

import base64
import hashlib
import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

import orjson
import strawberry

from schema.errors import ApiError, ErrorCode

T = TypeVar("T")

DEFAULT_PAGE_SIZE = 20
MAX_PAGE_SIZE = 100
# Counts are exact up to this many rows; beyond it `totalCount` is this number and
# `totalCountIsExact` is false ("10,000+").
COUNT_CAP = 10_000


@strawberry.type(description="Where a page sits in its list.")
class PageInfo:
    has_next_page: bool = strawberry.field(description="More rows follow this page.")
    has_previous_page: bool = strawberry.field(description="Rows precede this page.")
    start_cursor: str | None = strawberry.field(description="Cursor of the first row of the page.")
    end_cursor: str | None = strawberry.field(description="Cursor of the last row of the page.")


@strawberry.type(description="One row of a list, with its cursor.")
class Edge(Generic[T]):
    cursor: str = strawberry.field(description="Pass as `after`/`before` to page from this row.")
    node: T = strawberry.field(description="The row.")


@strawberry.type(description="A page of a list plus its total count.")
class Connection(Generic[T]):
    edges: list[Edge[T]] = strawberry.field(description="The rows of this page, in list order.")
    page_info: PageInfo = strawberry.field(description="Cursors and whether more pages exist.")
    total_count: int = strawberry.field(
        description=f"Rows in the whole list, exact up to {COUNT_CAP:,}; beyond that it is "
        f"{COUNT_CAP:,} and `totalCountIsExact` is false."
    )
    total_count_is_exact: bool = strawberry.field(
        description=f"False when the list has more than {COUNT_CAP:,} rows."
    )


@dataclass(frozen=True)
class PageRequest:
    """Validated paging arguments: a size and, optionally, the cursor keys to start after or
    end before."""

    size: int
    backward: bool
    after: list[Any] | None
    before: list[Any] | None


def list_signature(*parts: Any) -> str:
    """A short fingerprint of a list's identity (list name, sort, filter, parent)."""
    raw = json.dumps(parts, sort_keys=True, default=str, separators=(",", ":"))
    return hashlib.blake2b(raw.encode(), digest_size=6).hexdigest()


def encode_cursor(signature: str, keys: list[Any]) -> str:
    # orjson: one cursor per edge, so the encoder shows on long pages. Dates and times go
    # through `str` as they always have; `decode_cursor` reads either form.
    raw = orjson.dumps([signature, keys], default=str, option=orjson.OPT_PASSTHROUGH_DATETIME)
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


KeyParser = Callable[[Any], Any]


def decode_cursor(
    cursor: str, signature: str, field: str, key_parsers: Sequence[KeyParser] = ()
) -> list[Any]:
    try:
        padded = cursor + "=" * (-len(cursor) % 4)
        decoded = json.loads(base64.urlsafe_b64decode(padded.encode()))
        found_signature, keys = decoded
    except (ValueError, TypeError, UnicodeDecodeError) as error:
        raise ApiError(ErrorCode.INVALID_CURSOR, "This cursor is malformed.", field) from error
    if found_signature != signature or not isinstance(keys, list):
        raise ApiError(
            ErrorCode.INVALID_CURSOR,
            "This cursor belongs to another list, sort or filter: start again from the first page.",
            field,
        )
    if key_parsers:
        if len(keys) != len(key_parsers):
            raise ApiError(ErrorCode.INVALID_CURSOR, "This cursor is malformed.", field)
        try:
            keys = [parse(key) for parse, key in zip(key_parsers, keys, strict=True)]
        except (ValueError, TypeError) as error:
            raise ApiError(ErrorCode.INVALID_CURSOR, "This cursor is malformed.", field) from error
    return keys


def page_request(
    signature: str,
    first: int | None,
    after: str | None,
    last: int | None,
    before: str | None,
    key_parsers: Sequence[KeyParser] = (),
) -> PageRequest:
    """Validate `first`/`after`/`last`/`before` (top-level INVALID_ARGUMENT or INVALID_CURSOR)."""
    if first is not None and last is not None:
        raise ApiError(
            ErrorCode.INVALID_ARGUMENT, "Pass either `first` or `last`, not both.", "last"
        )
    for name, value in (("first", first), ("last", last)):
        if value is not None and not 0 <= value <= MAX_PAGE_SIZE:
            raise ApiError(
                ErrorCode.INVALID_ARGUMENT,
                f"`{name}` must be between 0 and {MAX_PAGE_SIZE}.",
                name,
            )
    after_keys = (
        decode_cursor(after, signature, "after", key_parsers) if after is not None else None
    )
    before_keys = (
        decode_cursor(before, signature, "before", key_parsers) if before is not None else None
    )
    backward = last is not None or (first is None and before is not None and after is None)
    size = last if last is not None else first if first is not None else DEFAULT_PAGE_SIZE
    return PageRequest(size=size, backward=backward, after=after_keys, before=before_keys)


def build_connection(
    nodes_with_keys: list[tuple[T, list[Any]]],
    request: PageRequest,
    signature: str,
    total: int,
) -> Connection[T]:
    """Assemble a connection from up to `size + 1` rows fetched in paging direction."""
    has_more = len(nodes_with_keys) > request.size
    rows = nodes_with_keys[: request.size]
    if request.backward:
        rows.reverse()
    edges = [Edge(cursor=encode_cursor(signature, keys), node=node) for node, keys in rows]
    if request.backward:
        has_previous, has_next = has_more, request.before is not None
    else:
        has_next, has_previous = has_more, request.after is not None
    return Connection(
        edges=edges,
        page_info=PageInfo(
            has_next_page=has_next,
            has_previous_page=has_previous,
            start_cursor=edges[0].cursor if edges else None,
            end_cursor=edges[-1].cursor if edges else None,
        ),
        total_count=min(total, COUNT_CAP),
        total_count_is_exact=total <= COUNT_CAP,
    )
