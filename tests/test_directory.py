"""The customer list: kinds, categories, tabs, search as you type, sort and pages."""

from __future__ import annotations

from typing import Any

import pytest

from tests import factories
from tests.conftest import Api

PEOPLE = """
query People($status: PersonStatus, $category: DirectoryCategory, $search: String,
             $order: SortOrder, $first: Int, $after: String, $last: Int, $before: String) {
  people(status: $status, category: $category, search: $search, order: $order,
         first: $first, after: $after, last: $last, before: $before) {
    totalCount totalCountIsExact
    pageInfo { hasNextPage hasPreviousPage startCursor endCursor }
    edges { node { __typename id fullName kind categories status customer { fullName } } }
  }
}
"""


async def _names(api: Api, token: str, **variables: Any) -> list[str]:
    data = await api.data(PEOPLE, variables, token)
    return [edge["node"]["fullName"] for edge in data["people"]["edges"]]


@pytest.fixture
async def studio(
    owner: factories.Owner, two_businesses: tuple[factories.BusinessFixture, ...]
) -> dict[str, Any]:
    """A small business with every kind of person, plus a look-alike in another business."""
    mine, other = two_businesses
    smith = await factories.customer(
        owner, mine.id, "John", "Smith", email="john.smith@example.com", mobile="+447700900123"
    )
    await factories.manual_payment(owner, smith)
    await factories.participant(owner, smith, is_self=True)
    await factories.participant(owner, smith, "Lily")
    await factories.additional_user(owner, smith, "Jane", email="jane@example.com")
    gold = await factories.customer(owner, mine.id, "Anna", "Goldsmith", email="anna@example.com")
    jose = await factories.customer(
        owner, mine.id, "José", "Núñez", email="jose@example.com", origin="PORTAL_SIGNUP"
    )
    archived = await factories.customer(
        owner,
        mine.id,
        "Olga",
        "Old",
        status="ARCHIVED",
        archived_at=factories.datetime.now(factories.UTC),
    )
    await factories.participant(owner, archived, "Oscar")
    await factories.customer(owner, other.id, "John", "Smith", email="other@example.com")
    return {"smith": smith, "gold": gold, "jose": jose, "mine": mine, "other": other}


def staff(api: Api, studio: dict[str, Any]) -> str:
    mine = studio["mine"]
    return api.token(mine.id, "staff", mine.staff_id)


async def test_everyone_lists_customers_participants_and_additional_users_once(
    api: Api, studio: dict[str, Any]
) -> None:
    data = await api.data(PEOPLE, {}, staff(api, studio))
    rows = [
        (e["node"]["fullName"], e["node"]["kind"], e["node"]["categories"])
        for e in data["people"]["edges"]
    ]
    assert rows == [
        ("Anna Goldsmith", "CUSTOMER", ["LEAD"]),
        ("José Núñez", "CUSTOMER", ["APP_USER"]),
        ("Jane Smith", "ADDITIONAL_USER", ["ADDITIONAL_USER"]),
        ("John Smith", "CUSTOMER", ["PRIMARY", "PARTICIPANT"]),
        ("Lily Smith", "PARTICIPANT", ["PARTICIPANT"]),
    ]
    assert data["people"]["totalCount"] == 5
    lily = data["people"]["edges"][4]["node"]
    assert lily["customer"] == {"fullName": "John Smith"}


@pytest.mark.parametrize(
    ("category", "expected"),
    [
        ("PRIMARY", ["John Smith"]),
        ("LEAD", ["Anna Goldsmith"]),
        ("APP_USER", ["José Núñez"]),
        ("PARTICIPANT", ["John Smith", "Lily Smith"]),
        ("ADDITIONAL_USER", ["Jane Smith"]),
    ],
)
async def test_category_filters(
    api: Api, studio: dict[str, Any], category: str, expected: list[str]
) -> None:
    assert await _names(api, staff(api, studio), category=category) == expected


async def test_archived_tab_holds_the_archived_and_their_people(
    api: Api, studio: dict[str, Any]
) -> None:
    assert await _names(api, staff(api, studio), status="ARCHIVED") == ["Olga Old", "Oscar Old"]


@pytest.mark.parametrize(
    ("search", "expected"),
    [
        ("jose", ["José Núñez"]),
        ("NUNEZ", ["José Núñez"]),
        ("smi", ["Anna Goldsmith", "Jane Smith", "John Smith", "Lily Smith"]),
        ("j", ["José Núñez", "Jane Smith", "John Smith"]),
        ("sm", ["Jane Smith", "John Smith", "Lily Smith"]),
        ("go", ["Anna Goldsmith"]),
        ("john smith", ["John Smith"]),
        ("smith jo", ["John Smith"]),
        ("7700 900", ["John Smith"]),
        ("+44 7700 900123", ["John Smith"]),
        ("jane@example", ["Jane Smith"]),
        ("zz", []),
        ("%", []),
        ("_", []),
        ("   ", ["Anna Goldsmith", "José Núñez", "Jane Smith", "John Smith", "Lily Smith"]),
    ],
)
async def test_search_as_you_type(
    api: Api, studio: dict[str, Any], search: str, expected: list[str]
) -> None:
    assert await _names(api, staff(api, studio), search=search) == expected


async def test_search_by_number_and_by_id(api: Api, studio: dict[str, Any]) -> None:
    token = staff(api, studio)
    gold = studio["gold"]
    assert await _names(api, token, search=str(gold["number"])) == ["Anna Goldsmith"]
    assert await _names(api, token, search=str(gold["id"])) == ["Anna Goldsmith"]


async def test_edits_are_searchable_the_moment_they_commit(
    api: Api, owner: factories.Owner, studio: dict[str, Any]
) -> None:
    token = staff(api, studio)
    await owner.c.execute(
        "UPDATE customers SET last_name = 'Wright' WHERE id = $1", studio["gold"]["id"]
    )
    assert await _names(api, token, search="wri") == ["Anna Wright"]
    assert await _names(api, token, search="goldsmith") == []
    await owner.c.execute(
        "UPDATE customers SET status = 'ARCHIVED', archived_at = now() WHERE id = $1",
        studio["smith"]["id"],
    )
    assert await _names(api, token, search="smith") == []
    assert await _names(api, token, status="ARCHIVED", search="smith") == [
        "Jane Smith",
        "John Smith",
        "Lily Smith",
    ]


async def test_a_fragment_in_several_of_a_persons_words_lists_them_once(
    api: Api, owner: factories.Owner, studio: dict[str, Any]
) -> None:
    token = staff(api, studio)
    await factories.customer(
        owner, studio["mine"].id, "Annabel", "Hanna", email="annie.hanna@example.com"
    )
    # "ann" is in annabel, hanna and annie (and in Anna Goldsmith's anna): one row each.
    page = (await api.data(PEOPLE, {"search": "ann"}, token))["people"]
    assert [e["node"]["fullName"] for e in page["edges"]] == ["Anna Goldsmith", "Annabel Hanna"]
    assert (page["totalCount"], page["totalCountIsExact"]) == (2, True)
    assert await _names(api, token, search="ann", order="DESC") == [
        "Annabel Hanna",
        "Anna Goldsmith",
    ]


async def test_a_fragment_of_many_words_pages_and_counts_them_together(
    api: Api, owner: factories.Owner, studio: dict[str, Any]
) -> None:
    token = staff(api, studio)
    # Twenty people with a word of their own each ("zqx00" … "zqx19"): more words than are
    # read one by one.
    for i in range(20):
        await factories.customer(
            owner, studio["mine"].id, f"Member{i:02d}", "Coder", email=f"m.zqx{i:02d}@example.com"
        )
    page = (await api.data(PEOPLE, {"search": "zqx", "first": 5}, token))["people"]
    assert (page["totalCount"], page["totalCountIsExact"]) == (20, True)
    names = [e["node"]["fullName"] for e in page["edges"]]
    while page["pageInfo"]["hasNextPage"]:
        after = page["pageInfo"]["endCursor"]
        page = (await api.data(PEOPLE, {"search": "zqx", "first": 5, "after": after}, token))[
            "people"
        ]
        names += [e["node"]["fullName"] for e in page["edges"]]
    assert names == [f"Member{i:02d} Coder" for i in range(20)]
    last = (await api.data(PEOPLE, {"search": "zqx", "last": 3}, token))["people"]
    assert [e["node"]["fullName"] for e in last["edges"]] == [
        f"Member{i:02d} Coder" for i in (17, 18, 19)
    ]


async def test_removed_people_are_not_found_by_their_words(
    api: Api, owner: factories.Owner, studio: dict[str, Any]
) -> None:
    token = staff(api, studio)
    assert await _names(api, token, search="lily") == ["Lily Smith"]
    await owner.c.execute("DELETE FROM participants WHERE first_name = 'Lily'")
    page = (await api.data(PEOPLE, {"search": "lily"}, token))["people"]
    assert (page["edges"], page["totalCount"]) == ([], 0)


async def test_search_pages_both_ways_and_descending(api: Api, studio: dict[str, Any]) -> None:
    token = staff(api, studio)
    first = (await api.data(PEOPLE, {"search": "smi", "first": 2}, token))["people"]
    assert [e["node"]["fullName"] for e in first["edges"]] == ["Anna Goldsmith", "Jane Smith"]
    assert first["totalCount"] == 4 and first["pageInfo"]["hasNextPage"]
    second = (
        await api.data(
            PEOPLE, {"search": "smi", "first": 2, "after": first["pageInfo"]["endCursor"]}, token
        )
    )["people"]
    assert [e["node"]["fullName"] for e in second["edges"]] == ["John Smith", "Lily Smith"]
    assert not second["pageInfo"]["hasNextPage"]
    back = (
        await api.data(
            PEOPLE, {"search": "smi", "last": 1, "before": second["pageInfo"]["startCursor"]}, token
        )
    )["people"]
    assert [e["node"]["fullName"] for e in back["edges"]] == ["Jane Smith"]
    assert await _names(api, token, search="smi", order="DESC") == [
        "Lily Smith",
        "John Smith",
        "Jane Smith",
        "Anna Goldsmith",
    ]
    desc = (await api.data(PEOPLE, {"search": "smi", "order": "DESC", "first": 1}, token))["people"]
    after = await _names(
        api, token, search="smi", order="DESC", first=2, after=desc["pageInfo"]["endCursor"]
    )
    assert after == ["John Smith", "Jane Smith"]
    body = await api.post(PEOPLE, {"search": "jo", "after": first["pageInfo"]["endCursor"]}, token)
    assert body["errors"][0]["extensions"] == {"code": "INVALID_CURSOR", "field": "after"}


async def test_search_is_bounded(api: Api, studio: dict[str, Any]) -> None:
    body = await api.post(PEOPLE, {"search": "x" * 201}, staff(api, studio))
    assert body["errors"][0]["extensions"] == {"code": "INVALID_ARGUMENT", "field": "search"}


async def test_statement_count_does_not_depend_on_rows(
    api: Api, owner: factories.Owner, studio: dict[str, Any]
) -> None:
    token = staff(api, studio)
    # Five rows of every kind against a hundred: the same statements (page, count, one per kind).
    await api.data(PEOPLE, {"first": 5}, token)
    one = api.last_statements
    mine = studio["mine"]
    for i in range(30):
        parent = await factories.customer(owner, mine.id, f"Kid{i}", "Parent")
        await factories.participant(owner, parent, f"Child{i}")
        await factories.additional_user(owner, parent, f"Helper{i}")
    await api.data(PEOPLE, {"first": 100}, token)
    assert api.last_statements == one
    assert one == 5


async def test_the_list_document_front_ends_send(api: Api, studio: dict[str, Any]) -> None:
    from server.settings import REPO_ROOT

    document = (REPO_ROOT / "tests" / "queries" / "customer_list.graphql").read_text()
    data = await api.data(document, {"search": "smith", "first": 2}, staff(api, studio))
    page = data["people"]
    assert (page["totalCount"], page["totalCountIsExact"]) == (4, True)
    assert page["pageInfo"]["hasNextPage"] is True
    anna, jane = (edge["node"] for edge in page["edges"])
    assert anna["__typename"] == "Customer" and anna["fullName"] == "Anna Goldsmith"
    assert (anna["categories"], anna["participants"], anna["customer"]["id"]) == (
        ["LEAD"],
        [],
        anna["id"],
    )
    assert jane == {
        "__typename": "AdditionalUser",
        "id": jane["id"],
        "kind": "ADDITIONAL_USER",
        "categories": ["ADDITIONAL_USER"],
        "fullName": "Jane Smith",
        "email": "jane@example.com",
        "mobile": None,
        "status": "ACTIVE",
        "number": 1,
        "customer": {"id": str(studio["smith"]["id"]), "fullName": "John Smith"},
    }
