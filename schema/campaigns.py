"""Email campaign audiences as staff read them: the business's audiences and each one's members.
Staff only. (Creating audiences and adding people: `schema/campaign_mutations.py`.)"""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated, Any

import strawberry
from strawberry.types import Info

from resolvers import campaigns
from schema.errors import ApiError, ErrorCode
from schema.pagination import Connection, build_connection, page_request
from schema.people import Person, people_from_directory_rows
from schema.permissions import IsStaff, authenticated_viewer
from server.context import Context

PageArg = Annotated[
    int | None,
    strawberry.argument(description="Page size from the start (default 20, at most 100)."),
]
AfterArg = Annotated[str | None, strawberry.argument(description="Cursor to page forward from.")]
LastArg = Annotated[
    int | None, strawberry.argument(description="Page size from the end (at most 100).")
]
BeforeArg = Annotated[str | None, strawberry.argument(description="Cursor to page backward from.")]


def parse_audience_id(value: str, field: str) -> uuid.UUID:
    try:
        return uuid.UUID(str(value))
    except ValueError as error:
        raise ApiError(ErrorCode.INVALID_ARGUMENT, "This id is not a valid UUID.", field) from error


@strawberry.type(description="A person in an email campaign audience.")
class CampaignAudienceMember:
    id: strawberry.ID = strawberry.field(description="The membership's UUID.")
    added_at: datetime = strawberry.field(description="When the person was added.")
    person: Person = strawberry.field(description="The customer or additional user.")


@strawberry.type(description="A named list of people for email campaigns.")
class CampaignAudience:
    id: strawberry.ID = strawberry.field(description="The audience's UUID.")
    name: str = strawberry.field(description="Its name, unique in the business.")
    created_at: datetime = strawberry.field(description="When it was created.")
    member_count: int = strawberry.field(description="How many people are in it.")
    audience_id: strawberry.Private[uuid.UUID]

    @classmethod
    def from_row(cls, row: Any) -> CampaignAudience:
        return cls(
            id=strawberry.ID(str(row.id)),
            name=row.name,
            created_at=row.created_at,
            member_count=int(row.member_count),
            audience_id=row.id,
        )

    @strawberry.field(description="The people in the audience, in the order they were added.")
    async def members(
        self,
        info: Info[Context, Any],
        first: PageArg = None,
        after: AfterArg = None,
        last: LastArg = None,
        before: BeforeArg = None,
    ) -> Connection[CampaignAudienceMember]:
        viewer = authenticated_viewer(info)
        signature = campaigns.members_signature(self.audience_id)
        request = page_request(
            signature, first, after, last, before, key_parsers=(datetime.fromisoformat, uuid.UUID)
        )
        rows, total = await campaigns.member_page(
            info.context.reader, viewer.business_id, self.audience_id, request
        )
        people = await people_from_directory_rows(info, [row for row, _ in rows])
        nodes = [
            (
                CampaignAudienceMember(
                    id=strawberry.ID(str(row.id)), added_at=row.added_at, person=person
                ),
                keys,
            )
            for (row, keys), person in zip(rows, people, strict=True)
            if person is not None
        ]
        return build_connection(nodes, request, signature, total)


async def audience_or_none(
    info: Info[Context, Any], audience_id: uuid.UUID
) -> CampaignAudience | None:
    viewer = authenticated_viewer(info)
    row = await campaigns.audience_by_id(info.context.reader, viewer.business_id, audience_id)
    return CampaignAudience.from_row(row) if row is not None else None


@strawberry.type(description="Reads of email campaign audiences.")
class CampaignQueries:
    @strawberry.field(
        description="The business's email campaign audiences, by name. Staff only.",
        permission_classes=[IsStaff],
    )
    async def campaign_audiences(
        self,
        info: Info[Context, Any],
        first: PageArg = None,
        after: AfterArg = None,
        last: LastArg = None,
        before: BeforeArg = None,
    ) -> Connection[CampaignAudience]:
        viewer = authenticated_viewer(info)
        signature = campaigns.AUDIENCES_SIGNATURE
        request = page_request(signature, first, after, last, before, key_parsers=(str, uuid.UUID))
        rows, total = await campaigns.audience_page(
            info.context.reader, viewer.business_id, request
        )
        nodes = [(CampaignAudience.from_row(row), keys) for row, keys in rows]
        return build_connection(nodes, request, signature, total)

    @strawberry.field(
        description="One email campaign audience with its members; null when the business has "
        "no such audience. Staff only.",
        permission_classes=[IsStaff],
    )
    async def campaign_audience(
        self,
        info: Info[Context, Any],
        id: Annotated[strawberry.ID, strawberry.argument(description="The audience's UUID.")],
    ) -> CampaignAudience | None:
        return await audience_or_none(info, parse_audience_id(id, "id"))
