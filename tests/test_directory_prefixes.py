"""Short search terms (1 or 2 characters) match the start of any word of a name: checked against a
brute-force reading of the list, in both orders, page by page both ways, in every category and
in the Archived tab, and with the count capped at 10,000."""

from __future__ import annotations

from typing import Any

import pytest

from tests import factories
from tests.conftest import Api
from tests.test_directory import PEOPLE

# Several words per name, accents, one-letter words, and names that share their first letters
# across first and last names (so one person can match two ways and must still come once).
FIRST_NAMES = ("Kate", "Kévin", "K", "Mary Ann", "Ana", "Anna Karin", "Bo", "Zoë", "Ómar", "Ké")
LAST_NAMES = (
    "Kelly",
    "Kowalski",
    "Ní Bhriain",
    "Ó Ceallaigh",
    "van der Berg",
    "Brown",
    "Ka",
    "Mac Kenna",
    "Åkesson",
)
TERMS = ("k", "ke", "ka", "b", "bh", "c", "ce", "a", "an", "o", "ó", "d", "de", "z", "zz", "K")
CATEGORIES = ("EVERYONE", "PRIMARY", "LEAD", "APP_USER", "PARTICIPANT", "ADDITIONAL_USER")


@pytest.fixture
async def crowd(
    api: Api, owner: factories.Owner, two_businesses: tuple[factories.BusinessFixture, ...]
) -> dict[str, Any]:
    """Every kind of person in both tabs and every category, with look-alikes next door."""
    mine, other = two_businesses
    for i in range(36):
        first, last = FIRST_NAMES[i % 10], LAST_NAMES[(i * 7) % 9]
        archived = i % 5 == 4
        person = await factories.customer(
            owner,
            mine.id,
            first,
            last,
            email=f"person{i}@example.com",
            origin="PORTAL_SIGNUP" if i % 6 == 1 else "STAFF",
            status="ARCHIVED" if archived else "ACTIVE",
            archived_at=factories.datetime.now(factories.UTC) if archived else None,
        )
        if i % 3 == 0:
            await factories.manual_payment(owner, person)
        if i % 4 == 0:
            await factories.participant(owner, person, is_self=True)
        if i % 4 == 1:
            await factories.participant(owner, person, FIRST_NAMES[(i + 3) % 10])
        if i % 7 == 2:
            await factories.additional_user(owner, person, FIRST_NAMES[(i + 5) % 10])
    await factories.customer(owner, other.id, "Kate", "Kelly", email="kate@example.com")
    words = await owner.c.fetch(
        "SELECT person_id::text AS id, immutable_unaccent(lower(first_name || ' ' || last_name))"
        " AS name FROM directory_entries WHERE business_id = $1",
        mine.id,
    )
    folded = await owner.c.fetch(
        "SELECT t, immutable_unaccent(lower(t)) AS folded FROM unnest($1::text[]) AS t",
        [*TERMS, "an", "bo"],
    )
    return {
        "token": api.token(mine.id, "staff", mine.staff_id),
        "words": {row["id"]: row["name"].split(" ") for row in words},
        "folded": {row["t"]: row["folded"] for row in folded},
    }


async def _page(api: Api, token: str, **variables: Any) -> dict[str, Any]:
    data = await api.data(PEOPLE, variables, token)
    page: dict[str, Any] = data["people"]
    return page


def _ids(page: dict[str, Any]) -> list[str]:
    return [edge["node"]["id"] for edge in page["edges"]]


async def _expected(api: Api, crowd: dict[str, Any], term: str, **tab: Any) -> list[str]:
    """The tab read whole without a search, keeping whoever has a word starting with the term
    (folded as the list folds names)."""
    listed = _ids(await _page(api, crowd["token"], first=100, **tab))
    folded = crowd["folded"][term]
    return [pid for pid in listed if any(w.startswith(folded) for w in crowd["words"][pid])]


async def _forward(api: Api, token: str, size: int, **variables: Any) -> list[str]:
    ids: list[str] = []
    after = None
    while True:
        page = await _page(api, token, first=size, after=after, **variables)
        ids += _ids(page)
        if not page["pageInfo"]["hasNextPage"]:
            return ids
        after = page["pageInfo"]["endCursor"]


async def _backward(api: Api, token: str, size: int, **variables: Any) -> list[str]:
    ids: list[str] = []
    before = None
    while True:
        page = await _page(api, token, last=size, before=before, **variables)
        ids = _ids(page) + ids
        if not page["pageInfo"]["hasPreviousPage"]:
            return ids
        before = page["pageInfo"]["startCursor"]


@pytest.mark.parametrize("order", ["ASC", "DESC"])
async def test_short_terms_match_word_starts_page_by_page_both_ways(
    api: Api, crowd: dict[str, Any], order: str
) -> None:
    token = crowd["token"]
    for term in TERMS:
        expected = await _expected(api, crowd, term, order=order)
        first = await _page(api, token, search=term, order=order, first=100)
        assert _ids(first) == expected, term
        assert (first["totalCount"], first["totalCountIsExact"]) == (len(expected), True), term
        assert await _forward(api, token, 4, search=term, order=order) == expected, term
        assert await _backward(api, token, 3, search=term, order=order) == expected, term


async def test_short_terms_in_every_category_and_tab(api: Api, crowd: dict[str, Any]) -> None:
    token = crowd["token"]
    for status in ("ACTIVE", "ARCHIVED"):
        for category in CATEGORIES:
            tab = {"status": status, "category": category}
            for term in ("k", "ka", "b", "ce", "an", "d"):
                expected = await _expected(api, crowd, term, **tab)
                page = await _page(api, token, search=term, first=100, **tab)
                assert _ids(page) == expected, (term, tab)
                assert page["totalCount"] == len(expected), (term, tab)


async def test_every_match_is_listed_once(api: Api, crowd: dict[str, Any]) -> None:
    # "Kate Kelly" and "K Ka" match "k" by both names, "Kévin Mac Kenna" by two ways at once.
    ids = await _forward(api, crowd["token"], 5, search="k")
    assert len(ids) == len(set(ids)) > 10


async def test_a_short_term_with_other_terms(api: Api, crowd: dict[str, Any]) -> None:
    token = crowd["token"]
    words = crowd["words"]
    listed = _ids(await _page(api, token, first=100))

    def having(*starts: str) -> list[str]:
        return [p for p in listed if all(any(w.startswith(s) for w in words[p]) for s in starts)]

    assert _ids(await _page(api, token, search="an k", first=100)) == having("an", "k")
    assert _ids(await _page(api, token, search="Ó bo", first=100)) == having("o", "bo")
    kelly = [p for p in having("k") if "kelly" in words[p]]
    assert _ids(await _page(api, token, search="kelly k", first=100)) == kelly


async def test_count_is_capped_and_pages_stay_in_order_past_ten_thousand(
    api: Api, owner: factories.Owner, two_businesses: tuple[factories.BusinessFixture, ...]
) -> None:
    mine = two_businesses[0]
    await owner.c.execute(
        """INSERT INTO customers (business_id, first_name, last_name, email, origin, category)
           SELECT $1, (ARRAY['Kim', 'Lee', 'Ben Kai'])[1 + i % 3], 'Ward' || (i % 97),
                  'crowd' || i || '@example.com', 'STAFF', 'LEAD'
           FROM generate_series(1, 10050) AS i""",
        mine.id,
    )
    token = api.token(mine.id, "staff", mine.staff_id)
    # Kim (3,350) and Ben Kai (3,350) start a word with "k": exact. Ward is everyone: capped.
    k = await _page(api, token, search="k", first=5)
    assert (k["totalCount"], k["totalCountIsExact"]) == (6700, True)
    w = await _page(api, token, search="w", first=5, order="DESC")
    assert (w["totalCount"], w["totalCountIsExact"]) == (10000, False)
    expected = await owner.c.fetch(
        """SELECT person_id::text AS id FROM directory_entries
           WHERE business_id = $1 AND (first_name LIKE 'K%' OR first_name LIKE '% K%')
           ORDER BY name_key, person_id LIMIT 8""",
        mine.id,
    )
    second = await _page(api, token, search="k", first=3, after=k["pageInfo"]["endCursor"])
    assert _ids(k) + _ids(second) == [row["id"] for row in expected]
