"""Job kinds and what a handler gets to work with.

A handler is `async def handler(run: JobRun) -> None`, registered under a kind name. It is run
outside any transaction and opens its own, through `run.for_each_page` (items) or `run.db`. It
must be safe to run again: a job whose worker died is claimed again, and a transient failure
re-runs it. Items already settled are not handed out again, so paging through items is.
The claim is a lease (`lease_s`): every page renews it; a handler that works longer than that
without pages calls `run.heartbeat()`.

Raising `JobError(retry=False)` fails the job at once; any other exception is retried with
backoff until the job's attempts run out, then the job fails with its error.
"""

from __future__ import annotations

import functools
import uuid
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection

from integrations.email import Links
from integrations.sms import LoggingSmsProvider, SmsProvider
from server.db import Database
from server.jobs.queue import RUNNING, SENDING

DEFAULT_PAGE_SIZE = 500


class LeaseLost(Exception):
    """Another worker has claimed the job since (this one was presumed dead): stop quietly."""


@dataclass(frozen=True)
class PendingItem:
    """An item handed to a handler, locked in the page's transaction."""

    id: uuid.UUID
    person_id: uuid.UUID
    position: int


@dataclass(frozen=True)
class Outcome:
    """What became of one item. `status` is SENDING (handed to someone who settles it later,
    e.g. the outbox), DONE, FAILED or SKIPPED; `message` says why, for staff."""

    item_id: uuid.UUID
    status: str
    message: str | None = None


@dataclass(frozen=True)
class Services:
    """What handlers and the outbox need besides the database."""

    mail_from: str = "no-reply@example.com"
    links: Links | None = None
    # Makes the text-message provider a job sends through (and closes when it is done); the
    # default only logs. Raises `SmsConfigError` when the configured provider cannot work.
    sms: Callable[[], SmsProvider] = LoggingSmsProvider


_CUSTOM_PLANS = text("SET LOCAL plan_cache_mode = force_custom_plan")
_NEXT_PAGE = text(
    """
    SELECT id, person_id, position FROM job_items
    WHERE business_id = :business_id AND job_id = :job_id AND status = 'PENDING'
      AND position > :after
    ORDER BY position
    LIMIT :size
    FOR UPDATE
    """
)
_EXTEND_LEASE = text(
    """
    UPDATE jobs SET run_after = now() + make_interval(secs => :lease), updated_at = now()
    WHERE business_id = :business_id AND id = :job_id AND status = :running
      AND attempts = :attempt
    """
)
_SETTLE = text(
    """
    UPDATE job_items AS i SET status = o.status, message = o.message, updated_at = now()
    FROM unnest(CAST(:ids AS uuid[]), CAST(:statuses AS text[]), CAST(:messages AS text[]))
         AS o(id, status, message)
    WHERE i.business_id = :business_id AND i.id = o.id AND i.status IN ('PENDING', 'SENDING')
    """
)


async def settle(
    conn: AsyncConnection, business_id: uuid.UUID, outcomes: Sequence[Outcome]
) -> None:
    """Record outcomes of open items in one statement (settled items are left as they are)."""
    if not outcomes:
        return
    await conn.execute(
        _SETTLE,
        {
            "business_id": business_id,
            "ids": [o.item_id for o in outcomes],
            "statuses": [o.status for o in outcomes],
            "messages": [o.message for o in outcomes],
        },
    )


async def mark_sending(db: Database, business_id: uuid.UUID, item_ids: Sequence[uuid.UUID]) -> None:
    """Commit that these items' side effects are about to start, before making an external
    call for them: an item still SENDING when its job is claimed again is reported as
    interrupted, never repeated."""
    statuses = [SENDING] * len(item_ids)

    async def work(conn: AsyncConnection) -> None:
        await conn.execute(
            text(
                """
                UPDATE job_items AS i SET status = o.status, updated_at = now()
                FROM unnest(CAST(:ids AS uuid[]), CAST(:statuses AS text[])) AS o(id, status)
                WHERE i.business_id = :business_id AND i.id = o.id AND i.status = 'PENDING'
                """
            ),
            {"business_id": business_id, "ids": list(item_ids), "statuses": statuses},
        )

    await db.run_mutation(business_id, work)


@dataclass
class JobRun:
    """One attempt at one job, as its handler sees it."""

    db: Database
    services: Services
    id: uuid.UUID
    business_id: uuid.UUID
    kind: str
    payload: dict[str, Any]
    attempt: int
    max_attempts: int
    created_by_staff_id: uuid.UUID | None
    lease_s: float = 120.0
    statement_timeout_ms: int = 60_000
    page_size: int = DEFAULT_PAGE_SIZE
    pages_done: int = field(default=0)

    async def extend_lease(self, conn: AsyncConnection) -> None:
        """Keep the claim alive (every page does); raises LeaseLost when it is gone."""
        result = await conn.execute(
            _EXTEND_LEASE,
            {
                "lease": self.lease_s,
                "business_id": self.business_id,
                "job_id": self.id,
                "running": RUNNING,
                "attempt": self.attempt,
            },
        )
        if result.rowcount != 1:
            raise LeaseLost(str(self.id))

    async def heartbeat(self) -> None:
        """For a handler that works outside `for_each_page` for longer than the lease: keep
        the claim alive (raises LeaseLost when another worker has taken the job over)."""
        await self.db.run_mutation(self.business_id, self.extend_lease)

    async def for_each_page(
        self,
        work: Callable[[AsyncConnection, list[PendingItem]], Awaitable[Sequence[Outcome]]],
        *,
        page_size: int | None = None,
    ) -> None:
        """Hand the PENDING items to `work` a page at a time, in selection order, each page in
        one transaction of the job's business with its items locked; the outcomes `work`
        returns are recorded in that transaction. Only a page is ever in memory, whatever the
        job's size; a page that fails is rolled back whole and its items stay PENDING."""
        size = page_size or self.page_size
        after = 0
        while True:
            step = functools.partial(self._page, work=work, after=after, size=size)
            items = await self.db.run_mutation(
                self.business_id, step, statement_timeout_ms=self.statement_timeout_ms
            )
            if not items:
                return
            self.pages_done += 1
            after = items[-1].position

    async def next_page(self, conn: AsyncConnection, *, after: int, size: int) -> list[PendingItem]:
        """Renew the lease and lock the next `size` PENDING items after position `after`, in
        the caller's transaction (for handlers that settle a page in more than one step)."""
        # The page statements are prepared once per pooled connection; after five runs
        # PostgreSQL may switch to a generic plan that cannot see the arrays' sizes or which
        # items are still pending, and a 50,000-item job went from 0.1 s to 20 s per page.
        await conn.execute(_CUSTOM_PLANS)
        await self.extend_lease(conn)
        rows = await conn.execute(
            _NEXT_PAGE,
            {"business_id": self.business_id, "job_id": self.id, "after": after, "size": size},
        )
        return [PendingItem(r.id, r.person_id, int(r.position)) for r in rows]

    async def _page(
        self,
        conn: AsyncConnection,
        *,
        work: Callable[[AsyncConnection, list[PendingItem]], Awaitable[Sequence[Outcome]]],
        after: int,
        size: int,
    ) -> list[PendingItem]:
        items = await self.next_page(conn, after=after, size=size)
        if items:
            await settle(conn, self.business_id, await work(conn, items))
        return items


Handler = Callable[[JobRun], Awaitable[None]]


class JobRegistry:
    """Job kinds by name. Features register their handlers in `server.jobs.default_registry`."""

    def __init__(self) -> None:
        self._kinds: dict[str, Handler] = {}

    def register(self, name: str, handler: Handler) -> None:
        if name in self._kinds:
            raise ValueError(f"job kind {name!r} is already registered")
        self._kinds[name] = handler

    def get(self, name: str) -> Handler | None:
        return self._kinds.get(name)

    def __contains__(self, name: object) -> bool:
        return name in self._kinds

    @property
    def names(self) -> list[str]:
        return sorted(self._kinds)
