"""The list's totals without a search come from the directory tallies: after every kind of edit
(new people, participants and additional users, history that makes a lead a primary customer,
archive, activate, delete, merge, bulk actions) each tab and category's total is the number of
people its pages list, and the tallies equal a rebuild from scratch."""

from __future__ import annotations

from tests import factories
from tests.conftest import Api

STATUSES = ("ACTIVE", "ARCHIVED")
CATEGORIES = ("EVERYONE", "PRIMARY", "LEAD", "APP_USER", "PARTICIPANT", "ADDITIONAL_USER")

LISTED = """
query Listed($status: PersonStatus, $category: DirectoryCategory) {
  people(status: $status, category: $category, first: 100) {
    totalCount
    totalCountIsExact
    edges { node { id } }
  }
}
"""


async def _totals_and_rows(api: Api, token: str) -> dict[tuple[str, str], tuple[int, int]]:
    found = {}
    for status in STATUSES:
        for category in CATEGORIES:
            data = await api.data(LISTED, {"status": status, "category": category}, token)
            people = data["people"]
            assert people["totalCountIsExact"]
            found[status, category] = (people["totalCount"], len(people["edges"]))
    return found


async def _assert_totals_are_what_is_listed(
    api: Api, owner: factories.Owner, business: factories.BusinessFixture, token: str
) -> dict[tuple[str, str], int]:
    found = await _totals_and_rows(api, token)
    assert {key: total for key, (total, _) in found.items()} == {
        key: rows for key, (_, rows) in found.items()
    }
    assert owner.conn is not None
    kept = await owner.conn.fetch(
        "SELECT status, category, people FROM directory_tallies "
        "WHERE business_id = $1 AND people <> 0 ORDER BY 1, 2",
        business.id,
    )
    await owner.conn.execute("SELECT directory_tallies_rebuild($1)", business.id)
    rebuilt = await owner.conn.fetch(
        "SELECT status, category, people FROM directory_tallies "
        "WHERE business_id = $1 ORDER BY 1, 2",
        business.id,
    )
    assert [tuple(row) for row in kept] == [tuple(row) for row in rebuilt]
    return {key: total for key, (total, _) in found.items()}


async def test_totals_follow_every_edit(
    api: Api, owner: factories.Owner, two_businesses: tuple[factories.BusinessFixture, ...]
) -> None:
    mine, other = two_businesses
    staff = api.token(mine.id, "staff", mine.staff_id)
    smith = await factories.customer(owner, mine.id, "John", "Smith")
    await factories.manual_payment(owner, smith)
    await factories.participant(owner, smith, is_self=True)
    await factories.participant(owner, smith, "Lily")
    await factories.additional_user(owner, smith, "Jane")
    lead = await factories.customer(owner, mine.id, "Lea", "Lead")
    app_user = await factories.customer(owner, mine.id, "Apu", "App", origin="PORTAL_SIGNUP")
    await factories.customer(owner, other.id, "Otto", "Other")
    before = await _assert_totals_are_what_is_listed(api, owner, mine, staff)
    assert before["ACTIVE", "EVERYONE"] == 5 and before["ACTIVE", "PARTICIPANT"] == 2

    created = await api.payload(
        "mutation($i: CustomerCreateInput!) { customerCreate(input: $i) "
        "{ customer { id } errors { code } } }",
        {"i": {"firstName": "Nia", "lastName": "New", "email": "nia@example.com"}},
        staff,
    )
    new_id = created["customer"]["id"]
    await api.payload(
        "mutation($i: ParticipantAddInput!) { participantAdd(input: $i) { errors { code } } }",
        {"i": {"customerId": new_id, "firstName": "Kit", "lastName": "New"}},
        staff,
    )
    await api.payload(
        "mutation($i: AdditionalUserAddInput!) { additionalUserAdd(input: $i) "
        "{ errors { code } } }",
        {"i": {"customerId": str(lead["id"]), "firstName": "Al", "lastName": "Lead",
               "email": "al@example.com"}},
        staff,
    )  # fmt: skip
    await factories.manual_payment(owner, lead)  # history: the lead becomes primary
    await _assert_totals_are_what_is_listed(api, owner, mine, staff)

    archive = "mutation($id: ID!) { customerArchive(id: $id) { errors { code } } }"
    await api.payload(archive, {"id": str(smith["id"])}, staff)
    archived = await _assert_totals_are_what_is_listed(api, owner, mine, staff)
    assert archived["ARCHIVED", "EVERYONE"] == 3  # Smith (taking part himself), Lily, Jane

    await api.payload(
        "mutation($id: ID!) { customerActivate(id: $id) { errors { code } } }",
        {"id": str(smith["id"])},
        staff,
    )
    await api.payload(
        "mutation($id: ID!) { personDelete(id: $id) { errors { code } } }",
        {"id": str(app_user["id"])},
        staff,
    )
    await api.payload(
        "mutation($s: ID!, $t: ID!) { customerMerge(source: $s, target: $t) { errors { code } } }",
        {"s": new_id, "t": str(smith["id"])},
        staff,
    )
    await _assert_totals_are_what_is_listed(api, owner, mine, staff)

    await api.payload(
        "mutation($ids: [ID!]) { peopleArchive(selection: {ids: $ids}) "
        "{ results { errors { code } } } }",
        {"ids": [str(smith["id"]), str(lead["id"])]},
        staff,
    )
    after = await _assert_totals_are_what_is_listed(api, owner, mine, staff)
    assert after["ACTIVE", "EVERYONE"] == 0
