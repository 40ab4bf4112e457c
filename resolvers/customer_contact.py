"""Create a customer and edit their contact details (Create Customer, Edit Contact)."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Any

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection

from resolvers import account_history
from resolvers.account_history import Actor
from resolvers.passwords import hash_password_off_loop
from resolvers.validation import (
    check_password,
    clean_email,
    clean_mobile,
    clean_name,
    email_key,
)
from schema.errors import ErrorCode, UserError, UserFacingError, user_error

CONTACT_FIELDS = ("first_name", "last_name", "email", "mobile")


@dataclass(frozen=True)
class NewCustomer:
    first_name: str
    last_name: str
    email: str
    mobile: str | None
    password: str | None


@dataclass(frozen=True)
class ContactChange:
    """Each field None means "leave as it is"; an empty mobile clears it; an empty password
    keeps the old one."""

    customer_id: uuid.UUID
    version: int
    first_name: str | None = None
    last_name: str | None = None
    email: str | None = None
    mobile: str | None = None
    password: str | None = None


def duplicate_email(field: str) -> UserError:
    return user_error(
        ErrorCode.DUPLICATE, field, "Someone in this business already uses this email to log in."
    )


async def email_taken(
    conn: AsyncConnection, key: str, except_customer: uuid.UUID | None = None
) -> bool:
    """Customers and additional users share one login-email namespace per business,
    case-insensitive, archived people included."""
    found = await conn.execute(
        text(
            "SELECT 1 FROM login_emails WHERE email_key = :key"
            " AND customer_id IS DISTINCT FROM :customer"
        ),
        {"key": key, "customer": except_customer},
    )
    return found.first() is not None


async def create_customer(
    conn: AsyncConnection,
    actor: Actor,
    business_id: uuid.UUID,
    country: str,
    new: NewCustomer,
    *,
    origin: str = "STAFF",
) -> uuid.UUID:
    """A new customer: a lead when staff (or another service) create them, an app user when
    they sign up in the member portal (`origin` PORTAL_SIGNUP)."""
    errors: list[UserError] = []
    first = clean_name(new.first_name, "input.firstName", "first name", errors)
    last = clean_name(new.last_name, "input.lastName", "last name", errors)
    email = clean_email(new.email, "input.email", errors)
    mobile = clean_mobile(new.mobile, country, "input.mobile", errors)
    if new.password:
        check_password(new.password, "input.password", errors)
    if not errors and await email_taken(conn, email_key(email)):
        errors.append(duplicate_email("input.email"))
    if errors:
        raise UserFacingError(*errors)
    row = (
        await conn.execute(
            text(
                "INSERT INTO customers (business_id, first_name, last_name, email, mobile,"
                " password_hash, origin, category)"
                " VALUES (:business, :first, :last, :email, :mobile, :hash, :origin, :category)"
                " RETURNING id, number"
            ),
            {
                "business": business_id,
                "first": first,
                "last": last,
                "email": email,
                "mobile": mobile,
                "hash": await hash_password_off_loop(new.password) if new.password else None,
                "origin": origin,
                "category": "APP_USER" if origin == "PORTAL_SIGNUP" else "LEAD",
            },
        )
    ).one()
    await conn.execute(
        text(
            "INSERT INTO login_emails (business_id, email_key, customer_id)"
            " VALUES (:business, :key, :customer)"
        ),
        {"business": business_id, "key": email_key(email), "customer": row.id},
    )
    await account_history.record(
        conn,
        business_id=business_id,
        actor=actor,
        action="customer.created",
        customer_id=row.id,
        customer_name=f"{first} {last}",
        subject_type="Customer",
        subject_id=row.id,
        after={
            "first_name": first,
            "last_name": last,
            "email": email,
            "mobile": mobile,
            "number": row.number,
            "password_set": bool(new.password),
        },
    )
    return uuid.UUID(str(row.id))


async def update_contact(
    conn: AsyncConnection, actor: Actor, business_id: uuid.UUID, country: str, change: ContactChange
) -> uuid.UUID:
    current = (
        await conn.execute(
            text(
                "SELECT id, first_name, last_name, email, mobile, version FROM customers"
                " WHERE id = :id FOR UPDATE"
            ),
            {"id": change.customer_id},
        )
    ).first()
    if current is None:
        raise UserFacingError(
            user_error(ErrorCode.NOT_FOUND, "input.id", "No such customer in this business.")
        )
    if current.version != change.version:
        raise UserFacingError(
            user_error(
                ErrorCode.STALE,
                "input.version",
                "Someone else changed this customer since you opened it: reload and try again.",
            )
        )
    errors: list[UserError] = []
    before: dict[str, Any] = {f: getattr(current, f) for f in CONTACT_FIELDS}
    after = dict(before)
    if change.first_name is not None:
        after["first_name"] = clean_name(change.first_name, "input.firstName", "first name", errors)
    if change.last_name is not None:
        after["last_name"] = clean_name(change.last_name, "input.lastName", "last name", errors)
    if change.email is not None:
        after["email"] = clean_email(change.email, "input.email", errors)
    if change.mobile is not None:
        after["mobile"] = clean_mobile(change.mobile, country, "input.mobile", errors)
    if change.password:
        check_password(change.password, "input.password", errors)
    new_key = email_key(after["email"]) if after["email"] else None
    email_changed = new_key != (email_key(before["email"]) if before["email"] else None)
    if (
        not errors
        and email_changed
        and new_key
        and await email_taken(conn, new_key, change.customer_id)
    ):
        errors.append(duplicate_email("input.email"))
    if errors:
        raise UserFacingError(*errors)

    old, new = account_history.changed_fields(before, after)
    assignments = {k: after[k] for k in new}
    if change.password:
        assignments["password_hash"] = await hash_password_off_loop(change.password)
    if not assignments:
        return change.customer_id
    sets = ", ".join(f"{column} = :{column}" for column in assignments)
    await conn.execute(
        text(
            f"UPDATE customers SET {sets}, version = version + 1, updated_at = now()"
            + (", token_version = token_version + 1" if change.password else "")
            + " WHERE id = :id"
        ),
        {**assignments, "id": change.customer_id},
    )
    if email_changed:
        await conn.execute(
            text("DELETE FROM login_emails WHERE customer_id = :id"), {"id": change.customer_id}
        )
        if new_key:
            await conn.execute(
                text(
                    "INSERT INTO login_emails (business_id, email_key, customer_id)"
                    " VALUES (:business, :key, :id)"
                ),
                {"business": business_id, "key": new_key, "id": change.customer_id},
            )
    if change.password:
        new["password_changed"] = True
    await account_history.record(
        conn,
        business_id=business_id,
        actor=actor,
        action="customer.updated",
        customer_id=change.customer_id,
        customer_name=f"{after['first_name']} {after['last_name']}",
        subject_type="Customer",
        subject_id=change.customer_id,
        before=old,
        after=new,
    )
    return change.customer_id
