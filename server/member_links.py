"""The emailed links that need no portal: GET/POST /unsubscribe and GET /verify-email.

Both carry an HMAC-signed token (`integrations.email.SignedLinks`) naming the business and the
person, so they work without a login. Unsubscribing is a POST: GET shows a page with a button
(mail scanners follow links, and must not unsubscribe anyone), and mail clients' one-click
unsubscribe (RFC 8058, `List-Unsubscribe-Post`) posts to the same address. Each unsubscribe is
recorded as a consent change with the page's wording.
"""

from __future__ import annotations

import html
from collections.abc import Awaitable, Callable
from typing import Final

from sqlalchemy.ext.asyncio import AsyncConnection
from starlette.requests import Request
from starlette.responses import HTMLResponse, Response

from integrations.email import UNSUBSCRIBE, LinkClaims, SignedLinks
from resolvers import consent, member_accounts
from resolvers.account_emails import links_for
from resolvers.account_history import actor_for
from server.db import Database
from server.settings import Settings

UNSUBSCRIBE_WORDING: Final = (
    "Unsubscribe from marketing email: you will still get emails about your bookings and "
    "your account."
)
MAX_TOKEN = 2000


def _page(title: str, body: str, status: int = 200) -> HTMLResponse:
    document = (
        "<!doctype html><html lang=en><meta charset=utf-8>"
        '<meta name=viewport content="width=device-width, initial-scale=1">'
        f"<title>{html.escape(title)}</title><body><h1>{html.escape(title)}</h1>{body}</body></html>"
    )
    return HTMLResponse(document, status)


def _broken() -> HTMLResponse:
    return _page(
        "This link does not work",
        "<p>It may have expired or been copied only in part. Open it again from the email.</p>",
        400,
    )


def _claims(links: SignedLinks | None, token: str, purpose: str) -> LinkClaims | None:
    if links is None or not token or len(token) > MAX_TOKEN:
        return None
    return links.verify(token, purpose)


async def _unsubscribe(db: Database, claims: LinkClaims) -> None:
    async def work(conn: AsyncConnection) -> None:
        member = await member_accounts.member_by_id(conn, claims.person_id)
        if member is None:
            return  # deleted since: nothing left to send them
        actor = await actor_for(conn, member.viewer(claims.business_id))
        person = consent.ConsentPerson(member.role, member.id)
        await consent.set_marketing_consent(
            conn,
            claims.business_id,
            actor,
            person,
            False,
            consent.UNSUBSCRIBE_LINK,
            UNSUBSCRIBE_WORDING,
        )

    await db.run_mutation(claims.business_id, work)


def unsubscribe_endpoint(settings: Settings) -> Callable[[Request], Awaitable[Response]]:
    links = links_for(settings)
    signed = links if isinstance(links, SignedLinks) else None

    async def endpoint(request: Request) -> Response:
        token = request.query_params.get("token", "")
        claims = _claims(signed, token, UNSUBSCRIBE)
        if claims is None:
            return _broken()
        if request.method == "GET":
            form = (
                f"<p>{html.escape(UNSUBSCRIBE_WORDING)}</p>"
                f'<form method=post action="?token={html.escape(token)}">'
                "<button type=submit>Unsubscribe</button></form>"
            )
            return _page("Unsubscribe", form)
        await _unsubscribe(request.app.state.database, claims)
        return _page(
            "You are unsubscribed",
            "<p>You will get no more marketing email. You can opt in again in the member "
            "portal.</p>",
        )

    return endpoint


def verify_email_endpoint(settings: Settings) -> Callable[[Request], Awaitable[Response]]:
    links = links_for(settings)
    signed = links if isinstance(links, SignedLinks) else None

    async def endpoint(request: Request) -> Response:
        token = request.query_params.get("token", "")
        if signed is None or not token or len(token) > MAX_TOKEN:
            return _broken()
        if not await member_accounts.verify_email(request.app.state.database, signed, token):
            return _broken()
        return _page("Email confirmed", "<p>Thank you: your email address is confirmed.</p>")

    return endpoint
