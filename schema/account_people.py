"""Mutations on the people of a customer's account: add and edit additional users and
participants. Removing either is `personDelete`. Staff only."""

from __future__ import annotations

import uuid
from datetime import date
from typing import Any

import strawberry
from sqlalchemy.ext.asyncio import AsyncConnection
from strawberry.types import Info

from resolvers import account_emails, account_people
from resolvers.account_history import Actor
from resolvers.account_people import PersonDetails
from resolvers.customer_contact import duplicate_email
from resolvers.mutations import business_country, run
from schema.errors import ApiError, ErrorCode, UserError, user_error
from schema.people import AdditionalUser, Participant, _customer_by_id
from schema.permissions import IsStaff
from server.context import Context


def _id(value: str, field: str) -> uuid.UUID:
    try:
        return uuid.UUID(str(value))
    except ValueError as error:
        raise ApiError(ErrorCode.INVALID_ARGUMENT, "This id is not a valid UUID.", field) from error


@strawberry.input(
    description="A new additional user: someone with their own login who acts "
    "for the customer's account (sees everything but payment methods)."
)
class AdditionalUserAddInput:
    customer_id: strawberry.ID = strawberry.field(description="The account they act for.")
    first_name: str = strawberry.field(description="First name.")
    last_name: str = strawberry.field(description="Last name.")
    email: str = strawberry.field(
        description="Their login email: unique in the business across customers and "
        "additional users. They are emailed a single-use link to set their password."
    )
    mobile: str | None = strawberry.field(default=None, description="Mobile with country code.")


@strawberry.input(description="Changes to an additional user; null keeps a value.")
class AdditionalUserUpdateInput:
    id: strawberry.ID = strawberry.field(description="The additional user's id.")
    version: int = strawberry.field(description="The `version` the form was opened with.")
    first_name: str | None = strawberry.field(default=None, description="New first name.")
    last_name: str | None = strawberry.field(default=None, description="New last name.")
    email: str | None = strawberry.field(default=None, description="New login email.")
    mobile: str | None = strawberry.field(
        default=None, description="New mobile; an empty string removes it."
    )


@strawberry.input(description="A new participant: someone who attends for the account.")
class ParticipantAddInput:
    customer_id: strawberry.ID = strawberry.field(description="The account they belong to.")
    first_name: str | None = strawberry.field(
        default=None, description="First name (defaults to the customer's when isSelf)."
    )
    last_name: str | None = strawberry.field(
        default=None, description="Last name (defaults to the customer's when isSelf)."
    )
    date_of_birth: date | None = strawberry.field(default=None, description="Date of birth.")
    email: str | None = strawberry.field(default=None, description="Email, if they have one.")
    mobile: str | None = strawberry.field(default=None, description="Mobile with country code.")
    is_self: bool = strawberry.field(
        default=False, description="The customer takes part themselves (at most one per account)."
    )


@strawberry.input(description="Changes to a participant; null keeps a value.")
class ParticipantUpdateInput:
    id: strawberry.ID = strawberry.field(description="The participant's id.")
    first_name: str | None = strawberry.field(default=None, description="New first name.")
    last_name: str | None = strawberry.field(default=None, description="New last name.")
    date_of_birth: date | None = strawberry.field(default=None, description="New date of birth.")
    email: str | None = strawberry.field(
        default=None, description="New email; an empty string removes it."
    )
    mobile: str | None = strawberry.field(
        default=None, description="New mobile; an empty string removes it."
    )


@strawberry.type(description="The result of a change to an additional user.")
class AdditionalUserPayload:
    additional_user: AdditionalUser | None = strawberry.field(description="After the change.")
    errors: list[UserError] = strawberry.field(description="Empty on success.")


@strawberry.type(description="The result of a change to a participant.")
class ParticipantPayload:
    participant: Participant | None = strawberry.field(description="After the change.")
    errors: list[UserError] = strawberry.field(description="Empty on success.")


async def _additional_user(
    info: Info[Context, Any], user_id: uuid.UUID | None
) -> AdditionalUser | None:
    if user_id is None:
        return None
    row = await info.context.loaders.additional_user_by_id.load(user_id)
    customer = await _customer_by_id(info, row.customer_id) if row is not None else None
    return AdditionalUser.from_row(row, customer.status) if row and customer else None


async def _participant(
    info: Info[Context, Any], participant_id: uuid.UUID | None
) -> Participant | None:
    if participant_id is None:
        return None
    row = await info.context.loaders.participant_by_id.load(participant_id)
    customer = await _customer_by_id(info, row.customer_id) if row is not None else None
    return Participant.from_row(row, customer.status) if row and customer else None


@strawberry.type(description="Changes to the people of an account.")
class AccountPeopleMutations:
    @strawberry.mutation(
        description="Add an additional user to a customer's account and email them a link to "
        "set their password. Staff only.",
        permission_classes=[IsStaff],
    )
    async def additional_user_add(
        self, info: Info[Context, Any], input: AdditionalUserAddInput
    ) -> AdditionalUserPayload:
        viewer = info.context.viewer
        assert viewer is not None
        customer_id = _id(input.customer_id, "input.customerId")
        details = PersonDetails(input.first_name, input.last_name, input.email, input.mobile)
        links = account_emails.links_for(info.context.settings)
        if links is None:
            return AdditionalUserPayload(
                additional_user=None,
                errors=[
                    user_error(
                        ErrorCode.INVALID,
                        "input.email",
                        "Invitations cannot be emailed from this server (no link signing key).",
                    )
                ],
            )

        async def work(conn: AsyncConnection, actor: Actor) -> uuid.UUID:
            country = await business_country(conn)
            return await account_people.add_additional_user(
                conn, actor, viewer.business_id, country, customer_id, details, links
            )

        added, errors = await run(
            info.context, work, on_unique_violation=duplicate_email("input.email")
        )
        return AdditionalUserPayload(
            additional_user=await _additional_user(info, added), errors=errors
        )

    @strawberry.mutation(
        description="Edit an additional user; a stale `version` is refused (STALE). Staff only.",
        permission_classes=[IsStaff],
    )
    async def additional_user_update(
        self, info: Info[Context, Any], input: AdditionalUserUpdateInput
    ) -> AdditionalUserPayload:
        viewer = info.context.viewer
        assert viewer is not None
        user_id = _id(input.id, "input.id")
        details = PersonDetails(input.first_name, input.last_name, input.email, input.mobile)

        async def work(conn: AsyncConnection, actor: Actor) -> uuid.UUID:
            country = await business_country(conn)
            return await account_people.update_additional_user(
                conn, actor, viewer.business_id, country, user_id, input.version, details
            )

        updated, errors = await run(
            info.context, work, on_unique_violation=duplicate_email("input.email")
        )
        return AdditionalUserPayload(
            additional_user=await _additional_user(info, updated), errors=errors
        )

    @strawberry.mutation(
        description="Add a participant to a customer's account (a child may have no email). "
        "Staff only.",
        permission_classes=[IsStaff],
    )
    async def participant_add(
        self, info: Info[Context, Any], input: ParticipantAddInput
    ) -> ParticipantPayload:
        viewer = info.context.viewer
        assert viewer is not None
        customer_id = _id(input.customer_id, "input.customerId")
        details = PersonDetails(
            input.first_name, input.last_name, input.email, input.mobile, input.date_of_birth
        )

        async def work(conn: AsyncConnection, actor: Actor) -> uuid.UUID:
            country = await business_country(conn)
            return await account_people.add_participant(
                conn, actor, viewer.business_id, country, customer_id, details, input.is_self
            )

        self_taken = user_error(
            ErrorCode.DUPLICATE, "input.isSelf", "The customer already takes part themselves."
        )
        added, errors = await run(info.context, work, on_unique_violation=self_taken)
        return ParticipantPayload(participant=await _participant(info, added), errors=errors)

    @strawberry.mutation(
        description="Edit a participant. Staff only.", permission_classes=[IsStaff]
    )
    async def participant_update(
        self, info: Info[Context, Any], input: ParticipantUpdateInput
    ) -> ParticipantPayload:
        viewer = info.context.viewer
        assert viewer is not None
        participant_id = _id(input.id, "input.id")
        details = PersonDetails(
            input.first_name, input.last_name, input.email, input.mobile, input.date_of_birth
        )

        async def work(conn: AsyncConnection, actor: Actor) -> uuid.UUID:
            country = await business_country(conn)
            return await account_people.update_participant(
                conn, actor, viewer.business_id, country, participant_id, details
            )

        updated, errors = await run(info.context, work)
        return ParticipantPayload(participant=await _participant(info, updated), errors=errors)
