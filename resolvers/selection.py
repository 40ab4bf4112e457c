"""A selection for bulk actions: up to 100 ids (de-duplicated, order kept), or "everyone matching
this filter" (tab, category, search), resolved in pages through the directory's own query so a
whole tab of 50,000 never sits in memory at once."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass

from resolvers.directory import Search, fetch_page
from schema.errors import ApiError, ErrorCode
from server.db import Database, StatementCounter

MAX_IDS = 100
PAGE_SIZE = 500


@dataclass(frozen=True)
class DirectoryFilter:
    status: str
    category: str
    search: Search


def selected_ids(raw: list[str], field: str) -> list[uuid.UUID]:
    """Validate and de-duplicate ids (top-level errors for more than 100 or unparsable ones)."""
    if len(raw) > MAX_IDS:
        raise ApiError(
            ErrorCode.TOO_MANY_IDS,
            f"At most {MAX_IDS} ids per request; select by filter for more.",
            field,
        )
    ids: list[uuid.UUID] = []
    seen: set[uuid.UUID] = set()
    for index, value in enumerate(raw):
        try:
            parsed = uuid.UUID(str(value))
        except ValueError as error:
            raise ApiError(
                ErrorCode.INVALID_ARGUMENT, "This id is not a valid UUID.", f"{field}.{index}"
            ) from error
        if parsed not in seen:
            seen.add(parsed)
            ids.append(parsed)
    return ids


async def people_matching(
    database: Database, business_id: uuid.UUID, selection: DirectoryFilter
) -> AsyncIterator[list[uuid.UUID]]:
    """Every person id the filter selects, a page at a time, in list order. Each page is its
    own short read so a long job never holds a snapshot open."""
    lower: tuple[str | None, uuid.UUID | None] = (None, None)
    while True:
        reader = database.reader(business_id, StatementCounter())
        try:
            rows = await fetch_page(
                reader,
                selection.status,
                selection.category,
                selection.search,
                lower=lower,
                upper=(None, None),
                descending=False,
                limit=PAGE_SIZE,
            )
        finally:
            await reader.close()
        if not rows:
            return
        yield [row.person_id for row in rows]
        if len(rows) < PAGE_SIZE:
            return
        lower = (rows[-1].name_key, rows[-1].person_id)
