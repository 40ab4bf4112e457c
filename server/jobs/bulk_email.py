"""The bulk-email job: one email per selected person, through the outbox.

The selection is a list of ids (items written with the job) or a directory filter, expanded
into items page by page when the job runs (`server/jobs/selection.py`). Each page of items is
turned, in one transaction, into outbox messages (one per person, linked to the item; the
unique `(business_id, job_item_id)` index makes it at most one per person per job) and the
items move to SENDING. The outbox sends them and settles each item with its message: DONE when
sent, FAILED with the server's reason, SKIPPED for marketing to people without consent.
Participants are skipped (they have no inbox of their own); ids of nobody in the business fail
at once.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Final

from sqlalchemy.ext.asyncio import AsyncConnection

from integrations.email import URL_FIELDS, EmailTemplate, TemplateError
from resolvers import outbox
from resolvers.selection import DirectoryFilter
from server.jobs.queue import SENDING, SKIPPED, JobError, enqueue
from server.jobs.recipients import MERGED, NOT_FOUND, unreachable
from server.jobs.registry import JobRun, Outcome, PendingItem
from server.jobs.selection import FILTER_KEY, expand_payload_filter, filter_payload

KIND: Final = "bulk_email"
__all__ = ["KIND", "MERGED", "NOT_FOUND", "BulkEmail", "enqueue_bulk_email", "handle"]


@dataclass(frozen=True)
class BulkEmail:
    """The job's payload: what staff wrote and why it is sent."""

    subject: str
    body: str
    purpose: str
    html_body: str | None = None

    def template(self) -> EmailTemplate:
        """Raises TemplateError for unknown merge fields."""
        return EmailTemplate.parse(self.subject, self.body, self.html_body)

    def to_payload(self) -> dict[str, Any]:
        return {
            "subject": self.subject,
            "body": self.body,
            "html_body": self.html_body,
            "purpose": self.purpose,
        }

    @classmethod
    def from_payload(cls, payload: dict[str, Any]) -> BulkEmail:
        try:
            found = cls(
                subject=str(payload["subject"]),
                body=str(payload["body"]),
                purpose=str(payload["purpose"]),
                html_body=None if payload.get("html_body") is None else str(payload["html_body"]),
            )
        except KeyError as error:
            raise JobError(f"The job is missing {error.args[0]!r}.", retry=False) from error
        if found.purpose not in outbox.PURPOSES:
            raise JobError(f"Unknown purpose {found.purpose!r}.", retry=False)
        return found


async def enqueue_bulk_email(
    conn: AsyncConnection,
    *,
    business_id: uuid.UUID,
    person_ids: Sequence[uuid.UUID] = (),
    email: BulkEmail,
    created_by_staff_id: uuid.UUID | None = None,
    selection: DirectoryFilter | None = None,
    raw_search: str | None = None,
) -> uuid.UUID:
    """Queue a bulk email in the caller's transaction, for `person_ids` or for everyone the
    directory filter `selection` selects (with the search as typed). Templates are checked
    first: TemplateError names the unknown fields, for the caller to answer as a UserError."""
    if email.purpose not in outbox.PURPOSES:
        raise ValueError(f"unknown purpose {email.purpose!r}")
    if selection is not None and person_ids:
        raise ValueError("select people by ids or by a filter, not both")
    email.template()
    payload = email.to_payload()
    if selection is not None:
        payload[FILTER_KEY] = filter_payload(selection, raw_search)
    return await enqueue(
        conn,
        business_id=business_id,
        kind=KIND,
        payload=payload,
        person_ids=person_ids,
        created_by_staff_id=created_by_staff_id,
    )


async def handle(run: JobRun) -> None:
    spec = BulkEmail.from_payload(run.payload)
    try:
        template = spec.template()
    except TemplateError as error:
        raise JobError(str(error), retry=False) from error
    links = run.services.links
    if links is None and (spec.purpose == outbox.MARKETING or template.fields & URL_FIELDS):
        raise JobError(
            "This email needs links (unsubscribe or set-password), and link signing is not "
            "configured (LINK_SIGNING_SECRET).",
            retry=False,
        )
    await expand_payload_filter(run)

    async def page(conn: AsyncConnection, items: list[PendingItem]) -> list[Outcome]:
        business = await outbox.business_name(conn, run.business_id)
        recipients = await outbox.load_recipients(conn, [item.person_id for item in items])
        refused = await unreachable(conn, items, recipients)
        emails: list[outbox.NewEmail] = []
        outcomes: list[Outcome] = list(refused.values())
        for item in items:
            recipient = recipients.get(item.person_id)
            if recipient is None or item.id in refused:
                continue
            content = outbox.compose(
                template,
                recipient,
                business_id=run.business_id,
                business=business,
                purpose=spec.purpose,
                links=links,
            )
            emails.append(
                outbox.NewEmail(
                    recipient, spec.purpose, content, run.created_by_staff_id, job_item_id=item.id
                )
            )
        written = await outbox.write_emails(conn, run.business_id, emails)
        for email, result in zip(emails, written, strict=True):
            assert email.job_item_id is not None
            if result.status == outbox.SKIPPED:
                outcomes.append(Outcome(email.job_item_id, SKIPPED, result.reason))
            else:
                outcomes.append(Outcome(email.job_item_id, SENDING))
        return outcomes

    await run.for_each_page(page)
