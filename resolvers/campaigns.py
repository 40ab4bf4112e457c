"""Email campaign audiences: create them, add people (consent respected, no duplicates), and
read them with their members.

Only people who can receive marketing email are added: customers and additional users with
marketing consent and an email address, not merged away. Everyone else is reported with the
reason. A person already in the audience is not added twice (the unique constraints decide,
so two staff adding the same person at once still make one membership).
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Final, cast

from sqlalchemy import Row, Table, and_, case, func, insert, select, text
from sqlalchemy.ext.asyncio import AsyncConnection

from models import AdditionalUser, CampaignAudience, CampaignAudienceMember
from models.campaigns import AUDIENCE_NAME_LENGTH
from resolvers import outbox
from resolvers.paging import capped_count, fetch_page
from schema.errors import ErrorCode, UserError, user_error
from schema.pagination import PageRequest, list_signature
from server.db import ReadTransaction
from server.jobs.recipients import participants_among

audiences = cast(Table, CampaignAudience.__table__)
members = cast(Table, CampaignAudienceMember.__table__)
additional_users = cast(Table, AdditionalUser.__table__)

# What became of one person.
ADDED: Final = "ADDED"
ALREADY_MEMBER: Final = "ALREADY_MEMBER"
SKIPPED: Final = "SKIPPED"
NOT_FOUND: Final = "NOT_FOUND"

ADDED_MESSAGE: Final = "Added to the audience."
ALREADY_MESSAGE: Final = "Already in this audience."
NOT_FOUND_MESSAGE: Final = "No customer or additional user with this id in the business."
NO_CONSENT: Final = "Not added: this person has not agreed to marketing email (or has opted out)."
NO_ADDRESS: Final = "Not added: this person has no email address."
MERGED: Final = "Not added: this customer was merged into another one."
PARTICIPANT: Final = "Not added: participants have no login or email of their own."


@dataclass(frozen=True)
class AddResult:
    status: str
    message: str


def clean_audience_name(raw: str, field: str) -> tuple[str, list[UserError]]:
    name = " ".join(raw.split())
    if not name:
        return name, [user_error(ErrorCode.REQUIRED, field, "Enter a name for the audience.")]
    if len(name) > AUDIENCE_NAME_LENGTH:
        message = f"The name is limited to {AUDIENCE_NAME_LENGTH} characters."
        return name, [user_error(ErrorCode.TOO_LONG, field, message)]
    return name, []


def duplicate_name(field: str) -> UserError:
    return user_error(
        ErrorCode.DUPLICATE, field, "There is already an audience with this name in the business."
    )


async def create_audience(
    conn: AsyncConnection,
    business_id: uuid.UUID,
    name: str,
    staff_id: uuid.UUID | None,
) -> uuid.UUID:
    """A new, empty audience (a duplicate name raises the unique violation for the caller)."""
    created = await conn.execute(
        insert(audiences)
        .values(business_id=business_id, name=name, created_by_staff_id=staff_id)
        .returning(audiences.c.id)
    )
    return uuid.UUID(str(created.scalar_one()))


async def lock_audience(conn: AsyncConnection, audience_id: uuid.UUID) -> bool:
    """Whether the business has this audience (locked against a concurrent delete)."""
    found = await conn.execute(
        select(audiences.c.id).where(audiences.c.id == audience_id).with_for_update(key_share=True)
    )
    return found.first() is not None


# clock_timestamp(): the members list is in the order people were added, within one request too.
_ADD = text(
    """
    INSERT INTO campaign_audience_members
        (business_id, audience_id, customer_id, additional_user_id, added_by_staff_id, added_at)
    SELECT :business_id, :audience_id, p.customer_id, p.additional_user_id, :staff_id,
           clock_timestamp()
    FROM unnest(CAST(:customers AS uuid[]), CAST(:additional_users AS uuid[]))
         WITH ORDINALITY AS p(customer_id, additional_user_id, ord)
    ORDER BY p.ord
    ON CONFLICT DO NOTHING
    RETURNING coalesce(customer_id, additional_user_id) AS person_id
    """
)


def _skip_reason(recipient: outbox.Recipient) -> str | None:
    if recipient.merged:
        return MERGED
    if not recipient.email:
        return NO_ADDRESS
    if not recipient.marketing_consent:
        return NO_CONSENT
    return None


async def add_people(
    conn: AsyncConnection,
    business_id: uuid.UUID,
    audience_id: uuid.UUID,
    person_ids: Sequence[uuid.UUID],
    staff_id: uuid.UUID | None,
) -> dict[uuid.UUID, AddResult]:
    """Add these people to the audience in a few statements, whatever their number; a result
    per distinct person."""
    recipients = await outbox.load_recipients(conn, person_ids)
    participants = await participants_among(conn, [p for p in person_ids if p not in recipients])
    results: dict[uuid.UUID, AddResult] = {}
    eligible: list[outbox.Recipient] = []
    for person_id in dict.fromkeys(person_ids):
        recipient = recipients.get(person_id)
        if recipient is None:
            if person_id in participants:
                results[person_id] = AddResult(SKIPPED, PARTICIPANT)
            else:
                results[person_id] = AddResult(NOT_FOUND, NOT_FOUND_MESSAGE)
        elif (reason := _skip_reason(recipient)) is not None:
            results[person_id] = AddResult(SKIPPED, reason)
        else:
            eligible.append(recipient)
    added: set[uuid.UUID] = set()
    if eligible:
        rows = await conn.execute(
            _ADD,
            {
                "business_id": business_id,
                "audience_id": audience_id,
                "staff_id": staff_id,
                "customers": [None if r.additional_user_id else r.person_id for r in eligible],
                "additional_users": [r.additional_user_id for r in eligible],
            },
        )
        added = {row.person_id for row in rows}
    for recipient in eligible:
        results[recipient.person_id] = (
            AddResult(ADDED, ADDED_MESSAGE)
            if recipient.person_id in added
            else AddResult(ALREADY_MEMBER, ALREADY_MESSAGE)
        )
    return results


# Reads


def _member_count() -> Any:
    m = members.c
    return (
        select(func.count())
        .where(m.business_id == audiences.c.business_id, m.audience_id == audiences.c.id)
        .scalar_subquery()
        .label("member_count")
    )


def _audience_select(business_id: uuid.UUID) -> Any:
    a = audiences.c
    return select(a.id, a.name, a.name_key, a.created_at, _member_count()).where(
        a.business_id == business_id
    )


AUDIENCES_SIGNATURE: Final = list_signature("campaign_audiences", "name")


async def audience_page(
    reader: ReadTransaction, business_id: uuid.UUID, request: PageRequest
) -> tuple[list[tuple[Row[Any], list[Any]]], int]:
    """A page of the business's audiences by name, each with its member count."""
    base = _audience_select(business_id)
    a = audiences.c
    rows = await fetch_page(reader, base, [a.name_key, a.id], request)
    total = await capped_count(reader, base)
    return [(row, [row.name_key, str(row.id)]) for row in rows], total


async def audience_by_id(
    reader: ReadTransaction, business_id: uuid.UUID, audience_id: uuid.UUID
) -> Row[Any] | None:
    result = await reader.execute(
        _audience_select(business_id).where(audiences.c.id == audience_id)
    )
    return result.first()


def members_signature(audience_id: uuid.UUID) -> str:
    return list_signature("campaign_audience_members", str(audience_id), "added")


async def member_page(
    reader: ReadTransaction, business_id: uuid.UUID, audience_id: uuid.UUID, request: PageRequest
) -> tuple[list[tuple[Row[Any], list[Any]]], int]:
    """A page of an audience's members in the order they were added, shaped like directory
    rows (person_id, kind, customer_id) so the people load through the request's loaders."""
    m = members.c
    au = additional_users.c
    base = (
        select(
            m.id,
            m.added_at,
            func.coalesce(m.customer_id, m.additional_user_id).label("person_id"),
            case((m.customer_id.is_not(None), "CUSTOMER"), else_="ADDITIONAL_USER").label("kind"),
            func.coalesce(m.customer_id, au.customer_id).label("customer_id"),
        )
        .select_from(
            members.outerjoin(
                additional_users,
                and_(au.business_id == m.business_id, au.id == m.additional_user_id),
            )
        )
        .where(m.business_id == business_id, m.audience_id == audience_id)
    )
    rows = await fetch_page(reader, base, [m.added_at, m.id], request)
    total = await capped_count(reader, base)
    return [(row, [row.added_at.isoformat(), str(row.id)]) for row in rows], total
