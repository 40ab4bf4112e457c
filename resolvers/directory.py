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

from sqlalchemy import Row, text

from schema.errors import ApiError, ErrorCode
from schema.pagination import COUNT_CAP, PageRequest, list_signature
from server.db import ReadTransaction

MAX_SEARCH_LENGTH = 200
MAX_TERMS = 8
CATEGORIES = ("EVERYONE", "PRIMARY", "LEAD", "APP_USER", "PARTICIPANT", "ADDITIONAL_USER")
_PHONE_LIKE = re.compile(r"^[\d\s+\-().]+$")

PAGE = text(
    "SELECT person_id, kind, customer_id, name_key FROM directory_page("
    ":status, :category, :terms, :digits, :number, :person_id,"
    " :lower_key, :lower_id, :upper_key, :upper_id, :descending, :limit)"
)
COUNT = text(
    "SELECT directory_count(:status, :category, :terms, :digits, :number, :person_id, :cap)"
)


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


def _params(status: str, category: str, search: Search) -> dict[str, Any]:
    return {
        "status": status,
        "category": category,
        "terms": list(search.terms),
        "digits": search.digits,
        "number": search.number,
        "person_id": search.person_id,
    }


async def directory_page(
    reader: ReadTransaction,
    status: str,
    category: str,
    search: Search,
    request: PageRequest,
    *,
    descending: bool,
) -> tuple[list[Row[Any]], int]:
    """Up to `size + 1` rows in fetch direction, and the capped total."""
    params = _params(status, category, search)
    rows: list[Row[Any]] = []
    if request.size > 0:
        after = request.after or [None, None]
        before = request.before or [None, None]
        # In list order `after` is the lower bound for ascending lists and the upper for
        # descending ones; fetching backward flips the scan direction, not the bounds.
        lower, upper = (before, after) if descending else (after, before)
        result = await reader.execute(
            PAGE,
            {
                **params,
                "lower_key": lower[0],
                "lower_id": lower[1],
                "upper_key": upper[0],
                "upper_id": upper[1],
                "descending": descending != request.backward,
                "limit": request.size + 1,
            },
        )
        rows = list(result.all())
    total = (await reader.execute(COUNT, {**params, "cap": COUNT_CAP + 1})).scalar_one()
    return rows, int(total)
