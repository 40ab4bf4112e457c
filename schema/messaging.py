"""Bulk actions that reach people: email, in-app messages and texts over a selection, and
member-portal access. Staff only.

Every message is a background job with a result per person (even for a handful of ids: sending
leaves the request), and every message sent or skipped is kept in the customer's communication
log. Portal access for ids is changed at once, one result per person; for a filter it is a job.
"""

from __future__ import annotations

import functools
import uuid
from enum import Enum
from typing import Annotated, Any

import strawberry
from sqlalchemy.ext.asyncio import AsyncConnection
from strawberry.types import Info

from integrations.email import (
    STAFF_MERGE_FIELDS,
    SUBJECT_MAX,
    URL_FIELDS,
    Template,
    TemplateError,
)
from resolvers import account_emails, outbox
from resolvers.account_history import Actor
from resolvers.app_access import set_app_access
from resolvers.jobs import job_by_id
from resolvers.mutations import run
from schema.customer_mutations import (
    BulkActionPayload,
    SelectionArg,
    empty_selection,
    parse_selection,
    selection_action,
)
from schema.errors import ErrorCode, UserError, user_error
from schema.jobs import Job
from schema.permissions import IsStaff
from schema.profile import MessagePurpose
from server.context import Context
from server.jobs import app_access as app_access_job
from server.jobs import messages
from server.jobs.bulk_email import BulkEmail, enqueue_bulk_email

EMAIL_BODY_MAX = 100_000


@strawberry.enum(
    description="How `peopleMessage` reaches people (email goes through `peopleEmail`)."
)
class DirectMessageChannel(Enum):
    IN_APP = strawberry.enum_value(
        "IN_APP", description="An in-app message the person reads in the member portal."
    )
    SMS = strawberry.enum_value("SMS", description="A text message to the person's mobile.")


@strawberry.type(description="The background job that sends a message to a selection.")
class BulkMessagePayload:
    job: Job | None = strawberry.field(
        description="The job sending the messages: progress and a result per person (sent, "
        "failed or skipped, with the reason). Null when the request was refused."
    )
    errors: list[UserError] = strawberry.field(description="Empty on success.")


def _template_errors(source: str, field: str, limit: int, label: str) -> list[UserError]:
    if not source.strip():
        return [user_error(ErrorCode.REQUIRED, field, f"Write the {label}.")]
    if len(source) > limit:
        message = f"The {label} is limited to {limit:,} characters."
        return [user_error(ErrorCode.TOO_LONG, field, message)]
    try:
        Template.parse(source, STAFF_MERGE_FIELDS)
    except TemplateError as error:
        return [user_error(ErrorCode.INVALID, field, str(error))]
    return []


def _link_errors(
    info: Info[Context, Any], sources: dict[str, str], purpose: str, *, email: bool
) -> list[UserError]:
    """Links in messages are signed: without a signing secret, refuse what needs one."""
    if account_emails.links_for(info.context.settings) is not None:
        return []
    errors = []
    for field, source in sources.items():
        if Template.parse(source).fields & URL_FIELDS:
            errors.append(
                user_error(
                    ErrorCode.INVALID,
                    field,
                    "Links cannot be signed on this server (LINK_SIGNING_SECRET): remove "
                    "{unsubscribe_url} and {set_password_url}.",
                )
            )
    if email and purpose == outbox.MARKETING and not errors:
        errors.append(
            user_error(
                ErrorCode.INVALID,
                "purpose",
                "Marketing email carries an unsubscribe link, and links cannot be signed on "
                "this server (LINK_SIGNING_SECRET).",
            )
        )
    return errors


async def _queue(info: Info[Context, Any], enqueue: Any) -> BulkMessagePayload:
    """Run `enqueue(conn, business_id, staff_id)` as the mutation; answer with its job."""
    viewer = info.context.viewer
    assert viewer is not None

    async def work(conn: AsyncConnection, actor: Actor) -> uuid.UUID:
        return uuid.UUID(str(await enqueue(conn, viewer.business_id, viewer.subject_id)))

    job_id, errors = await run(info.context, work)
    view = await job_by_id(info.context.reader, viewer.business_id, job_id) if job_id else None
    return BulkMessagePayload(job=Job.from_view(view) if view is not None else None, errors=errors)


PurposeArg = Annotated[
    MessagePurpose,
    strawberry.argument(
        description="SERVICE is always sent; MARKETING is skipped (with the reason recorded) "
        "for people who have not agreed to marketing."
    ),
]


@strawberry.type(description="Messages and portal access for a selection of people.")
class MessagingMutations:
    @strawberry.mutation(
        description="Email each selected customer and additional user, as a background job with "
        "a result per person. Subject and body may use the merge fields {first_name}, "
        "{last_name}, {full_name}, {business_name}, {unsubscribe_url} and {set_password_url}; "
        "`{{` and `}}` are literal braces. Participants are skipped (they have no inbox of "
        "their own). Each person is emailed at most once per job, and every email is kept in "
        "their customer's communication log. Staff only.",
        permission_classes=[IsStaff],
    )
    async def people_email(
        self,
        info: Info[Context, Any],
        selection: SelectionArg,
        subject: Annotated[
            str, strawberry.argument(description=f"Subject line (at most {SUBJECT_MAX} chars).")
        ],
        body: Annotated[
            str,
            strawberry.argument(
                description=f"Plain-text body (at most {EMAIL_BODY_MAX:,} characters); the HTML "
                "part is made from it."
            ),
        ],
        purpose: PurposeArg,
    ) -> BulkMessagePayload:
        selected = parse_selection(selection)
        errors = empty_selection(selected)
        errors += _template_errors(subject, "subject", SUBJECT_MAX, "subject")
        errors += _template_errors(body, "body", EMAIL_BODY_MAX, "body")
        if not errors:
            sources = {"subject": subject, "body": body}
            errors += _link_errors(info, sources, purpose.name, email=True)
        if errors:
            return BulkMessagePayload(job=None, errors=errors)
        email = BulkEmail(subject=subject, body=body, purpose=purpose.name)

        async def enqueue(
            conn: AsyncConnection, business_id: uuid.UUID, staff_id: uuid.UUID
        ) -> uuid.UUID:
            return await enqueue_bulk_email(
                conn,
                business_id=business_id,
                person_ids=selected.ids or (),
                email=email,
                created_by_staff_id=staff_id,
                selection=selected.filter,
                raw_search=selected.raw_search,
            )

        return await _queue(info, enqueue)

    @strawberry.mutation(
        description="Send an in-app message or a text message to each selected customer and "
        "additional user, as a background job with a result per person. The body may use the "
        "same merge fields as `peopleEmail`. Texts go to the person's mobile (people without "
        "one are skipped, with the reason). Each person gets it at most once per job, and "
        "every message is kept in their customer's communication log. Staff only.",
        permission_classes=[IsStaff],
    )
    async def people_message(
        self,
        info: Info[Context, Any],
        selection: SelectionArg,
        body: Annotated[
            str,
            strawberry.argument(
                description=f"The text (in-app: at most {messages.MAX_BODY[messages.IN_APP]:,} "
                f"characters; SMS: at most {messages.MAX_BODY[messages.SMS]:,})."
            ),
        ],
        channel: Annotated[DirectMessageChannel, strawberry.argument(description="How.")],
        purpose: PurposeArg,
    ) -> BulkMessagePayload:
        selected = parse_selection(selection)
        errors = empty_selection(selected)
        errors += _template_errors(body, "body", messages.MAX_BODY[channel.name], "message")
        if not errors:
            errors += _link_errors(info, {"body": body}, purpose.name, email=False)
        if errors:
            return BulkMessagePayload(job=None, errors=errors)
        message = messages.DirectMessage(channel=channel.name, body=body, purpose=purpose.name)

        async def enqueue(
            conn: AsyncConnection, business_id: uuid.UUID, staff_id: uuid.UUID
        ) -> uuid.UUID:
            return await messages.enqueue_message(
                conn,
                business_id=business_id,
                message=message,
                person_ids=selected.ids or (),
                selection=selected.filter,
                raw_search=selected.raw_search,
                created_by_staff_id=staff_id,
            )

        return await _queue(info, enqueue)

    @strawberry.mutation(
        description="Disable or re-enable member-portal access for each selected customer and "
        "additional user. Disabling signs them out everywhere at once (tokens issued before "
        "stop working) and they cannot log in; re-enabling lets them log in again. Each change "
        "is kept in account history. Ids are answered at once with one result per person; a "
        "filter runs as a background job. Staff only.",
        permission_classes=[IsStaff],
    )
    async def people_set_app_access(
        self,
        info: Info[Context, Any],
        selection: SelectionArg,
        enabled: Annotated[
            bool, strawberry.argument(description="True to allow portal login, false to stop it.")
        ],
    ) -> BulkActionPayload:
        async def apply(
            conn: AsyncConnection,
            actor: Actor,
            business_id: uuid.UUID,
            person_id: uuid.UUID,
            field: str,
        ) -> None:
            await set_app_access(conn, actor, business_id, person_id, enabled, field)

        enqueue = functools.partial(app_access_job.enqueue_app_access, enabled=enabled)
        return await selection_action(info, selection, apply, enqueue)
