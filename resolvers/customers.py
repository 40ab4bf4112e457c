"""Reading customers: one by id, and the list sorted by name with keyset pages."""

from __future__ import annotations

import uuid
from enum import Enum
from typing import Any

from sqlalchemy import Row, select

from loaders.people import CUSTOMER_COLUMNS, customers
from resolvers.paging import capped_count, fetch_page
from schema.pagination import PageRequest, list_signature
from server.db import ReadTransaction


class SortDirection(Enum):
    ASC = "ASC"
    DESC = "DESC"


def customer_list_signature(status: str, direction: SortDirection) -> str:
    return list_signature("customers", status, "name", direction.value)


async def customer_page(
    reader: ReadTransaction,
    status: str,
    direction: SortDirection,
    request: PageRequest,
) -> tuple[list[tuple[Row[Any], list[Any]]], int]:
    """A page of customers in one tab, sorted by last name, first name (folded), then id."""
    base = select(*CUSTOMER_COLUMNS).where(customers.c.status == status)
    sort = [customers.c.name_key, customers.c.id]
    rows = await fetch_page(reader, base, sort, request, descending=direction is SortDirection.DESC)
    total = await capped_count(reader, base)
    return [(row, [row.name_key, str(row.id)]) for row in rows], total


def parse_uuid(value: str) -> uuid.UUID | None:
    try:
        return uuid.UUID(str(value))
    except ValueError:
        return None
