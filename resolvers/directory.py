"""The customer list: every kind of person, Active/Archived, by category, searched as you type,
sorted by name both ways, paged by keyset with a capped count.

Both statements go through the SECURITY DEFINER functions of migration 0002, which apply the
tenant setting themselves so that trigram and prefix indexes stay usable under row-level
security.
"""

from __future__ import annotations

import re
import unicodedata
import uuid
from dataclasses import dataclass
from typing import Any

from loaders.base import AttributeRecord
from schema.errors import ApiError, ErrorCode
from schema.pagination import COUNT_CAP, PageRequest, list_signature, page_request
from server.db import ReadTransaction

MAX_SEARCH_LENGTH = 200
MAX_TERMS = 8
CATEGORIES = ("EVERYONE", "PRIMARY", "LEAD", "APP_USER", "PARTICIPANT", "ADDITIONAL_USER")
_PHONE_LIKE = re.compile(r"^[\d\s+\-().]+$")

# Fixed text straight on asyncpg (`ReadTransaction.fetch_raw`): every keystroke runs both.
PAGE = (
    "SELECT person_id, kind, customer_id, name_key"
    " FROM directory_page($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)"
)
COUNT = "SELECT directory_count($1, $2, $3, $4, $5, $6, $7)"


@dataclass(frozen=True)
class Search:
    """A search box's text, understood: name terms, or a phone/number, or an id."""

    terms: tuple[str, ...] = ()
    digits: str | None = None
    number: int | None = None
    person_id: uuid.UUID | None = None

    @property
    def signature(self) -> list[Any]:
        return [list(self.terms), self.digits, self.number, str(self.person_id or "")]


def parse_search(raw: str | None) -> Search:
    """Terms split on spaces; a query of only digits and phone punctuation is a phone number
    fragment (and a customer number); a UUID finds that person."""
    if raw is None:
        return Search()
    if len(raw) > MAX_SEARCH_LENGTH:
        raise ApiError(
            ErrorCode.INVALID_ARGUMENT,
            f"Search text is limited to {MAX_SEARCH_LENGTH} characters.",
            "search",
        )
    cleaned = "".join(
        " " if unicodedata.category(ch).startswith(("C", "Z")) else ch for ch in raw
    ).strip()
    if not cleaned:
        return Search()
    try:
        return Search(person_id=uuid.UUID(cleaned))
    except ValueError:
        pass
    if _PHONE_LIKE.match(cleaned):
        digits = re.sub(r"\D", "", cleaned)
        if digits:
            number = int(digits) if len(digits) <= 15 else None
            return Search(digits=digits, number=number)
    terms = tuple(cleaned.split()[:MAX_TERMS])
    return Search(terms=terms)


def directory_signature(status: str, category: str, search: Search, descending: bool) -> str:
    return list_signature("people", status, category, search.signature, descending)


# A cursor's keys: the row's name key and person id.
CURSOR_KEYS = (str, uuid.UUID)
Bound = tuple[str | None, uuid.UUID | None]


@dataclass(frozen=True)
class DirectoryRequest:
    """The list's arguments, read and checked: which people, in which order, which page."""

    status: str
    category: str
    search: Search
    descending: bool
    signature: str
    page: PageRequest

    @property
    def filter_arguments(self) -> tuple[Any, ...]:
        """The filter's arguments, in the order both functions take them."""
        return _params(self.status, self.category, self.search)

    @property
    def bounds(self) -> tuple[Bound, Bound]:
        """The keys the page lies strictly between (lower, upper), in name order: `after` is
        the lower bound of an ascending list and the upper of a descending one; fetching
        backward flips the scan direction, not the bounds."""
        after = self.page.after or [None, None]
        before = self.page.before or [None, None]
        lower, upper = (before, after) if self.descending else (after, before)
        return (lower[0], lower[1]), (upper[0], upper[1])

    @property
    def fetch_descending(self) -> bool:
        """The scan direction: the list's order, reversed when paging backward."""
        return self.descending != self.page.backward


def directory_request(
    status: str,
    category: str,
    search: str | None,
    *,
    descending: bool,
    first: int | None,
    after: str | None,
    last: int | None,
    before: str | None,
) -> DirectoryRequest:
    """The list's arguments checked (top-level INVALID_ARGUMENT or INVALID_CURSOR), the search
    before the page."""
    terms = parse_search(search)
    signature = directory_signature(status, category, terms, descending)
    page = page_request(signature, first, after, last, before, key_parsers=CURSOR_KEYS)
    return DirectoryRequest(status, category, terms, descending, signature, page)


def _params(status: str, category: str, search: Search) -> tuple[Any, ...]:
    """The filter's arguments, in the order both functions take them."""
    return (
        status,
        category,
        list(search.terms),
        search.digits,
        search.number,
        search.person_id,
    )


async def fetch_page(
    reader: ReadTransaction,
    status: str,
    category: str,
    search: Search,
    *,
    lower: Bound,
    upper: Bound,
    descending: bool,
    limit: int,
) -> list[Any]:
    """Up to `limit` directory rows (`person_id`, `kind`, `customer_id`, `name_key`) strictly
    between the bounds, in name order (`descending` reverses it)."""
    return await reader.fetch_raw(
        PAGE,
        *_params(status, category, search),
        *lower,
        *upper,
        descending,
        limit,
        record_class=AttributeRecord,
    )


async def directory_page(
    reader: ReadTransaction, request: DirectoryRequest
) -> tuple[list[Any], int]:
    """Up to `size + 1` rows in fetch direction, and the capped total."""
    rows: list[Any] = []
    if request.page.size > 0:
        lower, upper = request.bounds
        rows = await fetch_page(
            reader,
            request.status,
            request.category,
            request.search,
            lower=lower,
            upper=upper,
            descending=request.fetch_descending,
            limit=request.page.size + 1,
        )
    total = await reader.fetchval_raw(COUNT, *request.filter_arguments, COUNT_CAP + 1)
    return rows, int(total)
