"""People: the `Person` interface and its three kinds, Customer, Participant and AdditionalUser.

Instances are built from loader rows; scalar fields are plain attributes (no resolver per field);
relations go through the request's loaders.
"""

from __future__ import annotations

import asyncio
import uuid
from datetime import date, datetime
from enum import Enum
from typing import Any

import strawberry
from sqlalchemy import Row
from strawberry.types import Info

from schema.profile import CustomerProfile
from server.auth import Role, Viewer
from server.context import Context


@strawberry.enum(description="Which kind of person a directory row is.")
class PersonKind(Enum):
    CUSTOMER = strawberry.enum_value("CUSTOMER", description="An account holder (the buyer).")
    PARTICIPANT = strawberry.enum_value(
        "PARTICIPANT", description="Someone who attends, belonging to one customer."
    )
    ADDITIONAL_USER = strawberry.enum_value(
        "ADDITIONAL_USER", description="Someone with their own login acting for a customer."
    )


@strawberry.enum(description="The categories a directory row belongs to (filters of the list).")
class PersonCategory(Enum):
    PRIMARY = strawberry.enum_value(
        "PRIMARY", description="A customer with any booking, pass, purchase or payment."
    )
    LEAD = strawberry.enum_value(
        "LEAD", description="A customer without history, created by staff or another service."
    )
    APP_USER = strawberry.enum_value(
        "APP_USER", description="A customer without history who signed up in the member portal."
    )
    PARTICIPANT = strawberry.enum_value("PARTICIPANT", description="Someone who attends.")
    ADDITIONAL_USER = strawberry.enum_value(
        "ADDITIONAL_USER", description="Someone with their own login acting for a customer."
    )


@strawberry.enum(description="A customer's derived category: never typed in, always computed.")
class CustomerCategory(Enum):
    PRIMARY = strawberry.enum_value(
        "PRIMARY",
        description="Has a booking, appointment, pass, video, subscription, "
        "questionnaire response or payment.",
    )
    LEAD = strawberry.enum_value(
        "LEAD", description="No history; created by staff or by another service."
    )
    APP_USER = strawberry.enum_value(
        "APP_USER", description="No history; signed up in the member portal."
    )


@strawberry.enum(description="Whether a person appears in the Active or the Archived tab.")
class PersonStatus(Enum):
    ACTIVE = strawberry.enum_value("ACTIVE", description="In the Active tab; may log in.")
    ARCHIVED = strawberry.enum_value(
        "ARCHIVED", description="In the Archived tab; portal log-in refused; data kept."
    )


def can_view_customer(
    viewer: Viewer, customer_id: uuid.UUID, buyer_id: uuid.UUID | None = None
) -> bool:
    """Staff see every customer of their business; a customer sees themselves; an additional
    user sees the customer they act for (`buyer_id`)."""
    if viewer.is_staff:
        return True
    if viewer.role is Role.CUSTOMER:
        return viewer.subject_id == customer_id
    return buyer_id is not None and buyer_id == customer_id


def full_name(first: str, last: str) -> str:
    return f"{first} {last}".strip()


@strawberry.interface(
    description="A row of the customer directory: a customer, a participant or an additional user."
)
class Person:
    id: strawberry.ID = strawberry.field(description="The person's UUID.")
    kind: PersonKind = strawberry.field(description="Which kind of person this is.")
    categories: list[PersonCategory] = strawberry.field(
        description="Every category the row belongs to, e.g. [PRIMARY, PARTICIPANT] for a "
        "customer who attends themselves."
    )
    first_name: str = strawberry.field(description="First name.")
    last_name: str = strawberry.field(description="Last name.")
    full_name: str = strawberry.field(description="First and last name.")
    email: str | None = strawberry.field(description="Email address, if any.")
    mobile: str | None = strawberry.field(description="Mobile number in E.164, e.g. +447700900123.")
    status: PersonStatus = strawberry.field(
        description="Active or Archived (participants and additional users share their customer's)."
    )

    @strawberry.field(
        description="The customer whose account this person belongs to (a customer: itself)."
    )
    async def customer(self, info: Info[Context, Any]) -> Customer:
        raise NotImplementedError  # each kind of person answers this itself


async def _customer_by_id(info: Info[Context, Any], customer_id: uuid.UUID) -> Customer | None:
    row = await info.context.loaders.customer_by_id.load(customer_id)
    return Customer.from_row(row) if row is not None else None


async def _visible_customer(info: Info[Context, Any], customer_id: uuid.UUID) -> Customer | None:
    """A customer the viewer may see, or None (indistinguishable from a missing one)."""
    viewer = info.context.viewer
    if viewer is None:
        return None
    buyer_id = await buyer_of(info, viewer)
    if not can_view_customer(viewer, customer_id, buyer_id):
        return None
    return await _customer_by_id(info, customer_id)


async def buyer_of(info: Info[Context, Any], viewer: Viewer) -> uuid.UUID | None:
    """The customer an additional-user viewer acts for."""
    if viewer.role is not Role.ADDITIONAL_USER:
        return None
    row = await info.context.loaders.additional_user_by_id.load(viewer.subject_id)
    return row.customer_id if row is not None else None


@strawberry.federation.type(
    keys=["id"],
    description="An account holder: the buyer. History always belongs to a customer's account.",
)
class Customer(Person, CustomerProfile):
    number: int = strawberry.field(description="Short per-business number staff can read out.")
    category: CustomerCategory = strawberry.field(description="Derived from the history.")
    app_access_enabled: bool = strawberry.field(
        description="Whether the member portal lets this customer log in."
    )
    marketing_consent: bool = strawberry.field(description="Opted in to marketing messages.")
    version: int = strawberry.field(
        description="Edit version: send it back with an update so a stale edit is refused."
    )
    created_at: datetime = strawberry.field(description="When the customer was created.")
    updated_at: datetime = strawberry.field(description="When the contact details last changed.")
    merged_into_id: strawberry.Private[uuid.UUID | None]
    pk: strawberry.Private[uuid.UUID]

    @classmethod
    def from_row(cls, row: Row[Any]) -> Customer:
        categories = [PersonCategory(row.category)]
        if row.has_self_participant:
            categories.append(PersonCategory.PARTICIPANT)
        return cls(
            id=strawberry.ID(str(row.id)),
            kind=PersonKind.CUSTOMER,
            categories=categories,
            first_name=row.first_name,
            last_name=row.last_name,
            full_name=full_name(row.first_name, row.last_name),
            email=row.email,
            mobile=row.mobile,
            status=PersonStatus(row.status),
            number=row.number,
            category=CustomerCategory(row.category),
            app_access_enabled=row.app_access_enabled,
            marketing_consent=row.marketing_consent,
            version=row.version,
            created_at=row.created_at,
            updated_at=row.updated_at,
            merged_into_id=row.merged_into_id,
            pk=row.id,
        )

    # Not async: a page of the list asks it of every row, and an awaitable costs each of them
    # the executor's async path for nothing.
    @strawberry.field(description="The customer this row belongs to: for a customer, itself.")
    def customer(self, info: Info[Context, Any]) -> Customer:
        return self

    @strawberry.field(
        description="The customer this account was merged into, if it was merged "
        "(it is then archived and cannot log in)."
    )
    async def merged_into(self, info: Info[Context, Any]) -> Customer | None:
        if self.merged_into_id is None:
            return None
        return await _customer_by_id(info, self.merged_into_id)

    @strawberry.field(
        description="Who attends for this account: the customer themselves "
        "(isSelf) first, then the others by name."
    )
    async def participants(self, info: Info[Context, Any]) -> list[Participant]:
        rows = await info.context.loaders.participants_by_customer.load(self.pk)
        return [Participant.from_row(row, self.status) for row in rows]

    @strawberry.field(description="People with their own login who act for this account.")
    async def additional_users(self, info: Info[Context, Any]) -> list[AdditionalUser]:
        rows = await info.context.loaders.additional_users_by_customer.load(self.pk)
        return [AdditionalUser.from_row(row, self.status) for row in rows]

    @classmethod
    async def resolve_reference(
        cls, info: Info[Context, Any], id: strawberry.ID, **_: Any
    ) -> Customer | None:
        return await _visible_customer(info, uuid.UUID(str(id)))


@strawberry.federation.type(
    keys=["id"],
    description="Someone who attends, belonging to exactly "
    "one customer. `isSelf` marks the customer themselves.",
)
class Participant(Person):
    is_self: bool = strawberry.field(description="This participant is the customer themselves.")
    date_of_birth: date | None = strawberry.field(description="Date of birth, if known.")
    created_at: datetime = strawberry.field(description="When the participant was added.")
    customer_id: strawberry.Private[uuid.UUID]

    @classmethod
    def from_row(cls, row: Row[Any], status: PersonStatus) -> Participant:
        return cls(
            id=strawberry.ID(str(row.id)),
            kind=PersonKind.PARTICIPANT,
            categories=[PersonCategory.PARTICIPANT],
            first_name=row.first_name,
            last_name=row.last_name,
            full_name=full_name(row.first_name, row.last_name),
            email=row.email,
            mobile=row.mobile,
            status=status,
            is_self=row.is_self,
            date_of_birth=row.date_of_birth,
            created_at=row.created_at,
            customer_id=row.customer_id,
        )

    @strawberry.field(description="The customer this participant belongs to.")
    async def customer(self, info: Info[Context, Any]) -> Customer:
        customer = await _customer_by_id(info, self.customer_id)
        assert customer is not None  # a participant always has its customer (FK, cascade)
        return customer

    @classmethod
    async def resolve_reference(
        cls, info: Info[Context, Any], id: strawberry.ID, **_: Any
    ) -> Participant | None:
        row = await info.context.loaders.participant_by_id.load(uuid.UUID(str(id)))
        if row is None:
            return None
        customer = await _visible_customer(info, row.customer_id)
        return cls.from_row(row, customer.status) if customer is not None else None


@strawberry.federation.type(
    keys=["id"],
    description="A person with their own login who acts for "
    "a customer's account (sees everything but payment methods).",
)
class AdditionalUser(Person):
    number: int = strawberry.field(description="Short per-business number.")
    app_access_enabled: bool = strawberry.field(
        description="Whether the member portal lets this person log in."
    )
    marketing_consent: bool = strawberry.field(description="Opted in to marketing messages.")
    version: int = strawberry.field(description="Edit version, for stale-edit detection.")
    created_at: datetime = strawberry.field(description="When the additional user was added.")
    customer_id: strawberry.Private[uuid.UUID]

    @classmethod
    def from_row(cls, row: Row[Any], status: PersonStatus) -> AdditionalUser:
        return cls(
            id=strawberry.ID(str(row.id)),
            kind=PersonKind.ADDITIONAL_USER,
            categories=[PersonCategory.ADDITIONAL_USER],
            first_name=row.first_name,
            last_name=row.last_name,
            full_name=full_name(row.first_name, row.last_name),
            email=row.email,
            mobile=row.mobile,
            status=status,
            number=row.number,
            app_access_enabled=row.app_access_enabled,
            marketing_consent=row.marketing_consent,
            version=row.version,
            created_at=row.created_at,
            customer_id=row.customer_id,
        )

    @strawberry.field(description="The customer this person acts for.")
    async def customer(self, info: Info[Context, Any]) -> Customer:
        customer = await _customer_by_id(info, self.customer_id)
        assert customer is not None
        return customer

    @classmethod
    async def resolve_reference(
        cls, info: Info[Context, Any], id: strawberry.ID, **_: Any
    ) -> AdditionalUser | None:
        row = await info.context.loaders.additional_user_by_id.load(uuid.UUID(str(id)))
        if row is None:
            return None
        viewer = info.context.viewer
        if (
            viewer is not None
            and viewer.role is Role.ADDITIONAL_USER
            and viewer.subject_id == row.id
        ):
            customer = await _customer_by_id(info, row.customer_id)
        else:
            customer = await _visible_customer(info, row.customer_id)
        return cls.from_row(row, customer.status) if customer is not None else None


async def people_from_directory_rows(
    info: Info[Context, Any], rows: list[Row[Any]]
) -> list[Person | None]:
    """Directory rows as people, loaded through the request's loaders (one batch per kind)."""
    loaders = info.context.loaders
    pending: list[Any] = []
    for row in rows:
        if row.kind == "CUSTOMER":
            pending.append(loaders.customer_by_id.load(row.person_id))
        elif row.kind == "PARTICIPANT":
            pending.append(loaders.participant_by_id.load(row.person_id))
        else:
            pending.append(loaders.additional_user_by_id.load(row.person_id))
        # The status of participants and additional users is their customer's.
        if row.kind != "CUSTOMER":
            loaders.customer_by_id.load(row.customer_id)
    loaded = await asyncio.gather(*pending)
    statuses = await asyncio.gather(*[loaders.customer_by_id.load(row.customer_id) for row in rows])
    people: list[Person | None] = []
    for row, record, owner in zip(rows, loaded, statuses, strict=True):
        if record is None or owner is None:
            people.append(None)  # deleted between the page and the load: skip the row
        elif row.kind == "CUSTOMER":
            people.append(Customer.from_row(record))
        elif row.kind == "PARTICIPANT":
            people.append(Participant.from_row(record, PersonStatus(owner.status)))
        else:
            people.append(AdditionalUser.from_row(record, PersonStatus(owner.status)))
    return people
