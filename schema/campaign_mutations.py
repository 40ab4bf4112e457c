"""Changes to email campaign audiences: create one, add a selection of people to it. Staff
only. Only people with marketing consent and an email address are added, each at most once;
ids are answered at once with a result per person, a filter runs as a background job."""

from __future__ import annotations

import uuid
from enum import Enum
from typing import Annotated, Any

import strawberry
from sqlalchemy.ext.asyncio import AsyncConnection
from strawberry.types import Info

from resolvers import campaigns
from resolvers.account_history import Actor
from resolvers.jobs import job_by_id
from resolvers.mutations import run
from schema.campaigns import CampaignAudience, audience_or_none, parse_audience_id
from schema.customer_mutations import SelectionArg, empty_selection, parse_selection
from schema.errors import ErrorCode, UserError, UserFacingError, user_error
from schema.jobs import Job
from schema.permissions import IsStaff, authenticated_viewer
from server.context import Context
from server.jobs import campaign_audiences as audience_job


@strawberry.enum(description="What became of one person added to an audience.")
class CampaignAudienceAddStatus(Enum):
    ADDED = strawberry.enum_value("ADDED", description="Added to the audience.")
    ALREADY_MEMBER = strawberry.enum_value(
        "ALREADY_MEMBER", description="Already in the audience; not added twice."
    )
    SKIPPED = strawberry.enum_value(
        "SKIPPED",
        description="Not added on purpose (no marketing consent, no email address, a "
        "participant, a merged customer); `message` says why.",
    )
    FAILED = strawberry.enum_value(
        "FAILED", description="Not added: no such person in the business (see `errors`)."
    )


@strawberry.type(description="The outcome for one selected person.")
class CampaignAudienceAddResult:
    id: strawberry.ID = strawberry.field(description="The person's id, as selected.")
    status: CampaignAudienceAddStatus = strawberry.field(description="What became of them.")
    message: str = strawberry.field(description="What happened, for a person to read.")
    errors: list[UserError] = strawberry.field(description="Why not, when they were not found.")


@strawberry.type(description="The result of creating an audience.")
class CampaignAudiencePayload:
    audience: CampaignAudience | None = strawberry.field(description="The new audience.")
    errors: list[UserError] = strawberry.field(description="Empty on success.")


@strawberry.type(
    description="The result of adding a selection to an audience: one result per selected "
    "person (repeated ids counted once) for ids, or the background job for a filter."
)
class CampaignAudienceAddPayload:
    audience: CampaignAudience | None = strawberry.field(
        description="The audience after the change (for a filter, before the job has run)."
    )
    results: list[CampaignAudienceAddResult] = strawberry.field(
        description="For a selection of ids: one per person, in selection order."
    )
    job: Job | None = strawberry.field(
        description="For a filter selection: the job adding people, with a result per person."
    )
    errors: list[UserError] = strawberry.field(
        description="Problems with the request as a whole (an unknown audience, an empty "
        "selection)."
    )


def _no_audience() -> UserFacingError:
    return UserFacingError(
        user_error(ErrorCode.NOT_FOUND, "audienceId", "No such audience in this business.")
    )


def _result(
    person_id: uuid.UUID, position: int, found: campaigns.AddResult
) -> CampaignAudienceAddResult:
    errors = []
    status = CampaignAudienceAddStatus.FAILED
    if found.status == campaigns.NOT_FOUND:
        errors = [user_error(ErrorCode.NOT_FOUND, f"selection.ids.{position}", found.message)]
    else:
        status = CampaignAudienceAddStatus(found.status)
    return CampaignAudienceAddResult(
        id=strawberry.ID(str(person_id)), status=status, message=found.message, errors=errors
    )


@strawberry.type(description="Changes to email campaign audiences.")
class CampaignMutations:
    @strawberry.mutation(
        description="Create an empty email campaign audience. Names are unique in the business "
        "(ignoring case and accents). Staff only.",
        permission_classes=[IsStaff],
    )
    async def campaign_audience_create(
        self,
        info: Info[Context, Any],
        name: Annotated[str, strawberry.argument(description="The name (1–200 characters).")],
    ) -> CampaignAudiencePayload:
        viewer = authenticated_viewer(info)
        cleaned, errors = campaigns.clean_audience_name(name, "name")
        if errors:
            return CampaignAudiencePayload(audience=None, errors=errors)

        async def work(conn: AsyncConnection, actor: Actor) -> uuid.UUID:
            return await campaigns.create_audience(
                conn, viewer.business_id, cleaned, viewer.subject_id
            )

        created, errors = await run(
            info.context, work, on_unique_violation=campaigns.duplicate_name("name")
        )
        audience = await audience_or_none(info, created) if created else None
        return CampaignAudiencePayload(audience=audience, errors=errors)

    @strawberry.mutation(
        description="Add the selected customers and additional users to an audience. Only "
        "people with marketing consent and an email address are added; the others are skipped "
        "with the reason. Nobody is added twice. Ids are answered at once, one result per "
        "person; a filter runs as a background job. Staff only.",
        permission_classes=[IsStaff],
    )
    async def campaign_audience_add(
        self,
        info: Info[Context, Any],
        audience_id: Annotated[
            strawberry.ID, strawberry.argument(description="The audience's UUID.")
        ],
        selection: SelectionArg,
    ) -> CampaignAudienceAddPayload:
        viewer = authenticated_viewer(info)
        audience = parse_audience_id(audience_id, "audienceId")
        selected = parse_selection(selection)
        errors = empty_selection(selected)
        if errors:
            return CampaignAudienceAddPayload(audience=None, results=[], job=None, errors=errors)
        ids = selected.ids

        async def work(
            conn: AsyncConnection, actor: Actor
        ) -> dict[uuid.UUID, campaigns.AddResult] | uuid.UUID:
            if not await campaigns.lock_audience(conn, audience):
                raise _no_audience()
            if ids is None:
                assert selected.filter is not None
                return await audience_job.enqueue_audience_add(
                    conn,
                    business_id=viewer.business_id,
                    audience_id=audience,
                    selection=selected.filter,
                    raw_search=selected.raw_search,
                    created_by_staff_id=viewer.subject_id,
                )
            return await campaigns.add_people(
                conn, viewer.business_id, audience, ids, viewer.subject_id
            )

        outcome, errors = await run(info.context, work)
        if outcome is None:
            return CampaignAudienceAddPayload(audience=None, results=[], job=None, errors=errors)
        job = None
        results = []
        if isinstance(outcome, uuid.UUID):
            view = await job_by_id(info.context.reader, viewer.business_id, outcome)
            job = Job.from_view(view) if view is not None else None
        else:
            assert ids is not None
            results = [_result(person, index, outcome[person]) for index, person in enumerate(ids)]
        return CampaignAudienceAddPayload(
            audience=await audience_or_none(info, audience), results=results, job=job, errors=[]
        )
