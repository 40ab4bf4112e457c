"""Loaders for people: customers, participants and additional users."""

from __future__ import annotations

import uuid
from typing import Any

from sqlalchemy import Row, select
from sqlalchemy.sql import Select

from loaders.base import ByIdLoader, ManyByParentLoader
from models import AdditionalUser, Customer, Participant

customers = Customer.__table__
participants = Participant.__table__
additional_users = AdditionalUser.__table__

CUSTOMER_COLUMNS = (
    customers.c.id,
    customers.c.number,
    customers.c.first_name,
    customers.c.last_name,
    customers.c.email,
    customers.c.mobile,
    customers.c.status,
    customers.c.category,
    customers.c.merged_into_id,
    customers.c.app_access_enabled,
    customers.c.marketing_consent,
    customers.c.email_verified_at,
    customers.c.version,
    customers.c.created_at,
    customers.c.updated_at,
    customers.c.name_key,
    # Whether the customer takes part themselves: their directory row says PARTICIPANT too.
    select(participants.c.id)
    .where(
        participants.c.business_id == customers.c.business_id,
        participants.c.customer_id == customers.c.id,
        participants.c.is_self,
    )
    .exists()
    .label("has_self_participant"),
)

PARTICIPANT_COLUMNS = (
    participants.c.id,
    participants.c.customer_id,
    participants.c.is_self,
    participants.c.first_name,
    participants.c.last_name,
    participants.c.date_of_birth,
    participants.c.email,
    participants.c.mobile,
    participants.c.created_at,
    participants.c.updated_at,
    participants.c.name_key,
)

ADDITIONAL_USER_COLUMNS = (
    additional_users.c.id,
    additional_users.c.customer_id,
    additional_users.c.number,
    additional_users.c.first_name,
    additional_users.c.last_name,
    additional_users.c.email,
    additional_users.c.mobile,
    additional_users.c.app_access_enabled,
    additional_users.c.marketing_consent,
    additional_users.c.email_verified_at,
    additional_users.c.version,
    additional_users.c.created_at,
    additional_users.c.updated_at,
    additional_users.c.name_key,
)


def _participant_parent(row: Row[Any]) -> uuid.UUID:
    return row.customer_id  # type: ignore[no-any-return]


class CustomerByIdLoader(ByIdLoader):
    def statement(self, keys: list[uuid.UUID]) -> Select[Any]:
        return select(*CUSTOMER_COLUMNS).where(customers.c.id.in_(keys))


class ParticipantByIdLoader(ByIdLoader):
    def statement(self, keys: list[uuid.UUID]) -> Select[Any]:
        return select(*PARTICIPANT_COLUMNS).where(participants.c.id.in_(keys))


class AdditionalUserByIdLoader(ByIdLoader):
    def statement(self, keys: list[uuid.UUID]) -> Select[Any]:
        return select(*ADDITIONAL_USER_COLUMNS).where(additional_users.c.id.in_(keys))


class ParticipantsByCustomerLoader(ManyByParentLoader):
    """A customer's participants: themselves first, then by name."""

    parent_key = staticmethod(_participant_parent)

    def statement(self, keys: list[uuid.UUID]) -> Select[Any]:
        return (
            select(*PARTICIPANT_COLUMNS)
            .where(participants.c.customer_id.in_(keys))
            .order_by(
                participants.c.customer_id,
                participants.c.is_self.desc(),
                participants.c.name_key,
                participants.c.id,
            )
        )


class AdditionalUsersByCustomerLoader(ManyByParentLoader):
    """A customer's additional users, by name."""

    parent_key = staticmethod(_participant_parent)

    def statement(self, keys: list[uuid.UUID]) -> Select[Any]:
        return (
            select(*ADDITIONAL_USER_COLUMNS)
            .where(additional_users.c.customer_id.in_(keys))
            .order_by(
                additional_users.c.customer_id, additional_users.c.name_key, additional_users.c.id
            )
        )
