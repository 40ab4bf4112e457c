"""Sending the outbox: QUEUED email messages, claimed through `claim_outbox` many at a time,
go out over one SMTP session.

A claimed batch is handled per business in three steps, so that no transaction is open during
an SMTP call (ARCHITECTURE.md's rule for external calls):
  1. in one transaction of the business: lock the batch's messages, re-check consent for
     marketing, settle those that must not be sent, and mark the rest SENDING (`attempts` + 1,
     a fresh lease in `next_attempt_at`) in one statement; commit;
  2. send them one after another over the kept-open session;
  3. in a second transaction: every result in one statement (SENT, QUEUED again for a later
     try after a transient refusal, or FAILED with the reason), and the job items they belong
     to settled with them in one more, so a job's progress moves on batch by batch.

At most once: a message is sent only after its SENDING mark is committed, and only while that
mark's lease runs (a batch stops starting new messages well before its lease ends). A message
the worker had not started when it stopped (told to stop, cancelled, or a failure) goes back
to QUEUED, its attempt not counted. The message in flight at that moment stays SENDING: the
server may or may not have it. A message found SENDING with its lease run out was being sent
by a worker that died (or was never started by one that was killed outright): it is reported
FAILED (INTERRUPTED) and never sent again.
"""

from __future__ import annotations

import asyncio
import functools
import logging
import time
import uuid
from collections.abc import Sequence
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
NO_ADDRESS: Final = "No email address to send to."


@dataclass(frozen=True)
class OutboxConfig:
    max_attempts: int = 5
    # How long a batch's SENDING marks hold: longer than `send_window_s` plus the longest one
    # send can take (connect + MAIL + RCPT + DATA at the SMTP timeout).
    lease_s: float = 300.0
    # A batch starts no new message (after its first) once this long has passed since its
    # SENDING mark; the rest go back to the queue.
    send_window_s: float = 120.0
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
    unsubscribe_url: str | None


@dataclass(frozen=True)
class Settlement:
    """Where one message moves next: its status and reason, when it is due again (for a
    retry), and the attempt it settles (None: whatever attempt it is at)."""

    message_id: uuid.UUID
    status: str
    reason: str | None = None
    attempt: int | None = None
    delay_s: float = 0.0


_LOCK = text(
    """
    SELECT m.id, m.status, m.purpose, m.to_address, m.subject, m.body, m.html_body,
           m.attempts, m.customer_id, m.recipient_additional_user_id,
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
    WHERE m.business_id = :business_id AND m.id = ANY(CAST(:ids AS uuid[]))
      AND m.channel = 'EMAIL'
    ORDER BY m.id
    FOR UPDATE OF m
    """
)
_MARK_SENDING = text(
    """
    UPDATE messages SET status = 'SENDING', attempts = attempts + 1, status_reason = NULL,
        next_attempt_at = now() + make_interval(secs => :lease), updated_at = now()
    WHERE business_id = :business_id AND id = ANY(CAST(:ids AS uuid[]))
    """
)
_SETTLE_MESSAGES = text(
    """
    UPDATE messages AS m SET status = o.status, status_reason = o.reason, updated_at = now(),
        sent_at = CASE WHEN o.status = 'SENT' THEN now() END,
        next_attempt_at = now() + make_interval(secs => o.delay)
    FROM unnest(CAST(:ids AS uuid[]), CAST(:statuses AS text[]), CAST(:reasons AS text[]),
                CAST(:delays AS float8[]), CAST(:attempts AS integer[]))
         AS o(id, status, reason, delay, attempt)
    WHERE m.business_id = :business_id AND m.id = o.id AND m.status IN ('QUEUED', 'SENDING')
      AND (o.attempt IS NULL OR m.attempts = o.attempt)
    RETURNING m.job_item_id, m.status, m.status_reason
    """
)
# A message marked SENDING but never started: back to the queue, due now, the attempt it was
# marked for not counted.
_RELEASE = text(
    """
    UPDATE messages AS m SET status = 'QUEUED', attempts = m.attempts - 1,
        next_attempt_at = now(), updated_at = now()
    FROM unnest(CAST(:ids AS uuid[]), CAST(:attempts AS integer[])) AS o(id, attempt)
    WHERE m.business_id = :business_id AND m.id = o.id AND m.status = 'SENDING'
      AND m.attempts = o.attempt
    """
)
# A final message status and the status its job item takes with it.
_ITEM_STATUS: Final = {"SENT": DONE, "FAILED": ITEM_FAILED, "SKIPPED": SKIPPED}


async def settle_messages(
    conn: AsyncConnection, business_id: uuid.UUID, settlements: Sequence[Settlement]
) -> None:
    """Move messages on in one statement; the job items of those that are final are settled
    with the same reason in one more."""
    if not settlements:
        return
    rows = await conn.execute(
        _SETTLE_MESSAGES,
        {
            "business_id": business_id,
            "ids": [s.message_id for s in settlements],
            "statuses": [s.status for s in settlements],
            "reasons": [s.reason for s in settlements],
            "delays": [s.delay_s for s in settlements],
            "attempts": [s.attempt for s in settlements],
        },
    )
    outcomes = [
        Outcome(row.job_item_id, _ITEM_STATUS[row.status], row.status_reason or SENT_MESSAGE)
        for row in rows
        if row.job_item_id is not None and row.status in _ITEM_STATUS
    ]
    await settle(conn, business_id, outcomes)


async def _begin(
    conn: AsyncConnection,
    *,
    business_id: uuid.UUID,
    message_ids: Sequence[uuid.UUID],
    services: Services,
    config: OutboxConfig,
) -> list[Prepared]:
    """Step 1 for one business's share of a batch: the messages to send, marked SENDING."""
    rows = (await conn.execute(_LOCK, {"business_id": business_id, "ids": list(message_ids)})).all()
    settled: list[Settlement] = []
    prepared: list[Prepared] = []
    for row in rows:
        if row.status == "SENDING":
            # Unless its lease is over, another worker is sending it right now.
            if row.lease_over:
                settled.append(Settlement(row.id, "FAILED", INTERRUPTED))
        elif row.status != "QUEUED":
            continue
        elif row.purpose == MARKETING and not row.consent:
            settled.append(Settlement(row.id, "SKIPPED", NO_CONSENT))
        elif not row.to_address:
            settled.append(Settlement(row.id, "FAILED", NO_ADDRESS))
        else:
            unsubscribe = None
            if row.purpose == MARKETING and services.links is not None:
                person = row.recipient_additional_user_id or row.customer_id
                unsubscribe = services.links.unsubscribe_url(business_id, person)
            prepared.append(
                Prepared(
                    id=row.id,
                    business_id=business_id,
                    attempt=row.attempts + 1,
                    to_address=row.to_address,
                    to_name=str(row.to_name).strip(),
                    from_name=row.business_name,
                    subject=row.subject or "",
                    text=row.body,
                    html=row.html_body,
                    unsubscribe_url=unsubscribe,
                )
            )
    await settle_messages(conn, business_id, settled)
    if prepared:
        await conn.execute(
            _MARK_SENDING,
            {"lease": config.lease_s, "business_id": business_id, "ids": [p.id for p in prepared]},
        )
    # Sent in the order they were claimed (due time, fairly across businesses).
    order = {message_id: index for index, message_id in enumerate(message_ids)}
    return sorted(prepared, key=lambda p: order[p.id])


def _result(prepared: Prepared, error: DeliveryError | None, config: OutboxConfig) -> Settlement:
    """Step 3's record of one send."""
    if error is None:
        return Settlement(prepared.id, "SENT", attempt=prepared.attempt)
    if error.retryable and prepared.attempt < config.max_attempts:
        delay = backoff_seconds(prepared.attempt, config.backoff_base_s, config.backoff_cap_s)
        reason = f"Will try again: {error.reason}"[:500]
        return Settlement(prepared.id, "QUEUED", reason, prepared.attempt, delay)
    reason = error.reason
    if error.retryable:
        reason = f"{reason} Gave up after {prepared.attempt} attempts."
    return Settlement(prepared.id, "FAILED", reason[:500], prepared.attempt)


async def _send(
    session: MailSession, prepared: Prepared, services: Services
) -> DeliveryError | None:
    """Step 2 for one message: None when the server took it."""
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
    try:
        await session.send(email, sender=services.mail_from, recipient=prepared.to_address)
    except DeliveryError as failure:
        # The server's reason may quote the address: it is kept on the message, logged at DEBUG.
        log.info("message %s not delivered (retryable: %s)", prepared.id, failure.retryable)
        log.debug("message %s not delivered: %s", prepared.id, failure.reason)
        return failure
    return None


async def _finish(
    conn: AsyncConnection,
    *,
    business_id: uuid.UUID,
    results: Sequence[Settlement],
    unstarted: Sequence[Prepared],
) -> None:
    """Step 3: record what was sent and hand back what was not started."""
    await settle_messages(conn, business_id, results)
    if unstarted:
        await conn.execute(
            _RELEASE,
            {
                "business_id": business_id,
                "ids": [p.id for p in unstarted],
                "attempts": [p.attempt for p in unstarted],
            },
        )


async def deliver_batch(
    db: Database,
    session: MailSession,
    business_id: uuid.UUID,
    message_ids: Sequence[uuid.UUID],
    *,
    services: Services,
    config: OutboxConfig,
    stop: asyncio.Event | None = None,
) -> None:
    """Send one business's share of a claimed batch over `session` (or report, skip, or leave
    to whoever holds them the messages that must not be sent now)."""
    batch = await db.run_mutation(
        business_id,
        functools.partial(
            _begin,
            business_id=business_id,
            message_ids=message_ids,
            services=services,
            config=config,
        ),
    )
    window_ends = time.monotonic() + config.send_window_s
    results: list[Settlement] = []
    started = 0
    try:
        for prepared in batch:
            if stop is not None and stop.is_set():
                break
            if started and time.monotonic() > window_ends:
                break
            started += 1
            error = await _send(session, prepared, services)
            results.append(_result(prepared, error, config))
    finally:
        # However the loop ended: a message started without a result (cancelled or failed
        # mid-send) stays SENDING; the ones not started go back to the queue. Shielded, so a
        # second cancellation cannot lose the record of what was sent.
        finish = functools.partial(
            _finish, business_id=business_id, results=results, unstarted=batch[started:]
        )
        await asyncio.shield(db.run_mutation(business_id, finish))


async def release(db: Database, business_id: uuid.UUID, message_ids: Sequence[uuid.UUID]) -> None:
    """Hand claimed messages that were not started back to the queue (a stopping worker)."""

    async def work(conn: AsyncConnection) -> None:
        await conn.execute(
            text(
                "UPDATE messages SET next_attempt_at = now() WHERE business_id = :business_id "
                "AND id = ANY(CAST(:ids AS uuid[])) AND status = 'QUEUED'"
            ),
            {"business_id": business_id, "ids": list(message_ids)},
        )

    await db.run_mutation(business_id, work)
