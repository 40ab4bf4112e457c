"""Bulk messages over a selection, through GraphQL and the worker: email (over the test SMTP
server), in-app messages and texts (through a local stand-in for Twilio), each a tracked job
with a result per person, each message kept in the customer's communication log."""

from __future__ import annotations

import asyncio
import functools
import os
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import replace
from typing import Any

import asyncpg
import httpx
import pytest
from asgi_lifespan import LifespanManager
from sqlalchemy.ext.asyncio import AsyncConnection

from integrations.sms import provider_from_settings
from resolvers.outbox import NO_CONSENT as NO_EMAIL_CONSENT
from server.app import create_app
from server.auth import TokenService
from server.jobs import JobRegistry, JobRun, PendingItem, Worker, bulk_email, drain
from server.jobs.messages import LOGGED_MESSAGE, NO_CONSENT, NO_MOBILE
from server.jobs.queue import INTERRUPTED
from server.jobs.recipients import NOT_FOUND, PARTICIPANT
from server.settings import Settings
from tests import factories
from tests.conftest import Api
from tests.fake_twilio import ACCOUNT_SID, AUTH_TOKEN, SENDER, FakeTwilio, Reply, fake_twilio
from tests.fixtures_mail import MailServer

Businesses = tuple[factories.BusinessFixture, factories.BusinessFixture]

EMAIL = """
mutation($selection: PeopleSelectionInput!, $subject: String!, $body: String!,
         $purpose: MessagePurpose!) {
  peopleEmail(selection: $selection, subject: $subject, body: $body, purpose: $purpose) {
    job { id kind status progress { total pending done failed skipped } }
    errors { code field message }
  }
}
"""
MESSAGE = """
mutation($selection: PeopleSelectionInput!, $body: String!, $channel: DirectMessageChannel!,
         $purpose: MessagePurpose!) {
  peopleMessage(selection: $selection, body: $body, channel: $channel, purpose: $purpose) {
    job { id kind status progress { total pending done failed skipped } }
    errors { code field message }
  }
}
"""
JOB = """
query($id: ID!, $after: String) {
  job(id: $id) {
    status error
    progress { total pending done failed skipped }
    items(first: 100, after: $after) {
      edges { node { personId status message } }
      pageInfo { hasNextPage endCursor }
    }
  }
}
"""


def ids(*rows: asyncpg.Record | uuid.UUID) -> dict[str, Any]:
    return {"ids": [str(r if isinstance(r, uuid.UUID) else r["id"]) for r in rows]}


async def send_email(
    api: Api,
    token: str,
    selection: dict[str, Any],
    *,
    subject: str = "Hello {first_name}",
    body: str = "Dear {full_name},\n\nSee you at {business_name}.",
    purpose: str = "SERVICE",
) -> dict[str, Any]:
    variables = {"selection": selection, "subject": subject, "body": body, "purpose": purpose}
    payload: dict[str, Any] = (await api.data(EMAIL, variables, token))["peopleEmail"]
    return payload


async def send_message(
    api: Api,
    token: str,
    selection: dict[str, Any],
    *,
    body: str = "Hi {first_name}, the 6pm class at {business_name} moved to 7pm.",
    channel: str = "IN_APP",
    purpose: str = "SERVICE",
) -> dict[str, Any]:
    variables = {"selection": selection, "body": body, "channel": channel, "purpose": purpose}
    payload: dict[str, Any] = (await api.data(MESSAGE, variables, token))["peopleMessage"]
    return payload


async def results(api: Api, token: str, job_id: str) -> dict[uuid.UUID, tuple[str, str | None]]:
    found: dict[uuid.UUID, tuple[str, str | None]] = {}
    after = None
    while True:
        job = (await api.data(JOB, {"id": job_id, "after": after}, token))["job"]
        for edge in job["items"]["edges"]:
            node = edge["node"]
            found[uuid.UUID(node["personId"])] = (node["status"], node["message"])
        if not job["items"]["pageInfo"]["hasNextPage"]:
            return found
        after = job["items"]["pageInfo"]["endCursor"]


async def job_view(api: Api, token: str, job_id: str) -> dict[str, Any]:
    job: dict[str, Any] = (await api.data(JOB, {"id": job_id}, token))["job"]
    return job


async def log_rows(owner: factories.Owner, channel: str) -> list[asyncpg.Record]:
    return await owner.c.fetch("SELECT * FROM messages WHERE channel = $1 ORDER BY number", channel)


class People:
    """A small cast: customers with and without consent and mobiles, an additional user, a
    participant, someone of another business and an id of nobody."""

    def __init__(self) -> None:
        self.ada: asyncpg.Record
        self.bo: asyncpg.Record
        self.alex: asyncpg.Record
        self.pat: asyncpg.Record
        self.theirs: asyncpg.Record
        self.ghost = uuid.uuid4()


@pytest.fixture
async def people(owner: factories.Owner, two_businesses: Businesses) -> People:
    mine, other = two_businesses
    cast = People()
    cast.ada = await factories.customer(
        owner, mine.id, "Ada", "Lovelace", marketing_consent=True, mobile="+447700900001"
    )
    cast.bo = await factories.customer(owner, mine.id, "Bo", "Brown")
    cast.alex = await factories.additional_user(
        owner, cast.bo, "Alex", marketing_consent=True, mobile="+447700900002"
    )
    cast.pat = await factories.participant(owner, cast.ada, "Pat")
    cast.theirs = await factories.customer(
        owner, other.id, "Theo", "Theirs", marketing_consent=True, mobile="+447700900003"
    )
    return cast


# In-app


async def test_in_app_messages_reach_customers_and_additional_users_once_each(
    api: Api,
    owner: factories.Owner,
    two_businesses: Businesses,
    people: People,
    make_worker: Callable[..., Worker],
) -> None:
    mine, _ = two_businesses
    token = api.token(mine.id, "staff", mine.staff_id)
    p = people
    queued = await send_message(
        api, token, ids(p.ada, p.alex, p.ada, p.pat, p.theirs, p.ghost, p.alex)
    )
    assert queued["errors"] == []
    assert (queued["job"]["kind"], queued["job"]["status"]) == ("bulk_in_app_message", "QUEUED")
    assert queued["job"]["progress"]["total"] == 5

    await drain(make_worker())
    await drain(make_worker())  # nothing is due twice

    assert await results(api, token, queued["job"]["id"]) == {
        p.ada["id"]: ("DONE", "Sent."),
        p.alex["id"]: ("DONE", "Sent."),
        p.pat["id"]: ("SKIPPED", PARTICIPANT),
        p.theirs["id"]: ("FAILED", NOT_FOUND),
        p.ghost: ("FAILED", NOT_FOUND),
    }
    job = await job_view(api, token, queued["job"]["id"])
    assert job["status"] == "COMPLETED"
    assert job["progress"] == {"total": 5, "pending": 0, "done": 2, "failed": 2, "skipped": 1}
    rows = await log_rows(owner, "IN_APP")
    assert [
        (r["customer_id"], r["recipient_additional_user_id"], r["status"], r["body"]) for r in rows
    ] == [
        (p.ada["id"], None, "SENT", "Hi Ada, the 6pm class at First Studio moved to 7pm."),
        (p.bo["id"], p.alex["id"], "SENT", "Hi Alex, the 6pm class at First Studio moved to 7pm."),
    ]
    assert all(r["sent_at"] is not None and r["read_at"] is None for r in rows)
    assert all(
        r["purpose"] == "SERVICE" and r["created_by_staff_id"] == mine.staff_id for r in rows
    )
    assert len({r["job_item_id"] for r in rows}) == 2


async def test_marketing_in_app_messages_skip_people_without_consent(
    api: Api,
    owner: factories.Owner,
    two_businesses: Businesses,
    people: People,
    make_worker: Callable[..., Worker],
) -> None:
    mine, _ = two_businesses
    token = api.token(mine.id, "staff", mine.staff_id)
    queued = await send_message(
        api, token, ids(people.ada, people.bo), body="20% off in May!", purpose="MARKETING"
    )
    await drain(make_worker())
    assert await results(api, token, queued["job"]["id"]) == {
        people.ada["id"]: ("DONE", "Sent."),
        people.bo["id"]: ("SKIPPED", NO_CONSENT),
    }
    rows = await log_rows(owner, "IN_APP")
    assert [(r["customer_id"], r["status"], r["status_reason"]) for r in rows] == [
        (people.ada["id"], "SENT", None),
        (people.bo["id"], "SKIPPED", NO_CONSENT),
    ]


async def test_a_filter_selection_is_expanded_by_the_job(
    api: Api,
    owner: factories.Owner,
    two_businesses: Businesses,
    make_worker: Callable[..., Worker],
) -> None:
    mine, other = two_businesses
    smiths = [await factories.customer(owner, mine.id, f"S{i}", "Smith") for i in range(3)]
    helper = await factories.additional_user(owner, smiths[0], "Sid")
    child = await factories.participant(owner, smiths[1], "Sue")
    await factories.customer(owner, mine.id, "Jo", "Jones")
    await factories.customer(owner, other.id, "Other", "Smith")
    token = api.token(mine.id, "staff", mine.staff_id)

    queued = await send_message(api, token, {"filter": {"search": "smith"}})
    assert queued["job"]["progress"]["total"] == 0  # expanded when the job runs
    await drain(make_worker())

    found = await results(api, token, queued["job"]["id"])
    assert found == {
        **{s["id"]: ("DONE", "Sent.") for s in smiths},
        helper["id"]: ("DONE", "Sent."),
        child["id"]: ("SKIPPED", PARTICIPANT),
    }
    assert len(await log_rows(owner, "IN_APP")) == 4


# SMS


@pytest.fixture
async def twilio() -> AsyncIterator[FakeTwilio]:
    async with fake_twilio() as fake:
        yield fake


@pytest.fixture
def twilio_worker(
    twilio: FakeTwilio, settings: Settings, make_worker: Callable[..., Worker]
) -> Callable[[], Worker]:
    """Workers whose texts go to the stand-in, chosen by settings as in production."""
    chosen = replace(
        settings,
        sms_provider="twilio",
        twilio_account_sid=ACCOUNT_SID,
        twilio_auth_token=AUTH_TOKEN,
        twilio_from=SENDER,
        twilio_api_base=twilio.url,
        sms_timeout_s=5.0,
    )
    return lambda: make_worker(sms=functools.partial(provider_from_settings, chosen))


async def test_texts_go_through_twilio_once_each_and_are_logged(
    api: Api,
    owner: factories.Owner,
    two_businesses: Businesses,
    people: People,
    twilio: FakeTwilio,
    twilio_worker: Callable[[], Worker],
) -> None:
    mine, _ = two_businesses
    p = people
    refused = await factories.customer(owner, mine.id, "Cy", "Refused", mobile="+447700900999")
    twilio.by_number["+447700900999"] = Reply(
        400, 21610, "Attempt to send to unsubscribed recipient"
    )
    token = api.token(mine.id, "staff", mine.staff_id)

    queued = await send_message(
        api, token, ids(p.ada, p.bo, p.alex, refused, p.theirs, p.ada), channel="SMS"
    )
    assert queued["job"]["kind"] == "bulk_sms"
    await drain(twilio_worker())
    await drain(twilio_worker())

    twilio_reason = (
        "Twilio refused the message: Attempt to send to unsubscribed recipient (Twilio error 21610)"
    )
    assert await results(api, token, queued["job"]["id"]) == {
        p.ada["id"]: ("DONE", "Sent."),
        p.bo["id"]: ("SKIPPED", NO_MOBILE),
        p.alex["id"]: ("DONE", "Sent."),
        refused["id"]: ("FAILED", twilio_reason),
        p.theirs["id"]: ("FAILED", NOT_FOUND),
    }
    assert twilio.received == [
        {
            "To": "+447700900001",
            "From": SENDER,
            "Body": "Hi Ada, the 6pm class at First Studio moved to 7pm.",
        },
        {
            "To": "+447700900002",
            "From": SENDER,
            "Body": "Hi Alex, the 6pm class at First Studio moved to 7pm.",
        },
        {
            "To": "+447700900999",
            "From": SENDER,
            "Body": "Hi Cy, the 6pm class at First Studio moved to 7pm.",
        },
    ]
    rows = await log_rows(owner, "SMS")
    assert [
        (r["customer_id"], r["recipient_additional_user_id"], r["to_address"], r["status"])
        for r in rows
    ] == [
        (p.bo["id"], None, None, "SKIPPED"),
        (p.ada["id"], None, "+447700900001", "SENT"),
        (p.bo["id"], p.alex["id"], "+447700900002", "SENT"),
        (refused["id"], None, "+447700900999", "FAILED"),
    ]
    assert rows[0]["status_reason"] == NO_MOBILE and rows[3]["status_reason"] == twilio_reason


async def test_marketing_texts_skip_people_without_consent(
    api: Api,
    owner: factories.Owner,
    two_businesses: Businesses,
    twilio: FakeTwilio,
    twilio_worker: Callable[[], Worker],
) -> None:
    mine, _ = two_businesses
    yes = await factories.customer(
        owner, mine.id, "Yes", "Please", marketing_consent=True, mobile="+447700900011"
    )
    no = await factories.customer(owner, mine.id, "No", "Thanks", mobile="+447700900012")
    token = api.token(mine.id, "staff", mine.staff_id)
    queued = await send_message(
        api, token, ids(yes, no), body="Spring sale!", channel="SMS", purpose="MARKETING"
    )
    await drain(twilio_worker())
    assert await results(api, token, queued["job"]["id"]) == {
        yes["id"]: ("DONE", "Sent."),
        no["id"]: ("SKIPPED", NO_CONSENT),
    }
    assert [form["To"] for form in twilio.received] == ["+447700900011"]


async def test_a_worker_killed_while_texting_never_sends_anyone_twice(
    api: Api,
    owner: factories.Owner,
    two_businesses: Businesses,
    twilio: FakeTwilio,
    twilio_worker: Callable[[], Worker],
) -> None:
    mine, _ = two_businesses
    crowd = [
        await factories.customer(owner, mine.id, f"P{i}", "Crowd", mobile=f"+4477009001{i:02d}")
        for i in range(5)
    ]
    twilio.by_number["+447700900101"] = Reply(hold=True)
    token = api.token(mine.id, "staff", mine.staff_id)
    queued = await send_message(api, token, ids(*crowd), channel="SMS")
    worker = twilio_worker()

    running = asyncio.create_task(worker.run_jobs_once())
    await asyncio.wait_for(twilio.held.wait(), 10)
    running.cancel()  # the worker dies while Twilio holds the second text
    with pytest.raises(asyncio.CancelledError):
        await running
    twilio.by_number.clear()
    twilio.release()
    await owner.c.execute("UPDATE jobs SET run_after = now()")  # its lease runs out
    await drain(worker)

    assert sorted(form["To"] for form in twilio.received) == [
        f"+4477009001{i:02d}" for i in range(5)
    ]
    found = await results(api, token, queued["job"]["id"])
    assert found == {
        crowd[0]["id"]: ("DONE", "Sent."),
        crowd[1]["id"]: ("FAILED", INTERRUPTED),
        **{c["id"]: ("DONE", "Sent.") for c in crowd[2:]},
    }
    assert (await job_view(api, token, queued["job"]["id"]))["status"] == "COMPLETED"
    assert [r["customer_id"] for r in await log_rows(owner, "SMS")] == [
        crowd[0]["id"],
        *(c["id"] for c in crowd[2:]),
    ]


async def test_texts_are_only_logged_unless_a_provider_is_configured(
    api: Api,
    owner: factories.Owner,
    two_businesses: Businesses,
    people: People,
    make_worker: Callable[..., Worker],
) -> None:
    mine, _ = two_businesses
    token = api.token(mine.id, "staff", mine.staff_id)
    queued = await send_message(api, token, ids(people.ada), channel="SMS")
    await drain(make_worker())
    assert await results(api, token, queued["job"]["id"]) == {
        people.ada["id"]: ("DONE", LOGGED_MESSAGE)
    }
    rows = await log_rows(owner, "SMS")
    assert [(r["status"], r["status_reason"]) for r in rows] == [("SENT", LOGGED_MESSAGE)]


async def test_texts_fail_their_job_when_the_configured_provider_cannot_work(
    api: Api,
    two_businesses: Businesses,
    people: People,
    settings: Settings,
    make_worker: Callable[..., Worker],
) -> None:
    mine, _ = two_businesses
    token = api.token(mine.id, "staff", mine.staff_id)
    queued = await send_message(api, token, ids(people.ada), channel="SMS")
    twilio_without_account = replace(settings, sms_provider="twilio", twilio_account_sid="")
    await drain(make_worker(sms=functools.partial(provider_from_settings, twilio_without_account)))

    job = await job_view(api, token, queued["job"]["id"])
    assert job["status"] == "FAILED"
    assert job["error"] == (
        "SMS_PROVIDER=twilio needs TWILIO_ACCOUNT_SID, TWILIO_AUTH_TOKEN and TWILIO_FROM."
    )
    assert job["progress"]["failed"] == 1


# Email


async def test_email_to_ids_is_sent_once_per_person_and_logged(
    api: Api,
    owner: factories.Owner,
    two_businesses: Businesses,
    people: People,
    mail_server: MailServer,
    make_worker: Callable[..., Worker],
) -> None:
    mine, _ = two_businesses
    p = people
    token = api.token(mine.id, "staff", mine.staff_id)
    queued = await send_email(
        api, token, ids(p.ada, p.alex, p.ada, p.pat, p.theirs, p.ghost, p.alex)
    )
    assert (queued["job"]["kind"], queued["job"]["progress"]["total"]) == ("bulk_email", 5)
    await drain(make_worker())
    await drain(make_worker())

    assert await results(api, token, queued["job"]["id"]) == {
        p.ada["id"]: ("DONE", "Sent."),
        p.alex["id"]: ("DONE", "Sent."),
        p.pat["id"]: ("SKIPPED", PARTICIPANT),
        p.theirs["id"]: ("FAILED", NOT_FOUND),
        p.ghost: ("FAILED", NOT_FOUND),
    }
    assert [m.subject for m in mail_server.to(p.ada["email"])] == ["Hello Ada"]
    assert [m.subject for m in mail_server.to(p.alex["email"])] == ["Hello Alex"]
    assert len(mail_server.received) == 2
    assert "Dear Alex Brown," in mail_server.to(p.alex["email"])[0].part("plain")
    rows = await log_rows(owner, "EMAIL")
    assert [(r["customer_id"], r["recipient_additional_user_id"], r["status"]) for r in rows] == [
        (p.ada["id"], None, "SENT"),
        (p.bo["id"], p.alex["id"], "SENT"),
    ]


async def test_marketing_email_skips_people_without_consent_and_service_email_does_not(
    api: Api,
    two_businesses: Businesses,
    people: People,
    mail_server: MailServer,
    make_worker: Callable[..., Worker],
) -> None:
    mine, _ = two_businesses
    token = api.token(mine.id, "staff", mine.staff_id)
    marketing = await send_email(api, token, ids(people.ada, people.bo), purpose="MARKETING")
    service = await send_email(api, token, ids(people.ada, people.bo), purpose="SERVICE")
    await drain(make_worker())
    assert await results(api, token, marketing["job"]["id"]) == {
        people.ada["id"]: ("DONE", "Sent."),
        people.bo["id"]: ("SKIPPED", NO_EMAIL_CONSENT),
    }
    assert await results(api, token, service["job"]["id"]) == {
        people.ada["id"]: ("DONE", "Sent."),
        people.bo["id"]: ("DONE", "Sent."),
    }
    assert len(mail_server.to(people.ada["email"])) == 2
    assert len(mail_server.to(people.bo["email"])) == 1
    unsubscribe = [m for m in mail_server.to(people.ada["email"]) if m.message["List-Unsubscribe"]]
    assert len(unsubscribe) == 1


async def test_email_by_filter_runs_as_a_job_over_everyone_it_selects(
    api: Api,
    owner: factories.Owner,
    two_businesses: Businesses,
    mail_server: MailServer,
    make_worker: Callable[..., Worker],
) -> None:
    mine, other = two_businesses
    smiths = [await factories.customer(owner, mine.id, f"S{i}", "Smith") for i in range(4)]
    await factories.customer(owner, mine.id, "Jo", "Jones")
    theirs = await factories.customer(owner, other.id, "Other", "Smith")
    token = api.token(mine.id, "staff", mine.staff_id)
    queued = await send_email(api, token, {"filter": {"search": "smith", "category": "LEAD"}})
    await drain(make_worker())
    assert await results(api, token, queued["job"]["id"]) == {
        s["id"]: ("DONE", "Sent.") for s in smiths
    }
    assert sorted(r.recipients[0] for r in mail_server.received) == sorted(
        s["email"] for s in smiths
    )
    assert mail_server.to(theirs["email"]) == []


# Refusals


async def test_requests_that_cannot_be_sent_are_refused(
    api: Api, owner: factories.Owner, two_businesses: Businesses, people: People
) -> None:
    mine, _ = two_businesses
    token = api.token(mine.id, "staff", mine.staff_id)

    async def email_errors(**variables: Any) -> list[tuple[str, str]]:
        values = {"selection": ids(people.ada), "subject": "Hi", "body": "Body"}
        values["purpose"] = "SERVICE"
        values.update(variables)
        payload = (await api.data(EMAIL, values, token))["peopleEmail"]
        assert payload["job"] is None
        return [(e["code"], e["field"]) for e in payload["errors"]]

    assert await email_errors(selection={"ids": []}) == [("REQUIRED", "selection.ids")]
    assert await email_errors(subject=" ") == [("REQUIRED", "subject")]
    assert await email_errors(subject="x" * 301) == [("TOO_LONG", "subject")]
    assert await email_errors(body="") == [("REQUIRED", "body")]
    assert await email_errors(body="x" * 100_001) == [("TOO_LONG", "body")]
    assert await email_errors(subject="Hi {nickname}", body="{balance} {first_name} {pin}") == [
        ("INVALID", "subject"),
        ("INVALID", "body"),
    ]
    payload = (
        await api.data(
            EMAIL,
            {
                "selection": ids(people.ada),
                "subject": "Hi",
                "body": "Your {balance} and {pin}",
                "purpose": "SERVICE",
            },
            token,
        )
    )["peopleEmail"]
    assert payload["errors"][0]["message"] == (
        "Unknown merge field {balance}, {pin}; available: {first_name}, {last_name}, "
        "{full_name}, {business_name}, {unsubscribe_url}, {set_password_url}."
    )

    async def message_errors(**variables: Any) -> list[tuple[str, str]]:
        values = {"selection": ids(people.ada), "body": "Hi", "channel": "SMS"}
        values["purpose"] = "SERVICE"
        values.update(variables)
        payload = (await api.data(MESSAGE, values, token))["peopleMessage"]
        errors = [(e["code"], e["field"]) for e in payload["errors"]]
        assert (payload["job"] is None) == bool(errors)
        return errors

    assert await message_errors(body="x" * 1601) == [("TOO_LONG", "body")]
    assert await message_errors(body="x" * 1601, channel="IN_APP") == []  # in-app allows 5,000
    assert await message_errors(body="x" * 5001, channel="IN_APP") == [("TOO_LONG", "body")]
    assert await message_errors(body="Hi {nickname}") == [("INVALID", "body")]
    assert await message_errors(selection={"ids": []}) == [("REQUIRED", "selection.ids")]

    too_many = {"ids": [str(uuid.uuid4()) for _ in range(101)]}
    for document, variables in (
        (EMAIL, {"subject": "Hi", "body": "B", "purpose": "SERVICE"}),
        (MESSAGE, {"body": "B", "channel": "SMS", "purpose": "SERVICE"}),
    ):
        body = await api.post(document, {"selection": too_many, **variables}, token)
        assert body["errors"][0]["extensions"] == {
            "code": "TOO_MANY_IDS",
            "field": "selection.ids",
        }
        both = {"ids": [str(people.ada["id"])], "filter": {}}
        body = await api.post(document, {"selection": both, **variables}, token)
        assert body["errors"][0]["extensions"] == {
            "code": "INVALID_ARGUMENT",
            "field": "selection",
        }
        body = await api.post(document, {"selection": {"ids": ["nope"]}, **variables}, token)
        assert body["errors"][0]["extensions"] == {
            "code": "INVALID_ARGUMENT",
            "field": "selection.ids.0",
        }
        member = api.token(mine.id, "customer", people.ada["id"])
        body = await api.post(document, {"selection": ids(people.ada), **variables}, member)
        assert body["errors"][0]["extensions"]["code"] == "FORBIDDEN"
    # 100 ids are fine, repeats counted once.
    distinct = [str(uuid.uuid4()) for _ in range(94)] + [str(people.ada["id"])]
    accepted = await send_email(api, token, {"ids": distinct + distinct[:5]})
    assert accepted["job"]["progress"]["total"] == 95

    # Only the two accepted requests made jobs.
    assert await owner.c.fetchval("SELECT count(*) FROM jobs") == 2


async def test_links_need_a_signing_secret(
    settings: Settings, tokens: TokenService, two_businesses: Businesses, people: People
) -> None:
    mine, _ = two_businesses
    app = create_app(replace(settings, link_signing_secret=""))
    async with LifespanManager(app) as manager:
        transport = httpx.ASGITransport(app=manager.app)
        async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as http:
            client = Api(http=http, tokens=tokens)
            token = client.token(mine.id, "staff", mine.staff_id)
            marketing = await send_email(client, token, ids(people.ada), purpose="MARKETING")
            link = await send_message(client, token, ids(people.ada), body="{set_password_url}")
            service = await send_email(client, token, ids(people.ada))
    assert [(e["code"], e["field"]) for e in marketing["errors"]] == [("INVALID", "purpose")]
    assert [(e["code"], e["field"]) for e in link["errors"]] == [("INVALID", "body")]
    assert service["errors"] == [] and service["job"] is not None


# A whole tab. The suite sends to 2,000 people; `BULK_EMAIL_PEOPLE=50000` runs the full
# 50,000: 3.3 to 5.5 minutes on this 2-core machine shared with other work (load average 5 to
# 9), of which the test's one process (API, worker and SMTP server) used about a minute of CPU;
# see README.

BULK = int(os.environ.get("BULK_EMAIL_PEOPLE", "2000"))
SEED_BULK = """
INSERT INTO customers (business_id, first_name, last_name, email, origin, category)
SELECT $1, 'P' || g, 'Bulk', 'p' || g || '@bulk.test', 'STAFF', 'LEAD'
FROM generate_series(1, $2) AS g
"""


def failing_after(pages: int) -> Callable[[JobRun], Awaitable[None]]:
    """The email job, except that its first attempt fails (as a lost database connection
    would) after `pages` pages of emails were queued."""

    async def handle(run: JobRun) -> None:
        if run.attempt == 1:
            page_through = run.for_each_page
            done = 0

            async def failing(work: Any, **options: Any) -> None:
                async def counted(conn: AsyncConnection, items: list[PendingItem]) -> Any:
                    nonlocal done
                    done += 1
                    if done > pages:
                        raise ConnectionResetError("the database connection was lost")
                    return await work(conn, items)

                await page_through(counted, **options)

            run.for_each_page = failing  # type: ignore[method-assign]
        await bulk_email.handle(run)

    return handle


async def test_a_whole_tab_is_emailed_with_progress_and_a_retry_sends_nobody_twice(
    api: Api,
    owner: factories.Owner,
    two_businesses: Businesses,
    mail_server: MailServer,
    make_worker: Callable[..., Worker],
) -> None:
    mine, _ = two_businesses
    await owner.c.execute(SEED_BULK, mine.id, BULK)
    token = api.token(mine.id, "staff", mine.staff_id)
    queued = await send_email(
        api,
        token,
        {"filter": {"category": "LEAD"}},
        subject="News for {first_name}",
        body="Hi {first_name},\n\nThe summer timetable is out.",
    )
    job_id = queued["job"]["id"]
    registry = JobRegistry()
    first_pages = BULK // 5 // 500  # a fifth of the emails, in pages of 500
    registry.register(bulk_email.KIND, failing_after(pages=first_pages))
    runner = make_worker(registry=registry)

    # The first attempt fails part-way through queueing the emails; it will be tried again.
    await runner.run_jobs_once()
    job = await job_view(api, token, job_id)
    assert job["status"] == "QUEUED"
    assert job["progress"]["total"] == BULK
    assert job["error"] == (
        "Attempt 1 failed, will try again: The job failed unexpectedly (ConnectionResetError)."
    )
    assert await owner.c.fetchval("SELECT count(*) FROM messages") == first_pages * 500

    # The retry and the outbox run side by side while staff watch the job.
    retry = asyncio.create_task(runner.run_jobs_once())

    async def send_until_done(worker: Worker) -> None:
        while True:
            queued_all = retry.done()
            if await worker.run_outbox_once() == 0:
                if queued_all:
                    return
                await asyncio.sleep(0.05)

    sending = asyncio.gather(*(send_until_done(make_worker()) for _ in range(4)))
    seen: list[dict[str, Any]] = []
    while not sending.done():
        seen.append(await job_view(api, token, job_id))
        await asyncio.sleep(0.5)
    await sending
    await retry

    job = await job_view(api, token, job_id)
    assert job["status"] == "COMPLETED"
    assert job["progress"] == {
        "total": BULK,
        "pending": 0,
        "done": BULK,
        "failed": 0,
        "skipped": 0,
    }
    assert any(view["status"] == "RUNNING" and 0 < view["progress"]["done"] < BULK for view in seen)
    recipients = [r.recipients[0] for r in mail_server.received]
    assert len(recipients) == BULK and len(set(recipients)) == BULK
    assert mail_server.to("p1@bulk.test")[0].subject == "News for P1"
    assert await owner.c.fetchval("SELECT count(*) FROM messages WHERE status = 'SENT'") == BULK
    assert await owner.c.fetchval("SELECT attempts FROM jobs") == 2
