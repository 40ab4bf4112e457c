"""Bulk actions over a filter selection run as tracked jobs with a result per person."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime

from server.jobs import Worker, drain
from tests import factories
from tests.conftest import Api

ARCHIVE_FILTER = """
mutation($filter: PeopleFilterInput!) {
  peopleArchive(selection: {filter: $filter}) {
    results { id }
    job { id kind status progress { total pending done failed skipped } }
    errors { code field }
  }
}
"""
JOB = """
query($id: ID!) {
  job(id: $id) {
    status progress { total pending done failed skipped }
    items(first: 100) { edges { node { personId status message } } }
  }
}
"""


async def test_archiving_everyone_a_filter_selects_runs_as_a_job(
    api: Api,
    owner: factories.Owner,
    two_businesses: tuple[factories.BusinessFixture, ...],
    make_worker: Callable[..., Worker],
) -> None:
    mine, other = two_businesses
    leads = [await factories.customer(owner, mine.id, f"Lead{i}", "Smith") for i in range(7)]
    keeper = await factories.customer(owner, mine.id, "Keep", "Jones")
    primary = await factories.customer(owner, mine.id, "Pay", "Smith")
    await factories.manual_payment(owner, primary)
    merged = await factories.customer(
        owner,
        mine.id,
        "Gone",
        "Smith",
        status="ARCHIVED",
        archived_at=datetime.now(UTC),
        merged_into_id=primary["id"],
    )
    theirs = await factories.customer(owner, other.id, "Other", "Smith")
    token = api.token(mine.id, "staff", mine.staff_id)

    queued = (await api.data(ARCHIVE_FILTER, {"filter": {"search": "smith"}}, token))[
        "peopleArchive"
    ]
    assert queued["errors"] == [] and queued["results"] == []
    assert (queued["job"]["kind"], queued["job"]["status"]) == ("people_lifecycle", "QUEUED")
    assert await owner.c.fetchval("SELECT count(*) FROM customers WHERE status = 'ARCHIVED'") == 1

    await drain(make_worker())

    job = (await api.data(JOB, {"id": queued["job"]["id"]}, token))["job"]
    assert job["status"] == "COMPLETED"
    assert job["progress"] == {"total": 8, "pending": 0, "done": 8, "failed": 0, "skipped": 0}
    archived = {
        r["id"] for r in await owner.c.fetch("SELECT id FROM customers WHERE status = 'ARCHIVED'")
    }
    assert archived == {c["id"] for c in leads} | {primary["id"], merged["id"]}
    assert keeper["id"] not in archived
    assert (
        await owner.c.fetchval("SELECT status FROM customers WHERE id = $1", theirs["id"])
        == "ACTIVE"
    )
    history = await owner.c.fetchval(
        "SELECT count(*) FROM account_history"
        " WHERE action = 'customer.archived' AND actor_name = 'Sam Staff'"
    )
    assert history == 8


async def test_a_filter_delete_reports_who_could_not_be_deleted(
    api: Api,
    owner: factories.Owner,
    two_businesses: tuple[factories.BusinessFixture, ...],
    make_worker: Callable[..., Worker],
) -> None:
    mine, _ = two_businesses
    app_user = await factories.customer(owner, mine.id, "App", "User", origin="PORTAL_SIGNUP")
    primary = await factories.customer(owner, mine.id, "Pri", "Mary")
    await factories.manual_payment(owner, primary)
    token = api.token(mine.id, "owner", mine.owner_id)
    mutation = """
    mutation {
      peopleDelete(selection: {filter: {category: EVERYONE}}) { job { id } errors { code } }
    }
    """
    job_id = (await api.data(mutation, token=token))["peopleDelete"]["job"]["id"]
    await drain(make_worker())
    job = (await api.data(JOB, {"id": job_id}, token))["job"]
    results = {edge["node"]["personId"]: edge["node"] for edge in job["items"]["edges"]}
    assert results[str(app_user["id"])]["status"] == "DONE"
    assert results[str(primary["id"])]["status"] == "FAILED"
    assert "archive them instead" in results[str(primary["id"])]["message"]
    assert job["progress"]["failed"] == 1 and job["progress"]["done"] == 1


async def test_a_selection_names_ids_or_a_filter_not_both(
    api: Api, two_businesses: tuple[factories.BusinessFixture, ...]
) -> None:
    mine, _ = two_businesses
    token = api.token(mine.id, "staff", mine.staff_id)
    body = await api.post(
        "mutation { peopleActivate(selection: {ids: [], filter: {}}) { errors { code } } }",
        token=token,
    )
    assert body["errors"][0]["extensions"] == {"code": "INVALID_ARGUMENT", "field": "selection"}
    body = await api.post(
        "mutation { peopleActivate(selection: {}) { errors { code } } }", token=token
    )
    assert body["errors"][0]["extensions"] == {"code": "INVALID_ARGUMENT", "field": "selection"}
