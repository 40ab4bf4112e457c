"""The emails the service itself sends about an account (service purpose: always sent)."""

from __future__ import annotations

import uuid
from typing import Final

from sqlalchemy.ext.asyncio import AsyncConnection

from integrations.email import EmailTemplate, Links, SignedLinks
from resolvers import outbox
from server.settings import Settings

WELCOME_WITH_PASSWORD: Final = EmailTemplate.parse(
    "Your {business_name} member account",
    "Hi {first_name},\n\n"
    "{business_name} has created a member account for you. Log in to the member portal with "
    "this email address and the password you were given.\n\n"
    "If you did not expect this email, you can ignore it.",
)
WELCOME_SET_PASSWORD: Final = EmailTemplate.parse(
    "Your {business_name} member account",
    "Hi {first_name},\n\n"
    "{business_name} has created a member account for you. Your login is this email address. "
    "Choose your password here (the link works once, for 7 days):\n\n"
    "{set_password_url}\n\n"
    "If you did not expect this email, you can ignore it.",
)


def links_for(settings: Settings) -> Links | None:
    """Signed links for emails, or None when no signing secret is configured."""
    if not settings.link_signing_secret:
        return None
    return SignedLinks(settings.public_base_url, settings.link_signing_secret)


async def queue_welcome(
    conn: AsyncConnection,
    *,
    business_id: uuid.UUID,
    customer_id: uuid.UUID,
    password_was_typed: bool,
    links: Links | None,
    staff_id: uuid.UUID | None,
) -> None:
    """Tell a new customer their portal login, never their password: with a single-use link to
    set one when staff did not type one. Written to the outbox in the caller's transaction."""
    template = WELCOME_WITH_PASSWORD if password_was_typed else WELCOME_SET_PASSWORD
    await outbox.queue_email(
        conn,
        business_id=business_id,
        person_id=customer_id,
        template=template,
        purpose=outbox.SERVICE,
        links=links,
        created_by_staff_id=staff_id,
    )
