"""Member log-in: the same answer for unknown emails and wrong passwords, refusals for people
who may not sign in, and the throttle counted per attempt through aliases and batches."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import replace
from typing import Any

import httpx
import pytest
from asgi_lifespan import LifespanManager

from resolvers import login_throttle
from server.app import create_app
from server.settings import Settings
from tests import factories
from tests.conftest import Api
from tests.member_support import (
    LOG_IN,
    PASSWORD,
    SESSION,
    Members,
    codes,
    log_in,
    members,
    token_for,
)

ME = "{ me { kind customer { id fullName } additionalUser { id } } }"


@pytest.fixture
async def people(owner: factories.Owner) -> Members:
    return await members(owner)


async def test_customers_and_additional_users_log_in_and_see_themselves(
    api: Api, people: Members
) -> None:
    session = await log_in(api, "home-studio", "ADA@example.com")
    assert session["errors"] == [] and session["kind"] == "CUSTOMER"
    assert session["personId"] == str(people.customer["id"])
    me = (await api.data(ME, token=session["token"]))["me"]
    assert me == {
        "kind": "CUSTOMER",
        "customer": {"id": str(people.customer["id"]), "fullName": "Ada Lovelace"},
        "additionalUser": None,
    }

    by_id = await log_in(api, str(people.home.id), "byron@example.com")
    assert by_id["kind"] == "ADDITIONAL_USER"
    me = (await api.data(ME, token=by_id["token"]))["me"]
    assert me["customer"]["id"] == str(people.customer["id"])
    assert me["additionalUser"] == {"id": str(people.helper["id"])}


async def test_unknown_emails_and_wrong_passwords_get_the_same_answer(
    api: Api, people: Members
) -> None:
    wrong = await log_in(api, "home-studio", "ada@example.com", "Wrong-Password-1")
    unknown = await log_in(api, "home-studio", "nobody@example.com")
    # Alan's email belongs to the other business: unknown here.
    elsewhere = await log_in(api, "home-studio", "alan@example.com")
    expected = {
        "token": None,
        "expiresAt": None,
        "kind": None,
        "personId": None,
        "retryAfterSeconds": None,
        "errors": [
            {
                "code": "INVALID_CREDENTIALS",
                "field": "input.password",
                "message": "The email or password is not right.",
            }
        ],
    }
    assert wrong == unknown == elsewhere == expected
    missing = await log_in(api, "no-such-business", "ada@example.com")
    assert missing["errors"] == [
        {"code": "NOT_FOUND", "field": "input.business", "message": "No such business."}
    ]


@pytest.mark.parametrize(
    ("table", "change"),
    [
        ("customers", "status = 'ARCHIVED', archived_at = now()"),
        ("customers", "app_access_enabled = false"),
        ("additional_users", "app_access_enabled = false"),
    ],
)
async def test_archived_and_access_disabled_people_are_refused(
    api: Api, people: Members, owner: factories.Owner, table: str, change: str
) -> None:
    person = people.customer if table == "customers" else people.helper
    await owner.c.execute(f"UPDATE {table} SET {change} WHERE id = $1", person["id"])
    email = "ada@example.com" if table == "customers" else "byron@example.com"
    refused = await log_in(api, "home-studio", email)
    assert refused["token"] is None and codes(refused) == ["SIGN_IN_REFUSED"]
    # A wrong password is still only a wrong password: nothing about the account leaks.
    assert codes(await log_in(api, "home-studio", email, "Wrong-Password-1")) == [
        "INVALID_CREDENTIALS"
    ]


async def test_merged_customers_and_their_additional_users_cannot_log_in(
    api: Api, people: Members, owner: factories.Owner
) -> None:
    await owner.c.execute(
        "UPDATE customers SET status = 'ARCHIVED', merged_into_id = $2 WHERE id = $1",
        people.customer["id"],
        people.neighbour["id"],
    )
    assert codes(await log_in(api, "home-studio", "ada@example.com")) == ["SIGN_IN_REFUSED"]
    assert codes(await log_in(api, "home-studio", "byron@example.com")) == ["SIGN_IN_REFUSED"]


def aliased_attempts(count: int) -> str:
    fields = "\n".join(
        f'a{i}: memberLogIn(input: {{business: "home-studio", email: "ada@example.com", '
        f'password: "Wrong-Password-{i}"}}) {{ {SESSION} }}'
        for i in range(count)
    )
    return f"mutation {{ {fields} }}"


async def test_aliases_in_one_document_each_count_as_an_attempt(api: Api, people: Members) -> None:
    body = await api.post(aliased_attempts(7))
    answers = [body["data"][f"a{i}"] for i in range(7)]
    assert [codes(a) for a in answers] == [["INVALID_CREDENTIALS"]] * 5 + [
        ["TOO_MANY_ATTEMPTS"]
    ] * 2
    assert all(0 < a["retryAfterSeconds"] <= 30 for a in answers[5:])
    # Locked: even the right password is not checked.
    locked = await log_in(api, "home-studio", "ada@example.com")
    assert codes(locked) == ["TOO_MANY_ATTEMPTS"] and locked["token"] is None
    # Another account of the business is not affected.
    assert (await log_in(api, "home-studio", "grace@example.com"))["errors"] == []


async def test_batched_operations_each_count_once_even_when_run_together(
    api: Api, people: Members
) -> None:
    batch = [
        {
            "query": LOG_IN,
            "variables": {
                "business": "home-studio",
                "email": "ada@example.com",
                "password": f"Wrong-Password-{i}",
            },
        }
        for i in range(8)
    ]
    response = await api.http.post("/graphql", json=batch)
    assert response.status_code == 200, response.text
    answers = [item["data"]["memberLogIn"] for item in response.json()]
    outcome = sorted(codes(a)[0] for a in answers)
    assert outcome == ["INVALID_CREDENTIALS"] * 5 + ["TOO_MANY_ATTEMPTS"] * 3


async def _lock_expires(owner: factories.Owner) -> None:
    """Move every lock into the past, as if the wait had been sat out."""
    await owner.c.execute(
        "UPDATE login_throttles SET locked_until = now() - interval '1 second'"
        " WHERE locked_until IS NOT NULL"
    )


async def _account_wait(owner: factories.Owner) -> float:
    """The length of the account's current lock-out."""
    value = await owner.c.fetchval(
        "SELECT extract(epoch FROM locked_until - last_failure_at) FROM login_throttles"
        " WHERE scope = 'ACCOUNT' AND locked_until IS NOT NULL"
    )
    return float(value)


async def test_the_wait_doubles_with_each_lock_out_up_to_fifteen_minutes(
    api: Api, people: Members, owner: factories.Owner
) -> None:
    await api.post(aliased_attempts(5))
    waits = [round(await _account_wait(owner))]
    for _ in range(3):
        await _lock_expires(owner)
        failed = await log_in(api, "home-studio", "ada@example.com", "Wrong-Password-1")
        assert codes(failed) == ["INVALID_CREDENTIALS"]
        waits.append(round(await _account_wait(owner)))
    assert waits == [30, 60, 120, 240]
    await owner.c.execute("UPDATE login_throttles SET lockouts = 12 WHERE scope = 'ACCOUNT'")
    await _lock_expires(owner)
    await log_in(api, "home-studio", "ada@example.com", "Wrong-Password-1")
    assert round(await _account_wait(owner)) == 900
    refused = await log_in(api, "home-studio", "ada@example.com")
    assert codes(refused) == ["TOO_MANY_ATTEMPTS"] and 240 < refused["retryAfterSeconds"] <= 900


async def test_a_success_clears_the_account_and_old_failures_are_forgotten(
    api: Api, people: Members, owner: factories.Owner
) -> None:
    await api.post(aliased_attempts(4))
    assert (await log_in(api, "home-studio", "ada@example.com"))["errors"] == []
    assert (
        await owner.c.fetchval("SELECT count(*) FROM login_throttles WHERE scope = 'ACCOUNT'") == 0
    )
    body = await api.post(aliased_attempts(5))
    assert [codes(body["data"][f"a{i}"]) for i in range(5)] == [["INVALID_CREDENTIALS"]] * 5
    # Failures older than the window no longer count (the lock has also run out).
    await owner.c.execute(
        "UPDATE login_throttles SET last_failure_at = now() - interval '16 minutes',"
        " locked_until = now() - interval '1 minute'"
    )
    body = await api.post(aliased_attempts(4))
    assert [codes(body["data"][f"a{i}"]) for i in range(4)] == [["INVALID_CREDENTIALS"]] * 4


@pytest.fixture
async def behind_gateway(settings: Settings, api: Api) -> AsyncIterator[Api]:
    """The app with the test client's address trusted as the gateway."""
    trusted = replace(settings, trusted_proxies=("127.0.0.1",))
    app = create_app(trusted)
    async with LifespanManager(app) as manager:
        transport = httpx.ASGITransport(app=manager.app)
        async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as http:
            yield Api(http=http, tokens=api.tokens)


async def _attempt(client: Api, email: str, forwarded: str) -> dict[str, Any]:
    response = await client.http.post(
        "/graphql",
        json={
            "query": LOG_IN,
            "variables": {"business": "home-studio", "email": email, "password": "Wrong-1x!"},
        },
        headers={"X-Forwarded-For": forwarded},
    )
    result: dict[str, Any] = response.json()["data"]["memberLogIn"]
    return result


async def test_fifty_failures_from_one_address_lock_that_address(
    behind_gateway: Api, api: Api, people: Members, owner: factories.Owner
) -> None:
    # 45 failures already counted for this client (argon2 is slow: the last 5 are real).
    await owner.c.execute(
        "INSERT INTO login_throttles (scope, key, failures, last_failure_at)"
        " VALUES ('ADDRESS', '203.0.113.9', 45, now())"
    )
    answers = [
        await _attempt(behind_gateway, f"guess{i}@example.com", "203.0.113.9, 10.0.0.1")
        for i in range(6)
    ]
    assert [codes(a) for a in answers] == [["INVALID_CREDENTIALS"]] * 5 + [["TOO_MANY_ATTEMPTS"]]
    # The first hop is the client: another client behind the same gateway is not locked out.
    other = await _attempt(behind_gateway, "guess9@example.com", "198.51.100.4")
    assert codes(other) == ["INVALID_CREDENTIALS"]
    # Without trusting the peer, the header is ignored and the socket peer is counted.
    direct = await _attempt(api, "guess10@example.com", "203.0.113.9")
    assert codes(direct) == ["INVALID_CREDENTIALS"]
    keys = await owner.c.fetch("SELECT key FROM login_throttles WHERE scope = 'ADDRESS'")
    assert {k["key"] for k in keys} == {"203.0.113.9", "198.51.100.4", "127.0.0.1"}


async def test_the_service_role_cannot_read_the_counters(
    api: Api, people: Members, db: Any
) -> None:
    import asyncpg

    from server.database_setup import asyncpg_url

    await log_in(api, "home-studio", "ada@example.com", "Wrong-Password-1")
    conn = await asyncpg.connect(asyncpg_url(db.service_url))
    try:
        with pytest.raises(asyncpg.InsufficientPrivilegeError):
            await conn.fetch("SELECT * FROM login_throttles")
    finally:
        await conn.close()
    assert login_throttle.ACCOUNT_LIMIT == 5 and PASSWORD


async def test_a_portal_token_is_signed_and_revoked_with_the_token_version(
    api: Api, people: Members, owner: factories.Owner
) -> None:
    token = await token_for(api, "home-studio", "ada@example.com")
    await owner.c.execute(
        "UPDATE customers SET token_version = token_version + 1 WHERE id = $1",
        people.customer["id"],
    )
    body = await api.post(ME, token=token)
    assert body["errors"][0]["extensions"]["code"] == "UNAUTHENTICATED"
