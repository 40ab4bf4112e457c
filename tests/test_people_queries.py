"""The first queries end to end: the customer list and one customer, over HTTP."""

from __future__ import annotations

import pytest

from tests import factories
from tests.conftest import Api

LIST = """
query List($first: Int, $after: String, $last: Int, $before: String, $order: SortOrder) {
  customers(first: $first, after: $after, last: $last, before: $before, order: $order) {
    totalCount totalCountIsExact
    pageInfo { hasNextPage hasPreviousPage startCursor endCursor }
    edges { cursor node { id fullName kind categories category status
      participants { fullName isSelf } additionalUsers { fullName } } }
  }
}
"""


async def test_list_pages_forward_and_backward_in_name_order(
    api: Api, owner: factories.Owner, two_businesses: tuple[factories.BusinessFixture, ...]
) -> None:
    mine, other = two_businesses
    names = [
        ("Zoë", "Ålvarez"),
        ("José", "García"),
        ("Ann", "Garcia"),
        ("Bob", "Smith"),
        ("Eve", "Adams"),
    ]
    for first, last in names:
        await factories.customer(owner, mine.id, first, last)
    await factories.customer(owner, other.id, "Other", "Business")
    token = api.token(mine.id, "staff", mine.staff_id)

    page1 = (await api.data(LIST, {"first": 2}, token))["customers"]
    assert [e["node"]["fullName"] for e in page1["edges"]] == ["Eve Adams", "Zoë Ålvarez"]
    assert page1["totalCount"] == 5 and page1["totalCountIsExact"] is True
    assert (
        page1["pageInfo"]["hasNextPage"] is True and page1["pageInfo"]["hasPreviousPage"] is False
    )

    page2 = (await api.data(LIST, {"first": 2, "after": page1["pageInfo"]["endCursor"]}, token))[
        "customers"
    ]
    assert [e["node"]["fullName"] for e in page2["edges"]] == ["Ann Garcia", "José García"]

    back = (await api.data(LIST, {"last": 2, "before": page2["pageInfo"]["startCursor"]}, token))[
        "customers"
    ]
    assert [e["node"]["fullName"] for e in back["edges"]] == ["Eve Adams", "Zoë Ålvarez"]
    assert back["pageInfo"]["hasPreviousPage"] is False

    tail = (await api.data(LIST, {"last": 1}, token))["customers"]
    assert [e["node"]["fullName"] for e in tail["edges"]] == ["Bob Smith"]

    descending = (await api.data(LIST, {"first": 1, "order": "DESC"}, token))["customers"]
    assert descending["edges"][0]["node"]["fullName"] == "Bob Smith"


async def test_customer_with_self_participant_is_one_row_with_both_categories(
    api: Api, owner: factories.Owner, two_businesses: tuple[factories.BusinessFixture, ...]
) -> None:
    mine, _ = two_businesses
    parent = await factories.customer(owner, mine.id, "Maria", "Lopez")
    await factories.participant(owner, parent, is_self=True)
    await factories.participant(owner, parent, "Lucas")
    await factories.additional_user(owner, parent, "Carlos")
    await factories.manual_payment(owner, parent)
    token = api.token(mine.id, "owner", mine.owner_id)

    edges = (await api.data(LIST, {}, token))["customers"]["edges"]
    assert len(edges) == 1
    node = edges[0]["node"]
    assert node["kind"] == "CUSTOMER"
    assert node["category"] == "PRIMARY"
    assert node["categories"] == ["PRIMARY", "PARTICIPANT"]
    assert node["participants"] == [
        {"fullName": "Maria Lopez", "isSelf": True},
        {"fullName": "Lucas Lopez", "isSelf": False},
    ]
    assert node["additionalUsers"] == [{"fullName": "Carlos Lopez"}]


@pytest.mark.parametrize(
    ("variables", "code", "field"),
    [
        ({"first": 500}, "INVALID_ARGUMENT", "first"),
        ({"first": -1}, "INVALID_ARGUMENT", "first"),
        ({"after": "not-a-cursor"}, "INVALID_CURSOR", "after"),
        ({"first": 1, "last": 1}, "INVALID_ARGUMENT", "last"),
    ],
)
async def test_malformed_paging_arguments_are_top_level_errors(
    api: Api,
    two_businesses: tuple[factories.BusinessFixture, ...],
    variables: dict[str, object],
    code: str,
    field: str,
) -> None:
    mine, _ = two_businesses
    body = await api.post(LIST, variables, api.token(mine.id, "staff", mine.staff_id))
    assert body["data"] is None
    [error] = body["errors"]
    assert error["extensions"]["code"] == code
    assert error["extensions"]["field"] == field


async def test_cursor_from_another_sort_is_refused(
    api: Api, owner: factories.Owner, two_businesses: tuple[factories.BusinessFixture, ...]
) -> None:
    mine, _ = two_businesses
    for name in ("A", "B", "C"):
        await factories.customer(owner, mine.id, name, "Test")
    token = api.token(mine.id, "staff", mine.staff_id)
    ascending = (await api.data(LIST, {"first": 1}, token))["customers"]
    body = await api.post(
        LIST, {"first": 1, "after": ascending["pageInfo"]["endCursor"], "order": "DESC"}, token
    )
    assert body["errors"][0]["extensions"]["code"] == "INVALID_CURSOR"


async def test_customer_by_id_of_another_business_is_null_without_error(
    api: Api, owner: factories.Owner, two_businesses: tuple[factories.BusinessFixture, ...]
) -> None:
    mine, other = two_businesses
    theirs = await factories.customer(owner, other.id, "Hidden", "Person")
    ours = await factories.customer(owner, mine.id, "Shown", "Person")
    token = api.token(mine.id, "staff", mine.staff_id)
    query = "query($id: ID!) { customer(id: $id) { id fullName } }"
    assert await api.data(query, {"id": str(theirs["id"])}, token) == {"customer": None}
    assert await api.data(query, {"id": str(ours["id"])}, token) == {
        "customer": {"id": str(ours["id"]), "fullName": "Shown Person"}
    }
    body = await api.post(query, {"id": "nope"}, token)
    assert body["errors"][0]["extensions"] == {"code": "INVALID_ARGUMENT", "field": "id"}
