"""Background jobs as staff see them: status, progress and a result per person."""

from __future__ import annotations

import uuid
from datetime import datetime
from enum import Enum
from typing import Annotated, Any

import strawberry
from strawberry.types import Info

from resolvers.jobs import JobView, item_page, items_signature, job_by_id
from schema.errors import ApiError, ErrorCode
from schema.pagination import Connection, build_connection, page_request
from schema.permissions import IsStaff, authenticated_viewer
from server.context import Context


@strawberry.enum(description="Where a background job is.")
class JobStatus(Enum):
    QUEUED = strawberry.enum_value(
        "QUEUED",
        description="Waiting to start, or to be tried again after a failure (see `error`).",
    )
    RUNNING = strawberry.enum_value(
        "RUNNING", description="Being worked on, or waiting for the last results (e.g. emails)."
    )
    COMPLETED = strawberry.enum_value(
        "COMPLETED",
        description="Every person has a result; some may have failed or been skipped.",
    )
    FAILED = strawberry.enum_value(
        "FAILED",
        description="The job itself failed (see `error`); people not yet reached were not "
        "processed.",
    )


@strawberry.enum(description="Where one person's part of a job is.")
class JobItemStatus(Enum):
    PENDING = strawberry.enum_value("PENDING", description="Not handled yet.")
    SENDING = strawberry.enum_value(
        "SENDING", description="Under way: e.g. the email is waiting to be sent or being sent."
    )
    DONE = strawberry.enum_value("DONE", description="Done: e.g. the email was sent.")
    FAILED = strawberry.enum_value("FAILED", description="Failed; `message` says why.")
    SKIPPED = strawberry.enum_value(
        "SKIPPED",
        description="Deliberately not done; `message` says why (e.g. no marketing consent).",
    )


@strawberry.type(description="How far a job has got, counted in people.")
class JobProgress:
    total: int = strawberry.field(description="People in the job.")
    pending: int = strawberry.field(
        description="People without a result yet (not handled, or under way)."
    )
    done: int = strawberry.field(description="People for whom it was done.")
    failed: int = strawberry.field(description="People for whom it failed.")
    skipped: int = strawberry.field(description="People deliberately skipped.")


@strawberry.type(description="The result of a job for one person.")
class JobItemResult:
    person_id: strawberry.ID = strawberry.field(
        description="The customer's or additional user's UUID (the person may since have been "
        "deleted)."
    )
    status: JobItemStatus = strawberry.field(description="Where this person's part is.")
    message: str | None = strawberry.field(
        description="Why it failed or was skipped, or what was done, for a person to read."
    )


@strawberry.type(
    description="Work that runs in the background for a selection of people (bulk email, "
    "bulk archive, exports)."
)
class Job:
    id: strawberry.ID = strawberry.field(description="The job's UUID.")
    kind: str = strawberry.field(description="What the job does, e.g. `bulk_email`.")
    status: JobStatus = strawberry.field(description="Where the job is.")
    progress: JobProgress = strawberry.field(description="Counts of people by result.")
    created_at: datetime = strawberry.field(description="When the job was requested.")
    finished_at: datetime | None = strawberry.field(
        description="When the job completed or failed; null while it is queued or running."
    )
    error: str | None = strawberry.field(
        description="Why the job failed, or why its last attempt failed when it will be tried "
        "again; null otherwise."
    )
    job_id: strawberry.Private[uuid.UUID]

    @classmethod
    def from_view(cls, view: JobView) -> Job:
        return cls(
            id=strawberry.ID(str(view.id)),
            kind=view.kind,
            status=JobStatus(view.status),
            progress=JobProgress(
                total=view.total,
                pending=view.pending,
                done=view.done,
                failed=view.failed,
                skipped=view.skipped,
            ),
            created_at=view.created_at,
            finished_at=view.finished_at,
            error=view.error,
            job_id=view.id,
        )

    @strawberry.field(description="The result per person, in the order they were selected.")
    async def items(
        self,
        info: Info[Context, Any],
        status: Annotated[
            JobItemStatus | None,
            strawberry.argument(description="Only results with this status."),
        ] = None,
        first: Annotated[
            int | None,
            strawberry.argument(description="Page size from the start (default 20, at most 100)."),
        ] = None,
        after: Annotated[
            str | None, strawberry.argument(description="Cursor to page forward from.")
        ] = None,
        last: Annotated[
            int | None, strawberry.argument(description="Page size from the end (at most 100).")
        ] = None,
        before: Annotated[
            str | None, strawberry.argument(description="Cursor to page backward from.")
        ] = None,
    ) -> Connection[JobItemResult]:
        viewer = authenticated_viewer(info)
        status_name = status.name if status is not None else None
        signature = items_signature(self.job_id, status_name)
        request = page_request(signature, first, after, last, before, key_parsers=(int,))
        rows, total = await item_page(
            info.context.reader, viewer.business_id, self.job_id, status_name, request
        )
        nodes = [
            (
                JobItemResult(
                    person_id=strawberry.ID(str(row.person_id)),
                    status=JobItemStatus(row.status),
                    message=row.message,
                ),
                keys,
            )
            for row, keys in rows
        ]
        return build_connection(nodes, request, signature, total)


def _job_id(value: str) -> uuid.UUID:
    try:
        return uuid.UUID(str(value))
    except ValueError as error:
        raise ApiError(ErrorCode.INVALID_ARGUMENT, "This id is not a valid UUID.", "id") from error


@strawberry.type(description="Reads of background jobs.")
class JobQueries:
    @strawberry.field(
        description="One background job of the viewer's business, with its progress and "
        "results; null when the business has no such job. Staff only.",
        permission_classes=[IsStaff],
    )
    async def job(
        self,
        info: Info[Context, Any],
        id: Annotated[strawberry.ID, strawberry.argument(description="The job's UUID.")],
    ) -> Job | None:
        viewer = authenticated_viewer(info)
        view = await job_by_id(info.context.reader, viewer.business_id, _job_id(id))
        return Job.from_view(view) if view is not None else None
