"""Authentication: tokens verified by key and issuer, lifetime, audience and token version."""

from __future__ import annotations

import asyncio
import time
import uuid

import jwt

from server.settings import DEV_JWT_SECRET
from tests import factories
from tests.conftest import Api

QUERY = "{ customers(first: 1) { totalCount } }"


async def _code(api: Api, token: str | None) -> str:
    body = await api.post(QUERY, token=token)
    assert body["data"] is None
    code: str = body["errors"][0]["extensions"]["code"]
    return code


def _raw_token(claims: dict[str, object], kid: str = "dev", secret: str = DEV_JWT_SECRET) -> str:
    return jwt.encode(claims, secret, algorithm="HS256", headers={"kid": kid})


def _claims(business: factories.BusinessFixture, **overrides: object) -> dict[str, object]:
    now = int(time.time())
    claims: dict[str, object] = {
        "iss": "customer-subgraph",
        "aud": "customer-subgraph",
        "iat": now,
        "exp": now + 600,
        "sub": str(business.staff_id),
        "bid": str(business.id),
        "role": "staff",
        "ver": 1,
    }
    claims.update(overrides)
    return claims


async def test_no_token_is_unauthenticated(api: Api) -> None:
    assert await _code(api, None) == "UNAUTHENTICATED"


async def test_valid_token_reads(
    api: Api, two_businesses: tuple[factories.BusinessFixture, ...]
) -> None:
    mine, _ = two_businesses
    assert await api.data(QUERY, token=_raw_token(_claims(mine))) == {
        "customers": {"totalCount": 0}
    }


async def test_tokens_refused(
    api: Api, two_businesses: tuple[factories.BusinessFixture, ...]
) -> None:
    mine, other = two_businesses
    now = int(time.time())
    refused = {
        "garbage": "not.a.jwt",
        "wrong secret": _raw_token(_claims(mine), secret="x" * 40),
        "unknown kid": _raw_token(_claims(mine), kid="other"),
        "wrong issuer": _raw_token(_claims(mine, iss="someone-else")),
        "wrong audience": _raw_token(_claims(mine, aud="another-service")),
        "expired": _raw_token(_claims(mine, iat=now - 4000, exp=now - 10)),
        "lives too long": _raw_token(_claims(mine, exp=now + 7200)),
        "stale version": _raw_token(_claims(mine, ver=2)),
        "staff of another business": _raw_token(_claims(mine, bid=str(other.id))),
        "unknown subject": _raw_token(_claims(mine, sub=str(uuid.uuid4()))),
        "owner claiming to be staff": _raw_token(_claims(mine, sub=str(mine.owner_id))),
        "unknown role": _raw_token(_claims(mine, role="admin")),
    }
    for reason, token in refused.items():
        assert await _code(api, token) == "UNAUTHENTICATED", reason


async def test_bumping_the_token_version_revokes_at_once(
    api: Api, owner: factories.Owner, two_businesses: tuple[factories.BusinessFixture, ...]
) -> None:
    mine, _ = two_businesses
    token = api.token(mine.id, "staff", mine.staff_id)
    assert "data" in await api.post(QUERY, token=token)
    await owner.c.execute("UPDATE staff_users SET token_version = 2 WHERE id = $1", mine.staff_id)
    assert await _code(api, token) == "UNAUTHENTICATED"


async def test_archived_or_disabled_customers_cannot_use_their_tokens(
    api: Api, owner: factories.Owner, two_businesses: tuple[factories.BusinessFixture, ...]
) -> None:
    mine, _ = two_businesses
    member = await factories.customer(owner, mine.id, "Mia", "Member", origin="PORTAL_SIGNUP")
    token = api.token(mine.id, "customer", member["id"])
    query = "query($id: ID!) { customer(id: $id) { fullName } }"
    assert await api.data(query, {"id": str(member["id"])}, token) == {
        "customer": {"fullName": "Mia Member"}
    }
    await owner.c.execute(
        "UPDATE customers SET app_access_enabled = false WHERE id = $1", member["id"]
    )
    refused = await api.post(query, {"id": str(member["id"])}, token)
    assert refused["errors"][0]["extensions"]["code"] == "UNAUTHENTICATED"
    await owner.c.execute(
        "UPDATE customers SET app_access_enabled = true, status = 'ARCHIVED',"
        " archived_at = now() WHERE id = $1",
        member["id"],
    )
    refused = await api.post(query, {"id": str(member["id"])}, token)
    assert refused["errors"][0]["extensions"]["code"] == "UNAUTHENTICATED"


async def test_members_see_only_themselves_and_staff_lists_are_forbidden(
    api: Api, owner: factories.Owner, two_businesses: tuple[factories.BusinessFixture, ...]
) -> None:
    mine, _ = two_businesses
    member = await factories.customer(owner, mine.id, "Mia", "Member")
    neighbour = await factories.customer(owner, mine.id, "Ned", "Neighbour")
    helper = await factories.additional_user(owner, member, "Hal")
    query = "query($id: ID!) { customer(id: $id) { fullName } }"
    for token in (
        api.token(mine.id, "customer", member["id"]),
        api.token(mine.id, "additional_user", helper["id"]),
    ):
        assert await api.data(query, {"id": str(member["id"])}, token) == {
            "customer": {"fullName": "Mia Member"}
        }
        assert await api.data(query, {"id": str(neighbour["id"])}, token) == {"customer": None}
        assert await _code(api, token) == "FORBIDDEN"


async def test_a_token_accepted_before_is_refused_once_it_expires(
    api: Api, two_businesses: tuple[factories.BusinessFixture, ...]
) -> None:
    """A verified token is remembered by the process, but never past its expiry."""
    mine, _ = two_businesses
    now = int(time.time())
    token = _raw_token(_claims(mine, iat=now, exp=now + 2))
    assert await api.data(QUERY, token=token) == {"customers": {"totalCount": 0}}
    assert await api.data(QUERY, token=token) == {"customers": {"totalCount": 0}}
    await asyncio.sleep(now + 2 - time.time())
    body = await api.post(QUERY, token=token)
    assert body["errors"][0]["extensions"]["code"] == "UNAUTHENTICATED"
    assert "expired" in body["errors"][0]["message"]
