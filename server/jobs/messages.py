"""Bulk in-app messages and text messages: one message per selected person, each a row of the
customer's communication log (`messages`), with a result per person in the job.

In-app messages are written SENT in the page's transaction (the member portal reads them and
marks them read), so each is delivered exactly once.

Text messages leave the building, so each page is handled in three steps, never with a
transaction open during a provider call:
  1. in a transaction: the page's people are looked up; those who cannot get a text (no mobile,
     no marketing consent, a participant, nobody) are settled with the reason;
  2. the rest are committed as SENDING (`mark_sending`) and sent one by one;
  3. in a second transaction each sent or refused text is logged and its item settled.
A worker that dies between 2 and 3 leaves items SENDING without a log row: when the job is
claimed again the worker reports them as interrupted and they are never sent again.
"""

from __future__ import annotations

import functools
import logging
import time
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Final, cast

from sqlalchemy import Table, insert
from sqlalchemy.ext.asyncio import AsyncConnection

from integrations import sms
from integrations.email import URL_FIELDS, Links, Template, TemplateError
from models import Message
from resolvers import outbox
from resolvers.outbox import Recipient
from resolvers.selection import DirectoryFilter
from server.jobs.queue import DONE, ITEM_FAILED, PENDING, SKIPPED, JobError, enqueue
from server.jobs.recipients import mobiles_of, unreachable
from server.jobs.registry import JobRun, Outcome, PendingItem, mark_sending, settle
from server.jobs.selection import FILTER_KEY, expand_payload_filter, filter_payload

log = logging.getLogger(__name__)
messages = cast(Table, Message.__table__)

IN_APP: Final = "IN_APP"
SMS: Final = "SMS"
IN_APP_KIND: Final = "bulk_in_app_message"
SMS_KIND: Final = "bulk_sms"
KINDS: Final = {IN_APP: IN_APP_KIND, SMS: SMS_KIND}
MAX_BODY: Final = {IN_APP: 5000, SMS: sms.MAX_BODY_LENGTH}

NO_CONSENT: Final = "Not sent: this person has not agreed to marketing messages (or has opted out)."
NO_MOBILE: Final = "Not sent: this person has no mobile number."
SENT_MESSAGE: Final = "Sent."
LOGGED_MESSAGE: Final = "Logged only (SMS_PROVIDER=log): no text left the service."
# Texts sent between two commits: what a worker that dies can leave unaccounted for.
SMS_PAGE_SIZE: Final = 20


@dataclass(frozen=True)
class DirectMessage:
    """The job's payload: the channel, what staff wrote, and why it is sent."""

    channel: str
    body: str
    purpose: str

    def template(self) -> Template:
        """Raises TemplateError for unknown merge fields."""
        return Template.parse(self.body)

    def to_payload(self) -> dict[str, Any]:
        return {"channel": self.channel, "body": self.body, "purpose": self.purpose}

    @classmethod
    def from_payload(cls, payload: dict[str, Any]) -> DirectMessage:
        try:
            found = cls(
                channel=str(payload["channel"]),
                body=str(payload["body"]),
                purpose=str(payload["purpose"]),
            )
        except KeyError as error:
            raise JobError(f"The job is missing {error.args[0]!r}.", retry=False) from error
        if found.channel not in KINDS:
            raise JobError(f"Unknown channel {found.channel!r}.", retry=False)
        if found.purpose not in outbox.PURPOSES:
            raise JobError(f"Unknown purpose {found.purpose!r}.", retry=False)
        return found


async def enqueue_message(
    conn: AsyncConnection,
    *,
    business_id: uuid.UUID,
    message: DirectMessage,
    person_ids: Sequence[uuid.UUID] = (),
    selection: DirectoryFilter | None = None,
    raw_search: str | None = None,
    created_by_staff_id: uuid.UUID | None = None,
) -> uuid.UUID:
    """Queue in-app messages or texts in the caller's transaction, for `person_ids` or for
    everyone the directory filter selects. The body is checked first: TemplateError names
    unknown merge fields."""
    if message.channel not in KINDS or message.purpose not in outbox.PURPOSES:
        raise ValueError(f"unknown channel or purpose: {message.channel}, {message.purpose}")
    if selection is not None and person_ids:
        raise ValueError("select people by ids or by a filter, not both")
    message.template()
    payload = message.to_payload()
    if selection is not None:
        payload[FILTER_KEY] = filter_payload(selection, raw_search)
    return await enqueue(
        conn,
        business_id=business_id,
        kind=KINDS[message.channel],
        payload=payload,
        person_ids=person_ids,
        created_by_staff_id=created_by_staff_id,
    )


@dataclass(frozen=True)
class Addressed:
    """One person of a page who can be reached, with their text, or why they are skipped."""

    item: PendingItem
    recipient: Recipient
    text: str
    mobile: str | None
    skip: str | None


@dataclass(frozen=True)
class _Job:
    """A job's validated payload."""

    spec: DirectMessage
    template: Template
    links: Links | None


def _job(run: JobRun) -> _Job:
    spec = DirectMessage.from_payload(run.payload)
    try:
        template = spec.template()
    except TemplateError as error:
        raise JobError(str(error), retry=False) from error
    links = run.services.links
    if links is None and template.fields & URL_FIELDS:
        raise JobError(
            "This message needs links (unsubscribe or set-password), and link signing is not "
            "configured (LINK_SIGNING_SECRET).",
            retry=False,
        )
    return _Job(spec, template, links)


async def _address(
    conn: AsyncConnection, run: JobRun, job: _Job, items: Sequence[PendingItem]
) -> tuple[list[Outcome], list[Addressed]]:
    """Who on this page gets the message: outcomes for those who cannot be reached at all,
    and everyone else with their text (or the reason they are skipped)."""
    business = await outbox.business_name(conn, run.business_id)
    recipients = await outbox.load_recipients(conn, [item.person_id for item in items])
    refused = await unreachable(conn, items, recipients)
    reachable = [item for item in items if item.id not in refused]
    mobiles: dict[uuid.UUID, str | None] = {}
    if job.spec.channel == SMS:
        mobiles = await mobiles_of(conn, [item.person_id for item in reachable])
    addressed: list[Addressed] = []
    for item in reachable:
        recipient = recipients[item.person_id]
        mobile = mobiles.get(item.person_id)
        skip = None
        if job.spec.purpose == outbox.MARKETING and not recipient.marketing_consent:
            skip = NO_CONSENT
        elif job.spec.channel == SMS and not mobile:
            skip = NO_MOBILE
        values = outbox.recipient_values(
            job.template.fields,
            recipient,
            business_id=run.business_id,
            business=business,
            links=job.links,
        )
        body = job.template.render_text(values)
        addressed.append(Addressed(item, recipient, body, mobile, skip))
    return list(refused.values()), addressed


def _log_row(
    run: JobRun, job: _Job, one: Addressed, status: str, reason: str | None
) -> dict[str, Any]:
    recipient = one.recipient
    attempted = status in ("SENT", "FAILED")
    return {
        "id": uuid.uuid4(),
        "business_id": run.business_id,
        "customer_id": recipient.customer_id,
        "customer_name": recipient.customer_name[:201],
        "recipient_additional_user_id": recipient.additional_user_id,
        "created_by_staff_id": run.created_by_staff_id,
        "channel": job.spec.channel,
        "purpose": job.spec.purpose,
        "subject": None,
        "body": one.text,
        "status": status,
        "status_reason": reason,
        "to_address": one.mobile if job.spec.channel == SMS else None,
        "job_item_id": one.item.id,
        "sent_at": datetime.now(UTC) if status == "SENT" else None,
        "attempts": 1 if attempted else 0,
    }


async def _log(conn: AsyncConnection, rows: list[dict[str, Any]]) -> None:
    if rows:
        await conn.execute(insert(messages), rows)


# In-app


async def handle_in_app(run: JobRun) -> None:
    job = _job(run)
    await expand_payload_filter(run)

    async def page(conn: AsyncConnection, items: list[PendingItem]) -> list[Outcome]:
        outcomes, addressed = await _address(conn, run, job, items)
        rows = []
        for one in addressed:
            if one.skip is not None:
                rows.append(_log_row(run, job, one, "SKIPPED", one.skip))
                outcomes.append(Outcome(one.item.id, SKIPPED, one.skip))
            else:
                rows.append(_log_row(run, job, one, "SENT", None))
                outcomes.append(Outcome(one.item.id, DONE, SENT_MESSAGE))
        await _log(conn, rows)
        return outcomes

    await run.for_each_page(page)


# SMS


async def handle_sms(run: JobRun) -> None:
    """Send the texts through the provider the worker's services make."""
    job = _job(run)
    try:
        provider = run.services.sms()
    except sms.SmsConfigError as error:
        raise JobError(str(error), retry=False) from error
    try:
        await expand_payload_filter(run)
        after = 0
        while True:
            step = functools.partial(_sms_page, run=run, job=job, after=after)
            found = await run.db.run_mutation(
                run.business_id, step, statement_timeout_ms=run.statement_timeout_ms
            )
            if found is None:
                return
            after, to_send = found
            if to_send:
                await _send_page(run, job, provider, to_send)
    finally:
        await provider.aclose()


async def _sms_page(
    conn: AsyncConnection, *, run: JobRun, job: _Job, after: int
) -> tuple[int, list[Addressed]] | None:
    """Step 1: the next page's people; settles those who get no text, returns the others."""
    items = await run.next_page(conn, after=after, size=SMS_PAGE_SIZE)
    if not items:
        return None
    outcomes, addressed = await _address(conn, run, job, items)
    skipped = [one for one in addressed if one.skip is not None]
    await _log(conn, [_log_row(run, job, one, "SKIPPED", one.skip) for one in skipped])
    outcomes += [Outcome(one.item.id, SKIPPED, one.skip) for one in skipped]
    await settle(conn, run.business_id, outcomes)
    return items[-1].position, [one for one in addressed if one.skip is None]


async def _send_page(
    run: JobRun, job: _Job, provider: sms.SmsProvider, to_send: list[Addressed]
) -> None:
    """Steps 2 and 3: commit SENDING, send one by one, then log and settle what happened.
    Whatever was sent is recorded even when the run stops half-way (its lease lost)."""
    await mark_sending(run.db, run.business_id, [one.item.id for one in to_send])
    results: list[tuple[Addressed, sms.SmsReceipt | sms.SmsError]] = []
    started = 0
    renewed = time.monotonic()
    try:
        for one in to_send:
            if time.monotonic() - renewed > run.lease_s / 4:
                await run.heartbeat()
                renewed = time.monotonic()
            assert one.mobile is not None
            started += 1
            results.append((one, await _send_one(provider, one, one.mobile)))
    finally:
        # A text whose send was under way when the run stopped stays SENDING (reported as
        # interrupted later); those not started go back to PENDING.
        record = functools.partial(
            _record, run=run, job=job, results=results, untried=to_send[started:]
        )
        await run.db.run_mutation(run.business_id, record)


async def _send_one(
    provider: sms.SmsProvider, one: Addressed, mobile: str
) -> sms.SmsReceipt | sms.SmsError:
    try:
        return await provider.send(mobile, one.text, reference=str(one.item.id))
    except sms.SmsError as error:
        return error
    except Exception as error:
        # A provider bug: it may have sent, so the text counts as uncertain, never resent.
        log.exception("SMS provider %s failed for %s", provider.name, one.item.id)
        return sms.SmsError(
            f"The SMS provider failed unexpectedly ({type(error).__name__}); the message may "
            "or may not have been sent, so it is not sent again.",
            uncertain=True,
        )


async def _record(
    conn: AsyncConnection,
    *,
    run: JobRun,
    job: _Job,
    results: list[tuple[Addressed, sms.SmsReceipt | sms.SmsError]],
    untried: list[Addressed],
) -> None:
    rows: list[dict[str, Any]] = []
    outcomes: list[Outcome] = []
    for one, result in results:
        if isinstance(result, sms.SmsError):
            rows.append(_log_row(run, job, one, "FAILED", result.reason))
            outcomes.append(Outcome(one.item.id, ITEM_FAILED, result.reason))
        elif result.status == sms.LOGGED:
            rows.append(_log_row(run, job, one, "SENT", LOGGED_MESSAGE))
            outcomes.append(Outcome(one.item.id, DONE, LOGGED_MESSAGE))
        else:
            rows.append(_log_row(run, job, one, "SENT", None))
            outcomes.append(Outcome(one.item.id, DONE, SENT_MESSAGE))
    # Not attempted (the run is stopping): back in the queue, nothing was sent for them.
    outcomes += [Outcome(one.item.id, PENDING) for one in untried]
    await _log(conn, rows)
    await settle(conn, run.business_id, outcomes)
