"""Marketing consent: the person's current choice on their row, and every change in
`consent_records` with when, from where (the portal, sign-up, an unsubscribe link) and the words
they were shown, plus an account-history entry for staff."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Final

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection

from resolvers import account_history
from resolvers.account_history import Actor
from schema.errors import ErrorCode, UserError, user_error
from server.auth import Role

MEMBER_PORTAL: Final = "MEMBER_PORTAL"
SIGN_UP: Final = "SIGN_UP"
UNSUBSCRIBE_LINK: Final = "UNSUBSCRIBE_LINK"
WORDING_MAX: Final = 2000


@dataclass(frozen=True)
class ConsentPerson:
    """A customer or an additional user (each has their own consent)."""

    role: Role
    id: uuid.UUID


def clean_wording(value: str | None, field: str, errors: list[UserError]) -> str | None:
    """The consent text the person was shown, trimmed; None when none was sent."""
    if value is None or not value.strip():
        return None
    wording = value.strip()
    if len(wording) > WORDING_MAX:
        errors.append(user_error(ErrorCode.TOO_LONG, field, f"At most {WORDING_MAX} characters."))
        return None
    return wording


_PERSON = {
    Role.CUSTOMER: text(
        "SELECT c.marketing_consent, c.id AS account_id,"
        " c.first_name || ' ' || c.last_name AS account_name"
        " FROM customers c WHERE c.id = :id FOR UPDATE"
    ),
    Role.ADDITIONAL_USER: text(
        "SELECT a.marketing_consent, c.id AS account_id,"
        " c.first_name || ' ' || c.last_name AS account_name"
        " FROM additional_users a JOIN customers c ON c.id = a.customer_id"
        " WHERE a.id = :id FOR UPDATE OF a"
    ),
}
_TABLE = {Role.CUSTOMER: "customers", Role.ADDITIONAL_USER: "additional_users"}


async def set_marketing_consent(
    conn: AsyncConnection,
    business_id: uuid.UUID,
    actor: Actor,
    person: ConsentPerson,
    granted: bool,
    source: str,
    wording: str,
) -> bool | None:
    """Record the person's choice; True when it changed, False when it was already so (nothing
    written), None when there is no such person in the business."""
    row = (await conn.execute(_PERSON[person.role], {"id": person.id})).first()
    if row is None:
        return None
    if row.marketing_consent == granted:
        return False
    await conn.execute(
        text(f"UPDATE {_TABLE[person.role]} SET marketing_consent = :granted WHERE id = :id"),
        {"granted": granted, "id": person.id},
    )
    is_customer = person.role is Role.CUSTOMER
    await conn.execute(
        text(
            "INSERT INTO consent_records (business_id, customer_id, additional_user_id, granted,"
            " source, wording) VALUES (:business, :customer, :user, :granted, :source, :wording)"
        ),
        {
            "business": business_id,
            "customer": person.id if is_customer else None,
            "user": None if is_customer else person.id,
            "granted": granted,
            "source": source,
            "wording": wording[:WORDING_MAX],
        },
    )
    await account_history.record(
        conn,
        business_id=business_id,
        actor=actor,
        action="marketing_consent.changed",
        customer_id=row.account_id,
        customer_name=row.account_name,
        subject_type="Customer" if is_customer else "AdditionalUser",
        subject_id=person.id,
        before={"marketing_consent": row.marketing_consent},
        after={"marketing_consent": granted, "source": source},
    )
    return True
