"""One page of a connection in SQL: what shapes its text, and the aggregate that turns its
rows (up to size + 1, fetched in paging direction) into edges, "more rows follow" and the
first and last cursors, as `schema.pagination.build_connection` does with them."""

from __future__ import annotations

from dataclasses import dataclass

from schema.pagination import DEFAULT_PAGE_SIZE


@dataclass(frozen=True)
class PageShape:
    """What changes a page's SQL text: its direction, which cursors bound it, its size and, for
    a list sorted both ways, its order. Sizes (like the chart's months) are written into the
    text, not bound: with every value that shapes the plan in the text, the generic plan
    PostgreSQL caches per connection is as good as a custom one, so it stops planning the
    statement (about 8-14 ms for the profile) on every run."""

    backward: bool = False
    after: bool = False
    before: bool = False
    size: int = DEFAULT_PAGE_SIZE
    descending: bool = False


def page_summary(
    source: str, row: str, edge: str, size: int, list_order: str, reverse_order: str
) -> str:
    """A one-row select over `source`, the fetched rows aliased `row`, each numbered in fetch
    direction (`page_n`) with its cursor (`page_cursor`): the page's edges (`edge`, JSON text
    per row) joined in `list_order`, whether more rows follow, and the first and last cursors
    of the page. `reverse_order` is `list_order` backwards."""
    in_page = f"FILTER (WHERE {row}.page_n <= {size})"
    cursor = f"{row}.page_cursor"
    return f"""SELECT string_agg({edge},',' ORDER BY {list_order}) {in_page} AS edges,
    count(*) > {size} AS has_more,
    (array_agg({cursor} ORDER BY {list_order}) {in_page})[1] AS start_cursor,
    (array_agg({cursor} ORDER BY {reverse_order}) {in_page})[1] AS end_cursor
  FROM {source}"""
