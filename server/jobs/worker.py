"""The worker: claims due jobs and outbox messages across businesses and handles each one in a
transaction of its own business.

The worker is the only reader across businesses, and it reads only through `claim_jobs` and
`claim_outbox` (SECURITY DEFINER, `FOR UPDATE SKIP LOCKED`), which hand out `(business_id, id)`
pairs and start a lease on them. Any number of workers may run (in each web process's lifespan,
or as `python -m server worker`); they never take the same row, and a row whose worker died is
claimed again when its lease runs out.

Jobs: a claimed job's handler runs; an exception puts it back QUEUED after a backoff until its
attempts are used up, then it is FAILED with its error (a poison job does not loop). A job
claimed again after its worker died first reports its items left SENDING as interrupted.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import logging
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection

from integrations.email import SignedLinks
from integrations.sms import provider_from_settings
from integrations.smtp import MailSender, SmtpConfig, SmtpSender
from integrations.stripe_client import StripeGateway
from server.db import Database
from server.jobs import outbox
from server.jobs.queue import (
    FAILED,
    HANDLED,
    INTERRUPTED,
    NOT_PROCESSED,
    RUNNING,
    JobError,
    backoff_seconds,
)
from server.jobs.registry import JobRegistry, JobRun, LeaseLost, Services
from server.settings import Settings

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class WorkerConfig:
    """Tuning; the defaults suit production, tests shorten the waits."""

    poll_interval_s: float = 1.0
    job_lease_s: float = 120.0
    backoff_base_s: float = 10.0
    backoff_cap_s: float = 3600.0
    # Email claimed and sent per round: two transactions per business in it, whatever its size.
    outbox_batch: int = 100
    page_size: int = 500
    # Jobs raise the service role's 5 s statement timeout for their own transactions.
    statement_timeout_ms: int = 60_000
    outbox: outbox.OutboxConfig = field(default_factory=outbox.OutboxConfig)
    # How long a stopping worker lets the message or page in hand finish.
    stop_grace_s: float = 30.0


@dataclass(frozen=True)
class Periodic:
    """A chore the worker runs every `every_s` seconds beside jobs and email (e.g. the Stripe
    reconciler). It must find its own work across businesses the same way: through a SECURITY
    DEFINER claim function."""

    name: str
    every_s: float
    run: Callable[[], Awaitable[object]]


@dataclass(frozen=True)
class Claimed:
    business_id: uuid.UUID
    id: uuid.UUID


@dataclass(frozen=True)
class _Started:
    kind: str
    payload: dict[str, Any]
    attempt: int
    max_attempts: int
    created_by_staff_id: uuid.UUID | None


_LOAD_JOB = text(
    """
    SELECT kind, payload, status, attempts, max_attempts, created_by_staff_id FROM jobs
    WHERE business_id = :business_id AND id = :id FOR UPDATE
    """
)
_REPORT_INTERRUPTED = text(
    """
    UPDATE job_items AS i SET status = 'FAILED', message = :message, updated_at = now()
    WHERE i.business_id = :business_id AND i.job_id = :job_id AND i.status = 'SENDING'
      AND NOT EXISTS (SELECT 1 FROM messages m
                      WHERE m.business_id = i.business_id AND m.job_item_id = i.id)
    """
)
_FINISH = text(
    """
    UPDATE jobs SET status = :status, error = :error, finished_at = now(), updated_at = now()
    WHERE business_id = :business_id AND id = :id AND status = 'RUNNING'
      AND attempts = :attempt
    """
)
_RETRY = text(
    """
    UPDATE jobs SET status = 'QUEUED', error = :error, updated_at = now(),
        run_after = now() + make_interval(secs => :delay)
    WHERE business_id = :business_id AND id = :id AND status = 'RUNNING'
      AND attempts = :attempt
    """
)
_FAIL_PENDING = text(
    """
    UPDATE job_items SET status = 'FAILED', message = :message, updated_at = now()
    WHERE business_id = :business_id AND job_id = :job_id AND status = 'PENDING'
    """
)


async def _fail(
    conn: AsyncConnection, business_id: uuid.UUID, job_id: uuid.UUID, attempt: int, error: str
) -> None:
    finished = await conn.execute(
        _FINISH,
        {
            "status": FAILED,
            "error": error[:500],
            "business_id": business_id,
            "id": job_id,
            "attempt": attempt,
        },
    )
    if finished.rowcount == 1:
        await conn.execute(
            _FAIL_PENDING,
            {"message": NOT_PROCESSED, "business_id": business_id, "job_id": job_id},
        )


class Worker:
    """Claims and handles work; `run` loops until told to stop, `drain` (tests) until idle."""

    def __init__(
        self,
        db: Database,
        *,
        registry: JobRegistry | None = None,
        sender: MailSender | None = None,
        services: Services | None = None,
        config: WorkerConfig | None = None,
        periodic: tuple[Periodic, ...] = (),
    ) -> None:
        from server.jobs import default_registry

        self.db = db
        self.registry = registry if registry is not None else default_registry()
        self.sender = sender
        self.services = services or Services()
        self.config = config or WorkerConfig()
        self.periodic = periodic

    @classmethod
    def from_settings(cls, db: Database, settings: Settings, **overrides: Any) -> Worker:
        """A worker configured from the environment: SMTP when SMTP_HOST is set (otherwise
        email waits in the outbox), links signed with LINK_SIGNING_SECRET, texts through the
        provider SMS_PROVIDER names."""
        sender = (
            SmtpSender(
                SmtpConfig(
                    host=settings.smtp_host,
                    port=settings.smtp_port,
                    username=settings.smtp_username,
                    password=settings.smtp_password,
                )
            )
            if settings.smtp_host
            else None
        )
        links = (
            SignedLinks(settings.public_base_url, settings.link_signing_secret)
            if settings.link_signing_secret
            else None
        )
        options: dict[str, Any] = {
            "sender": sender,
            "services": Services(
                mail_from=settings.mail_from,
                links=links,
                sms=functools.partial(provider_from_settings, settings),
            ),
        }
        options.update(overrides)
        return cls(db, **options)

    async def _claim(self, function: str, n: int, lease_s: float) -> list[Claimed]:
        # No tenant here: this short transaction only calls the claim function, which is the
        # one place that sees every business.
        async with self.db.engine.connect() as conn, conn.begin():
            rows = await conn.execute(
                text(f"SELECT business_id, id FROM {function}(:n, make_interval(secs => :lease))"),
                {"n": n, "lease": lease_s},
            )
            return [Claimed(row.business_id, row.id) for row in rows]

    # Jobs

    async def run_jobs_once(self) -> int:
        """Claim one due job and handle it; returns how many were claimed (0 or 1)."""
        claimed = await self._claim("claim_jobs", 1, self.config.job_lease_s)
        for job in claimed:
            await self._handle_job(job)
        return len(claimed)

    async def _start(self, conn: AsyncConnection, job: Claimed) -> _Started | None:
        row = (
            await conn.execute(_LOAD_JOB, {"business_id": job.business_id, "id": job.id})
        ).first()
        if row is None or row.status != RUNNING:
            return None
        if row.attempts > row.max_attempts:
            await _fail(
                conn,
                job.business_id,
                job.id,
                row.attempts,
                f"Gave up after {row.max_attempts} attempts: the worker stopped while running "
                "this job each time.",
            )
            return None
        if self.registry.get(row.kind) is None:
            await _fail(
                conn, job.business_id, job.id, row.attempts, f"Unknown job kind {row.kind!r}."
            )
            return None
        if row.attempts > 1:
            await conn.execute(
                _REPORT_INTERRUPTED,
                {"message": INTERRUPTED, "business_id": job.business_id, "job_id": job.id},
            )
        return _Started(
            row.kind, dict(row.payload), row.attempts, row.max_attempts, row.created_by_staff_id
        )

    async def _handle_job(self, job: Claimed) -> None:
        started = await self.db.run_mutation(job.business_id, lambda c: self._start(c, job))
        if started is None:
            return
        handler = self.registry.get(started.kind)
        assert handler is not None
        run = JobRun(
            db=self.db,
            services=self.services,
            id=job.id,
            business_id=job.business_id,
            kind=started.kind,
            payload=started.payload,
            attempt=started.attempt,
            max_attempts=started.max_attempts,
            created_by_staff_id=started.created_by_staff_id,
            lease_s=self.config.job_lease_s,
            statement_timeout_ms=self.config.statement_timeout_ms,
            page_size=self.config.page_size,
        )
        try:
            await handler(run)
        except LeaseLost:
            log.warning("job %s was claimed by another worker; this run stops", job.id)
            return
        except Exception as error:
            await self._after_failure(job, started, error)
            return
        await self.db.run_mutation(
            job.business_id,
            lambda c: c.execute(
                _FINISH,
                {
                    "status": HANDLED,
                    "error": None,
                    "business_id": job.business_id,
                    "id": job.id,
                    "attempt": started.attempt,
                },
            ),
        )

    async def _after_failure(self, job: Claimed, started: _Started, error: Exception) -> None:
        if isinstance(error, JobError):
            message, retry = error.message, error.retry
            log.info("job %s (%s) failed: %s", job.id, started.kind, message)
        else:
            message, retry = f"The job failed unexpectedly ({type(error).__name__}).", True
            log.exception("job %s (%s) failed", job.id, started.kind, exc_info=error)
        if retry and started.attempt < started.max_attempts:
            delay = backoff_seconds(
                started.attempt, self.config.backoff_base_s, self.config.backoff_cap_s
            )

            async def requeue(conn: AsyncConnection) -> None:
                await conn.execute(
                    _RETRY,
                    {
                        "error": f"Attempt {started.attempt} failed, will try again: {message}"[
                            :500
                        ],
                        "delay": delay,
                        "business_id": job.business_id,
                        "id": job.id,
                        "attempt": started.attempt,
                    },
                )

            await self.db.run_mutation(job.business_id, requeue)
            return
        await self.db.run_mutation(
            job.business_id,
            lambda c: _fail(c, job.business_id, job.id, started.attempt, message),
        )

    # Outbox

    async def run_outbox_once(self, stop: asyncio.Event | None = None) -> int:
        """Claim a batch of due email and send it over one SMTP session, business by business
        (a transaction before and one after each business's share); returns how many were
        claimed. Without a sender nothing is claimed: email waits in the outbox."""
        if self.sender is None:
            return 0
        config = self.config.outbox
        claimed = await self._claim("claim_outbox", self.config.outbox_batch, config.lease_s)
        if not claimed:
            return 0
        by_business: dict[uuid.UUID, list[uuid.UUID]] = {}
        for message in claimed:
            by_business.setdefault(message.business_id, []).append(message.id)
        async with self.sender.session() as session:
            for business_id, message_ids in by_business.items():
                if stop is not None and stop.is_set():
                    await outbox.release(self.db, business_id, message_ids)
                    continue
                await outbox.deliver_batch(
                    self.db,
                    session,
                    business_id,
                    message_ids,
                    services=self.services,
                    config=config,
                    stop=stop,
                )
        return len(claimed)

    # Loops

    async def _loop(self, once: Callable[[], Awaitable[int]], stop: asyncio.Event) -> None:
        while not stop.is_set():
            try:
                found = await once()
            except Exception:
                log.exception("worker round failed; trying again shortly")
                found = 0
            if found == 0:
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(stop.wait(), self.config.poll_interval_s)

    async def _every(self, chore: Periodic, stop: asyncio.Event) -> None:
        while not stop.is_set():
            try:
                await chore.run()
            except Exception:
                log.exception("periodic %s failed", chore.name)
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), chore.every_s)

    async def run(self, stop: asyncio.Event) -> None:
        """Work until `stop` is set. Jobs and email have a loop each, so a long job does not
        hold up a password-reset email."""
        await asyncio.gather(
            self._loop(self.run_jobs_once, stop),
            self._loop(functools.partial(self.run_outbox_once, stop), stop),
            *(self._every(chore, stop) for chore in self.periodic),
        )


async def drain(worker: Worker, *, max_rounds: int = 10_000) -> int:
    """Run the worker until no work is due (tests): returns how many jobs and messages were
    claimed. Work waiting for a backoff is not due; configure `backoff_base_s=0` to run
    retries at once."""
    total = 0
    for _ in range(max_rounds):
        found = await worker.run_jobs_once() + await worker.run_outbox_once()
        if found == 0:
            return total
        total += found
    raise RuntimeError(f"work still due after {max_rounds} rounds")


RECONCILE_EVERY_S = 60.0


def reconciler_chores(db: Database, stripe: StripeGateway | None) -> tuple[Periodic, ...]:
    """Finish Stripe calls whose request died mid-way (never re-sending), once a minute."""
    if stripe is None or not stripe.configured:
        return ()

    async def reconcile() -> object:
        from server.reconciler import reconcile_once

        return await reconcile_once(db, stripe)

    return (Periodic("stripe-reconciler", RECONCILE_EVERY_S, reconcile),)


@contextlib.asynccontextmanager
async def background_worker(
    db: Database, settings: Settings, stripe: StripeGateway | None = None
) -> AsyncIterator[Worker | None]:
    """The worker as a background task for the app's lifespan (when WORKER_ENABLED), with the
    Stripe reconciler as a periodic chore when a gateway is given."""
    if not settings.worker_enabled:
        yield None
        return
    worker = Worker.from_settings(db, settings, periodic=reconciler_chores(db, stripe))
    if worker.sender is None:
        log.warning("SMTP_HOST is not set: email stays in the outbox until it is")
    stop = asyncio.Event()
    task = asyncio.create_task(worker.run(stop), name="job-worker")
    try:
        yield worker
    finally:
        stop.set()
        try:
            await asyncio.wait_for(task, worker.config.stop_grace_s)
        except TimeoutError:
            log.warning("worker did not stop within %.0f s; cancelled", worker.config.stop_grace_s)
        except Exception:
            log.exception("worker stopped with an error")


async def run_worker_process(settings: Settings) -> None:
    """`python -m server worker`: the worker on its own, until SIGINT or SIGTERM."""
    import signal

    from server.database_setup import SERVICE_ROLE, with_user
    from server.db import create_engine

    url = settings.app_database_url or with_user(settings.database_url, SERVICE_ROLE)
    db = Database(create_engine(url, pool_size=min(settings.pool_size, 4)))
    stripe = StripeGateway.from_settings(settings)
    worker = Worker.from_settings(db, settings, periodic=reconciler_chores(db, stripe))
    if worker.sender is None:
        log.warning("SMTP_HOST is not set: email stays in the outbox until it is")
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(signum, stop.set)
    try:
        await worker.run(stop)
    finally:
        await stripe.aclose()
        await db.engine.dispose()
