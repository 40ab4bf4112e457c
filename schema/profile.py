"""The profile page: a customer's history tabs, their sales chart and card summary, and the
history and catalog entities the tabs show.

Rows arrive from the tab loaders with their catalog names joined in, so every object here is
built from one row with plain attributes; only relations to other records (a booking's payment,
a row's customer) go back to the loaders. Customer objects exist only for customers the viewer
may see (`schema.people`), so the tabs check only what differs per field: notes and account
history are for staff, and additional users never see payment methods. Entities resolved through
`_entities` are checked one by one against the same rule as every other read.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from datetime import date, datetime, timedelta
from enum import Enum
from typing import TYPE_CHECKING, Annotated, Any, TypeVar
from zoneinfo import ZoneInfo

import strawberry
from sqlalchemy import Row
from strawberry.scalars import JSON
from strawberry.types import Info

from loaders import history
from loaders.history import AccountSummary, MonthSales, RecordByIdLoader, SummaryKey
from resolvers.profile import tab_connection
from schema.errors import ApiError, ErrorCode
from schema.money import Money, Price, price_of
from schema.pagination import Connection
from server.auth import Role
from server.context import Context

# schema.people imports this module (Customer mixes in CustomerProfile), so people types are
# referenced lazily here and imported inside the functions that build them.
if TYPE_CHECKING:
    from schema.people import Customer, Participant, Person

E = TypeVar("E")

CustomerRef = Annotated["Customer", strawberry.lazy("schema.people")]
ParticipantRef = Annotated["Participant", strawberry.lazy("schema.people")]
PersonRef = Annotated["Person", strawberry.lazy("schema.people")]

MAX_CHART_MONTHS = 36


# Who may see what ---------------------------------------------------------------------------


async def may_see_account_row(
    info: Info[Context, Any], customer_id: uuid.UUID | None, *, staff_only: bool = False
) -> bool:
    """Staff see every row of their business (row-level security keeps the rest out); a
    customer sees the rows of their own account; an additional user those of the account they
    act for. Notes and account history are for staff only."""
    viewer = info.context.viewer
    if viewer is None:
        return False
    if viewer.is_staff:
        return True
    if staff_only or customer_id is None:
        return False
    if viewer.role is Role.CUSTOMER:
        return viewer.subject_id == customer_id
    from schema.people import buyer_of

    return await buyer_of(info, viewer) == customer_id


async def _visible(
    info: Info[Context, Any],
    loader: RecordByIdLoader,
    record_id: uuid.UUID,
    build: Callable[[Row[Any]], E],
    *,
    staff_only: bool = False,
) -> E | None:
    row = await loader.load(record_id)
    if row is None or not await may_see_account_row(info, row.customer_id, staff_only=staff_only):
        return None
    return build(row)


async def _catalog(
    loader: RecordByIdLoader, record_id: uuid.UUID, build: Callable[[Row[Any]], E]
) -> E | None:
    # The catalog is the business's shop window: any signed-in viewer of the business may read
    # it, and row-level security keeps other businesses' out.
    row = await loader.load(record_id)
    return build(row) if row is not None else None


def _uuid(value: strawberry.ID) -> uuid.UUID:
    return uuid.UUID(str(value))


def _id(value: uuid.UUID) -> strawberry.ID:
    return strawberry.ID(str(value))


# Enums --------------------------------------------------------------------------------------


@strawberry.enum(description="How a booking was paid, or that it was cancelled.")
class BookingState(Enum):
    COMPLETED = strawberry.enum_value("COMPLETED", description="Paid through Stripe.")
    MANUAL = strawberry.enum_value(
        "MANUAL", description="Paid outside Stripe (cash, bank transfer) or free."
    )
    PACKAGE = strawberry.enum_value("PACKAGE", description="Paid with pass credits.")
    CANCELLED = strawberry.enum_value(
        "CANCELLED",
        description="Cancelled: credits went back to their pass; money is refunded "
        "separately, never by cancelling.",
    )


@strawberry.enum(description="What a booking or appointment was paid with.")
class PaidWith(Enum):
    STRIPE = strawberry.enum_value("STRIPE", description="A card payment through Stripe.")
    MANUAL = strawberry.enum_value("MANUAL", description="Money taken outside Stripe.")
    FREE = strawberry.enum_value("FREE", description="Nothing: it was free.")
    CREDITS = strawberry.enum_value("CREDITS", description="Pass credits (one credit, one use).")


@strawberry.enum(description="Whether an appointment is still on.")
class AppointmentState(Enum):
    SCHEDULED = strawberry.enum_value("SCHEDULED", description="Booked and not cancelled.")
    CANCELLED = strawberry.enum_value("CANCELLED", description="Cancelled.")


@strawberry.enum(description="How a pass was paid for.")
class PassState(Enum):
    COMPLETED = strawberry.enum_value("COMPLETED", description="Paid through Stripe.")
    MANUAL = strawberry.enum_value(
        "MANUAL", description="Assigned by staff: paid outside Stripe, or given."
    )


@strawberry.enum(description="Whether a video purchase still gives access.")
class VideoPurchaseState(Enum):
    ACTIVE = strawberry.enum_value(
        "ACTIVE", description="The video can be watched (no expiry, or not expired yet)."
    )
    CANCELLED = strawberry.enum_value("CANCELLED", description="Cancelled by staff.")
    EXPIRED = strawberry.enum_value(
        "EXPIRED", description="Access ran out: derived from `expiresAt`, never stored."
    )


@strawberry.enum(description="Where a subscription stands.")
class SubscriptionState(Enum):
    ACTIVE = strawberry.enum_value("ACTIVE", description="Charged every cycle.")
    PAUSED = strawberry.enum_value("PAUSED", description="Paused: no charges until resumed.")
    SUSPENDED = strawberry.enum_value(
        "SUSPENDED", description="Suspended by staff: no charges until reactivated."
    )


@strawberry.enum(description="The unit of a subscription's billing cycle.")
class BillingInterval(Enum):
    WEEK = strawberry.enum_value("WEEK", description="Weeks.")
    MONTH = strawberry.enum_value("MONTH", description="Calendar months.")
    YEAR = strawberry.enum_value("YEAR", description="Years.")


@strawberry.enum(description="Whether a questionnaire has been answered.")
class QuestionnaireResponseStatus(Enum):
    ASSIGNED = strawberry.enum_value("ASSIGNED", description="Assigned, not submitted yet.")
    COMPLETED = strawberry.enum_value("COMPLETED", description="Submitted.")


@strawberry.enum(description="Who made a change recorded in account history.")
class AccountHistoryActorKind(Enum):
    STAFF = strawberry.enum_value("STAFF", description="An owner or staff member.")
    CUSTOMER = strawberry.enum_value("CUSTOMER", description="The customer, in the member portal.")
    ADDITIONAL_USER = strawberry.enum_value(
        "ADDITIONAL_USER", description="One of the customer's additional users."
    )
    SYSTEM = strawberry.enum_value(
        "SYSTEM", description="Another service or a background job of this one."
    )


@strawberry.enum(description="How a payment was taken.")
class PaymentRoute(Enum):
    STRIPE = strawberry.enum_value("STRIPE", description="By card through Stripe.")
    MANUAL = strawberry.enum_value("MANUAL", description="Outside Stripe (cash, transfer).")


@strawberry.enum(description="Where a refund stands.")
class RefundStatus(Enum):
    PENDING = strawberry.enum_value(
        "PENDING", description="Sent to Stripe, answer not recorded yet; the amount is reserved."
    )
    SUCCEEDED = strawberry.enum_value("SUCCEEDED", description="The money went back.")
    FAILED = strawberry.enum_value("FAILED", description="Stripe refused it; nothing went back.")


@strawberry.enum(description="How a message reached (or was meant to reach) its recipient.")
class MessageChannel(Enum):
    EMAIL = strawberry.enum_value("EMAIL", description="Email.")
    IN_APP = strawberry.enum_value("IN_APP", description="In-app message in the member portal.")
    SMS = strawberry.enum_value("SMS", description="Text message.")


@strawberry.enum(description="Why a message was sent.")
class MessagePurpose(Enum):
    SERVICE = strawberry.enum_value(
        "SERVICE", description="About the customer's account or bookings: always sent."
    )
    MARKETING = strawberry.enum_value(
        "MARKETING", description="Promotion: skipped for people who have not opted in."
    )


@strawberry.enum(description="Where a message stands.")
class MessageStatus(Enum):
    QUEUED = strawberry.enum_value("QUEUED", description="Waiting to be sent.")
    SENDING = strawberry.enum_value("SENDING", description="Being sent.")
    SENT = strawberry.enum_value("SENT", description="Handed to the provider.")
    FAILED = strawberry.enum_value("FAILED", description="Could not be delivered.")
    SKIPPED = strawberry.enum_value(
        "SKIPPED", description="Not sent on purpose (e.g. no marketing consent); see the reason."
    )


# Shared value types -------------------------------------------------------------------------


@strawberry.type(
    description="An instant shown in a named time zone: what the people at the venue see on "
    "their clocks, without the client converting anything."
)
class ZonedDateTime:
    instant: datetime = strawberry.field(description="The instant (ISO 8601 with offset).")
    time_zone: str = strawberry.field(description="IANA time zone, e.g. Europe/London.")
    local_date_time: str = strawberry.field(
        description='Wall-clock date and time in that zone, e.g. "2026-04-01T09:30:00".'
    )
    local_date: date = strawberry.field(description="Wall-clock date in that zone.")
    local_time: str = strawberry.field(description='Wall-clock time in that zone, e.g. "09:30".')
    utc_offset: str = strawberry.field(description='Offset from UTC then, e.g. "+01:00".')


def zoned(instant: datetime, time_zone: str) -> ZonedDateTime:
    local = instant.astimezone(ZoneInfo(time_zone))
    wall = local.replace(tzinfo=None)
    stamp = local.isoformat(timespec="seconds")
    return ZonedDateTime(
        instant=instant,
        time_zone=time_zone,
        local_date_time=wall.isoformat(timespec="seconds"),
        local_date=wall.date(),
        local_time=wall.strftime("%H:%M"),
        utc_offset=stamp[19:] if len(stamp) > 19 else "+00:00",
    )


def _money(amount: int, currency: str) -> Money:
    return Money(amount=amount, currency=currency)


# Catalog ------------------------------------------------------------------------------------


@strawberry.federation.type(
    keys=["id"], description="A class, course, camp or event with bookable sessions."
)
class Event:
    id: strawberry.ID = strawberry.field(description="The event's UUID.")
    name: str = strawberry.field(description="The event's name.")
    description: str | None = strawberry.field(description="What the event is, if described.")

    @classmethod
    def from_row(cls, row: Row[Any]) -> Event:
        return cls(id=_id(row.event_id), name=row.event_name, description=row.event_description)

    @classmethod
    async def resolve_reference(
        cls, info: Info[Context, Any], id: strawberry.ID, **_: Any
    ) -> Event | None:
        return await _catalog(info.context.loaders.event_by_id, _uuid(id), cls.from_row)


@strawberry.federation.type(
    keys=["id"], description="A coach, instructor or therapist who runs sessions and appointments."
)
class Facilitator:
    id: strawberry.ID = strawberry.field(description="The facilitator's UUID.")
    name: str = strawberry.field(description="The facilitator's name.")

    @classmethod
    def from_row(cls, row: Row[Any]) -> Facilitator:
        return cls(id=_id(row.facilitator_id), name=row.facilitator_name)

    @classmethod
    async def resolve_reference(
        cls, info: Info[Context, Any], id: strawberry.ID, **_: Any
    ) -> Facilitator | None:
        return await _catalog(info.context.loaders.facilitator_by_id, _uuid(id), cls.from_row)


@strawberry.federation.type(
    keys=["id"], description="One occurrence of an event, in its own time zone."
)
class Session:
    id: strawberry.ID = strawberry.field(description="The session's UUID.")
    starts_at: ZonedDateTime = strawberry.field(
        description="When it starts, in the session's own time zone."
    )
    ends_at: ZonedDateTime = strawberry.field(
        description="When it ends, in the session's own time zone."
    )
    time_zone: str = strawberry.field(description="The session's IANA time zone.")
    capacity: int | None = strawberry.field(description="Seats; null for no limit.")
    event: Event = strawberry.field(description="The event this is a session of.")
    facilitator: Facilitator | None = strawberry.field(description="Who runs it, if assigned.")

    @classmethod
    def from_row(cls, row: Row[Any]) -> Session:
        zone = row.session_time_zone
        return cls(
            id=_id(row.session_id),
            starts_at=zoned(row.session_starts_at, zone),
            ends_at=zoned(row.session_ends_at, zone),
            time_zone=zone,
            capacity=row.session_capacity,
            event=Event.from_row(row),
            facilitator=Facilitator.from_row(row) if row.facilitator_id is not None else None,
        )

    @classmethod
    async def resolve_reference(
        cls, info: Info[Context, Any], id: strawberry.ID, **_: Any
    ) -> Session | None:
        return await _catalog(info.context.loaders.session_by_id, _uuid(id), cls.from_row)


@strawberry.federation.type(
    keys=["id"], description="An appointment type (a massage, a private lesson)."
)
class Service:
    id: strawberry.ID = strawberry.field(description="The service's UUID.")
    name: str = strawberry.field(description="The service's name.")
    duration_minutes: int = strawberry.field(description="Its usual length in minutes.")
    price: Money = strawberry.field(description="Its usual price.")

    @classmethod
    def from_row(cls, row: Row[Any]) -> Service:
        return cls(
            id=_id(row.service_id),
            name=row.service_name,
            duration_minutes=row.service_duration,
            price=_money(row.service_price_amount, row.service_currency),
        )

    @classmethod
    async def resolve_reference(
        cls, info: Info[Context, Any], id: strawberry.ID, **_: Any
    ) -> Service | None:
        return await _catalog(info.context.loaders.service_by_id, _uuid(id), cls.from_row)


@strawberry.federation.type(
    keys=["id"], description="A pass for sale: a number of uses (credits) or unlimited."
)
class PassProduct:
    id: strawberry.ID = strawberry.field(description="The pass product's UUID.")
    name: str = strawberry.field(description="The pass's name.")
    uses: int | None = strawberry.field(description="Uses (credits) it gives; null: unlimited.")
    unlimited: bool = strawberry.field(description="True when it gives unlimited uses.")
    validity_days: int | None = strawberry.field(
        description="Days it stays valid after purchase; null: no end."
    )
    price: Money = strawberry.field(description="Its price.")

    @classmethod
    def from_row(cls, row: Row[Any]) -> PassProduct:
        return cls(
            id=_id(row.pass_product_id),
            name=row.pass_product_name,
            uses=row.pass_product_uses,
            unlimited=row.pass_product_uses is None,
            validity_days=row.pass_product_validity_days,
            price=_money(row.pass_product_price_amount, row.pass_product_currency),
        )

    @classmethod
    async def resolve_reference(
        cls, info: Info[Context, Any], id: strawberry.ID, **_: Any
    ) -> PassProduct | None:
        return await _catalog(info.context.loaders.pass_product_by_id, _uuid(id), cls.from_row)


@strawberry.federation.type(
    keys=["id"], description="A video on demand, bought with money or pass credits."
)
class Video:
    id: strawberry.ID = strawberry.field(description="The video's UUID.")
    name: str = strawberry.field(description="The video's title.")
    price: Price = strawberry.field(description="Its price in money, or in credits.")
    access_days: int | None = strawberry.field(
        description="Days of access after purchase; null: no expiry."
    )

    @classmethod
    def from_row(cls, row: Row[Any]) -> Video:
        return cls(
            id=_id(row.video_id),
            name=row.video_name,
            price=price_of(row.video_price_amount, row.video_currency, row.video_price_credits),
            access_days=row.video_access_days,
        )

    @classmethod
    async def resolve_reference(
        cls, info: Info[Context, Any], id: strawberry.ID, **_: Any
    ) -> Video | None:
        return await _catalog(info.context.loaders.video_by_id, _uuid(id), cls.from_row)


@strawberry.type(description="A price charged every cycle.")
class RecurringPrice:
    amount: Money = strawberry.field(description="What each cycle costs.")
    interval_unit: BillingInterval = strawberry.field(description="The cycle's unit.")
    interval_count: int = strawberry.field(
        description="How many units make a cycle (2 with WEEK: every two weeks)."
    )


@strawberry.federation.type(
    keys=["id"], description="A subscription plan: a recurring price every cycle."
)
class Plan:
    id: strawberry.ID = strawberry.field(description="The plan's UUID.")
    name: str = strawberry.field(description="The plan's name.")
    price: RecurringPrice = strawberry.field(description="Its recurring price.")

    @classmethod
    def from_row(cls, row: Row[Any]) -> Plan:
        return cls(
            id=_id(row.plan_id),
            name=row.plan_name,
            price=RecurringPrice(
                amount=_money(row.plan_amount, row.plan_currency),
                interval_unit=BillingInterval(row.plan_interval_unit),
                interval_count=row.plan_interval_count,
            ),
        )

    @classmethod
    async def resolve_reference(
        cls, info: Info[Context, Any], id: strawberry.ID, **_: Any
    ) -> Plan | None:
        return await _catalog(info.context.loaders.plan_by_id, _uuid(id), cls.from_row)


@strawberry.federation.type(
    keys=["id"], description="A form customers fill in (a waiver, a health check, feedback)."
)
class Questionnaire:
    id: strawberry.ID = strawberry.field(description="The questionnaire's UUID.")
    name: str = strawberry.field(description="The questionnaire's name.")
    question_count: int = strawberry.field(description="How many questions it asks.")

    @classmethod
    def from_row(cls, row: Row[Any]) -> Questionnaire:
        return cls(
            id=_id(row.questionnaire_id),
            name=row.questionnaire_name,
            question_count=row.questionnaire_question_count,
        )

    @classmethod
    async def resolve_reference(
        cls, info: Info[Context, Any], id: strawberry.ID, **_: Any
    ) -> Questionnaire | None:
        return await _catalog(info.context.loaders.questionnaire_by_id, _uuid(id), cls.from_row)


# History ------------------------------------------------------------------------------------


@strawberry.type(description="Fields every history row shares.")
class HistoryRecord:
    id: strawberry.ID = strawberry.field(description="The row's UUID.")
    number: int = strawberry.field(description="Short per-business number staff can read out.")
    customer_name: str = strawberry.field(
        description="The account holder's name when the row was written (kept after deletion)."
    )
    participant_name: str | None = strawberry.field(
        description="Who it is for, by name when the row was written; null when not for a "
        "particular participant."
    )
    created_at: datetime = strawberry.field(description="When the row was created.")
    updated_at: datetime = strawberry.field(description="When the row last changed.")
    customer_pk: strawberry.Private[uuid.UUID | None]
    participant_pk: strawberry.Private[uuid.UUID | None]
    acted_by_pk: strawberry.Private[uuid.UUID | None]

    @strawberry.field(
        description="The account this row belongs to; null once the customer has been deleted."
    )
    async def customer(self, info: Info[Context, Any]) -> CustomerRef | None:
        if self.customer_pk is None:
            return None
        from schema.people import Customer

        row = await info.context.loaders.customer_by_id.load(self.customer_pk)
        return Customer.from_row(row) if row is not None else None

    @strawberry.field(description="The participant it is for, while they exist.")
    async def participant(self, info: Info[Context, Any]) -> ParticipantRef | None:
        if self.participant_pk is None:
            return None
        from schema.people import Participant, PersonStatus

        loaders = info.context.loaders
        row = await loaders.participant_by_id.load(self.participant_pk)
        if row is None:
            return None
        owner = await loaders.customer_by_id.load(row.customer_id)
        return Participant.from_row(row, PersonStatus(owner.status)) if owner else None

    @strawberry.field(
        description="Who acted: the customer, or one of their additional users (null once "
        "that person has been deleted)."
    )
    async def acted_by(self, info: Info[Context, Any]) -> PersonRef | None:
        from schema.people import AdditionalUser, Customer, PersonStatus

        loaders = info.context.loaders
        if self.acted_by_pk is None:
            if self.customer_pk is None:
                return None
            row = await loaders.customer_by_id.load(self.customer_pk)
            return Customer.from_row(row) if row is not None else None
        user = await loaders.additional_user_by_id.load(self.acted_by_pk)
        if user is None:
            return None
        owner = await loaders.customer_by_id.load(user.customer_id)
        return AdditionalUser.from_row(user, PersonStatus(owner.status)) if owner else None


def _history(row: Row[Any]) -> dict[str, Any]:
    return {
        "id": _id(row.id),
        "number": row.number,
        "customer_name": row.customer_name,
        "participant_name": row.participant_name,
        "created_at": row.created_at,
        "updated_at": row.updated_at,
        "customer_pk": row.customer_id,
        "participant_pk": row.participant_id,
        "acted_by_pk": row.acted_by_additional_user_id,
    }


@strawberry.federation.type(keys=["id"], description="Money received from a payer.")
class Payment(HistoryRecord):
    paid_at: datetime = strawberry.field(description="When the money was received.")
    amount: Money = strawberry.field(description="What was paid.")
    refunded_amount: Money = strawberry.field(description="How much of it has been refunded.")
    method: PaymentRoute = strawberry.field(description="Through Stripe or outside it.")
    paid_through_stripe: bool = strawberry.field(description="True for card payments by Stripe.")
    description: str = strawberry.field(description="What it paid for, as written on it.")

    @classmethod
    def from_row(cls, row: Row[Any]) -> Payment:
        return cls(
            **_history(row),
            paid_at=row.paid_at,
            amount=_money(row.amount, row.currency),
            refunded_amount=_money(row.refunded_amount, row.currency),
            method=PaymentRoute(row.method),
            paid_through_stripe=row.method == "STRIPE",
            description=row.description,
        )

    @classmethod
    async def resolve_reference(
        cls, info: Info[Context, Any], id: strawberry.ID, **_: Any
    ) -> Payment | None:
        return await _visible(info, info.context.loaders.payment_by_id, _uuid(id), cls.from_row)


async def _payment(info: Info[Context, Any], payment_id: uuid.UUID | None) -> Payment | None:
    # A payment stays with its payer when what it paid for moves to someone else: check it
    # on its own account.
    if payment_id is None:
        return None
    return await _visible(info, info.context.loaders.payment_by_id, payment_id, Payment.from_row)


@strawberry.federation.type(
    keys=["id"], description="A pass the customer holds: credits (one per use) or unlimited."
)
class CustomerPass(HistoryRecord):
    purchased_at: datetime = strawberry.field(description="When it was bought or assigned.")
    pass_product: PassProduct = strawberry.field(description="Which pass it is.")
    valid_from: date = strawberry.field(description="First day it can be used.")
    valid_until: date | None = strawberry.field(description="Last day it can be used; null: none.")
    uses_total: int | None = strawberry.field(description="Uses it came with; null: unlimited.")
    uses_remaining: int | None = strawberry.field(
        description="Uses left; null for an unlimited pass (there is nothing to count)."
    )
    unlimited: bool = strawberry.field(description="True when it gives unlimited uses.")
    price: Money = strawberry.field(description="What it cost.")
    state: PassState = strawberry.field(description="Paid through Stripe, or assigned manually.")
    paid_through_stripe: bool = strawberry.field(description="True when paid by card via Stripe.")
    payment_pk: strawberry.Private[uuid.UUID | None]

    @classmethod
    def from_row(cls, row: Row[Any]) -> CustomerPass:
        return cls(
            **_history(row),
            purchased_at=row.purchased_at,
            pass_product=PassProduct.from_row(row),
            valid_from=row.valid_from,
            valid_until=row.valid_until,
            uses_total=row.uses_total,
            uses_remaining=row.uses_remaining,
            unlimited=row.uses_total is None,
            price=_money(row.price_amount, row.currency),
            state=PassState(row.state),
            paid_through_stripe=row.state == "COMPLETED",
            payment_pk=row.payment_id,
        )

    @strawberry.field(description="The payment for it, if it was paid for.")
    async def payment(self, info: Info[Context, Any]) -> Payment | None:
        return await _payment(info, self.payment_pk)

    @classmethod
    async def resolve_reference(
        cls, info: Info[Context, Any], id: strawberry.ID, **_: Any
    ) -> CustomerPass | None:
        loader = info.context.loaders.customer_pass_by_id
        return await _visible(info, loader, _uuid(id), cls.from_row)


async def _customer_pass(
    info: Info[Context, Any], pass_id: uuid.UUID | None
) -> CustomerPass | None:
    if pass_id is None:
        return None
    loader = info.context.loaders.customer_pass_by_id
    return await _visible(info, loader, pass_id, CustomerPass.from_row)


@strawberry.federation.type(keys=["id"], description="A seat in a session of an event.")
class Booking(HistoryRecord):
    booked_at: datetime = strawberry.field(description="When the booking was made (booked on).")
    event: Event = strawberry.field(description="What was booked.")
    session: Session = strawberry.field(description="Which session of the event.")
    starts_at: ZonedDateTime = strawberry.field(
        description="When: the session's start in the session's own time zone."
    )
    price: Price = strawberry.field(description='Its price: money, or credits ("1 CR").')
    paid_with: PaidWith = strawberry.field(description="What it was paid with.")
    state: BookingState = strawberry.field(description="How it was paid, or Cancelled.")
    paid_through_stripe: bool = strawberry.field(
        description="The Stripe marker: paid by card through Stripe (only these can be refunded)."
    )
    refunded_amount: Money = strawberry.field(
        description="How much has been refunded so far (refunds never change the state)."
    )
    cancelled_at: datetime | None = strawberry.field(description="When it was cancelled.")
    payment_pk: strawberry.Private[uuid.UUID | None]
    pass_pk: strawberry.Private[uuid.UUID | None]

    @classmethod
    def from_row(cls, row: Row[Any]) -> Booking:
        session = Session.from_row(row)
        return cls(
            **_history(row),
            booked_at=row.booked_at,
            event=session.event,
            session=session,
            starts_at=session.starts_at,
            price=price_of(row.price_amount, row.currency, row.price_credits),
            paid_with=PaidWith(row.paid_with),
            state=BookingState(row.state),
            paid_through_stripe=row.paid_with == "STRIPE",
            refunded_amount=_money(row.refunded_amount, row.currency),
            cancelled_at=row.cancelled_at,
            payment_pk=row.payment_id,
            pass_pk=row.customer_pass_id,
        )

    @strawberry.field(description="The payment for it (it stays with its payer on transfer).")
    async def payment(self, info: Info[Context, Any]) -> Payment | None:
        return await _payment(info, self.payment_pk)

    @strawberry.field(description="The pass whose credits paid for it, if any.")
    async def customer_pass(self, info: Info[Context, Any]) -> CustomerPass | None:
        return await _customer_pass(info, self.pass_pk)

    @classmethod
    async def resolve_reference(
        cls, info: Info[Context, Any], id: strawberry.ID, **_: Any
    ) -> Booking | None:
        return await _visible(info, info.context.loaders.booking_by_id, _uuid(id), cls.from_row)


@strawberry.federation.type(
    keys=["id"], description="A one-to-one booking of a service with a facilitator."
)
class Appointment(HistoryRecord):
    booked_at: datetime = strawberry.field(description="When it was booked (booked on).")
    service: Service = strawberry.field(description="What was booked.")
    facilitator: Facilitator = strawberry.field(description="With whom.")
    starts_at: ZonedDateTime = strawberry.field(description="When, in the business's time zone.")
    ends_at: ZonedDateTime = strawberry.field(description="When it ends, same time zone.")
    duration_minutes: int = strawberry.field(description="Its length in minutes.")
    price: Money = strawberry.field(description="What was charged (the payment column).")
    paid_with: PaidWith = strawberry.field(description="What it was paid with.")
    paid_through_stripe: bool = strawberry.field(description="True when paid by card via Stripe.")
    state: AppointmentState = strawberry.field(description="Scheduled or Cancelled.")
    cancelled_at: datetime | None = strawberry.field(description="When it was cancelled.")
    payment_pk: strawberry.Private[uuid.UUID | None]

    @classmethod
    def from_row(cls, row: Row[Any]) -> Appointment:
        starts = zoned(row.starts_at, row.time_zone)
        return cls(
            **_history(row),
            booked_at=row.booked_at,
            service=Service.from_row(row),
            facilitator=Facilitator.from_row(row),
            starts_at=starts,
            ends_at=zoned(_plus_minutes(row.starts_at, row.duration_minutes), row.time_zone),
            duration_minutes=row.duration_minutes,
            price=_money(row.price_amount, row.currency),
            paid_with=PaidWith(row.paid_with),
            paid_through_stripe=row.paid_with == "STRIPE",
            state=AppointmentState(row.state),
            cancelled_at=row.cancelled_at,
            payment_pk=row.payment_id,
        )

    @strawberry.field(description="The payment for it, if it was paid for.")
    async def payment(self, info: Info[Context, Any]) -> Payment | None:
        return await _payment(info, self.payment_pk)

    @classmethod
    async def resolve_reference(
        cls, info: Info[Context, Any], id: strawberry.ID, **_: Any
    ) -> Appointment | None:
        loader = info.context.loaders.appointment_by_id
        return await _visible(info, loader, _uuid(id), cls.from_row)


def _plus_minutes(instant: datetime, minutes: int) -> datetime:
    return instant + timedelta(minutes=minutes)


@strawberry.federation.type(
    keys=["id"], description="Access to a video, bought with money or pass credits."
)
class VideoPurchase(HistoryRecord):
    purchased_at: datetime = strawberry.field(description="When it was bought or assigned.")
    video: Video = strawberry.field(description="Which video.")
    expires_at: datetime | None = strawberry.field(description="When access ends; null: never.")
    price: Price = strawberry.field(description="What it cost: money, or credits.")
    state: VideoPurchaseState = strawberry.field(
        description="Active, Cancelled, or Expired (derived from `expiresAt`)."
    )
    cancelled_at: datetime | None = strawberry.field(description="When it was cancelled.")
    payment_pk: strawberry.Private[uuid.UUID | None]
    pass_pk: strawberry.Private[uuid.UUID | None]

    @classmethod
    def from_row(cls, row: Row[Any]) -> VideoPurchase:
        if row.state == "CANCELLED":
            state = VideoPurchaseState.CANCELLED
        elif row.expires_at is not None and row.expires_at <= history.now():
            state = VideoPurchaseState.EXPIRED
        else:
            state = VideoPurchaseState.ACTIVE
        return cls(
            **_history(row),
            purchased_at=row.purchased_at,
            video=Video.from_row(row),
            expires_at=row.expires_at,
            price=price_of(row.price_amount, row.currency, row.price_credits),
            state=state,
            cancelled_at=row.cancelled_at,
            payment_pk=row.payment_id,
            pass_pk=row.customer_pass_id,
        )

    @strawberry.field(description="The payment for it, when bought with money.")
    async def payment(self, info: Info[Context, Any]) -> Payment | None:
        return await _payment(info, self.payment_pk)

    @strawberry.field(description="The pass whose credits paid for it, if any.")
    async def customer_pass(self, info: Info[Context, Any]) -> CustomerPass | None:
        return await _customer_pass(info, self.pass_pk)

    @classmethod
    async def resolve_reference(
        cls, info: Info[Context, Any], id: strawberry.ID, **_: Any
    ) -> VideoPurchase | None:
        loader = info.context.loaders.video_purchase_by_id
        return await _visible(info, loader, _uuid(id), cls.from_row)


@strawberry.federation.type(
    keys=["id"],
    description="A recurring mandate to a plan: Active ⇄ Paused, either → Suspended, "
    "Suspended → Active.",
)
class CustomerSubscription(HistoryRecord):
    plan: Plan = strawberry.field(description="Which plan.")
    state: SubscriptionState = strawberry.field(description="Active, Paused or Suspended.")
    recurring_price: RecurringPrice = strawberry.field(
        description="What the customer pays each cycle (may differ from today's plan price)."
    )
    started_on: date = strawberry.field(description="First day of the first cycle.")
    next_payment_on: date | None = strawberry.field(
        description="Date of the next payment; null while paused or suspended."
    )

    @classmethod
    def from_row(cls, row: Row[Any]) -> CustomerSubscription:
        return cls(
            **_history(row),
            plan=Plan.from_row(row),
            state=SubscriptionState(row.state),
            recurring_price=RecurringPrice(
                amount=_money(row.amount, row.currency),
                interval_unit=BillingInterval(row.interval_unit),
                interval_count=row.interval_count,
            ),
            started_on=row.started_on,
            next_payment_on=row.next_payment_on,
        )

    @classmethod
    async def resolve_reference(
        cls, info: Info[Context, Any], id: strawberry.ID, **_: Any
    ) -> CustomerSubscription | None:
        loader = info.context.loaders.customer_subscription_by_id
        return await _visible(info, loader, _uuid(id), cls.from_row)


@strawberry.type(description="One question of a questionnaire with the customer's answer.")
class QuestionnaireAnswer:
    key: str = strawberry.field(description="The question's stable key.")
    label: str = strawberry.field(description="The question as shown.")
    type: str = strawberry.field(description="The kind of answer expected (text, boolean, ...).")
    required: bool = strawberry.field(description="Whether an answer is required.")
    options: list[str] | None = strawberry.field(
        description="The choices offered, for select and multiselect questions."
    )
    answered: bool = strawberry.field(description="Whether it was answered.")
    value: JSON | None = strawberry.field(description="The answer as given; null if unanswered.")


def _answers(row: Row[Any]) -> list[QuestionnaireAnswer]:
    given: dict[str, Any] = row.answers or {}
    questions: list[dict[str, Any]] = row.questions or []
    known = {str(q.get("key")) for q in questions}
    answers = [
        QuestionnaireAnswer(
            key=str(q.get("key")),
            label=str(q.get("label", q.get("key"))),
            type=str(q.get("type", "text")),
            required=bool(q.get("required", False)),
            options=[str(o) for o in q["options"]] if isinstance(q.get("options"), list) else None,
            answered=q.get("key") in given,
            value=given.get(str(q.get("key"))),
        )
        for q in questions
    ]
    # Answers to questions since removed from the form are still part of the response.
    answers += [
        QuestionnaireAnswer(
            key=key,
            label=key,
            type="text",
            required=False,
            options=None,
            answered=True,
            value=value,
        )
        for key, value in given.items()
        if key not in known
    ]
    return answers


@strawberry.federation.type(
    keys=["id"],
    description="A questionnaire assigned to the customer and, once submitted, their answers.",
)
class QuestionnaireResponse(HistoryRecord):
    questionnaire: Questionnaire = strawberry.field(description="Which questionnaire.")
    status: QuestionnaireResponseStatus = strawberry.field(description="Assigned or Completed.")
    answers_submitted: int = strawberry.field(description="How many answers were submitted.")
    submitted_at: datetime | None = strawberry.field(description="When it was submitted.")

    @classmethod
    def from_row(cls, row: Row[Any]) -> QuestionnaireResponse:
        return cls(
            **_history(row),
            questionnaire=Questionnaire.from_row(row),
            status=QuestionnaireResponseStatus(row.status),
            answers_submitted=row.answers_submitted,
            submitted_at=row.submitted_at,
        )

    @strawberry.field(
        description="The full response, question by question (loaded on demand: ask for it "
        "when a response is opened, not in the list)."
    )
    async def answers(self, info: Info[Context, Any]) -> list[QuestionnaireAnswer]:
        row = await info.context.loaders.questionnaire_answers.load(_uuid(self.id))
        return _answers(row) if row is not None else []

    @classmethod
    async def resolve_reference(
        cls, info: Info[Context, Any], id: strawberry.ID, **_: Any
    ) -> QuestionnaireResponse | None:
        loader = info.context.loaders.questionnaire_response_by_id
        return await _visible(info, loader, _uuid(id), cls.from_row)


@strawberry.federation.type(
    keys=["id"], description="An internal staff note about a customer; never shown to members."
)
class Note(HistoryRecord):
    content: str = strawberry.field(description="The note's text.")
    author_name: str = strawberry.field(description="Who wrote it (name kept if they leave).")
    author_id: strawberry.ID | None = strawberry.field(
        description="The staff user who wrote it, while they exist."
    )
    updated_by_name: str | None = strawberry.field(description="Who last edited it, if anyone.")
    updated_by_id: strawberry.ID | None = strawberry.field(
        description="The staff user who last edited it, while they exist."
    )

    @classmethod
    def from_row(cls, row: Row[Any]) -> Note:
        author = row.created_by_staff_id
        editor = row.updated_by_staff_id
        return cls(
            **_history(row),
            content=row.content,
            author_name=row.author_name,
            author_id=_id(author) if author is not None else None,
            updated_by_name=row.updated_by_name,
            updated_by_id=_id(editor) if editor is not None else None,
        )

    @classmethod
    async def resolve_reference(
        cls, info: Info[Context, Any], id: strawberry.ID, **_: Any
    ) -> Note | None:
        loader = info.context.loaders.note_by_id
        return await _visible(info, loader, _uuid(id), cls.from_row, staff_only=True)


@strawberry.federation.type(
    keys=["id"],
    description="One entry of a customer's account history: who did what, when, with the "
    "values before and after. Survives every delete.",
)
class AccountHistoryEntry:
    id: strawberry.ID = strawberry.field(description="The entry's UUID.")
    number: int = strawberry.field(description="Short per-business number.")
    created_at: datetime = strawberry.field(description="When it happened.")
    customer_name: str = strawberry.field(description="The customer's name at the time.")
    actor_kind: AccountHistoryActorKind = strawberry.field(description="Who acted, by kind.")
    actor_id: strawberry.ID | None = strawberry.field(
        description="The staff user, customer or additional user who acted, if any."
    )
    actor_name: str = strawberry.field(description="Who acted, by name at the time.")
    action: str = strawberry.field(
        description='What happened, as a dotted code, e.g. "customer.updated".'
    )
    subject_type: str | None = strawberry.field(
        description="The kind of record it concerns, e.g. Booking."
    )
    subject_id: strawberry.ID | None = strawberry.field(description="That record's id.")
    before: JSON | None = strawberry.field(description="The changed values before, if any.")
    after: JSON | None = strawberry.field(description="The changed values after, if any.")
    customer_pk: strawberry.Private[uuid.UUID | None]

    @classmethod
    def from_row(cls, row: Row[Any]) -> AccountHistoryEntry:
        return cls(
            id=_id(row.id),
            number=row.number,
            created_at=row.created_at,
            customer_name=row.customer_name,
            actor_kind=AccountHistoryActorKind(row.actor_kind),
            actor_id=_id(row.actor_id) if row.actor_id is not None else None,
            actor_name=row.actor_name,
            action=row.action,
            subject_type=row.subject_type,
            subject_id=_id(row.subject_id) if row.subject_id is not None else None,
            before=row.before,
            after=row.after,
            customer_pk=row.customer_id,
        )

    @strawberry.field(description="The customer it is about; null once they have been deleted.")
    async def customer(self, info: Info[Context, Any]) -> CustomerRef | None:
        if self.customer_pk is None:
            return None
        from schema.people import Customer

        row = await info.context.loaders.customer_by_id.load(self.customer_pk)
        return Customer.from_row(row) if row is not None else None

    @classmethod
    async def resolve_reference(
        cls, info: Info[Context, Any], id: strawberry.ID, **_: Any
    ) -> AccountHistoryEntry | None:
        loader = info.context.loaders.account_history_entry_by_id
        return await _visible(info, loader, _uuid(id), cls.from_row, staff_only=True)


@strawberry.federation.type(keys=["id"], description="Money returned on a Stripe payment.")
class Refund(HistoryRecord):
    amount: Money = strawberry.field(description="How much is (or was to be) returned.")
    status: RefundStatus = strawberry.field(description="Pending, Succeeded or Failed.")
    reason: str | None = strawberry.field(description="Why it was refunded, as staff wrote it.")
    failure_reason: str | None = strawberry.field(description="Why Stripe refused it, if it did.")
    payment_pk: strawberry.Private[uuid.UUID]
    booking_pk: strawberry.Private[uuid.UUID | None]

    @classmethod
    def from_row(cls, row: Row[Any]) -> Refund:
        return cls(
            **_history(row),
            amount=_money(row.amount, row.currency),
            status=RefundStatus(row.status),
            reason=row.reason,
            failure_reason=row.failure_reason,
            payment_pk=row.payment_id,
            booking_pk=row.booking_id,
        )

    @strawberry.field(description="The payment it returns money from.")
    async def payment(self, info: Info[Context, Any]) -> Payment | None:
        return await _payment(info, self.payment_pk)

    @strawberry.field(description="The booking it was for, if any.")
    async def booking(self, info: Info[Context, Any]) -> Booking | None:
        if self.booking_pk is None:
            return None
        loader = info.context.loaders.booking_by_id
        return await _visible(info, loader, self.booking_pk, Booking.from_row)

    @classmethod
    async def resolve_reference(
        cls, info: Info[Context, Any], id: strawberry.ID, **_: Any
    ) -> Refund | None:
        return await _visible(info, info.context.loaders.refund_by_id, _uuid(id), cls.from_row)


@strawberry.federation.type(
    keys=["id"], description="One message to one person: the customer's communication log."
)
class Message(HistoryRecord):
    channel: MessageChannel = strawberry.field(description="Email, in-app or SMS.")
    purpose: MessagePurpose = strawberry.field(description="Service or marketing.")
    subject: str | None = strawberry.field(description="The subject line, for email.")
    body: str = strawberry.field(description="The text as sent.")
    status: MessageStatus = strawberry.field(description="Where it stands.")
    status_reason: str | None = strawberry.field(
        description="Why it failed or was skipped, if it did or was."
    )
    sent_at: datetime | None = strawberry.field(description="When it was sent.")
    read_at: datetime | None = strawberry.field(description="When it was read (in-app only).")
    sent_to_additional_user: bool = strawberry.field(
        description="True when it went to one of the customer's additional users."
    )

    @classmethod
    def from_row(cls, row: Row[Any]) -> Message:
        return cls(
            **_history(row),
            channel=MessageChannel(row.channel),
            purpose=MessagePurpose(row.purpose),
            subject=row.subject,
            body=row.body,
            status=MessageStatus(row.status),
            status_reason=row.status_reason,
            sent_at=row.sent_at,
            read_at=row.read_at,
            sent_to_additional_user=row.recipient_additional_user_id is not None,
        )

    @classmethod
    async def resolve_reference(
        cls, info: Info[Context, Any], id: strawberry.ID, **_: Any
    ) -> Message | None:
        return await _visible(info, info.context.loaders.message_by_id, _uuid(id), cls.from_row)


# The account panel: sales chart and card summary --------------------------------------------


@strawberry.type(description="Items of one kind sold in a period.")
class SalesTally:
    count: int = strawberry.field(
        description="Items bought (cancelled ones excluded), whether paid with money or credits."
    )
    amount: Money = strawberry.field(
        description="Money taken for them, net of refunds (credits are not money)."
    )
    credits: int = strawberry.field(description="Pass credits spent on them.")


def _tally(sales: MonthSales | None, currency: str) -> SalesTally:
    if sales is None:
        return SalesTally(count=0, amount=_money(0, currency), credits=0)
    return SalesTally(
        count=sales.count, amount=_money(sales.amount, currency), credits=sales.credits
    )


@strawberry.type(description="One month of the sales chart, in the business's time zone.")
class SalesMonth:
    month: str = strawberry.field(description='The month, e.g. "2026-04".')
    starts_at: datetime = strawberry.field(
        description="When the month starts in the business's time zone, as an instant."
    )
    bookings: SalesTally = strawberry.field(description="Bookings made that month (booked on).")
    passes: SalesTally = strawberry.field(description="Passes bought that month.")
    videos: SalesTally = strawberry.field(description="Videos bought that month.")


@strawberry.type(
    description="What the customer bought month by month: the profile's sales chart. Months "
    "are cut in the business's time zone; empty months are included."
)
class SalesActivity:
    time_zone: str = strawberry.field(description="The business's time zone the months follow.")
    currency: str = strawberry.field(description="The currency the amounts are in.")
    months: list[SalesMonth] = strawberry.field(
        description="Oldest first, ending with the current month."
    )
    bookings: SalesTally = strawberry.field(description="Bookings over all the months.")
    passes: SalesTally = strawberry.field(description="Passes over all the months.")
    videos: SalesTally = strawberry.field(description="Videos over all the months.")


def _sum(tallies: list[SalesTally], currency: str) -> SalesTally:
    return SalesTally(
        count=sum(t.count for t in tallies),
        amount=_money(sum(t.amount.amount for t in tallies), currency),
        credits=sum(t.credits for t in tallies),
    )


def sales_activity(summary: AccountSummary, months: int) -> SalesActivity:
    zone = ZoneInfo(summary.time_zone)
    local_now = summary.as_of.astimezone(zone)
    chart: list[SalesMonth] = []
    for back in range(months - 1, -1, -1):
        index = local_now.year * 12 + local_now.month - 1 - back
        year, month = divmod(index, 12)
        sales = summary.sales.get((year, month + 1), {})
        currency = summary.currency
        chart.append(
            SalesMonth(
                month=f"{year:04d}-{month + 1:02d}",
                starts_at=datetime(year, month + 1, 1, tzinfo=zone),
                bookings=_tally(sales.get("bookings"), currency),
                passes=_tally(sales.get("passes"), currency),
                videos=_tally(sales.get("videos"), currency),
            )
        )
    return SalesActivity(
        time_zone=summary.time_zone,
        currency=summary.currency,
        months=chart,
        bookings=_sum([m.bookings for m in chart], summary.currency),
        passes=_sum([m.passes for m in chart], summary.currency),
        videos=_sum([m.videos for m in chart], summary.currency),
    )


@strawberry.type(description="The customer's default saved card, as a summary (never the card).")
class PaymentMethodSummary:
    brand: str = strawberry.field(description="Card brand, e.g. visa.")
    last4: str = strawberry.field(description="Last four digits.")
    exp_month: int = strawberry.field(description="Expiry month (1-12).")
    exp_year: int = strawberry.field(description="Expiry year (four digits).")
    expiry: str = strawberry.field(description='Expiry as printed on the card, e.g. "04/2027".')


# The Customer's profile fields --------------------------------------------------------------

SearchArg = Annotated[
    str | None,
    strawberry.argument(
        description="What a person would type: names (event, service, pass, video, plan, "
        "questionnaire, facilitator, author), note text or the row's number. Every word must "
        "match; case and accents are ignored. At most 200 characters."
    ),
]
FirstArg = Annotated[
    int | None,
    strawberry.argument(description="Page size from the start (default 20, at most 100)."),
]
AfterArg = Annotated[str | None, strawberry.argument(description="Cursor to page forward from.")]
LastArg = Annotated[
    int | None, strawberry.argument(description="Page size from the end (at most 100).")
]
BeforeArg = Annotated[str | None, strawberry.argument(description="Cursor to page backward from.")]


def _names(states: list[Any] | None) -> list[str] | None:
    return [state.value for state in states] if states is not None else None


@strawberry.type(description="The profile page's fields of a customer.")
class CustomerProfile:
    """Mixed into `Customer` (schema/people.py); `pk` is the customer's id."""

    if TYPE_CHECKING:
        pk: uuid.UUID

    @strawberry.field(
        description="The default saved card (brand, last 4, expiry); null when there is none "
        "and always for additional users."
    )
    async def payment_method(self, info: Info[Context, Any]) -> PaymentMethodSummary | None:
        viewer = info.context.viewer
        if viewer is None or viewer.role is Role.ADDITIONAL_USER:
            return None
        summary = await info.context.loaders.account_summary.load(SummaryKey(self.pk, 0))
        card = summary.payment_method
        if card is None:
            return None
        return PaymentMethodSummary(
            brand=card.brand,
            last4=card.last4,
            exp_month=card.exp_month,
            exp_year=card.exp_year,
            expiry=f"{card.exp_month:02d}/{card.exp_year}",
        )

    @strawberry.field(
        description="Bookings, passes and videos bought per month (by booked-on or purchase "
        "date) over the months ending with the current one, in the business's time zone: "
        "cancelled items excluded, money net of refunds, credits counted apart."
    )
    async def sales_activity(
        self,
        info: Info[Context, Any],
        months: Annotated[
            int,
            strawberry.argument(description=f"How many months (1 to {MAX_CHART_MONTHS})."),
        ] = 12,
    ) -> SalesActivity:
        if not 1 <= months <= MAX_CHART_MONTHS:
            raise ApiError(
                ErrorCode.INVALID_ARGUMENT,
                f"`months` must be between 1 and {MAX_CHART_MONTHS}.",
                "months",
            )
        summary = await info.context.loaders.account_summary.load(SummaryKey(self.pk, months))
        return sales_activity(summary, months)

    @strawberry.field(description="Event bookings, newest booked first.")
    async def bookings(
        self,
        info: Info[Context, Any],
        search: SearchArg = None,
        states: Annotated[
            list[BookingState] | None, strawberry.argument(description="Only these states.")
        ] = None,
        first: FirstArg = None,
        after: AfterArg = None,
        last: LastArg = None,
        before: BeforeArg = None,
    ) -> Connection[Booking]:
        return await tab_connection(
            info.context.loaders.bookings_tab,
            self.pk,
            search,
            _names(states),
            first,
            after,
            last,
            before,
            Booking.from_row,
        )

    @strawberry.field(description="Appointments, newest booked first.")
    async def appointments(
        self,
        info: Info[Context, Any],
        search: SearchArg = None,
        states: Annotated[
            list[AppointmentState] | None, strawberry.argument(description="Only these states.")
        ] = None,
        first: FirstArg = None,
        after: AfterArg = None,
        last: LastArg = None,
        before: BeforeArg = None,
    ) -> Connection[Appointment]:
        return await tab_connection(
            info.context.loaders.appointments_tab,
            self.pk,
            search,
            _names(states),
            first,
            after,
            last,
            before,
            Appointment.from_row,
        )

    @strawberry.field(description="Passes held, newest purchased first.")
    async def passes(
        self,
        info: Info[Context, Any],
        search: SearchArg = None,
        states: Annotated[
            list[PassState] | None, strawberry.argument(description="Only these states.")
        ] = None,
        first: FirstArg = None,
        after: AfterArg = None,
        last: LastArg = None,
        before: BeforeArg = None,
    ) -> Connection[CustomerPass]:
        return await tab_connection(
            info.context.loaders.passes_tab,
            self.pk,
            search,
            _names(states),
            first,
            after,
            last,
            before,
            CustomerPass.from_row,
        )

    @strawberry.field(description="Video purchases, newest first.")
    async def videos(
        self,
        info: Info[Context, Any],
        search: SearchArg = None,
        states: Annotated[
            list[VideoPurchaseState] | None,
            strawberry.argument(description="Only these states (Expired as derived)."),
        ] = None,
        first: FirstArg = None,
        after: AfterArg = None,
        last: LastArg = None,
        before: BeforeArg = None,
    ) -> Connection[VideoPurchase]:
        return await tab_connection(
            info.context.loaders.videos_tab,
            self.pk,
            search,
            _names(states),
            first,
            after,
            last,
            before,
            VideoPurchase.from_row,
        )

    @strawberry.field(description="Subscriptions, newest created first.")
    async def subscriptions(
        self,
        info: Info[Context, Any],
        search: SearchArg = None,
        states: Annotated[
            list[SubscriptionState] | None, strawberry.argument(description="Only these states.")
        ] = None,
        first: FirstArg = None,
        after: AfterArg = None,
        last: LastArg = None,
        before: BeforeArg = None,
    ) -> Connection[CustomerSubscription]:
        return await tab_connection(
            info.context.loaders.subscriptions_tab,
            self.pk,
            search,
            _names(states),
            first,
            after,
            last,
            before,
            CustomerSubscription.from_row,
        )

    @strawberry.field(description="Questionnaires assigned and answered, newest first.")
    async def questionnaires(
        self,
        info: Info[Context, Any],
        search: SearchArg = None,
        statuses: Annotated[
            list[QuestionnaireResponseStatus] | None,
            strawberry.argument(description="Only these statuses."),
        ] = None,
        first: FirstArg = None,
        after: AfterArg = None,
        last: LastArg = None,
        before: BeforeArg = None,
    ) -> Connection[QuestionnaireResponse]:
        return await tab_connection(
            info.context.loaders.questionnaires_tab,
            self.pk,
            search,
            _names(statuses),
            first,
            after,
            last,
            before,
            QuestionnaireResponse.from_row,
        )

    @strawberry.field(
        description="Internal notes, newest first. Staff only: null with FORBIDDEN for members."
    )
    async def notes(
        self,
        info: Info[Context, Any],
        search: SearchArg = None,
        first: FirstArg = None,
        after: AfterArg = None,
        last: LastArg = None,
        before: BeforeArg = None,
    ) -> Connection[Note] | None:
        _staff_only(info)
        return await tab_connection(
            info.context.loaders.notes_tab,
            self.pk,
            search,
            None,
            first,
            after,
            last,
            before,
            Note.from_row,
        )

    @strawberry.field(
        description="Account history (who did what, when, before and after), newest first. "
        "Staff only: null with FORBIDDEN for members."
    )
    async def account_history(
        self,
        info: Info[Context, Any],
        search: SearchArg = None,
        actor_kinds: Annotated[
            list[AccountHistoryActorKind] | None,
            strawberry.argument(description="Only changes made by these kinds of actor."),
        ] = None,
        first: FirstArg = None,
        after: AfterArg = None,
        last: LastArg = None,
        before: BeforeArg = None,
    ) -> Connection[AccountHistoryEntry] | None:
        _staff_only(info)
        return await tab_connection(
            info.context.loaders.account_history_tab,
            self.pk,
            search,
            _names(actor_kinds),
            first,
            after,
            last,
            before,
            AccountHistoryEntry.from_row,
        )


def _staff_only(info: Info[Context, Any]) -> None:
    viewer = info.context.viewer
    if viewer is None or not viewer.is_staff:
        raise ApiError(ErrorCode.FORBIDDEN, "Only the business's owners and staff may see this.")


# Every entity this module adds, for the schema's `types`.
PROFILE_ENTITIES: tuple[type, ...] = (
    Booking,
    Appointment,
    CustomerPass,
    VideoPurchase,
    CustomerSubscription,
    QuestionnaireResponse,
    Note,
    AccountHistoryEntry,
    Payment,
    Refund,
    Message,
    Event,
    Session,
    Service,
    Facilitator,
    PassProduct,
    Video,
    Plan,
    Questionnaire,
)
