"""The people on a customer's account: additional users (their own login; invited by email to
set a password) and participants (who attends; a child may have no email). Removing either goes
through `resolvers.lifecycle.delete_person`, the one delete function."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import date
from typing import Any

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection

from integrations.email import EmailTemplate, Links
from resolvers import account_history, outbox
from resolvers.account_history import Actor
from resolvers.customer_contact import duplicate_email
from resolvers.validation import clean_email, clean_mobile, clean_name, email_key
from schema.errors import ErrorCode, UserError, UserFacingError, user_error

INVITE: EmailTemplate = EmailTemplate.parse(
    "You have been added to an account at {business_name}",
    "Hi {first_name},\n\n"
    "{business_name} has added you as an additional user of a member account, so you can book "
    "and see the account's history. Your login is this email address. Choose your password here "
    "(the link works once, for 7 days):\n\n"
    "{set_password_url}\n\n"
    "If you did not expect this email, you can ignore it.",
)
EARLIEST_BIRTH = date(1900, 1, 1)


@dataclass(frozen=True)
class PersonDetails:
    """Names and contact details; for edits, None means "leave as it is" and an empty string
    clears an optional field."""

    first_name: str | None = None
    last_name: str | None = None
    email: str | None = None
    mobile: str | None = None
    date_of_birth: date | None = None


async def _locked_customer(conn: AsyncConnection, customer_id: uuid.UUID, field: str) -> Any:
    row = (
        await conn.execute(
            text(
                "SELECT id, first_name, last_name, status, merged_into_id FROM customers"
                " WHERE id = :id FOR UPDATE"
            ),
            {"id": customer_id},
        )
    ).first()
    if row is None:
        raise UserFacingError(
            user_error(ErrorCode.NOT_FOUND, field, "No such customer in this business.")
        )
    if row.merged_into_id is not None:
        raise UserFacingError(
            user_error(ErrorCode.INVALID_STATE, field, "This account was merged into another.")
        )
    return row


async def _email_free(conn: AsyncConnection, key: str, except_user: uuid.UUID | None) -> bool:
    found = await conn.execute(
        text(
            "SELECT 1 FROM login_emails WHERE email_key = :key"
            " AND additional_user_id IS DISTINCT FROM :user"
        ),
        {"key": key, "user": except_user},
    )
    return found.first() is None


def _birth_date(value: date | None, field: str, errors: list[UserError]) -> date | None:
    if value is not None and not EARLIEST_BIRTH <= value <= date.today():
        errors.append(
            user_error(ErrorCode.INVALID, field, "The date of birth must be in the past.")
        )
    return value


def _full(first: str, last: str) -> str:
    return f"{first} {last}".strip()


async def add_additional_user(
    conn: AsyncConnection,
    actor: Actor,
    business_id: uuid.UUID,
    country: str,
    customer_id: uuid.UUID,
    details: PersonDetails,
    links: Links | None,
) -> uuid.UUID:
    customer = await _locked_customer(conn, customer_id, "input.customerId")
    errors: list[UserError] = []
    first = clean_name(details.first_name or "", "input.firstName", "first name", errors)
    last = clean_name(details.last_name or "", "input.lastName", "last name", errors)
    email = clean_email(details.email or "", "input.email", errors)
    mobile = clean_mobile(details.mobile, country, "input.mobile", errors)
    if not errors and not await _email_free(conn, email_key(email), None):
        errors.append(duplicate_email("input.email"))
    if errors:
        raise UserFacingError(*errors)
    row = (
        await conn.execute(
            text(
                "INSERT INTO additional_users (business_id, customer_id, first_name, last_name,"
                " email, mobile) VALUES (:business, :customer, :first, :last, :email, :mobile)"
                " RETURNING id"
            ),
            {
                "business": business_id,
                "customer": customer_id,
                "first": first,
                "last": last,
                "email": email,
                "mobile": mobile,
            },
        )
    ).one()
    await conn.execute(
        text(
            "INSERT INTO login_emails (business_id, email_key, additional_user_id)"
            " VALUES (:business, :key, :user)"
        ),
        {"business": business_id, "key": email_key(email), "user": row.id},
    )
    await account_history.record(
        conn,
        business_id=business_id,
        actor=actor,
        action="additional_user.added",
        customer_id=customer_id,
        customer_name=_full(customer.first_name, customer.last_name),
        subject_type="AdditionalUser",
        subject_id=row.id,
        after={"first_name": first, "last_name": last, "email": email, "mobile": mobile},
    )
    await outbox.queue_email(
        conn,
        business_id=business_id,
        person_id=row.id,
        template=INVITE,
        purpose=outbox.SERVICE,
        links=links,
        created_by_staff_id=actor.id if actor.kind == "STAFF" else None,
    )
    return uuid.UUID(str(row.id))


async def update_additional_user(
    conn: AsyncConnection,
    actor: Actor,
    business_id: uuid.UUID,
    country: str,
    user_id: uuid.UUID,
    version: int,
    details: PersonDetails,
) -> uuid.UUID:
    current = (
        await conn.execute(
            text(
                "SELECT a.id, a.customer_id, a.first_name, a.last_name, a.email, a.mobile,"
                " a.version, c.first_name AS customer_first, c.last_name AS customer_last"
                " FROM additional_users a JOIN customers c ON c.id = a.customer_id"
                " WHERE a.id = :id FOR UPDATE OF a"
            ),
            {"id": user_id},
        )
    ).first()
    if current is None:
        raise UserFacingError(
            user_error(ErrorCode.NOT_FOUND, "input.id", "No such additional user in this business.")
        )
    if current.version != version:
        raise UserFacingError(
            user_error(
                ErrorCode.STALE,
                "input.version",
                "Someone else changed this person since you opened them: reload and try again.",
            )
        )
    errors: list[UserError] = []
    before = {k: getattr(current, k) for k in ("first_name", "last_name", "email", "mobile")}
    after = dict(before)
    if details.first_name is not None:
        after["first_name"] = clean_name(
            details.first_name, "input.firstName", "first name", errors
        )
    if details.last_name is not None:
        after["last_name"] = clean_name(details.last_name, "input.lastName", "last name", errors)
    if details.email is not None:
        after["email"] = clean_email(details.email, "input.email", errors)
    if details.mobile is not None:
        after["mobile"] = clean_mobile(details.mobile, country, "input.mobile", errors)
    email_changed = email_key(after["email"]) != email_key(before["email"])
    if (
        not errors
        and email_changed
        and not await _email_free(conn, email_key(after["email"]), user_id)
    ):
        errors.append(duplicate_email("input.email"))
    if errors:
        raise UserFacingError(*errors)
    old, new = account_history.changed_fields(before, after)
    if not new:
        return user_id
    sets = ", ".join(f"{column} = :{column}" for column in new)
    await conn.execute(
        text(
            f"UPDATE additional_users SET {sets}, version = version + 1, updated_at = now()"
            " WHERE id = :id"
        ),
        {**new, "id": user_id},
    )
    if email_changed:
        await conn.execute(
            text("UPDATE login_emails SET email_key = :key WHERE additional_user_id = :id"),
            {"key": email_key(after["email"]), "id": user_id},
        )
    await account_history.record(
        conn,
        business_id=business_id,
        actor=actor,
        action="additional_user.updated",
        customer_id=current.customer_id,
        customer_name=_full(current.customer_first, current.customer_last),
        subject_type="AdditionalUser",
        subject_id=user_id,
        before=old,
        after=new,
    )
    return user_id


async def add_participant(
    conn: AsyncConnection,
    actor: Actor,
    business_id: uuid.UUID,
    country: str,
    customer_id: uuid.UUID,
    details: PersonDetails,
    is_self: bool,
) -> uuid.UUID:
    """A participant of the account; `is_self` marks the customer themselves (their names are
    used unless others are given)."""
    customer = await _locked_customer(conn, customer_id, "input.customerId")
    errors: list[UserError] = []
    first = clean_name(
        details.first_name
        if details.first_name is not None
        else (customer.first_name if is_self else ""),
        "input.firstName",
        "first name",
        errors,
    )
    last = clean_name(
        details.last_name
        if details.last_name is not None
        else (customer.last_name if is_self else ""),
        "input.lastName",
        "last name",
        errors,
    )
    email = clean_email(details.email, "input.email", errors) if details.email else None
    mobile = clean_mobile(details.mobile, country, "input.mobile", errors)
    born = _birth_date(details.date_of_birth, "input.dateOfBirth", errors)
    if is_self:
        exists = await conn.execute(
            text("SELECT 1 FROM participants WHERE customer_id = :id AND is_self"),
            {"id": customer_id},
        )
        if exists.first() is not None:
            errors.append(
                user_error(
                    ErrorCode.DUPLICATE,
                    "input.isSelf",
                    "The customer already takes part themselves.",
                )
            )
    if errors:
        raise UserFacingError(*errors)
    row = (
        await conn.execute(
            text(
                "INSERT INTO participants (business_id, customer_id, is_self, first_name,"
                " last_name, date_of_birth, email, mobile) VALUES (:business, :customer,"
                " :is_self, :first, :last, :born, :email, :mobile) RETURNING id"
            ),
            {
                "business": business_id,
                "customer": customer_id,
                "is_self": is_self,
                "first": first,
                "last": last,
                "born": born,
                "email": email,
                "mobile": mobile,
            },
        )
    ).one()
    await account_history.record(
        conn,
        business_id=business_id,
        actor=actor,
        action="participant.added",
        customer_id=customer_id,
        customer_name=_full(customer.first_name, customer.last_name),
        subject_type="Participant",
        subject_id=row.id,
        after={"first_name": first, "last_name": last, "is_self": is_self, "date_of_birth": born},
    )
    return uuid.UUID(str(row.id))


async def update_participant(
    conn: AsyncConnection,
    actor: Actor,
    business_id: uuid.UUID,
    country: str,
    participant_id: uuid.UUID,
    details: PersonDetails,
) -> uuid.UUID:
    current = (
        await conn.execute(
            text(
                "SELECT p.id, p.customer_id, p.first_name, p.last_name, p.email, p.mobile,"
                " p.date_of_birth, c.first_name AS customer_first, c.last_name AS customer_last"
                " FROM participants p JOIN customers c ON c.id = p.customer_id"
                " WHERE p.id = :id FOR UPDATE OF p"
            ),
            {"id": participant_id},
        )
    ).first()
    if current is None:
        raise UserFacingError(
            user_error(ErrorCode.NOT_FOUND, "input.id", "No such participant in this business.")
        )
    errors: list[UserError] = []
    fields = ("first_name", "last_name", "email", "mobile", "date_of_birth")
    before = {k: getattr(current, k) for k in fields}
    after = dict(before)
    if details.first_name is not None:
        after["first_name"] = clean_name(
            details.first_name, "input.firstName", "first name", errors
        )
    if details.last_name is not None:
        after["last_name"] = clean_name(details.last_name, "input.lastName", "last name", errors)
    if details.email is not None:
        after["email"] = (
            clean_email(details.email, "input.email", errors) if details.email.strip() else None
        )
    if details.mobile is not None:
        after["mobile"] = clean_mobile(details.mobile, country, "input.mobile", errors)
    if details.date_of_birth is not None:
        after["date_of_birth"] = _birth_date(details.date_of_birth, "input.dateOfBirth", errors)
    if errors:
        raise UserFacingError(*errors)
    old, new = account_history.changed_fields(before, after)
    if not new:
        return participant_id
    sets = ", ".join(f"{column} = :{column}" for column in new)
    await conn.execute(
        text(f"UPDATE participants SET {sets}, updated_at = now() WHERE id = :id"),
        {**new, "id": participant_id},
    )
    await account_history.record(
        conn,
        business_id=business_id,
        actor=actor,
        action="participant.updated",
        customer_id=current.customer_id,
        customer_name=_full(current.customer_first, current.customer_last),
        subject_type="Participant",
        subject_id=participant_id,
        before=old,
        after=new,
    )
    return participant_id
