"""Keyset pagination over any Core select: fetch `size + 1` rows past the cursor in paging
direction, compare with a row comparison on plain (indexed, leakproof) columns, and count the
whole list up to the cap in a second statement."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import Row, func, select, tuple_
from sqlalchemy.sql import ColumnElement, Select

from schema.pagination import COUNT_CAP, PageRequest
from server.db import ReadTransaction


def keyset_select(
    base: Select[Any],
    sort_columns: Sequence[ColumnElement[Any]],
    request: PageRequest,
    *,
    descending: bool = False,
) -> Select[Any]:
    """`base` restricted to the page window and ordered in fetch direction, limited to size+1."""
    keys = tuple_(*sort_columns)
    # Fetch direction: forward in the list's order, or backward from `before`/the end.
    fetch_descending = descending != request.backward
    statement = base
    if request.after is not None:
        statement = statement.where(
            keys < tuple_(*request.after) if descending else keys > tuple_(*request.after)
        )
    if request.before is not None:
        statement = statement.where(
            keys > tuple_(*request.before) if descending else keys < tuple_(*request.before)
        )
    ordering = [c.desc() if fetch_descending else c.asc() for c in sort_columns]
    return statement.order_by(*ordering).limit(request.size + 1)


async def fetch_page(
    reader: ReadTransaction,
    base: Select[Any],
    sort_columns: Sequence[ColumnElement[Any]],
    request: PageRequest,
    *,
    descending: bool = False,
) -> Sequence[Row[Any]]:
    if request.size == 0:
        return []
    result = await reader.execute(keyset_select(base, sort_columns, request, descending=descending))
    return result.all()


async def capped_count(reader: ReadTransaction, base: Select[Any]) -> int:
    """Rows in `base`, counted up to COUNT_CAP + 1 (so the caller knows it is past the cap)."""
    limited = base.with_only_columns(base.selected_columns[0]).order_by(None).limit(COUNT_CAP + 1)
    result = await reader.execute(select(func.count()).select_from(limited.subquery()))
    return int(result.scalar_one())
