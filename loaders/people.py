"""Loaders for people: customers, participants and additional users.

Every page of the customer list loads its people through these, so their statements are
compiled to text once, take the ids as one array parameter (one prepared statement whatever the
page's size) and return asyncpg records directly (`RowLoader.fetch_text`).
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import any_, literal_column, select, text
from sqlalchemy.dialects import postgresql
from sqlalchemy.sql import ColumnElement, Select
from sqlalchemy.sql.elements import TextClause

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


_NAMED = postgresql.dialect(paramstyle="named")  # type: ignore[no-untyped-call]


def _textual(statement: Select[Any]) -> TextClause:
    """The statement as fixed text (`:ids` its one parameter), compiled once at import."""
    return text(str(statement.compile(dialect=_NAMED)))


def _any_id(column: ColumnElement[Any]) -> ColumnElement[bool]:
    """`column = ANY(:ids)`, the array behind a scalar subquery: seen as a constant, it makes
    every custom plan look cheaper than the generic one, and PostgreSQL plans the statement
    afresh on each execution (0.1-0.3 ms, more than running it)."""
    return column == any_(literal_column("CAST((SELECT CAST(:ids AS uuid[])) AS uuid[])"))


CUSTOMERS_BY_ID = _textual(select(*CUSTOMER_COLUMNS).where(_any_id(customers.c.id)))
PARTICIPANTS_BY_ID = _textual(select(*PARTICIPANT_COLUMNS).where(_any_id(participants.c.id)))
ADDITIONAL_USERS_BY_ID = _textual(
    select(*ADDITIONAL_USER_COLUMNS).where(_any_id(additional_users.c.id))
)
PARTICIPANTS_BY_CUSTOMER = _textual(
    select(*PARTICIPANT_COLUMNS)
    .where(_any_id(participants.c.customer_id))
    .order_by(
        participants.c.customer_id,
        participants.c.is_self.desc(),
        participants.c.name_key,
        participants.c.id,
    )
)
ADDITIONAL_USERS_BY_CUSTOMER = _textual(
    select(*ADDITIONAL_USER_COLUMNS)
    .where(_any_id(additional_users.c.customer_id))
    .order_by(additional_users.c.customer_id, additional_users.c.name_key, additional_users.c.id)
)


class CustomerByIdLoader(ByIdLoader):
    query = CUSTOMERS_BY_ID


class ParticipantByIdLoader(ByIdLoader):
    query = PARTICIPANTS_BY_ID


class AdditionalUserByIdLoader(ByIdLoader):
    query = ADDITIONAL_USERS_BY_ID


class ParticipantsByCustomerLoader(ManyByParentLoader):
    """A customer's participants: themselves first, then by name."""

    query = PARTICIPANTS_BY_CUSTOMER


class AdditionalUsersByCustomerLoader(ManyByParentLoader):
    """A customer's additional users, by name."""

    query = ADDITIONAL_USERS_BY_CUSTOMER
