"""Member-portal access over a selection: disabling stops the person's tokens at once,
re-enabling lets them log in again (with a new token), each change is in account history; ids
are answered at once, a filter runs as a job."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from server.jobs import Worker, drain
from server.jobs.app_access import PARTICIPANT
from tests import factories
from tests.conftest import Api

Businesses = tuple[factories.BusinessFixture, factories.BusinessFixture]

SET_ACCESS = """
mutation($selection: PeopleSelectionInput!, $enabled: Boolean!) {
  peopleSetAppAccess(selection: $selection, enabled: $enabled) {
    results { id ok errors { code field message } }
    job { id kind status progress { total pending done failed skipped } }
    errors { code field message }
  }
}
"""
ME = "query($id: ID!) { customer(id: $id) { fullName } }"
JOB = """
query($id: ID!) {
  job(id: $id) {
    status progress { total pending done failed skipped }
    items(first: 100) { edges { node { personId status message } } }
  }
}
"""


async def set_access(api: Api, token: str, selection: dict[str, Any], enabled: bool) -> Any:
    variables = {"selection": selection, "enabled": enabled}
    return (await api.data(SET_ACCESS, variables, token))["peopleSetAppAccess"]


async def can_read(api: Api, token: str, customer_id: uuid.UUID) -> bool:
    body = await api.post(ME, {"id": str(customer_id)}, token)
    if "errors" in body:
        assert body["errors"][0]["extensions"]["code"] == "UNAUTHENTICATED"
        return False
    return True


def outcome(result: dict[str, Any]) -> tuple[bool, list[tuple[str, str]]]:
    return result["ok"], [(e["code"], e["field"]) for e in result["errors"]]


async def test_disabling_access_stops_tokens_at_once_and_enabling_needs_a_new_one(
    api: Api, owner: factories.Owner, two_businesses: Businesses
) -> None:
    mine, _ = two_businesses
    ada = await factories.customer(owner, mine.id, "Ada", "Lovelace")
    alex = await factories.additional_user(owner, ada, "Alex")
    staff = api.token(mine.id, "staff", mine.staff_id)
    ada_token = api.token(mine.id, "customer", ada["id"])
    alex_token = api.token(mine.id, "additional_user", alex["id"])
    assert await can_read(api, ada_token, ada["id"])
    assert await can_read(api, alex_token, ada["id"])

    disabled = await set_access(api, staff, {"ids": [str(ada["id"]), str(alex["id"])]}, False)
    assert disabled["errors"] == [] and disabled["job"] is None
    assert [outcome(r) for r in disabled["results"]] == [(True, []), (True, [])]
    assert not await can_read(api, ada_token, ada["id"])
    assert not await can_read(api, alex_token, ada["id"])
    rows = await owner.c.fetch(
        "SELECT app_access_enabled, token_version FROM customers WHERE id = $1"
        " UNION ALL SELECT app_access_enabled, token_version FROM additional_users WHERE id = $2",
        ada["id"],
        alex["id"],
    )
    assert [tuple(r.values()) for r in rows] == [(False, 2), (False, 2)]

    enabled = await set_access(api, staff, {"ids": [str(ada["id"]), str(alex["id"])]}, True)
    assert [outcome(r) for r in enabled["results"]] == [(True, []), (True, [])]
    # Tokens from before the change stay dead; a new log-in (the new version) works.
    assert not await can_read(api, ada_token, ada["id"])
    assert await can_read(api, api.token(mine.id, "customer", ada["id"], version=2), ada["id"])
    assert await can_read(
        api, api.token(mine.id, "additional_user", alex["id"], version=2), ada["id"]
    )

    history = await owner.c.fetch(
        "SELECT action, subject_id, customer_id, actor_name, before, after FROM account_history"
        " ORDER BY number"
    )
    changes = [(h["action"], h["subject_id"], h["customer_id"]) for h in history]
    # People are changed in ascending id order within a request.
    assert set(changes[:2]) == {
        ("customer.app_access_disabled", ada["id"], ada["id"]),
        ("additional_user.app_access_disabled", alex["id"], ada["id"]),
    }
    assert set(changes[2:]) == {
        ("customer.app_access_enabled", ada["id"], ada["id"]),
        ("additional_user.app_access_enabled", alex["id"], ada["id"]),
    }
    assert {h["actor_name"] for h in history} == {"Sam Staff"}
    assert {(h["before"], h["after"]) for h in history[:2]} == {
        ('{"app_access_enabled": true}', '{"app_access_enabled": false}')
    }


async def test_each_person_gets_a_result_and_refusals_are_per_person(
    api: Api, owner: factories.Owner, two_businesses: Businesses
) -> None:
    mine, other = two_businesses
    ada = await factories.customer(owner, mine.id, "Ada", "Lovelace")
    off = await factories.customer(owner, mine.id, "Off", "Already", app_access_enabled=False)
    pat = await factories.participant(owner, ada, "Pat")
    merged = await factories.customer(
        owner,
        mine.id,
        "Gone",
        "Merged",
        status="ARCHIVED",
        archived_at=datetime.now(UTC),
        merged_into_id=ada["id"],
    )
    theirs = await factories.customer(owner, other.id, "Theo", "Theirs")
    ghost = uuid.uuid4()
    staff = api.token(mine.id, "staff", mine.staff_id)
    selection = [ada["id"], off["id"], pat["id"], merged["id"], theirs["id"], ghost, ada["id"]]

    answer = await set_access(api, staff, {"ids": [str(i) for i in selection]}, False)

    assert [r["id"] for r in answer["results"]] == [str(i) for i in selection[:6]]
    assert [outcome(r) for r in answer["results"]] == [
        (True, []),
        (True, []),  # already disabled: nothing to do
        (False, [("INVALID_STATE", "selection.ids.2")]),
        (False, [("INVALID_STATE", "selection.ids.3")]),
        (False, [("NOT_FOUND", "selection.ids.4")]),
        (False, [("NOT_FOUND", "selection.ids.5")]),
    ]
    assert await owner.c.fetchval(
        "SELECT app_access_enabled FROM customers WHERE id = $1", theirs["id"]
    )
    # One history entry: the already-disabled customer changed nothing.
    assert await owner.c.fetchval("SELECT count(*) FROM account_history") == 1


async def test_selections_that_cannot_be_applied_are_refused(
    api: Api, two_businesses: Businesses
) -> None:
    mine, _ = two_businesses
    staff = api.token(mine.id, "staff", mine.staff_id)
    empty = await set_access(api, staff, {"ids": []}, False)
    assert [(e["code"], e["field"]) for e in empty["errors"]] == [("REQUIRED", "selection.ids")]
    variables = {"selection": {"ids": [str(uuid.uuid4()) for _ in range(101)]}, "enabled": False}
    body = await api.post(SET_ACCESS, variables, staff)
    assert body["errors"][0]["extensions"] == {"code": "TOO_MANY_IDS", "field": "selection.ids"}
    body = await api.post(SET_ACCESS, {"selection": {}, "enabled": False}, staff)
    assert body["errors"][0]["extensions"] == {"code": "INVALID_ARGUMENT", "field": "selection"}


async def test_a_filter_selection_runs_as_a_job(
    api: Api,
    owner: factories.Owner,
    two_businesses: Businesses,
    make_worker: Callable[..., Worker],
) -> None:
    mine, other = two_businesses
    smiths = [await factories.customer(owner, mine.id, f"S{i}", "Smith") for i in range(3)]
    helper = await factories.additional_user(owner, smiths[0], "Sid")
    child = await factories.participant(owner, smiths[1], "Sue")
    jones = await factories.customer(owner, mine.id, "Jo", "Jones")
    theirs = await factories.customer(owner, other.id, "Other", "Smith")
    staff = api.token(mine.id, "staff", mine.staff_id)

    queued = await set_access(api, staff, {"filter": {"search": "smith"}}, False)
    assert queued["results"] == [] and queued["errors"] == []
    assert (queued["job"]["kind"], queued["job"]["status"]) == ("people_app_access", "QUEUED")
    await drain(make_worker())

    job = (await api.data(JOB, {"id": queued["job"]["id"]}, staff))["job"]
    assert job["status"] == "COMPLETED"
    assert job["progress"] == {"total": 5, "pending": 0, "done": 4, "failed": 0, "skipped": 1}
    items = {e["node"]["personId"]: e["node"] for e in job["items"]["edges"]}
    assert items[str(child["id"])]["message"] == PARTICIPANT
    assert items[str(helper["id"])]["message"] == "Portal access disabled."
    disabled = await owner.c.fetch(
        "SELECT id FROM customers WHERE NOT app_access_enabled"
        " UNION ALL SELECT id FROM additional_users WHERE NOT app_access_enabled"
    )
    assert {r["id"] for r in disabled} == {s["id"] for s in smiths} | {helper["id"]}
    assert jones["id"] not in {r["id"] for r in disabled}
    assert theirs["id"] not in {r["id"] for r in disabled}
    assert await owner.c.fetchval("SELECT count(*) FROM account_history") == 4
