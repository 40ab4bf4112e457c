"""Member-portal access for customers and additional users: disable it and re-enable it.

Disabling bumps the person's token version in the same transaction, so every token issued
before stops working at the next request (the token check, `current_token_version`, also
refuses anyone whose access is disabled). Re-enabling does not bring old tokens back: the
person logs in again. Each change is written to the customer's account history; asking for the
state a person is already in changes nothing and records nothing.
"""

from __future__ import annotations

import uuid
from typing import Any

from sqlalchemy import text
from sqlalchemy.engine import Row
from sqlalchemy.ext.asyncio import AsyncConnection

from resolvers import account_history
from resolvers.account_history import Actor
from schema.errors import ErrorCode, UserFacingError, user_error

_CUSTOMER = text(
    "SELECT id, id AS customer_id, first_name, last_name, merged_into_id, app_access_enabled,"
    " first_name AS customer_first, last_name AS customer_last"
    " FROM customers WHERE id = :id FOR UPDATE"
)
_ADDITIONAL_USER = text(
    "SELECT a.id, a.customer_id, a.first_name, a.last_name, c.merged_into_id,"
    " a.app_access_enabled, c.first_name AS customer_first, c.last_name AS customer_last"
    " FROM additional_users a JOIN customers c ON c.id = a.customer_id"
    " WHERE a.id = :id FOR UPDATE OF a"
)
_IS_PARTICIPANT = text("SELECT 1 FROM participants WHERE id = :id")
# Disabling moves the token version on; enabling leaves it (old tokens stay dead).
_SET = "UPDATE {table} SET app_access_enabled = :enabled, version = version + 1,"
_SET += " token_version = token_version + CASE WHEN :enabled THEN 0 ELSE 1 END,"
_SET += " updated_at = now() WHERE id = :id"
_UPDATE = {
    "CUSTOMER": text(_SET.format(table="customers")),
    "ADDITIONAL_USER": text(_SET.format(table="additional_users")),
}


def _refuse(code: ErrorCode, field_path: str, message: str) -> UserFacingError:
    return UserFacingError(user_error(code, field_path, message))


async def _locked(
    conn: AsyncConnection, person_id: uuid.UUID, field_path: str
) -> tuple[str, Row[Any]]:
    for kind, query in (("CUSTOMER", _CUSTOMER), ("ADDITIONAL_USER", _ADDITIONAL_USER)):
        row = (await conn.execute(query, {"id": person_id})).first()
        if row is not None:
            return kind, row
    if (await conn.execute(_IS_PARTICIPANT, {"id": person_id})).first() is not None:
        raise _refuse(
            ErrorCode.INVALID_STATE,
            field_path,
            "Participants have no member-portal login: change their customer's access instead.",
        )
    raise _refuse(ErrorCode.NOT_FOUND, field_path, "No such person in this business.")


async def set_app_access(
    conn: AsyncConnection,
    actor: Actor,
    business_id: uuid.UUID,
    person_id: uuid.UUID,
    enabled: bool,
    field_path: str,
) -> bool:
    """Give or take away one person's portal access; returns whether anything changed."""
    kind, row = await _locked(conn, person_id, field_path)
    if row.merged_into_id is not None:
        raise _refuse(
            ErrorCode.INVALID_STATE,
            field_path,
            "This account was merged into another and cannot log in: change the access of the "
            "customer it was merged into.",
        )
    if row.app_access_enabled == enabled:
        return False
    await conn.execute(_UPDATE[kind], {"enabled": enabled, "id": person_id})
    prefix = "customer" if kind == "CUSTOMER" else "additional_user"
    await account_history.record(
        conn,
        business_id=business_id,
        actor=actor,
        action=f"{prefix}.app_access_{'enabled' if enabled else 'disabled'}",
        customer_id=row.customer_id,
        customer_name=f"{row.customer_first} {row.customer_last}",
        subject_type="Customer" if kind == "CUSTOMER" else "AdditionalUser",
        subject_id=person_id,
        before={"app_access_enabled": not enabled},
        after={"app_access_enabled": enabled},
    )
    return True
