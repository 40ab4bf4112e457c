"""The email outbox: templates with whitelisted merge fields, the purpose rule, delivery over
SMTP by the worker, and what happens when the mail server refuses, drops the connection, is
down, or the worker dies mid-send."""

from __future__ import annotations

import asyncio
import email
import functools
import uuid
from collections.abc import Callable
from email import policy
from email.message import EmailMessage
from typing import Any

import asyncpg
import pytest
from sqlalchemy import event, text
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncConnection

from integrations.email import (
    SET_PASSWORD,
    UNSUBSCRIBE,
    EmailTemplate,
    SignedLinks,
    Template,
    TemplateError,
    build_message,
)
from resolvers import outbox
from server.db import Database
from server.jobs import Worker, drain
from server.jobs import outbox as outbox_sender
from server.jobs.bulk_email import BulkEmail, enqueue_bulk_email
from server.jobs.queue import INTERRUPTED
from tests import factories
from tests.fixtures_mail import TEST_LINKS, MailServer

Businesses = tuple[factories.BusinessFixture, factories.BusinessFixture]


async def bulk_email(
    db: Database,
    business: factories.BusinessFixture,
    person_ids: list[uuid.UUID],
    *,
    subject: str = "Hello {first_name}",
    body: str = "Dear {full_name},\n\nSee you at {business_name}.",
    purpose: str = outbox.SERVICE,
    html_body: str | None = None,
) -> uuid.UUID:
    email = BulkEmail(subject=subject, body=body, purpose=purpose, html_body=html_body)

    async def work(conn: AsyncConnection) -> uuid.UUID:
        return await enqueue_bulk_email(
            conn,
            business_id=business.id,
            person_ids=person_ids,
            email=email,
            created_by_staff_id=business.staff_id,
        )

    return await db.run_mutation(business.id, work)


async def items_of(
    owner: factories.Owner, job_id: uuid.UUID
) -> dict[uuid.UUID, tuple[str, str | None]]:
    rows = await owner.c.fetch(
        "SELECT person_id, status, message FROM job_items WHERE job_id = $1", job_id
    )
    return {r["person_id"]: (r["status"], r["message"]) for r in rows}


async def messages_of(owner: factories.Owner) -> list[asyncpg.Record]:
    return await owner.c.fetch("SELECT * FROM messages ORDER BY number")


# Templates


def test_only_whitelisted_merge_fields_are_substituted() -> None:
    template = Template.parse("Hi {first_name}, {{first_name}} {0.__class__} { last_name }!")
    values = {"first_name": "Ada", "last_name": "Lovelace"}
    assert template.render_text(values) == "Hi Ada, {first_name} {0.__class__} Lovelace!"
    with pytest.raises(TemplateError) as error:
        EmailTemplate.parse("Hi {first_name}", "Your {password} and {balance}", "<b>{password}</b>")
    assert error.value.unknown == ["password", "balance"]
    assert "{password}, {balance}" in str(error.value)


def test_values_are_escaped_in_html_and_cannot_break_the_subject() -> None:
    template = EmailTemplate.parse(
        "Welcome {first_name}",
        "Hello {first_name},\nline two\n\nSet a password: {set_password_url}",
        None,
    )
    values = {
        "first_name": '<script>x</script>\r\nBcc: all@example.com "A&B"',
        "set_password_url": "https://x.test/set?a=1&b=2",
    }
    rendered = template.render(values)
    assert "\n" not in rendered.subject and "\r" not in rendered.subject
    assert "<script>" not in rendered.html
    assert "&lt;script&gt;x&lt;/script&gt;" in rendered.html
    assert "&quot;A&amp;B&quot;" in rendered.html
    assert '<a href="https://x.test/set?a=1&amp;b=2">' in rendered.html
    assert rendered.html.startswith("<p>Hello ") and "<br>line two</p>" in rendered.html
    assert "<script>x</script>" in rendered.text  # plain text is not HTML

    staff_html = EmailTemplate.parse("s", "t", '<p class="x">Hi {first_name}</p>')
    assert staff_html.render(values).html.startswith('<p class="x">Hi &lt;script&gt;')


def test_signed_links_verify_and_refuse_tampering() -> None:
    links = SignedLinks("https://members.example/", "secret")
    business, person = uuid.uuid4(), uuid.uuid4()
    url = links.unsubscribe_url(business, person)
    token = url.split("token=")[1]
    claims = links.verify(token, UNSUBSCRIBE)
    assert claims is not None and (claims.business_id, claims.person_id) == (business, person)
    assert links.verify(token, SET_PASSWORD) is None
    assert links.verify(token[:-2] + "AA", UNSUBSCRIBE) is None
    assert SignedLinks("https://members.example/", "other").verify(token, UNSUBSCRIBE) is None
    reset = links.set_password_url(business, person, 3).split("token=")[1]
    found = links.verify(reset, SET_PASSWORD)
    assert found is not None and found.token_version == 3


def test_messages_are_encoded_for_any_text_and_headers_cannot_be_added() -> None:
    def raw(**changes: Any) -> bytes:
        fields: dict[str, Any] = {
            "message_id": uuid.uuid4(),
            "from_address": "studio@mail.test",
            "from_name": "Café Studio",
            "to_address": "zoe@x.test",
            "to_name": "Zoë Ünal",
            "subject": "Zoë, your class — " + "very " * 20 + "soon",
            "text": "Héllo Zoë,\r\n\r\n1 + 1 = 2 " + "x" * 1200,
            "html_body": "<p>Héllo Zoë</p>",
            "unsubscribe_url": "https://members.example/unsubscribe?token=" + "a" * 200,
        }
        return build_message(**(fields | changes)).as_bytes(policy=policy.SMTP)

    sent = raw()
    assert sent.isascii() and max(len(line) for line in sent.split(b"\r\n")) < 300
    # The link stays one URL, not encoded words a mail client would not follow.
    assert b"\r\nList-Unsubscribe: <https://members.example/unsubscribe?token=aaaa" in sent
    parsed = email.message_from_bytes(sent, policy=policy.default)
    assert isinstance(parsed, EmailMessage)
    assert parsed["From"] == "Café Studio <studio@mail.test>"
    assert parsed["To"] == "Zoë Ünal <zoe@x.test>"
    assert parsed["Subject"] == "Zoë, your class — " + "very " * 20 + "soon"
    plain, html_part = parsed.get_body(("plain",)), parsed.get_body(("html",))
    assert plain is not None and html_part is not None
    # Quoted-printable text decodes with MIME's canonical CRLF line breaks.
    assert plain.get_content() == "Héllo Zoë,\r\n\r\n1 + 1 = 2 " + "x" * 1200 + "\r\n"
    assert html_part.get_content() == "<p>Héllo Zoë</p>\r\n"

    injected = raw(to_name="Eve\r\nBcc: all@x.test", subject="Hi\nBcc: all@x.test", html_body=None)
    parsed = email.message_from_bytes(injected, policy=policy.default)
    assert "Bcc" not in parsed and parsed["To"] == '"Eve Bcc: all@x.test" <zoe@x.test>'
    assert parsed["Subject"] == "Hi Bcc: all@x.test"
    assert parsed.get_content_type() == "text/plain"


# Delivery


async def test_bulk_email_is_delivered_logged_and_reported(
    owner: factories.Owner,
    two_businesses: Businesses,
    jobs_db: Database,
    make_worker: Callable[..., Worker],
    mail_server: MailServer,
) -> None:
    mine, _ = two_businesses
    ada = await factories.customer(owner, mine.id, "Ada", "<Lovelace>", email="ada@x.test")
    alex = await factories.additional_user(owner, ada, "Alex", email="alex@x.test")
    job_id = await bulk_email(
        jobs_db,
        mine,
        [ada["id"], alex["id"], ada["id"]],
        html_body="<p>Dear {full_name}</p>",
    )

    await drain(make_worker())

    assert sorted(r.recipients[0] for r in mail_server.received) == ["ada@x.test", "alex@x.test"]
    to_ada = mail_server.to("ada@x.test")[0]
    assert to_ada.subject == "Hello Ada"
    assert to_ada.part("plain").startswith("Dear Ada <Lovelace>,")
    assert "Dear Ada &lt;Lovelace&gt;" in to_ada.part("html")
    assert to_ada.message["From"] == "First Studio <studio@mail.test>"
    assert to_ada.sender == "studio@mail.test"
    assert "List-Unsubscribe" not in to_ada.message  # service email
    assert mail_server.to("alex@x.test")[0].subject == "Hello Alex"

    log = await messages_of(owner)
    assert [(m["status"], m["to_address"], m["channel"], m["purpose"]) for m in log] == [
        ("SENT", "ada@x.test", "EMAIL", "SERVICE"),
        ("SENT", "alex@x.test", "EMAIL", "SERVICE"),
    ]
    # Both belong to Ada's communication log; Alex's is addressed to him.
    assert {m["customer_id"] for m in log} == {ada["id"]}
    assert [m["recipient_additional_user_id"] for m in log] == [None, alex["id"]]
    assert all(m["sent_at"] is not None and m["attempts"] == 1 for m in log)
    assert all(m["created_by_staff_id"] == mine.staff_id for m in log)
    assert to_ada.message["Message-ID"] == f"<{log[0]['id']}@mail.test>"
    assert await items_of(owner, job_id) == {
        ada["id"]: ("DONE", "Sent."),
        alex["id"]: ("DONE", "Sent."),
    }


async def test_marketing_is_skipped_without_consent_and_the_reason_recorded(
    owner: factories.Owner,
    two_businesses: Businesses,
    jobs_db: Database,
    make_worker: Callable[..., Worker],
    mail_server: MailServer,
) -> None:
    mine, _ = two_businesses
    keen = await factories.customer(
        owner, mine.id, "Keen", "Kim", email="keen@x.test", marketing_consent=True
    )
    shy = await factories.customer(owner, mine.id, "Shy", "Sam", email="shy@x.test")
    keen_helper = await factories.additional_user(owner, shy, "Hal", email="hal@x.test")
    await owner.c.execute(
        "UPDATE additional_users SET marketing_consent = true WHERE id = $1", keen_helper["id"]
    )
    nomail = await factories.customer(
        owner, mine.id, "No", "Mail", email="", mobile="+447700900001"
    )
    people = [keen["id"], shy["id"], keen_helper["id"], nomail["id"]]

    marketing = await bulk_email(jobs_db, mine, people, purpose=outbox.MARKETING)
    service = await bulk_email(jobs_db, mine, people, purpose=outbox.SERVICE)
    await drain(make_worker())

    assert await items_of(owner, marketing) == {
        keen["id"]: ("DONE", "Sent."),
        shy["id"]: ("SKIPPED", outbox.NO_CONSENT),
        keen_helper["id"]: ("DONE", "Sent."),
        nomail["id"]: ("SKIPPED", outbox.NO_ADDRESS),
    }
    assert await items_of(owner, service) == {
        keen["id"]: ("DONE", "Sent."),
        shy["id"]: ("DONE", "Sent."),
        keen_helper["id"]: ("DONE", "Sent."),
        nomail["id"]: ("SKIPPED", outbox.NO_ADDRESS),
    }
    # Skipped email is in the log too, with why.
    skipped = await owner.c.fetch(
        "SELECT customer_id, status_reason FROM messages WHERE status = 'SKIPPED' "
        "AND purpose = 'MARKETING' ORDER BY customer_name"
    )
    assert [(r["customer_id"], r["status_reason"]) for r in skipped] == [
        (nomail["id"], outbox.NO_ADDRESS),
        (shy["id"], outbox.NO_CONSENT),
    ]
    # Marketing carries an unsubscribe link that verifies to its recipient.
    to_keen = [r for r in mail_server.to("keen@x.test") if "List-Unsubscribe" in r.message]
    assert len(to_keen) == 1 and len(mail_server.to("keen@x.test")) == 2
    header = str(to_keen[0].message["List-Unsubscribe"]).strip("<>")
    claims = TEST_LINKS.verify(header.split("token=")[1], UNSUBSCRIBE)
    assert claims is not None and claims.person_id == keen["id"]
    assert "Unsubscribe from these emails: https://members.example/unsubscribe?token=" in (
        to_keen[0].part("plain")
    )
    assert mail_server.to("shy@x.test")[0].subject == "Hello Shy"  # the service one


async def test_consent_withdrawn_while_queued_is_respected(
    owner: factories.Owner,
    two_businesses: Businesses,
    jobs_db: Database,
    make_worker: Callable[..., Worker],
    mail_server: MailServer,
) -> None:
    mine, _ = two_businesses
    kim = await factories.customer(
        owner, mine.id, "Kim", "Keen", email="kim@x.test", marketing_consent=True
    )
    job_id = await bulk_email(jobs_db, mine, [kim["id"]], purpose=outbox.MARKETING)
    worker = make_worker()
    assert await worker.run_jobs_once() == 1  # written to the outbox, not sent yet
    assert (await items_of(owner, job_id))[kim["id"]] == ("SENDING", None)
    await owner.c.execute("UPDATE customers SET marketing_consent = false WHERE id = $1", kim["id"])

    await drain(worker)

    assert mail_server.received == []
    assert (await items_of(owner, job_id))[kim["id"]] == ("SKIPPED", outbox.NO_CONSENT)


async def test_a_refusing_or_disconnecting_server_fails_those_items_and_the_rest_go_on(
    owner: factories.Owner,
    two_businesses: Businesses,
    jobs_db: Database,
    make_worker: Callable[..., Worker],
    mail_server: MailServer,
) -> None:
    mine, _ = two_businesses
    people = [
        await factories.customer(owner, mine.id, f"P{i}", "Person", email=f"p{i}@x.test")
        for i in range(6)
    ]
    mail_server.refuse("p1@x.test", "550 5.1.1 <p1@x.test>: Recipient address rejected")
    mail_server.drop_during_data("p3@x.test")
    job_id = await bulk_email(jobs_db, mine, [p["id"] for p in people])

    await drain(make_worker())

    items = await items_of(owner, job_id)
    assert items[people[1]["id"]] == (
        "FAILED",
        "The mail server refused the recipient (550 5.1.1 <p1@x.test>: Recipient address "
        "rejected).",
    )
    status, reason = items[people[3]["id"]]
    assert status == "FAILED" and "may or may not have been delivered" in (reason or "")
    assert {p["id"] for p in people if items[p["id"]] == ("DONE", "Sent.")} == {
        people[i]["id"] for i in (0, 2, 4, 5)
    }
    assert sorted(r.recipients[0] for r in mail_server.received) == [
        f"p{i}@x.test" for i in (0, 2, 4, 5)
    ]
    # Neither failure was tried again.
    attempts = await owner.c.fetch(
        "SELECT to_address, attempts, status FROM messages WHERE status = 'FAILED' "
        "ORDER BY to_address"
    )
    assert [(r["to_address"], r["attempts"]) for r in attempts] == [
        ("p1@x.test", 1),
        ("p3@x.test", 1),
    ]


async def test_a_temporary_refusal_is_retried_and_then_sent(
    owner: factories.Owner,
    two_businesses: Businesses,
    jobs_db: Database,
    make_worker: Callable[..., Worker],
    mail_server: MailServer,
) -> None:
    mine, _ = two_businesses
    ada = await factories.customer(owner, mine.id, "Ada", "Lovelace", email="ada@x.test")
    mail_server.refuse("ada@x.test", "451 4.7.1 Greylisted, try again later", times=1)
    job_id = await bulk_email(jobs_db, mine, [ada["id"]])
    worker = make_worker(outbox_backoff_base_s=600.0)

    await drain(worker)

    message = (await messages_of(owner))[0]
    assert (message["status"], message["attempts"]) == ("QUEUED", 1)
    assert message["status_reason"].startswith("Will try again: The mail server refused")
    assert (await items_of(owner, job_id))[ada["id"]] == ("SENDING", None)
    # The backoff is what keeps it waiting: once due, it goes.
    await owner.c.execute("UPDATE messages SET next_attempt_at = now()")
    await drain(worker)
    message = (await messages_of(owner))[0]
    assert (message["status"], message["attempts"], message["status_reason"]) == ("SENT", 2, None)
    assert len(mail_server.to("ada@x.test")) == 1


async def test_an_unreachable_server_keeps_mail_queued_then_gives_up(
    owner: factories.Owner,
    two_businesses: Businesses,
    jobs_db: Database,
    make_worker: Callable[..., Worker],
    mail_server: MailServer,
) -> None:
    mine, _ = two_businesses
    ada = await factories.customer(owner, mine.id, "Ada", "Lovelace", email="ada@x.test")
    job_id = await bulk_email(jobs_db, mine, [ada["id"]])
    await mail_server.stop()

    await drain(make_worker(outbox_max_attempts=3))

    message = (await messages_of(owner))[0]
    assert (message["status"], message["attempts"]) == ("FAILED", 3)
    assert message["status_reason"] == (
        "Could not reach the mail server (SMTPConnectError). Gave up after 3 attempts."
    )
    assert (await items_of(owner, job_id))[ada["id"]] == ("FAILED", message["status_reason"])


async def _three_queued(
    owner: factories.Owner, business: factories.BusinessFixture, jobs_db: Database, worker: Worker
) -> tuple[uuid.UUID, list[asyncpg.Record]]:
    """Three customers sent a bulk email whose job has run: their messages wait in the outbox.
    Returns the job's id and the people, P0 to P2 (p0@x.test ...)."""
    people = [
        await factories.customer(owner, business.id, f"P{i}", "Person", email=f"p{i}@x.test")
        for i in range(3)
    ]
    job_id = await bulk_email(jobs_db, business, [p["id"] for p in people])
    await worker.run_jobs_once()
    return job_id, people


async def test_a_worker_killed_mid_send_never_sends_twice(
    owner: factories.Owner,
    two_businesses: Businesses,
    jobs_db: Database,
    make_worker: Callable[..., Worker],
    mail_server: MailServer,
) -> None:
    mine, _ = two_businesses
    worker = make_worker()
    job_id, people = await _three_queued(owner, mine, jobs_db, worker)
    held = mail_server.hold("p0@x.test")

    sending = asyncio.create_task(worker.run_outbox_once())
    await asyncio.wait_for(held.arrived.wait(), 10)
    sending.cancel()  # the worker dies while the server has the message
    with pytest.raises(asyncio.CancelledError):
        await sending
    held.release.set()
    await asyncio.sleep(0.05)
    assert len(mail_server.to("p0@x.test")) == 1  # the server did take it

    states = {r["to_address"]: r["status"] for r in await messages_of(owner)}
    assert states == {"p0@x.test": "SENDING", "p1@x.test": "QUEUED", "p2@x.test": "QUEUED"}
    # The dying worker handed back the messages it had not started, their attempt not
    # counted: a restarted worker sends them at once, and leaves p0 alone until the dead
    # worker's lease on it runs out.
    assert await drain(worker) == 2
    assert [len(mail_server.to(f"p{i}@x.test")) for i in range(3)] == [1, 1, 1]
    assert await drain(worker) == 0
    await owner.c.execute("UPDATE messages SET next_attempt_at = now()")
    await drain(worker)

    assert [len(mail_server.to(f"p{i}@x.test")) for i in range(3)] == [1, 1, 1]
    assert [m["attempts"] for m in await messages_of(owner)] == [1, 1, 1]
    p0 = next(m for m in await messages_of(owner) if m["to_address"] == "p0@x.test")
    assert (p0["status"], p0["status_reason"], p0["attempts"]) == ("FAILED", INTERRUPTED, 1)
    items = await items_of(owner, job_id)
    assert items[people[0]["id"]] == ("FAILED", INTERRUPTED)
    assert items[people[1]["id"]] == items[people[2]["id"]] == ("DONE", "Sent.")


async def test_a_worker_killed_outright_reports_its_batch_and_sends_none_of_it(
    owner: factories.Owner,
    two_businesses: Businesses,
    jobs_db: Database,
    make_worker: Callable[..., Worker],
    mail_server: MailServer,
) -> None:
    mine, _ = two_businesses
    worker = make_worker()
    job_id, _ = await _three_queued(owner, mine, jobs_db, worker)
    # What a worker killed with no chance to clean up leaves: its batch committed SENDING.
    ids = [m["id"] for m in await messages_of(owner)]
    begin = functools.partial(
        outbox_sender._begin,
        business_id=mine.id,
        message_ids=ids,
        services=worker.services,
        config=worker.config.outbox,
    )
    assert len(await jobs_db.run_mutation(mine.id, begin)) == 3

    assert await drain(worker) == 0  # their lease still runs
    await owner.c.execute("UPDATE messages SET next_attempt_at = now()")
    await drain(worker)

    assert mail_server.received == []
    assert {m["status"] for m in await messages_of(owner)} == {"FAILED"}
    assert set((await items_of(owner, job_id)).values()) == {("FAILED", INTERRUPTED)}


async def test_a_batch_starts_no_new_message_once_its_window_has_passed(
    owner: factories.Owner,
    two_businesses: Businesses,
    jobs_db: Database,
    make_worker: Callable[..., Worker],
    mail_server: MailServer,
) -> None:
    mine, _ = two_businesses
    worker = make_worker(outbox_send_window_s=0.0)
    await _three_queued(owner, mine, jobs_db, worker)

    assert await worker.run_outbox_once() == 3
    # One was sent; the others went back to the queue, due now, no attempt counted.
    assert len(mail_server.received) == 1
    log = await messages_of(owner)
    assert sorted((m["status"], m["attempts"]) for m in log) == [
        ("QUEUED", 0),
        ("QUEUED", 0),
        ("SENT", 1),
    ]
    await drain(worker)
    assert sorted(r.recipients[0] for r in mail_server.received) == [
        f"p{i}@x.test" for i in range(3)
    ]


async def test_a_batch_of_email_costs_the_same_statements_whatever_its_size(
    owner: factories.Owner,
    two_businesses: Businesses,
    jobs_db: Database,
    make_worker: Callable[..., Worker],
    mail_server: MailServer,
) -> None:
    mine, _ = two_businesses
    people = [
        (await factories.customer(owner, mine.id, f"P{i}", "Person", email=f"p{i}@x.test"))["id"]
        for i in range(33)
    ]
    worker = make_worker()
    statements: list[str] = []

    def count(conn: Any, cursor: Any, statement: str, *rest: Any) -> None:
        if "set_config('app.business_id'" not in statement:
            statements.append(statement)

    counts = []
    for selection in (people[:3], people[3:]):
        await bulk_email(jobs_db, mine, selection)
        await worker.run_jobs_once()
        statements.clear()
        event.listen(jobs_db.engine.sync_engine, "before_cursor_execute", count)
        try:
            assert await worker.run_outbox_once() == len(selection)
        finally:
            event.remove(jobs_db.engine.sync_engine, "before_cursor_execute", count)
        counts.append(len(statements))

    # The claim; then lock and mark SENDING; then the results and their job items.
    assert counts == [5, 5]
    assert len(mail_server.received) == 33
    assert {m["status"] for m in await messages_of(owner)} == {"SENT"}


async def test_a_rolled_back_request_writes_no_email_and_one_email_can_be_queued(
    owner: factories.Owner,
    two_businesses: Businesses,
    jobs_db: Database,
    make_worker: Callable[..., Worker],
    mail_server: MailServer,
) -> None:
    mine, theirs = two_businesses
    ada = await factories.customer(owner, mine.id, "Ada", "Lovelace", email="ada@x.test")
    stranger = await factories.customer(owner, theirs.id, "Other", "Business")
    template = EmailTemplate.parse(
        "Set your password", "Hi {first_name}, set it here: {set_password_url}"
    )

    async def queue(conn: AsyncConnection, person: uuid.UUID, fail: bool) -> Any:
        written = await outbox.queue_email(
            conn,
            business_id=mine.id,
            person_id=person,
            template=template,
            purpose=outbox.SERVICE,
            links=TEST_LINKS,
        )
        if fail:
            await conn.execute(text("SELECT 1/0"))
        return written

    with pytest.raises(Exception, match="division by zero"):
        await jobs_db.run_mutation(mine.id, lambda c: queue(c, ada["id"], True))
    assert await messages_of(owner) == []
    assert await jobs_db.run_mutation(mine.id, lambda c: queue(c, stranger["id"], False)) is None
    written = await jobs_db.run_mutation(mine.id, lambda c: queue(c, ada["id"], False))
    assert written.status == "QUEUED" and written.reason is None

    await drain(make_worker())

    (sent,) = mail_server.to("ada@x.test")
    url = sent.part("plain").split("set it here: ")[1].strip()
    claims = TEST_LINKS.verify(url.split("token=")[1], SET_PASSWORD)
    assert claims is not None and claims.person_id == ada["id"] and claims.token_version == 1


async def test_at_most_one_message_per_person_per_job(
    owner: factories.Owner,
    two_businesses: Businesses,
    jobs_db: Database,
    make_worker: Callable[..., Worker],
) -> None:
    mine, _ = two_businesses
    ada = await factories.customer(owner, mine.id, "Ada", "Lovelace", email="ada@x.test")
    job_id = await bulk_email(jobs_db, mine, [ada["id"], ada["id"]])
    await make_worker().run_jobs_once()
    (message,) = await messages_of(owner)
    item_id = message["job_item_id"]
    assert item_id is not None

    async def duplicate(conn: AsyncConnection) -> None:
        await conn.execute(
            text(
                "INSERT INTO messages (business_id, customer_id, customer_name, channel, "
                "purpose, body, status, job_item_id) VALUES (:b, :c, 'Ada', 'EMAIL', "
                "'SERVICE', 'again', 'QUEUED', :i)"
            ),
            {"b": mine.id, "c": ada["id"], "i": item_id},
        )

    with pytest.raises(IntegrityError):
        await jobs_db.run_mutation(mine.id, duplicate)
    with pytest.raises(asyncpg.UniqueViolationError):
        await owner.c.execute(
            "INSERT INTO job_items (business_id, job_id, person_id, position) "
            "VALUES ($1, $2, $3, 99)",
            mine.id,
            job_id,
            ada["id"],
        )


async def test_deleting_a_person_settles_their_waiting_item(
    owner: factories.Owner,
    two_businesses: Businesses,
    jobs_db: Database,
    make_worker: Callable[..., Worker],
    mail_server: MailServer,
) -> None:
    mine, _ = two_businesses
    ada = await factories.customer(owner, mine.id, "Ada", "Lovelace", email="ada@x.test")
    bob = await factories.customer(owner, mine.id, "Bob", "Byron", email="bob@x.test")
    job_id = await bulk_email(jobs_db, mine, [ada["id"], bob["id"]])
    worker = make_worker()
    await worker.run_jobs_once()

    await owner.c.execute("DELETE FROM login_emails WHERE customer_id = $1", bob["id"])
    await owner.c.execute("DELETE FROM customers WHERE id = $1", bob["id"])
    await drain(worker)

    assert await items_of(owner, job_id) == {
        ada["id"]: ("DONE", "Sent."),
        bob["id"]: ("FAILED", "The message was deleted with its person before it was sent."),
    }
    assert mail_server.to("bob@x.test") == []


async def test_claims_take_businesses_in_turns(
    owner: factories.Owner,
    two_businesses: Businesses,
    jobs_db: Database,
    make_worker: Callable[..., Worker],
) -> None:
    busy, quiet = two_businesses
    crowd = [
        (await factories.customer(owner, busy.id, f"P{i}", "Crowd", email=f"p{i}@x.test"))["id"]
        for i in range(30)
    ]
    one = await factories.customer(owner, quiet.id, "Solo", "Quiet", email="solo@x.test")
    await bulk_email(jobs_db, busy, crowd)
    await bulk_email(jobs_db, quiet, [one["id"]])
    await drain(make_worker(sender=None))  # writes the outbox; nothing can be sent
    await owner.c.execute("UPDATE messages SET next_attempt_at = now() - interval '1 minute'")
    await owner.c.execute(
        "UPDATE messages SET next_attempt_at = now() WHERE business_id = $1", quiet.id
    )

    async with jobs_db.engine.connect() as conn, conn.begin():
        first = (await conn.execute(text("SELECT * FROM claim_outbox(4)"))).all()
        second = (await conn.execute(text("SELECT * FROM claim_outbox(4)"))).all()

    # The quiet business's email is due last, yet goes in the first batch.
    assert sorted(row.business_id == quiet.id for row in first) == [False, False, False, True]
    assert [row.business_id for row in second] == [busy.id] * 4
    assert not {row.id for row in first} & {row.id for row in second}


async def test_a_session_reconnects_when_the_server_hung_up_between_messages(
    mail_server: MailServer,
) -> None:
    def note(to: str) -> EmailMessage:
        return build_message(
            message_id=uuid.uuid4(),
            from_address="studio@mail.test",
            from_name="Studio",
            to_address=to,
            to_name=None,
            subject="Hi",
            text="Hello",
            html_body=None,
        )

    async with mail_server.sender().session() as session:
        await session.send(note("a@x.test"), sender="studio@mail.test", recipient="a@x.test")
        await mail_server.hang_up()
        await session.send(note("b@x.test"), sender="studio@mail.test", recipient="b@x.test")
    assert [r.recipients for r in mail_server.received] == [["a@x.test"], ["b@x.test"]]
