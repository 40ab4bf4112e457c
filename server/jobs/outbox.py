"""Sending the outbox: QUEUED email messages, claimed through `claim_outbox`, go out over SMTP.

Each message is handled in three steps so that no transaction is open during the SMTP call:
  1. in a transaction of its business: lock it, re-check consent for marketing, mark it SENDING
     (`attempts` + 1, a fresh lease in `next_attempt_at`), commit;
  2. send it;
  3. in a second transaction: SENT, QUEUED again for a later try (a transient refusal), or
     FAILED with the reason; the job item it belongs to, if any, is settled with it.

A message found SENDING with its lease run out was being sent by a worker that died: the
server may or may not have it, so it is reported FAILED (INTERRUPTED) and never sent again.
"""

from __future__ import annotations

import functools
import logging
import uuid
from dataclasses import dataclass
from typing import Final

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection

from integrations.email import build_message
from integrations.smtp import DeliveryError, MailSession
from resolvers.outbox import MARKETING, NO_CONSENT
from server.db import Database
from server.jobs.queue import DONE, INTERRUPTED, ITEM_FAILED, SKIPPED, backoff_seconds
from server.jobs.registry import Outcome, Services, settle

log = logging.getLogger(__name__)

SENT_MESSAGE: Final = "Sent."


@dataclass(frozen=True)
class OutboxConfig:
    max_attempts: int = 5
    # Longer than any one send can take (connect + MAIL + RCPT + DATA at the SMTP timeout).
    lease_s: float = 300.0
    backoff_base_s: float = 60.0
    backoff_cap_s: float = 3600.0


@dataclass(frozen=True)
class Prepared:
    """A message marked SENDING, with what the SMTP call needs."""

    id: uuid.UUID
    business_id: uuid.UUID
    attempt: int
    to_address: str
    to_name: str
    from_name: str
    subject: str
    text: str
    html: str | None
    job_item_id: uuid.UUID | None
    unsubscribe_url: str | None


_LOCK = text(
    """
    SELECT m.id, m.status, m.purpose, m.to_address, m.subject, m.body, m.html_body,
           m.attempts, m.job_item_id, m.customer_id, m.recipient_additional_user_id,
           m.next_attempt_at <= now() AS lease_over,
           coalesce(a.marketing_consent, c.marketing_consent, false) AS consent,
           coalesce(a.first_name || ' ' || a.last_name, c.first_name || ' ' || c.last_name, '')
               AS to_name,
           b.name AS business_name
    FROM messages m
    JOIN businesses b ON b.id = m.business_id
    LEFT JOIN customers c ON c.business_id = m.business_id AND c.id = m.customer_id
    LEFT JOIN additional_users a
        ON a.business_id = m.business_id AND a.id = m.recipient_additional_user_id
    WHERE m.business_id = :business_id AND m.id = :id AND m.channel = 'EMAIL'
    FOR UPDATE OF m
    """
)
_MARK_SENDING = text(
    """
    UPDATE messages SET status = 'SENDING', attempts = attempts + 1, status_reason = NULL,
        next_attempt_at = now() + make_interval(secs => :lease), updated_at = now()
    WHERE business_id = :business_id AND id = :id
    """
)
_SETTLE_MESSAGE = text(
    """
    UPDATE messages SET status = CAST(:status AS text), status_reason = CAST(:reason AS text),
        updated_at = now(),
        sent_at = CASE WHEN CAST(:status AS text) = 'SENT' THEN now() END,
        next_attempt_at = now() + make_interval(secs => :delay)
    WHERE business_id = :business_id AND id = :id AND status IN ('QUEUED', 'SENDING')
      AND (CAST(:attempt AS integer) IS NULL OR attempts = CAST(:attempt AS integer))
    RETURNING job_item_id
    """
)


async def _settle_message(
    conn: AsyncConnection,
    business_id: uuid.UUID,
    message_id: uuid.UUID,
    *,
    status: str,
    reason: str | None,
    item_status: str | None,
    attempt: int | None = None,
    delay_s: float = 0.0,
) -> None:
    """Move a message on; when it is final, settle its job item with the same reason."""
    job_item_id = (
        await conn.execute(
            _SETTLE_MESSAGE,
            {
                "status": status,
                "reason": reason,
                "delay": delay_s,
                "business_id": business_id,
                "id": message_id,
                "attempt": attempt,
            },
        )
    ).scalar_one_or_none()
    if job_item_id is not None and item_status is not None:
        outcome = Outcome(job_item_id, item_status, reason or SENT_MESSAGE)
        await settle(conn, business_id, [outcome])


async def _begin(
    conn: AsyncConnection,
    *,
    business_id: uuid.UUID,
    message_id: uuid.UUID,
    services: Services,
    config: OutboxConfig,
) -> Prepared | None:
    row = (await conn.execute(_LOCK, {"business_id": business_id, "id": message_id})).first()
    if row is None or row.status not in ("QUEUED", "SENDING"):
        return None
    if row.status == "SENDING":
        if row.lease_over:
            await _settle_message(
                conn,
                business_id,
                message_id,
                status="FAILED",
                reason=INTERRUPTED,
                item_status=ITEM_FAILED,
            )
        # Otherwise another worker is sending it right now.
        return None
    if row.purpose == MARKETING and not row.consent:
        await _settle_message(
            conn, business_id, message_id, status="SKIPPED", reason=NO_CONSENT, item_status=SKIPPED
        )
        return None
    if not row.to_address:
        await _settle_message(
            conn,
            business_id,
            message_id,
            status="FAILED",
            reason="No email address to send to.",
            item_status=ITEM_FAILED,
        )
        return None
    await conn.execute(
        _MARK_SENDING, {"lease": config.lease_s, "business_id": business_id, "id": message_id}
    )
    unsubscribe = None
    if row.purpose == MARKETING and services.links is not None:
        person = row.recipient_additional_user_id or row.customer_id
        unsubscribe = services.links.unsubscribe_url(business_id, person)
    return Prepared(
        id=message_id,
        business_id=business_id,
        attempt=row.attempts + 1,
        to_address=row.to_address,
        to_name=str(row.to_name).strip(),
        from_name=row.business_name,
        subject=row.subject or "",
        text=row.body,
        html=row.html_body,
        job_item_id=row.job_item_id,
        unsubscribe_url=unsubscribe,
    )


async def _record(
    conn: AsyncConnection,
    *,
    prepared: Prepared,
    error: DeliveryError | None,
    config: OutboxConfig,
) -> None:
    common = {"attempt": prepared.attempt}
    if error is None:
        await _settle_message(
            conn,
            prepared.business_id,
            prepared.id,
            status="SENT",
            reason=None,
            item_status=DONE,
            **common,
        )
    elif error.retryable and prepared.attempt < config.max_attempts:
        delay = backoff_seconds(prepared.attempt, config.backoff_base_s, config.backoff_cap_s)
        await _settle_message(
            conn,
            prepared.business_id,
            prepared.id,
            status="QUEUED",
            reason=f"Will try again: {error.reason}"[:500],
            item_status=None,
            delay_s=delay,
            **common,
        )
    else:
        reason = error.reason
        if error.retryable:
            reason = f"{reason} Gave up after {prepared.attempt} attempts."
        await _settle_message(
            conn,
            prepared.business_id,
            prepared.id,
            status="FAILED",
            reason=reason[:500],
            item_status=ITEM_FAILED,
            **common,
        )


async def deliver(
    db: Database,
    session: MailSession,
    business_id: uuid.UUID,
    message_id: uuid.UUID,
    *,
    services: Services,
    config: OutboxConfig,
) -> None:
    """Send one claimed message (or report it, skip it, or leave it to whoever holds it)."""
    prepared = await db.run_mutation(
        business_id,
        functools.partial(
            _begin,
            business_id=business_id,
            message_id=message_id,
            services=services,
            config=config,
        ),
    )
    if prepared is None:
        return
    email = build_message(
        message_id=prepared.id,
        from_address=services.mail_from,
        from_name=prepared.from_name,
        to_address=prepared.to_address,
        to_name=prepared.to_name,
        subject=prepared.subject,
        text=prepared.text,
        html_body=prepared.html,
        unsubscribe_url=prepared.unsubscribe_url,
    )
    error: DeliveryError | None = None
    try:
        await session.send(email, sender=services.mail_from, recipient=prepared.to_address)
    except DeliveryError as failure:
        error = failure
        # The server's reason may quote the address: it is kept on the message, logged at DEBUG.
        log.info("message %s not delivered (retryable: %s)", prepared.id, failure.retryable)
        log.debug("message %s not delivered: %s", prepared.id, failure.reason)
    await db.run_mutation(
        business_id, functools.partial(_record, prepared=prepared, error=error, config=config)
    )


async def release(db: Database, business_id: uuid.UUID, message_id: uuid.UUID) -> None:
    """Hand a claimed message that was not started back to the queue (a stopping worker)."""

    async def work(conn: AsyncConnection) -> None:
        await conn.execute(
            text(
                "UPDATE messages SET next_attempt_at = now() "
                "WHERE business_id = :business_id AND id = :id AND status = 'QUEUED'"
            ),
            {"business_id": business_id, "id": message_id},
        )

    await db.run_mutation(business_id, work)
