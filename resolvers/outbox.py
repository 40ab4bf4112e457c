"""Writing email to the outbox, in the caller's transaction.

The outbox is the customer's communication log (`messages`): an email is a message row with
status QUEUED, which the worker sends after the caller commits (SENDING, then SENT or FAILED).
So a rolled-back request sends nothing, and every email sent is in the log.

The purpose rule: SERVICE email (receipts, password links) is always sent; MARKETING email is
skipped for people without marketing consent. A skipped email is still written, with status
SKIPPED and the reason, so the log and the job's results say why nobody was emailed. The worker
checks consent again just before sending (it may have been withdrawn meanwhile).
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Final, cast

from sqlalchemy import Table, insert, select
from sqlalchemy.ext.asyncio import AsyncConnection

from integrations.email import EmailTemplate, Links, Rendered, merge_values
from models import AdditionalUser, Business, Customer, Message

messages = cast(Table, Message.__table__)
customers = Customer.__table__
additional_users = AdditionalUser.__table__
businesses = Business.__table__

SERVICE: Final = "SERVICE"
MARKETING: Final = "MARKETING"
PURPOSES: Final = (SERVICE, MARKETING)

QUEUED: Final = "QUEUED"
SKIPPED: Final = "SKIPPED"

NO_CONSENT: Final = "Not sent: this person has not agreed to marketing email (or has opted out)."
NO_ADDRESS: Final = "Not sent: this person has no email address."


@dataclass(frozen=True)
class Recipient:
    """A customer or an additional user, as an email recipient. An additional user's messages
    belong to their customer's log, addressed to them."""

    person_id: uuid.UUID
    customer_id: uuid.UUID
    customer_name: str
    additional_user_id: uuid.UUID | None
    first_name: str
    last_name: str
    email: str | None
    marketing_consent: bool
    token_version: int
    merged: bool


def skip_reason(purpose: str, recipient: Recipient) -> str | None:
    """Why this email must not go to this person, or None to send it."""
    if purpose not in PURPOSES:
        raise ValueError(f"unknown purpose {purpose!r}")
    if not recipient.email:
        return NO_ADDRESS
    if purpose == MARKETING and not recipient.marketing_consent:
        return NO_CONSENT
    return None


async def load_recipients(
    conn: AsyncConnection, person_ids: Sequence[uuid.UUID]
) -> dict[uuid.UUID, Recipient]:
    """Customers and additional users by id (two statements, whatever the number); ids of
    neither, or of another business, are absent."""
    ids = list(set(person_ids))
    if not ids:
        return {}
    found: dict[uuid.UUID, Recipient] = {}
    c = customers.c
    for row in await conn.execute(
        select(
            c.id,
            c.first_name,
            c.last_name,
            c.email,
            c.marketing_consent,
            c.token_version,
            c.merged_into_id,
        ).where(c.id.in_(ids))
    ):
        found[row.id] = Recipient(
            person_id=row.id,
            customer_id=row.id,
            customer_name=f"{row.first_name} {row.last_name}".strip(),
            additional_user_id=None,
            first_name=row.first_name,
            last_name=row.last_name,
            email=row.email,
            marketing_consent=row.marketing_consent,
            token_version=row.token_version,
            merged=row.merged_into_id is not None,
        )
    rest = [i for i in ids if i not in found]
    if rest:
        a = additional_users.c
        buyer = customers.alias("buyer")
        for au in await conn.execute(
            select(
                a.id,
                a.customer_id,
                a.first_name,
                a.last_name,
                a.email,
                a.marketing_consent,
                a.token_version,
                buyer.c.first_name.label("buyer_first"),
                buyer.c.last_name.label("buyer_last"),
                buyer.c.merged_into_id,
            )
            .join(
                buyer,
                (buyer.c.business_id == a.business_id) & (buyer.c.id == a.customer_id),
            )
            .where(a.id.in_(rest))
        ):
            found[au.id] = Recipient(
                person_id=au.id,
                customer_id=au.customer_id,
                customer_name=f"{au.buyer_first} {au.buyer_last}".strip(),
                additional_user_id=au.id,
                first_name=au.first_name,
                last_name=au.last_name,
                email=au.email,
                marketing_consent=au.marketing_consent,
                token_version=au.token_version,
                merged=au.merged_into_id is not None,
            )
    return found


async def business_name(conn: AsyncConnection, business_id: uuid.UUID) -> str:
    name = (
        await conn.execute(select(businesses.c.name).where(businesses.c.id == business_id))
    ).scalar_one_or_none()
    return str(name or "")


def compose(
    template: EmailTemplate,
    recipient: Recipient,
    *,
    business_id: uuid.UUID,
    business: str,
    purpose: str,
    links: Links | None,
) -> Rendered:
    """The email for one recipient: the template with the whitelisted values merged in and,
    for marketing, an unsubscribe link."""
    unsubscribe = set_password = reset_password = verify_email = ""
    if links is not None:
        person, version = recipient.person_id, recipient.token_version
        if purpose == MARKETING or "unsubscribe_url" in template.fields:
            unsubscribe = links.unsubscribe_url(business_id, person)
        if "set_password_url" in template.fields:
            set_password = links.set_password_url(business_id, person, version)
        if "reset_password_url" in template.fields:
            reset_password = links.reset_password_url(business_id, person, version)
        if "verify_email_url" in template.fields and recipient.email:
            verify_email = links.verify_email_url(business_id, person, recipient.email)
    values = merge_values(
        first_name=recipient.first_name,
        last_name=recipient.last_name,
        business_name=business,
        unsubscribe_url=unsubscribe,
        set_password_url=set_password,
        reset_password_url=reset_password,
        verify_email_url=verify_email,
    )
    return template.render(values, unsubscribe_footer=purpose == MARKETING)


@dataclass(frozen=True)
class NewEmail:
    """One outbox message to write."""

    recipient: Recipient
    purpose: str
    content: Rendered
    created_by_staff_id: uuid.UUID | None = None
    job_item_id: uuid.UUID | None = None


@dataclass(frozen=True)
class Written:
    """What was written for one email: its message id, QUEUED or SKIPPED, and why skipped."""

    message_id: uuid.UUID
    status: str
    reason: str | None


async def write_emails(
    conn: AsyncConnection, business_id: uuid.UUID, emails: Sequence[NewEmail]
) -> list[Written]:
    """Write emails to the outbox in one statement, applying the purpose rule to each;
    results in input order."""
    if not emails:
        return []
    rows = []
    written: list[Written] = []
    for email in emails:
        reason = skip_reason(email.purpose, email.recipient)
        status = SKIPPED if reason else QUEUED
        # Ids made here rather than returned: the results pair with the inputs by construction.
        message_id = uuid.uuid4()
        written.append(Written(message_id, status, reason))
        r = email.recipient
        rows.append(
            {
                "id": message_id,
                "business_id": business_id,
                "customer_id": r.customer_id,
                "customer_name": r.customer_name[:201],
                "recipient_additional_user_id": r.additional_user_id,
                "created_by_staff_id": email.created_by_staff_id,
                "channel": "EMAIL",
                "purpose": email.purpose,
                "subject": email.content.subject,
                "body": email.content.text,
                "html_body": email.content.html,
                "status": status,
                "status_reason": reason,
                "to_address": r.email,
                "job_item_id": email.job_item_id,
            }
        )
    await conn.execute(insert(messages), rows)
    return written


async def queue_email(
    conn: AsyncConnection,
    *,
    business_id: uuid.UUID,
    person_id: uuid.UUID,
    template: EmailTemplate,
    purpose: str,
    links: Links | None,
    created_by_staff_id: uuid.UUID | None = None,
) -> Written | None:
    """One email to one person (a receipt, a password link), written in the caller's
    transaction; None when there is no such person in the business."""
    recipient = (await load_recipients(conn, [person_id])).get(person_id)
    if recipient is None:
        return None
    content = compose(
        template,
        recipient,
        business_id=business_id,
        business=await business_name(conn, business_id),
        purpose=purpose,
        links=links,
    )
    email = NewEmail(recipient, purpose, content, created_by_staff_id)
    (written,) = await write_emails(conn, business_id, [email])
    return written
