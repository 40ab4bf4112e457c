"""The job queue and worker: enqueue in the caller's transaction, claims across businesses only
through the SECURITY DEFINER functions, item paging, retries with backoff, poison jobs, a worker
killed mid-job, and what staff read through GraphQL."""

from __future__ import annotations

import asyncio
import os
import signal
import sys
import uuid
from collections.abc import Callable, Sequence
from dataclasses import replace
from typing import Any

import pytest
from asgi_lifespan import LifespanManager
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection

from resolvers import outbox
from server.app import create_app
from server.db import Database
from server.jobs import (
    JobError,
    JobRegistry,
    JobRun,
    Outcome,
    PendingItem,
    Worker,
    default_registry,
    drain,
    enqueue,
)
from server.jobs.bulk_email import BulkEmail, enqueue_bulk_email
from server.jobs.queue import INTERRUPTED, NOT_PROCESSED
from server.jobs.registry import mark_sending
from server.settings import REPO_ROOT, Settings
from tests import factories
from tests.conftest import Api
from tests.database import ClonedDatabase
from tests.fixtures_mail import MailServer

Businesses = tuple[factories.BusinessFixture, factories.BusinessFixture]

JOB = """
query Job($id: ID!, $first: Int, $after: String, $status: JobItemStatus) {
  job(id: $id) {
    id kind status error createdAt finishedAt
    progress { total pending done failed skipped }
    items(first: $first, after: $after, status: $status) {
      totalCount totalCountIsExact
      edges { cursor node { personId status message } }
      pageInfo { hasNextPage endCursor }
    }
  }
}
"""


async def queue(
    db: Database,
    business: factories.BusinessFixture,
    kind: str,
    people: Sequence[uuid.UUID] = (),
    *,
    max_attempts: int = 5,
    payload: dict[str, Any] | None = None,
) -> uuid.UUID:
    async def work(conn: AsyncConnection) -> uuid.UUID:
        return await enqueue(
            conn,
            business_id=business.id,
            kind=kind,
            payload=payload,
            person_ids=people,
            created_by_staff_id=business.staff_id,
            max_attempts=max_attempts,
        )

    return await db.run_mutation(business.id, work)


async def job_row(owner: factories.Owner, job_id: uuid.UUID) -> dict[str, Any]:
    row = await owner.c.fetchrow("SELECT * FROM jobs WHERE id = $1", job_id)
    assert row is not None
    return dict(row)


async def item_states(owner: factories.Owner, job_id: uuid.UUID) -> list[tuple[str, str | None]]:
    rows = await owner.c.fetch(
        "SELECT status, message FROM job_items WHERE job_id = $1 ORDER BY position", job_id
    )
    return [(r["status"], r["message"]) for r in rows]


def registry_with(**handlers: Callable[[JobRun], Any]) -> JobRegistry:
    registry = default_registry()
    for name, handler in handlers.items():
        registry.register(name, handler)
    return registry


def settle_all(status: str = "DONE") -> Callable[[JobRun], Any]:
    async def handler(run: JobRun) -> None:
        async def page(conn: AsyncConnection, items: list[PendingItem]) -> list[Outcome]:
            return [Outcome(i.id, status, f"#{i.position}") for i in items]

        await run.for_each_page(page)

    return handler


async def test_a_rolled_back_request_leaves_no_job(
    owner: factories.Owner, two_businesses: Businesses, jobs_db: Database
) -> None:
    mine, _ = two_businesses
    ada = await factories.customer(owner, mine.id)

    async def enqueue_then_fail(conn: AsyncConnection) -> None:
        await enqueue(conn, business_id=mine.id, kind="touch", person_ids=[ada["id"]])
        await conn.execute(text("SELECT 1/0"))

    with pytest.raises(Exception, match="division by zero"):
        await jobs_db.run_mutation(mine.id, enqueue_then_fail)
    assert await owner.c.fetchval("SELECT count(*) FROM jobs") == 0
    assert await owner.c.fetchval("SELECT count(*) FROM job_items") == 0

    job_id = await queue(jobs_db, mine, "touch", [ada["id"], ada["id"], uuid.UUID(int=7)])
    row = await job_row(owner, job_id)
    assert (row["business_id"], row["status"], row["attempts"]) == (mine.id, "QUEUED", 0)
    items = await owner.c.fetch(
        "SELECT person_id, position, status FROM job_items WHERE job_id = $1 ORDER BY position",
        job_id,
    )
    # One item per distinct person, in selection order.
    assert [(r["person_id"], r["status"]) for r in items] == [
        (ada["id"], "PENDING"),
        (uuid.UUID(int=7), "PENDING"),
    ]


async def test_work_is_found_across_businesses_only_through_the_claim_functions(
    owner: factories.Owner,
    two_businesses: Businesses,
    jobs_db: Database,
    db: ClonedDatabase,
    make_worker: Callable[..., Worker],
) -> None:
    mine, theirs = two_businesses
    for business, names in ((mine, ["Ada", "Bob"]), (theirs, ["Cy"])):
        for name in names:
            await factories.customer(owner, business.id, name, "Person")
    seen: dict[uuid.UUID, tuple[int, int, str]] = {}

    async def census(run: JobRun) -> None:
        async def look(conn: AsyncConnection) -> None:
            customers = (await conn.execute(text("SELECT count(*) FROM customers"))).scalar_one()
            jobs = (await conn.execute(text("SELECT count(*) FROM jobs"))).scalar_one()
            tenant = (
                await conn.execute(text("SELECT current_setting('app.business_id')"))
            ).scalar_one()
            seen[run.business_id] = (customers, jobs, tenant)

        await run.db.run_mutation(run.business_id, look)

    await queue(jobs_db, mine, "census")
    await queue(jobs_db, theirs, "census")
    await drain(make_worker(registry=registry_with(census=census)))

    assert seen == {mine.id: (2, 1, str(mine.id)), theirs.id: (1, 1, str(theirs.id))}
    # Without a business the service role sees no job at all; the claim functions are the way
    # in, they run as the owner, and only the service role may call them.
    async with jobs_db.engine.connect() as conn:
        assert (await conn.execute(text("SELECT count(*) FROM jobs"))).scalar_one() == 0
    functions = await owner.c.fetch(
        """
        SELECT p.proname, p.prosecdef, pg_get_userbyid(p.proowner) AS owner,
               l.lanname, has_function_privilege('customer_service', p.oid, 'EXECUTE') AS service,
               has_function_privilege('public', p.oid, 'EXECUTE') AS anyone
        FROM pg_proc p JOIN pg_language l ON l.oid = p.prolang
        WHERE p.proname IN ('claim_jobs', 'claim_outbox') ORDER BY p.proname
        """
    )
    assert [tuple(f.values()) for f in functions] == [
        ("claim_jobs", True, "customer_owner", "plpgsql", True, False),
        ("claim_outbox", True, "customer_owner", "plpgsql", True, False),
    ]


async def test_items_are_handled_a_page_at_a_time(
    owner: factories.Owner,
    two_businesses: Businesses,
    jobs_db: Database,
    make_worker: Callable[..., Worker],
) -> None:
    mine, _ = two_businesses
    people = [uuid.uuid4() for _ in range(50_000)]
    job_id = await queue(jobs_db, mine, "settle_all", people)
    largest = 0

    async def handler(run: JobRun) -> None:
        async def page(conn: AsyncConnection, items: list[PendingItem]) -> list[Outcome]:
            nonlocal largest
            largest = max(largest, len(items))
            return [Outcome(i.id, "DONE") for i in items]

        await run.for_each_page(page)
        assert run.pages_done == 10

    worker = make_worker(registry=registry_with(settle_all=handler), page_size=5_000)
    await drain(worker)

    assert largest == 5_000
    row = await job_row(owner, job_id)
    assert (row["status"], row["attempts"], row["error"]) == ("HANDLED", 1, None)
    counts = await owner.c.fetch(
        "SELECT status, count(*) FROM job_items WHERE job_id = $1 GROUP BY status", job_id
    )
    assert [tuple(c.values()) for c in counts] == [("DONE", 50_000)]


async def test_a_transient_failure_is_retried_after_a_backoff(
    owner: factories.Owner,
    two_businesses: Businesses,
    jobs_db: Database,
    make_worker: Callable[..., Worker],
) -> None:
    mine, _ = two_businesses
    calls: list[int] = []

    async def flaky(run: JobRun) -> None:
        calls.append(run.attempt)
        if run.attempt == 1:
            raise ConnectionResetError("the far end went away")
        await settle_all()(run)

    job_id = await queue(jobs_db, mine, "flaky", [uuid.uuid4()])
    worker = make_worker(registry=registry_with(flaky=flaky), backoff_base_s=600.0)
    await drain(worker)

    row = await job_row(owner, job_id)
    assert (row["status"], row["attempts"], calls) == ("QUEUED", 1, [1])
    assert row["error"] == (
        "Attempt 1 failed, will try again: The job failed unexpectedly (ConnectionResetError)."
    )
    assert row["run_after"] > row["updated_at"]  # waiting for its backoff
    await owner.c.execute("UPDATE jobs SET run_after = now()")
    await drain(worker)
    row = await job_row(owner, job_id)
    assert (row["status"], row["attempts"], calls) == ("HANDLED", 2, [1, 2])
    assert await item_states(owner, job_id) == [("DONE", "#1")]


async def test_a_poison_job_ends_failed_with_its_error(
    owner: factories.Owner,
    two_businesses: Businesses,
    jobs_db: Database,
    make_worker: Callable[..., Worker],
) -> None:
    mine, _ = two_businesses
    calls: list[int] = []

    async def poison(run: JobRun) -> None:
        calls.append(run.attempt)
        raise RuntimeError("always")

    async def refuses(run: JobRun) -> None:
        calls.append(-run.attempt)
        raise JobError("The selection names a tab that no longer exists.", retry=False)

    poisoned = await queue(jobs_db, mine, "poison", [uuid.uuid4(), uuid.uuid4()], max_attempts=3)
    refused = await queue(jobs_db, mine, "refuses", [uuid.uuid4()])
    unknown = await queue(jobs_db, mine, "no_such_kind")
    await drain(make_worker(registry=registry_with(poison=poison, refuses=refuses)))

    assert sorted(calls) == [-1, 1, 2, 3]
    row = await job_row(owner, poisoned)
    assert (row["status"], row["attempts"]) == ("FAILED", 3)
    assert row["error"] == "The job failed unexpectedly (RuntimeError)."
    assert row["finished_at"] is not None
    assert await item_states(owner, poisoned) == [("FAILED", NOT_PROCESSED)] * 2
    row = await job_row(owner, refused)
    assert (row["status"], row["attempts"], row["error"]) == (
        "FAILED",
        1,
        "The selection names a tab that no longer exists.",
    )
    row = await job_row(owner, unknown)
    assert (row["status"], row["error"]) == ("FAILED", "Unknown job kind 'no_such_kind'.")


async def test_a_worker_killed_mid_job_reports_what_it_was_doing_and_repeats_nothing(
    owner: factories.Owner,
    two_businesses: Businesses,
    jobs_db: Database,
    make_worker: Callable[..., Worker],
) -> None:
    mine, _ = two_businesses
    people = [uuid.uuid4() for _ in range(3)]
    job_id = await queue(jobs_db, mine, "external", people)
    calls: list[uuid.UUID] = []
    stuck = asyncio.Event()

    async def external(run: JobRun) -> None:
        """Makes an outside call per item: SENDING is committed before each call."""

        async def pending(conn: AsyncConnection) -> list[Any]:
            result = await conn.execute(
                text(
                    "SELECT id, person_id FROM job_items WHERE job_id = :j AND status = 'PENDING' "
                    "ORDER BY position"
                ),
                {"j": run.id},
            )
            return list(result.all())

        for item in await run.db.run_mutation(run.business_id, pending):
            await mark_sending(run.db, run.business_id, [item.id])
            calls.append(item.person_id)
            if run.attempt == 1:
                stuck.set()
                await asyncio.Event().wait()  # the call hangs; the worker will be killed

            async def done(conn: AsyncConnection, item_id: uuid.UUID = item.id) -> None:
                await conn.execute(
                    text("UPDATE job_items SET status = 'DONE', message = 'Called.' WHERE id = :i"),
                    {"i": item_id},
                )

            await run.db.run_mutation(run.business_id, done)

    worker = make_worker(registry=registry_with(external=external))
    running = asyncio.create_task(worker.run_jobs_once())
    await asyncio.wait_for(stuck.wait(), 10)
    running.cancel()
    with pytest.raises(asyncio.CancelledError):
        await running
    assert (await job_row(owner, job_id))["status"] == "RUNNING"
    assert await drain(worker) == 0  # its lease has not run out: nobody takes it

    await owner.c.execute("UPDATE jobs SET run_after = now()")
    await drain(worker)

    assert calls == people  # the first person was called once, never again
    assert await item_states(owner, job_id) == [
        ("FAILED", INTERRUPTED),
        ("DONE", "Called."),
        ("DONE", "Called."),
    ]
    row = await job_row(owner, job_id)
    assert (row["status"], row["attempts"]) == ("HANDLED", 2)


async def test_a_job_that_keeps_killing_its_worker_gives_up(
    owner: factories.Owner,
    two_businesses: Businesses,
    jobs_db: Database,
    make_worker: Callable[..., Worker],
) -> None:
    mine, _ = two_businesses
    job_id = await queue(jobs_db, mine, "settle_all", [uuid.uuid4()], max_attempts=2)
    # As its worker left it the second time: claimed, never finished, lease over.
    await owner.c.execute(
        "UPDATE jobs SET status = 'RUNNING', attempts = 2, run_after = now() WHERE id = $1",
        job_id,
    )
    await drain(make_worker(registry=registry_with(settle_all=settle_all())))
    row = await job_row(owner, job_id)
    assert (row["status"], row["attempts"]) == ("FAILED", 3)
    assert row["error"] == (
        "Gave up after 2 attempts: the worker stopped while running this job each time."
    )
    assert await item_states(owner, job_id) == [("FAILED", NOT_PROCESSED)]


async def test_staff_read_status_progress_and_results(
    api: Api,
    owner: factories.Owner,
    two_businesses: Businesses,
    jobs_db: Database,
    make_worker: Callable[..., Worker],
    mail_server: MailServer,
) -> None:
    mine, theirs = two_businesses
    kim = await factories.customer(
        owner, mine.id, "Kim", "Keen", email="kim@x.test", marketing_consent=True
    )
    sam = await factories.customer(owner, mine.id, "Sam", "Shy", email="sam@x.test")
    pat = await factories.customer(
        owner, mine.id, "Pat", "Post", email="pat@x.test", marketing_consent=True
    )
    mail_server.refuse("pat@x.test")
    ghost = uuid.uuid4()
    people = [kim["id"], sam["id"], pat["id"], ghost]

    async def start(conn: AsyncConnection) -> uuid.UUID:
        return await enqueue_bulk_email(
            conn,
            business_id=mine.id,
            person_ids=people,
            email=BulkEmail("News", "Hi {first_name}", outbox.MARKETING),
            created_by_staff_id=mine.staff_id,
        )

    job_id = await jobs_db.run_mutation(mine.id, start)
    staff = api.token(mine.id, "staff", mine.staff_id)

    queued = (await api.data(JOB, {"id": str(job_id)}, staff))["job"]
    assert (queued["status"], queued["finishedAt"], queued["kind"]) == (
        "QUEUED",
        None,
        "bulk_email",
    )
    assert queued["progress"] == {"total": 4, "pending": 4, "done": 0, "failed": 0, "skipped": 0}

    worker = make_worker()
    await worker.run_jobs_once()  # emails written, not sent yet
    waiting = (await api.data(JOB, {"id": str(job_id)}, staff))["job"]
    assert waiting["status"] == "RUNNING"
    assert waiting["progress"] == {"total": 4, "pending": 2, "done": 0, "failed": 1, "skipped": 1}

    await drain(worker)
    job = (await api.data(JOB, {"id": str(job_id), "first": 3}, staff))["job"]
    assert job["status"] == "COMPLETED" and job["finishedAt"] is not None
    assert job["error"] is None
    assert job["progress"] == {"total": 4, "pending": 0, "done": 1, "failed": 2, "skipped": 1}
    page = job["items"]
    assert (page["totalCount"], page["totalCountIsExact"], page["pageInfo"]["hasNextPage"]) == (
        4,
        True,
        True,
    )
    assert [(e["node"]["personId"], e["node"]["status"]) for e in page["edges"]] == [
        (str(kim["id"]), "DONE"),
        (str(sam["id"]), "SKIPPED"),
        (str(pat["id"]), "FAILED"),
    ]
    assert page["edges"][1]["node"]["message"] == outbox.NO_CONSENT
    assert page["edges"][2]["node"]["message"].startswith("The mail server refused the recipient")
    rest = (
        await api.data(
            JOB, {"id": str(job_id), "first": 3, "after": page["pageInfo"]["endCursor"]}, staff
        )
    )["job"]["items"]
    assert [(e["node"]["personId"], e["node"]["message"]) for e in rest["edges"]] == [
        (str(ghost), "No customer or additional user with this id in the business.")
    ]
    failed = (await api.data(JOB, {"id": str(job_id), "status": "FAILED"}, staff))["job"]
    assert failed["items"]["totalCount"] == 2
    bad_cursor = await api.post(
        JOB,
        {"id": str(job_id), "status": "DONE", "after": page["pageInfo"]["endCursor"]},
        staff,
    )
    assert bad_cursor["errors"][0]["extensions"]["code"] == "INVALID_CURSOR"

    # Another business's job is indistinguishable from a missing one; members may not look.
    other = api.token(theirs.id, "owner", theirs.owner_id)
    assert await api.data(JOB, {"id": str(job_id)}, other) == {"job": None}
    member = api.token(mine.id, "customer", kim["id"])
    refused = await api.post(JOB, {"id": str(job_id)}, member)
    assert refused["data"] == {"job": None}
    assert refused["errors"][0]["extensions"]["code"] == "FORBIDDEN"
    malformed = await api.post(JOB, {"id": "not-a-uuid"}, staff)
    assert malformed["errors"][0]["extensions"] == {"code": "INVALID_ARGUMENT", "field": "id"}


async def test_the_app_runs_the_worker_in_its_lifespan_when_enabled(
    settings: Settings,
    owner: factories.Owner,
    two_businesses: Businesses,
    jobs_db: Database,
    mail_server: MailServer,
) -> None:
    assert settings.worker_enabled is False  # tests drain the queue themselves
    mine, _ = two_businesses
    ada = await factories.customer(owner, mine.id, "Ada", "Lovelace", email="ada@x.test")
    enabled = replace(
        settings,
        worker_enabled=True,
        smtp_host=mail_server.host,
        smtp_port=mail_server.port,
        mail_from="studio@mail.test",
    )

    async def start(conn: AsyncConnection) -> uuid.UUID:
        return await enqueue_bulk_email(
            conn,
            business_id=mine.id,
            person_ids=[ada["id"]],
            email=BulkEmail("Hello", "Hi {first_name}", outbox.SERVICE),
        )

    async with LifespanManager(create_app(enabled)):
        await jobs_db.run_mutation(mine.id, start)
        for _ in range(200):
            if mail_server.received:
                break
            await asyncio.sleep(0.05)
    assert [r.recipients for r in mail_server.received] == [["ada@x.test"]]


async def test_the_worker_runs_as_its_own_process(
    db: ClonedDatabase,
    owner: factories.Owner,
    two_businesses: Businesses,
    jobs_db: Database,
    mail_server: MailServer,
) -> None:
    mine, _ = two_businesses
    ada = await factories.customer(owner, mine.id, "Ada", "Lovelace", email="ada@x.test")
    env = {
        **os.environ,
        "DATABASE_URL": db.owner_url,
        "APP_DATABASE_URL": db.service_url,
        "SMTP_HOST": mail_server.host,
        "SMTP_PORT": str(mail_server.port),
        "WORKER_ENABLED": "0",  # only the lifespan reads it; the command always works
    }
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "server",
        "worker",
        cwd=REPO_ROOT,
        env=env,
        stdout=asyncio.subprocess.DEVNULL,
        stderr=asyncio.subprocess.PIPE,
    )
    try:

        async def start(conn: AsyncConnection) -> uuid.UUID:
            return await enqueue_bulk_email(
                conn,
                business_id=mine.id,
                person_ids=[ada["id"]],
                email=BulkEmail("Hello", "Hi {first_name}", outbox.SERVICE),
            )

        await jobs_db.run_mutation(mine.id, start)
        for _ in range(400):
            if mail_server.received:
                break
            await asyncio.sleep(0.05)
    finally:
        process.send_signal(signal.SIGTERM)
        _, stderr = await asyncio.wait_for(process.communicate(), 30)
    assert [r.recipients for r in mail_server.received] == [["ada@x.test"]], stderr.decode()
    assert process.returncode == 0, stderr.decode()
