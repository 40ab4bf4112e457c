"""Work that leaves the request: the job queue, its worker and the email outbox.

- `enqueue` (in the caller's transaction) writes a job and its per-person items;
- kinds are handlers registered by name in `default_registry` (one line per feature);
- `Worker` claims due jobs and email across businesses only through the SECURITY DEFINER
  functions `claim_jobs` and `claim_outbox`, and handles each in its business's transaction;
- `background_worker` runs it in the app's lifespan, `python -m server worker` on its own;
- `drain` runs it until nothing is due (tests).
"""

from __future__ import annotations

from server.jobs import app_access, bulk_email, campaign_audiences, messages, people_lifecycle
from server.jobs.queue import JobError, add_items, enqueue
from server.jobs.registry import JobRegistry, JobRun, Outcome, PendingItem, Services
from server.jobs.worker import Worker, WorkerConfig, background_worker, drain


def default_registry() -> JobRegistry:
    """Every job kind the service knows."""
    registry = JobRegistry()
    registry.register(bulk_email.KIND, bulk_email.handle)
    registry.register(people_lifecycle.KIND, people_lifecycle.handle)
    registry.register(messages.IN_APP_KIND, messages.handle_in_app)
    registry.register(messages.SMS_KIND, messages.handle_sms)
    registry.register(app_access.KIND, app_access.handle)
    registry.register(campaign_audiences.KIND, campaign_audiences.handle)
    return registry


__all__ = [
    "JobError",
    "JobRegistry",
    "JobRun",
    "Outcome",
    "PendingItem",
    "Services",
    "Worker",
    "WorkerConfig",
    "add_items",
    "background_worker",
    "default_registry",
    "drain",
    "enqueue",
]
