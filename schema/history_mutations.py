"""Staff actions on a customer's history besides bookings: appointments, passes, videos,
subscriptions, questionnaires and notes. Staff only; each returns the changed row (read after
commit from a fresh snapshot) with `errors`."""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable
from datetime import date, datetime
from typing import Annotated, Any, TypeVar

import strawberry
from sqlalchemy.engine import Row
from sqlalchemy.ext.asyncio import AsyncConnection
from strawberry.types import Info

from loaders.history import RecordByIdLoader
from resolvers import appointments, notes, passes, questionnaires, subscriptions, videos
from resolvers.account_history import Actor
from resolvers.history_actions import DEFAULT
from resolvers.mutations import run
from schema.errors import ApiError, ErrorCode, UserError
from schema.people import Customer, _customer_by_id
from schema.permissions import IsStaff
from schema.profile import (
    Appointment,
    CustomerPass,
    CustomerSubscription,
    Note,
    QuestionnaireResponse,
    VideoPurchase,
)
from server.context import Context

E = TypeVar("E")


def _id(value: str, field: str) -> uuid.UUID:
    try:
        return uuid.UUID(str(value))
    except ValueError as error:
        raise ApiError(ErrorCode.INVALID_ARGUMENT, "This id is not a valid UUID.", field) from error


def _optional_id(value: str | None, field: str) -> uuid.UUID | None:
    return _id(value, field) if value is not None else None


def _given(value: Any) -> Any:
    """An input left out means "the catalog's value"; an explicit null stays None."""
    return DEFAULT if value is strawberry.UNSET else value


async def _apply(
    info: Info[Context, Any],
    work: Callable[[AsyncConnection, Actor, uuid.UUID], Awaitable[uuid.UUID]],
    loader: Callable[[Context], RecordByIdLoader],
    build: Callable[[Row[Any]], E],
) -> tuple[E | None, list[UserError]]:
    """Run `work` for the viewer's business, then read the row it changed."""
    viewer = info.context.viewer
    assert viewer is not None

    async def transaction(conn: AsyncConnection, actor: Actor) -> uuid.UUID:
        return await work(conn, actor, viewer.business_id)

    changed, errors = await run(info.context, transaction)
    if changed is None:
        return None, errors
    row = await loader(info.context).load(changed)
    return (build(row) if row is not None else None), errors


IdArg = Annotated[strawberry.ID, strawberry.argument(description="The row's id.")]


# Appointments -------------------------------------------------------------------------------


@strawberry.input(description="A new appointment, as the Book Appointment form sends it.")
class AppointmentCreateInput:
    customer_id: strawberry.ID = strawberry.field(description="The account it belongs to.")
    participant_id: strawberry.ID | None = strawberry.field(
        default=None, description="Who attends, if one of the account's participants."
    )
    service_id: strawberry.ID = strawberry.field(description="What is booked.")
    facilitator_id: strawberry.ID = strawberry.field(
        description="With whom; refused (FACILITATOR_UNAVAILABLE) when they already have a "
        "scheduled appointment overlapping this one."
    )
    starts_at: datetime = strawberry.field(
        description="When it starts; in the future (IN_THE_PAST otherwise). Without an offset, "
        "the business's wall-clock time."
    )
    duration_minutes: int | None = strawberry.field(
        default=None, description="Length in minutes, 1 to 1440; null: the service's usual length."
    )
    price: int | None = strawberry.field(
        default=None,
        description="What was charged, in minor units, paid outside Stripe (0 to 10,000,000; 0 "
        "is free); null: the service's price. A price above 0 is recorded as a manual payment.",
    )


@strawberry.type(description="The result of a change to an appointment.")
class AppointmentPayload:
    appointment: Appointment | None = strawberry.field(description="After the change.")
    errors: list[UserError] = strawberry.field(description="Empty on success.")


# Passes and videos --------------------------------------------------------------------------


@strawberry.input(
    description="A pass to hand out (Assign Pass): paid outside Stripe, or given. Fields left "
    "out take the pass product's values."
)
class PassAssignInput:
    customer_id: strawberry.ID = strawberry.field(description="The account that holds it.")
    participant_id: strawberry.ID | None = strawberry.field(
        default=None, description="Who uses it, if one of the account's participants."
    )
    pass_product_id: strawberry.ID = strawberry.field(description="Which pass.")
    valid_from: date | None = strawberry.field(
        default=strawberry.UNSET,
        description="First valid day; left out or null: today (the business's date).",
    )
    valid_until: date | None = strawberry.field(
        default=strawberry.UNSET,
        description="Last valid day, not before `validFrom` (INVALID_DATE_RANGE) nor today "
        "(IN_THE_PAST); left out: `validFrom` plus the product's validity days; null: no end.",
    )
    uses: int | None = strawberry.field(
        default=strawberry.UNSET,
        description="Uses it comes with (1 to 10,000); left out: the product's; null: unlimited.",
    )
    price: int | None = strawberry.field(
        default=None,
        description="What was paid outside Stripe, in minor units (0 to 10,000,000; 0: given "
        "free); null: the product's price. A price above 0 is recorded as a manual payment.",
    )


@strawberry.type(description="The result of assigning a pass.")
class CustomerPassPayload:
    customer_pass: CustomerPass | None = strawberry.field(description="The pass assigned.")
    errors: list[UserError] = strawberry.field(description="Empty on success.")


@strawberry.input(
    description="A video to give access to (Assign Video): paid outside Stripe, with a pass's "
    "credits, or free."
)
class VideoAssignInput:
    customer_id: strawberry.ID = strawberry.field(description="The account that gets access.")
    participant_id: strawberry.ID | None = strawberry.field(
        default=None, description="Who watches, if one of the account's participants."
    )
    video_id: strawberry.ID = strawberry.field(description="Which video.")
    expires_at: datetime | None = strawberry.field(
        default=strawberry.UNSET,
        description="When access ends, in the future (IN_THE_PAST otherwise; without an "
        "offset, the business's wall-clock time); left out: the video's access days from now; "
        "null: never.",
    )
    price: int | None = strawberry.field(
        default=None,
        description="What was paid outside Stripe, in minor units (0 to 10,000,000); null: the "
        "video's price. Not with `customerPassId`.",
    )
    customer_pass_id: strawberry.ID | None = strawberry.field(
        default=None,
        description="Pay with this pass's credits (the video's price in credits): one of the "
        "account's passes, valid today (PASS_EXPIRED) with enough uses left (PASS_EXHAUSTED).",
    )


@strawberry.type(description="The result of a change to a video purchase.")
class VideoPurchasePayload:
    video_purchase: VideoPurchase | None = strawberry.field(description="After the change.")
    errors: list[UserError] = strawberry.field(description="Empty on success.")


# Subscriptions, questionnaires, notes -------------------------------------------------------


@strawberry.type(description="The result of a change to a subscription.")
class CustomerSubscriptionPayload:
    subscription: CustomerSubscription | None = strawberry.field(description="After the change.")
    errors: list[UserError] = strawberry.field(description="Empty on success.")


@strawberry.type(description="The result of assigning a questionnaire.")
class QuestionnaireResponsePayload:
    questionnaire_response: QuestionnaireResponse | None = strawberry.field(
        description="The new response, ASSIGNED."
    )
    errors: list[UserError] = strawberry.field(description="Empty on success.")


@strawberry.type(description="The result of a change to a note.")
class NotePayload:
    note: Note | None = strawberry.field(description="After the change.")
    errors: list[UserError] = strawberry.field(description="Empty on success.")


@strawberry.type(description="The result of deleting a note.")
class NoteDeletePayload:
    deleted_id: strawberry.ID | None = strawberry.field(description="The id that was deleted.")
    customer: Customer | None = strawberry.field(description="The customer it was about.")
    errors: list[UserError] = strawberry.field(description="Empty on success.")


def _subscription_change(
    info: Info[Context, Any], id: strawberry.ID, transition: subscriptions.Transition
) -> Awaitable[tuple[CustomerSubscription | None, list[UserError]]]:
    subscription_id = _id(id, "id")
    return _apply(
        info,
        lambda conn, actor, business: subscriptions.change_state(
            conn, actor, business, subscription_id, transition
        ),
        lambda context: context.loaders.customer_subscription_by_id,
        CustomerSubscription.from_row,
    )


@strawberry.type(description="Changes to a customer's appointments, passes, videos, ...")
class HistoryMutations:
    @strawberry.mutation(
        description="Book an appointment for a customer: a service with a facilitator at a "
        "time, paid outside Stripe or free. Staff only.",
        permission_classes=[IsStaff],
    )
    async def appointment_create(
        self, info: Info[Context, Any], input: AppointmentCreateInput
    ) -> AppointmentPayload:
        new = appointments.NewAppointment(
            customer_id=_id(input.customer_id, "input.customerId"),
            participant_id=_optional_id(input.participant_id, "input.participantId"),
            service_id=_id(input.service_id, "input.serviceId"),
            facilitator_id=_id(input.facilitator_id, "input.facilitatorId"),
            starts_at=input.starts_at,
            duration_minutes=input.duration_minutes,
            price=input.price,
        )
        appointment, errors = await _apply(
            info,
            lambda conn, actor, business: appointments.create_appointment(
                conn, actor, business, new
            ),
            lambda context: context.loaders.appointment_by_id,
            Appointment.from_row,
        )
        return AppointmentPayload(appointment=appointment, errors=errors)

    @strawberry.mutation(
        description="Cancel a scheduled appointment that has not started (ALREADY_STARTED "
        "otherwise); a second cancel is refused (INVALID_STATE). Money is never refunded by "
        "cancelling. Staff only.",
        permission_classes=[IsStaff],
    )
    async def appointment_cancel(self, info: Info[Context, Any], id: IdArg) -> AppointmentPayload:
        appointment_id = _id(id, "id")
        appointment, errors = await _apply(
            info,
            lambda conn, actor, business: appointments.cancel_appointment(
                conn, actor, business, appointment_id
            ),
            lambda context: context.loaders.appointment_by_id,
            Appointment.from_row,
        )
        return AppointmentPayload(appointment=appointment, errors=errors)

    @strawberry.mutation(
        description="Assign a pass to a customer (state MANUAL): paid outside Stripe or given. "
        "Staff only.",
        permission_classes=[IsStaff],
    )
    async def pass_assign(
        self, info: Info[Context, Any], input: PassAssignInput
    ) -> CustomerPassPayload:
        valid_from = _given(input.valid_from)
        new = passes.NewPass(
            customer_id=_id(input.customer_id, "input.customerId"),
            participant_id=_optional_id(input.participant_id, "input.participantId"),
            pass_product_id=_id(input.pass_product_id, "input.passProductId"),
            valid_from=DEFAULT if valid_from is None else valid_from,
            valid_until=_given(input.valid_until),
            uses=_given(input.uses),
            price=DEFAULT if input.price is None else input.price,
        )
        customer_pass, errors = await _apply(
            info,
            lambda conn, actor, business: passes.assign_pass(conn, actor, business, new),
            lambda context: context.loaders.customer_pass_by_id,
            CustomerPass.from_row,
        )
        return CustomerPassPayload(customer_pass=customer_pass, errors=errors)

    @strawberry.mutation(
        description="Give a customer access to a video: paid outside Stripe, with a pass's "
        "credits, or free. Staff only.",
        permission_classes=[IsStaff],
    )
    async def video_assign(
        self, info: Info[Context, Any], input: VideoAssignInput
    ) -> VideoPurchasePayload:
        new = videos.NewVideoPurchase(
            customer_id=_id(input.customer_id, "input.customerId"),
            participant_id=_optional_id(input.participant_id, "input.participantId"),
            video_id=_id(input.video_id, "input.videoId"),
            expires_at=_given(input.expires_at),
            price=input.price,
            customer_pass_id=_optional_id(input.customer_pass_id, "input.customerPassId"),
        )
        purchase, errors = await _apply(
            info,
            lambda conn, actor, business: videos.assign_video(conn, actor, business, new),
            lambda context: context.loaders.video_purchase_by_id,
            VideoPurchase.from_row,
        )
        return VideoPurchasePayload(video_purchase=purchase, errors=errors)

    @strawberry.mutation(
        description="Cancel a video purchase that has not expired: credits go back to their "
        "pass while it is still valid; money is never refunded by cancelling; a second cancel "
        "is refused (INVALID_STATE). Staff only.",
        permission_classes=[IsStaff],
    )
    async def video_cancel(self, info: Info[Context, Any], id: IdArg) -> VideoPurchasePayload:
        purchase_id = _id(id, "id")
        purchase, errors = await _apply(
            info,
            lambda conn, actor, business: videos.cancel_video(conn, actor, business, purchase_id),
            lambda context: context.loaders.video_purchase_by_id,
            VideoPurchase.from_row,
        )
        return VideoPurchasePayload(video_purchase=purchase, errors=errors)

    @strawberry.mutation(
        description="Pause an active subscription: no next payment until resumed. Staff only.",
        permission_classes=[IsStaff],
    )
    async def subscription_pause(
        self, info: Info[Context, Any], id: IdArg
    ) -> CustomerSubscriptionPayload:
        subscription, errors = await _subscription_change(info, id, subscriptions.PAUSE)
        return CustomerSubscriptionPayload(subscription=subscription, errors=errors)

    @strawberry.mutation(
        description="Make a paused or suspended subscription active again; the next payment "
        "is the first cycle date (counted from its start) on or after today, in the business's "
        "time zone. Staff only.",
        permission_classes=[IsStaff],
    )
    async def subscription_resume(
        self, info: Info[Context, Any], id: IdArg
    ) -> CustomerSubscriptionPayload:
        subscription, errors = await _subscription_change(info, id, subscriptions.RESUME)
        return CustomerSubscriptionPayload(subscription=subscription, errors=errors)

    @strawberry.mutation(
        description="Suspend an active or paused subscription: no payments until it is "
        "resumed. Staff only.",
        permission_classes=[IsStaff],
    )
    async def subscription_suspend(
        self, info: Info[Context, Any], id: IdArg
    ) -> CustomerSubscriptionPayload:
        subscription, errors = await _subscription_change(info, id, subscriptions.SUSPEND)
        return CustomerSubscriptionPayload(subscription=subscription, errors=errors)

    @strawberry.mutation(
        description="Assign a questionnaire to a customer, or to one of their participants, "
        "for them to answer in the member portal (status ASSIGNED). The same questionnaire "
        "still unanswered by the same person is refused (DUPLICATE). Staff only.",
        permission_classes=[IsStaff],
    )
    async def questionnaire_assign(
        self,
        info: Info[Context, Any],
        customer_id: Annotated[
            strawberry.ID, strawberry.argument(description="The account it is for.")
        ],
        questionnaire_id: Annotated[
            strawberry.ID, strawberry.argument(description="Which questionnaire.")
        ],
        participant_id: Annotated[
            strawberry.ID | None,
            strawberry.argument(description="Who answers, if one of the account's participants."),
        ] = None,
    ) -> QuestionnaireResponsePayload:
        customer = _id(customer_id, "customerId")
        questionnaire = _id(questionnaire_id, "questionnaireId")
        participant = _optional_id(participant_id, "participantId")
        response, errors = await _apply(
            info,
            lambda conn, actor, business: questionnaires.assign_questionnaire(
                conn, actor, business, customer, questionnaire, participant
            ),
            lambda context: context.loaders.questionnaire_response_by_id,
            QuestionnaireResponse.from_row,
        )
        return QuestionnaireResponsePayload(questionnaire_response=response, errors=errors)

    @strawberry.mutation(
        description="Add an internal note about a customer (1 to 10,000 characters after "
        "trimming); it records its author. Never visible to members. Staff only.",
        permission_classes=[IsStaff],
    )
    async def note_create(
        self,
        info: Info[Context, Any],
        customer_id: Annotated[
            strawberry.ID, strawberry.argument(description="The customer it is about.")
        ],
        content: Annotated[str, strawberry.argument(description="The note's text.")],
    ) -> NotePayload:
        customer = _id(customer_id, "customerId")
        note, errors = await _apply(
            info,
            lambda conn, actor, business: notes.create_note(
                conn, actor, business, customer, content
            ),
            lambda context: context.loaders.note_by_id,
            Note.from_row,
        )
        return NotePayload(note=note, errors=errors)

    @strawberry.mutation(
        description="Edit a note (any staff member); it records who edited it. Staff only.",
        permission_classes=[IsStaff],
    )
    async def note_update(
        self,
        info: Info[Context, Any],
        id: IdArg,
        content: Annotated[str, strawberry.argument(description="The new text.")],
        updated_at: Annotated[
            datetime | None,
            strawberry.argument(
                description="The note's `updatedAt` when the editor was opened: when the note "
                "changed since, the edit is refused (STALE). Null: overwrite."
            ),
        ] = None,
    ) -> NotePayload:
        note_id = _id(id, "id")
        note, errors = await _apply(
            info,
            lambda conn, actor, business: notes.update_note(
                conn, actor, business, note_id, content, updated_at
            ),
            lambda context: context.loaders.note_by_id,
            Note.from_row,
        )
        return NotePayload(note=note, errors=errors)

    @strawberry.mutation(
        description="Delete a note (any staff member); account history keeps what it said. "
        "Staff only.",
        permission_classes=[IsStaff],
    )
    async def note_delete(self, info: Info[Context, Any], id: IdArg) -> NoteDeletePayload:
        viewer = info.context.viewer
        assert viewer is not None
        note_id = _id(id, "id")

        async def work(conn: AsyncConnection, actor: Actor) -> uuid.UUID | None:
            return await notes.delete_note(conn, actor, viewer.business_id, note_id)

        customer_id, errors = await run(info.context, work)
        if errors:
            return NoteDeletePayload(deleted_id=None, customer=None, errors=errors)
        customer = await _customer_by_id(info, customer_id) if customer_id else None
        return NoteDeletePayload(
            deleted_id=strawberry.ID(str(note_id)), customer=customer, errors=[]
        )
