"""Email campaign audiences: create, list, add a selection (consent respected, no duplicates),
read the members; other businesses' audiences and people stay out of reach."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from resolvers.campaigns import NO_ADDRESS, NO_CONSENT, NOT_FOUND_MESSAGE, PARTICIPANT
from server.jobs import Worker, drain
from tests import factories
from tests.conftest import Api

Businesses = tuple[factories.BusinessFixture, factories.BusinessFixture]

CREATE = """
mutation($name: String!) {
  campaignAudienceCreate(name: $name) {
    audience { id name memberCount }
    errors { code field message }
  }
}
"""
ADD = """
mutation($audienceId: ID!, $selection: PeopleSelectionInput!) {
  campaignAudienceAdd(audienceId: $audienceId, selection: $selection) {
    audience { id memberCount }
    results { id status message errors { code field } }
    job { id kind status progress { total } }
    errors { code field message }
  }
}
"""
AUDIENCES = """
query($first: Int, $after: String, $last: Int) {
  campaignAudiences(first: $first, after: $after, last: $last) {
    totalCount
    edges { node { name memberCount } }
    pageInfo { hasNextPage hasPreviousPage endCursor }
  }
}
"""
AUDIENCE = """
query($id: ID!, $first: Int, $after: String) {
  campaignAudience(id: $id) {
    name memberCount
    members(first: $first, after: $after) {
      totalCount
      edges { node { person { __typename id kind } } }
      pageInfo { hasNextPage endCursor }
    }
  }
}
"""


async def create(api: Api, token: str, name: str) -> dict[str, Any]:
    payload: dict[str, Any] = (await api.data(CREATE, {"name": name}, token))[
        "campaignAudienceCreate"
    ]
    return payload


async def add(api: Api, token: str, audience_id: str, selection: dict[str, Any]) -> Any:
    variables = {"audienceId": audience_id, "selection": selection}
    return (await api.data(ADD, variables, token))["campaignAudienceAdd"]


def id_list(*people: Any) -> dict[str, list[str]]:
    return {"ids": [str(p if isinstance(p, uuid.UUID) else p["id"]) for p in people]}


async def test_audiences_are_created_with_unique_names_and_listed_by_name(
    api: Api, two_businesses: Businesses
) -> None:
    mine, other = two_businesses
    token = api.token(mine.id, "staff", mine.staff_id)
    spring = await create(api, token, "  Spring   offers ")
    assert spring["errors"] == []
    assert (spring["audience"]["name"], spring["audience"]["memberCount"]) == (
        "Spring offers",
        0,
    )
    await create(api, token, "Autumn")
    await create(api, token, "Écoliers")
    for name, code in (
        ("SPRING OFFERS", "DUPLICATE"),
        ("   ", "REQUIRED"),
        ("x" * 201, "TOO_LONG"),
    ):
        refused = await create(api, token, name)
        assert refused["audience"] is None
        assert [(e["code"], e["field"]) for e in refused["errors"]] == [(code, "name")]
    # Another business may use the same name.
    theirs = await create(api, api.token(other.id, "staff", other.staff_id), "Spring offers")
    assert theirs["errors"] == []

    first = (await api.data(AUDIENCES, {"first": 2}, token))["campaignAudiences"]
    assert first["totalCount"] == 3
    assert [e["node"]["name"] for e in first["edges"]] == ["Autumn", "Écoliers"]
    rest = (
        await api.data(AUDIENCES, {"first": 2, "after": first["pageInfo"]["endCursor"]}, token)
    )["campaignAudiences"]
    assert [e["node"]["name"] for e in rest["edges"]] == ["Spring offers"]
    assert rest["pageInfo"] == {
        "hasNextPage": False,
        "hasPreviousPage": True,
        "endCursor": rest["pageInfo"]["endCursor"],
    }
    last = (await api.data(AUDIENCES, {"last": 1}, token))["campaignAudiences"]
    assert [e["node"]["name"] for e in last["edges"]] == ["Spring offers"]


async def test_adding_ids_respects_consent_and_never_duplicates(
    api: Api, owner: factories.Owner, two_businesses: Businesses
) -> None:
    mine, other = two_businesses
    ada = await factories.customer(owner, mine.id, "Ada", "Lovelace", marketing_consent=True)
    bo = await factories.customer(owner, mine.id, "Bo", "Brown")
    alex = await factories.additional_user(owner, bo, "Alex", marketing_consent=True)
    no_email = await factories.customer(
        owner, mine.id, "Nel", "Noemail", email="", marketing_consent=True
    )
    pat = await factories.participant(owner, ada, "Pat")
    merged = await factories.customer(
        owner,
        mine.id,
        "Gone",
        "Merged",
        marketing_consent=True,
        status="ARCHIVED",
        archived_at=datetime.now(UTC),
        merged_into_id=ada["id"],
    )
    theirs = await factories.customer(owner, other.id, "Theo", "Theirs", marketing_consent=True)
    ghost = uuid.uuid4()
    token = api.token(mine.id, "staff", mine.staff_id)
    audience = (await create(api, token, "Newsletter"))["audience"]

    answer = await add(
        api,
        token,
        audience["id"],
        id_list(ada, bo, alex, no_email, pat, merged, theirs, ghost, ada, alex),
    )
    assert answer["errors"] == [] and answer["job"] is None
    assert [(r["id"], r["status"], r["message"]) for r in answer["results"]] == [
        (str(ada["id"]), "ADDED", "Added to the audience."),
        (str(bo["id"]), "SKIPPED", NO_CONSENT),
        (str(alex["id"]), "ADDED", "Added to the audience."),
        (str(no_email["id"]), "SKIPPED", NO_ADDRESS),
        (str(pat["id"]), "SKIPPED", PARTICIPANT),
        (str(merged["id"]), "SKIPPED", "Not added: this customer was merged into another one."),
        (str(theirs["id"]), "FAILED", NOT_FOUND_MESSAGE),
        (str(ghost), "FAILED", NOT_FOUND_MESSAGE),
    ]
    assert [r["errors"] for r in answer["results"]][6:] == [
        [{"code": "NOT_FOUND", "field": "selection.ids.6"}],
        [{"code": "NOT_FOUND", "field": "selection.ids.7"}],
    ]
    assert answer["audience"]["memberCount"] == 2

    again = await add(api, token, audience["id"], id_list(alex, ada))
    assert [r["status"] for r in again["results"]] == ["ALREADY_MEMBER", "ALREADY_MEMBER"]
    assert again["audience"]["memberCount"] == 2

    read = (await api.data(AUDIENCE, {"id": audience["id"]}, token))["campaignAudience"]
    assert read["memberCount"] == 2
    assert {
        (e["node"]["person"]["__typename"], e["node"]["person"]["id"])
        for e in read["members"]["edges"]
    } == {("Customer", str(ada["id"])), ("AdditionalUser", str(alex["id"]))}
    rows = await owner.c.fetch(
        "SELECT customer_id, additional_user_id, added_by_staff_id FROM campaign_audience_members"
    )
    assert {tuple(r.values()) for r in rows} == {
        (ada["id"], None, mine.staff_id),
        (None, alex["id"], mine.staff_id),
    }


async def test_concurrent_adds_of_the_same_people_make_one_membership_each(
    api: Api, owner: factories.Owner, two_businesses: Businesses
) -> None:
    mine, _ = two_businesses
    crowd = [
        await factories.customer(owner, mine.id, f"C{i}", "Crowd", marketing_consent=True)
        for i in range(20)
    ]
    token = api.token(mine.id, "staff", mine.staff_id)
    audience = (await create(api, token, "Crowd"))["audience"]
    answers = await asyncio.gather(
        *(add(api, token, audience["id"], id_list(*crowd)) for _ in range(5))
    )
    statuses = [r["status"] for answer in answers for r in answer["results"]]
    assert statuses.count("ADDED") == 20 and statuses.count("ALREADY_MEMBER") == 80
    assert await owner.c.fetchval("SELECT count(*) FROM campaign_audience_members") == 20


async def test_another_business_audience_is_not_found(
    api: Api, owner: factories.Owner, two_businesses: Businesses
) -> None:
    mine, other = two_businesses
    ada = await factories.customer(owner, mine.id, "Ada", "Lovelace", marketing_consent=True)
    theirs = (await create(api, api.token(other.id, "staff", other.staff_id), "Theirs"))["audience"]
    token = api.token(mine.id, "staff", mine.staff_id)
    answer = await add(api, token, theirs["id"], id_list(ada))
    assert [(e["code"], e["field"]) for e in answer["errors"]] == [("NOT_FOUND", "audienceId")]
    assert answer["results"] == [] and answer["audience"] is None
    assert (await api.data(AUDIENCE, {"id": theirs["id"]}, token))["campaignAudience"] is None
    body = await api.post(AUDIENCE, {"id": "nope"}, token)
    assert body["errors"][0]["extensions"] == {"code": "INVALID_ARGUMENT", "field": "id"}
    body = await api.post(ADD, {"audienceId": "nope", "selection": id_list(ada)}, token)
    assert body["errors"][0]["extensions"] == {"code": "INVALID_ARGUMENT", "field": "audienceId"}
    empty = await add(api, token, str(uuid.uuid4()), {"ids": []})
    assert [(e["code"], e["field"]) for e in empty["errors"]] == [("REQUIRED", "selection.ids")]
    body = await api.post(
        ADD, {"audienceId": theirs["id"], "selection": {"ids": [str(uuid.uuid4())] * 101}}, token
    )
    assert body["errors"][0]["extensions"] == {"code": "TOO_MANY_IDS", "field": "selection.ids"}
    member = api.token(mine.id, "customer", ada["id"])
    body = await api.post(AUDIENCES, {"first": 1}, member)
    assert body["errors"][0]["extensions"]["code"] == "FORBIDDEN"
    assert await owner.c.fetchval("SELECT count(*) FROM campaign_audience_members") == 0


async def test_adding_a_filter_selection_runs_as_a_job_and_members_page(
    api: Api,
    owner: factories.Owner,
    two_businesses: Businesses,
    make_worker: Callable[..., Worker],
) -> None:
    mine, _ = two_businesses
    keen = [
        await factories.customer(owner, mine.id, f"K{i:02d}", "Smith", marketing_consent=True)
        for i in range(25)
    ]
    shy = await factories.customer(owner, mine.id, "Shy", "Smith")
    token = api.token(mine.id, "staff", mine.staff_id)
    audience = (await create(api, token, "Smiths"))["audience"]
    await add(api, token, audience["id"], id_list(keen[0]))

    queued = await add(api, token, audience["id"], {"filter": {"search": "smith"}})
    assert (queued["job"]["kind"], queued["job"]["status"]) == ("campaign_audience_add", "QUEUED")
    await drain(make_worker())

    job = (
        await api.data(
            "query($id: ID!) { job(id: $id) { status progress { total done skipped failed }"
            " items(first: 100) { edges { node { personId status message } } } } }",
            {"id": queued["job"]["id"]},
            token,
        )
    )["job"]
    assert job["progress"] == {"total": 26, "done": 24, "skipped": 2, "failed": 0}
    items = {
        e["node"]["personId"]: (e["node"]["status"], e["node"]["message"])
        for e in job["items"]["edges"]
    }
    assert items[str(keen[0]["id"])] == ("SKIPPED", "Already in this audience.")
    assert items[str(shy["id"])] == ("SKIPPED", NO_CONSENT)

    seen: list[str] = []
    after = None
    while True:
        page = (
            await api.data(AUDIENCE, {"id": audience["id"], "first": 10, "after": after}, token)
        )["campaignAudience"]["members"]
        assert page["totalCount"] == 25
        seen += [e["node"]["person"]["id"] for e in page["edges"]]
        if not page["pageInfo"]["hasNextPage"]:
            break
        after = page["pageInfo"]["endCursor"]
    assert len(seen) == 25 and set(seen) == {str(k["id"]) for k in keen}
    assert seen[0] == str(keen[0]["id"])  # in the order they were added


async def test_deleting_a_person_removes_them_from_audiences(
    api: Api, owner: factories.Owner, two_businesses: Businesses
) -> None:
    mine, _ = two_businesses
    app_user = await factories.customer(
        owner, mine.id, "App", "User", origin="PORTAL_SIGNUP", marketing_consent=True
    )
    token = api.token(mine.id, "staff", mine.staff_id)
    audience = (await create(api, token, "All"))["audience"]
    await add(api, token, audience["id"], id_list(app_user))
    deleted = await api.data(
        "mutation($id: ID!) { personDelete(id: $id) { errors { code } } }",
        {"id": str(app_user["id"])},
        token,
    )
    assert deleted["personDelete"]["errors"] == []
    read = (await api.data(AUDIENCE, {"id": audience["id"]}, token))["campaignAudience"]
    assert read["memberCount"] == 0 and read["members"]["edges"] == []
