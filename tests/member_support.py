"""What the member-portal tests share: two businesses with members who have passwords, log-in
through GraphQL, and the documents the portal sends."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from resolvers.passwords import hash_password
from tests import factories
from tests.conftest import Api

PASSWORD = "Harbour-Lights-42"
NEW_PASSWORD = "Quiet-Meadow-77"
# One hash for every member: argon2 is deliberately slow.
PASSWORD_HASH = hash_password(PASSWORD)

SESSION = "token expiresAt kind personId retryAfterSeconds errors { code field message }"
LOG_IN = f"""
mutation($business: String!, $email: String!, $password: String!) {{
  memberLogIn(input: {{business: $business, email: $email, password: $password}}) {{ {SESSION} }}
}}
"""


@dataclass(frozen=True)
class Members:
    """Business `home` with a customer, their additional user and a neighbour (another
    customer); business `away` with a customer of its own."""

    home: factories.BusinessFixture
    away: factories.BusinessFixture
    customer: Any
    helper: Any
    neighbour: Any
    stranger: Any


async def members(owner: factories.Owner) -> Members:
    home = await factories.business(owner, "home-studio")
    away = await factories.business(owner, "away-gym")
    customer = await factories.customer(
        owner, home.id, "Ada", "Lovelace", email="ada@example.com", password_hash=PASSWORD_HASH
    )
    helper = await factories.additional_user(
        owner, customer, "Byron", email="byron@example.com", password_hash=PASSWORD_HASH
    )
    neighbour = await factories.customer(
        owner, home.id, "Grace", "Hopper", email="grace@example.com", password_hash=PASSWORD_HASH
    )
    stranger = await factories.customer(
        owner, away.id, "Alan", "Turing", email="alan@example.com", password_hash=PASSWORD_HASH
    )
    return Members(home, away, customer, helper, neighbour, stranger)


async def log_in(
    api: Api, business: str, email: str, password: str = PASSWORD, **headers: str
) -> dict[str, Any]:
    body = await api.post(
        LOG_IN, {"business": business, "email": email, "password": password}, None
    )
    assert "errors" not in body, body["errors"]
    result: dict[str, Any] = body["data"]["memberLogIn"]
    return result


async def token_for(api: Api, business: str, email: str, password: str = PASSWORD) -> str:
    session = await log_in(api, business, email, password)
    assert session["errors"] == [], session["errors"]
    token: str = session["token"]
    return token


def codes(payload: dict[str, Any]) -> list[str]:
    return [error["code"] for error in payload["errors"]]
