"""Additional users and participants: add, edit, the shared login-email namespace, invitations,
and removal through the one delete function."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from typing import Any

import pytest

from server.jobs import Worker, drain
from tests import factories
from tests.conftest import Api
from tests.fixtures_mail import MailServer

ADD_USER = """
mutation($input: AdditionalUserAddInput!) { additionalUserAdd(input: $input) {
  additionalUser { id fullName email mobile version customer { fullName } }
  errors { code field message } } }
"""
UPDATE_USER = """
mutation($input: AdditionalUserUpdateInput!) { additionalUserUpdate(input: $input) {
  additionalUser { fullName email version } errors { code field } } }
"""
ADD_PARTICIPANT = """
mutation($input: ParticipantAddInput!) { participantAdd(input: $input) {
  participant { id fullName isSelf dateOfBirth email status customer { fullName } }
  errors { code field message } } }
"""
UPDATE_PARTICIPANT = """
mutation($input: ParticipantUpdateInput!) { participantUpdate(input: $input) {
  participant { fullName dateOfBirth email } errors { code field } } }
"""
PEOPLE = "{ people { edges { node { fullName kind categories } } } }"


@pytest.fixture
def biz(two_businesses: tuple[factories.BusinessFixture, ...]) -> factories.BusinessFixture:
    return two_businesses[0]


def staff(api: Api, biz: factories.BusinessFixture) -> str:
    return api.token(biz.id, "staff", biz.staff_id)


async def test_an_additional_user_is_added_invited_listed_and_removed(
    api: Api,
    owner: factories.Owner,
    biz: factories.BusinessFixture,
    make_worker: Callable[..., Worker],
    mail_server: MailServer,
) -> None:
    parent = await factories.customer(owner, biz.id, "Maria", "Lopez")
    token = staff(api, biz)
    result = (
        await api.data(
            ADD_USER,
            {
                "input": {
                    "customerId": str(parent["id"]),
                    "firstName": "Carlos",
                    "lastName": "Lopez",
                    "email": "Carlos@Example.com",
                    "mobile": "+44 7700 900456",
                }
            },
            token,
        )
    )["additionalUserAdd"]
    assert result["errors"] == []
    helper = result["additionalUser"]
    assert (helper["fullName"], helper["email"], helper["mobile"]) == (
        "Carlos Lopez",
        "Carlos@Example.com",
        "+447700900456",
    )
    assert helper["customer"] == {"fullName": "Maria Lopez"}
    people = (await api.data(PEOPLE, token=token))["people"]["edges"]
    assert {(p["node"]["fullName"], p["node"]["kind"]) for p in people} == {
        ("Carlos Lopez", "ADDITIONAL_USER"),
        ("Maria Lopez", "CUSTOMER"),
    }
    await drain(make_worker())
    [invite] = mail_server.received
    assert invite.recipients == ["Carlos@Example.com"]
    assert "/set-password?token=" in invite.part("plain")

    dup = (
        await api.data(
            ADD_USER,
            {
                "input": {
                    "customerId": str(parent["id"]),
                    "firstName": "X",
                    "lastName": "Y",
                    "email": "carlos@example.COM",
                }
            },
            token,
        )
    )["additionalUserAdd"]
    assert [(e["code"], e["field"]) for e in dup["errors"]] == [("DUPLICATE", "input.email")]

    removed = await api.data(
        "mutation($id: ID!) { personDelete(id: $id) { kind errors { code } } }",
        {"id": helper["id"]},
        token,
    )
    assert removed["personDelete"] == {"kind": "ADDITIONAL_USER", "errors": []}
    assert (
        await owner.c.fetchval(
            "SELECT count(*) FROM login_emails WHERE additional_user_id IS NOT NULL"
        )
        == 0
    )


async def test_additional_user_edits_check_version_and_namespace(
    api: Api, owner: factories.Owner, biz: factories.BusinessFixture
) -> None:
    parent = await factories.customer(owner, biz.id, "Maria", "Lopez", email="maria@example.com")
    helper = await factories.additional_user(owner, parent, "Carlos", email="carlos@example.com")
    token = staff(api, biz)
    moved = (
        await api.data(
            UPDATE_USER,
            {"input": {"id": str(helper["id"]), "version": 1, "email": "c.lopez@example.com"}},
            token,
        )
    )["additionalUserUpdate"]
    assert moved == {
        "additionalUser": {
            "fullName": "Carlos Lopez",
            "email": "c.lopez@example.com",
            "version": 2,
        },
        "errors": [],
    }
    keys = {r["email_key"] for r in await owner.c.fetch("SELECT email_key FROM login_emails")}
    assert keys == {"maria@example.com", "c.lopez@example.com"}
    stale = (
        await api.data(
            UPDATE_USER, {"input": {"id": str(helper["id"]), "version": 1, "firstName": "C"}}, token
        )
    )["additionalUserUpdate"]
    assert stale["errors"] == [{"code": "STALE", "field": "input.version"}]
    taken = (
        await api.data(
            UPDATE_USER,
            {"input": {"id": str(helper["id"]), "version": 2, "email": "MARIA@example.com"}},
            token,
        )
    )["additionalUserUpdate"]
    assert taken["errors"] == [{"code": "DUPLICATE", "field": "input.email"}]


async def test_participants_are_added_edited_and_the_customer_can_take_part(
    api: Api, owner: factories.Owner, biz: factories.BusinessFixture
) -> None:
    parent = await factories.customer(owner, biz.id, "Maria", "Lopez")
    token = staff(api, biz)
    child = (
        await api.data(
            ADD_PARTICIPANT,
            {
                "input": {
                    "customerId": str(parent["id"]),
                    "firstName": "Lucía",
                    "lastName": "Lopez",
                    "dateOfBirth": "2017-05-04",
                }
            },
            token,
        )
    )["participantAdd"]
    assert child["errors"] == []
    assert {
        k: child["participant"][k] for k in ("fullName", "isSelf", "dateOfBirth", "email", "status")
    } == {
        "fullName": "Lucía Lopez",
        "isSelf": False,
        "dateOfBirth": "2017-05-04",
        "email": None,
        "status": "ACTIVE",
    }
    herself = (
        await api.data(
            ADD_PARTICIPANT, {"input": {"customerId": str(parent["id"]), "isSelf": True}}, token
        )
    )["participantAdd"]
    assert (herself["participant"]["fullName"], herself["participant"]["isSelf"]) == (
        "Maria Lopez",
        True,
    )
    again = (
        await api.data(
            ADD_PARTICIPANT, {"input": {"customerId": str(parent["id"]), "isSelf": True}}, token
        )
    )["participantAdd"]
    assert [(e["code"], e["field"]) for e in again["errors"]] == [("DUPLICATE", "input.isSelf")]
    rows = {
        (p["node"]["fullName"], p["node"]["kind"], tuple(p["node"]["categories"]))
        for p in (await api.data(PEOPLE, token=token))["people"]["edges"]
    }
    assert rows == {
        ("Maria Lopez", "CUSTOMER", ("LEAD", "PARTICIPANT")),
        ("Lucía Lopez", "PARTICIPANT", ("PARTICIPANT",)),
    }

    edited = (
        await api.data(
            UPDATE_PARTICIPANT,
            {
                "input": {
                    "id": child["participant"]["id"],
                    "firstName": "Lucia",
                    "email": "lucia@example.com",
                }
            },
            token,
        )
    )["participantUpdate"]
    assert edited == {
        "participant": {
            "fullName": "Lucia Lopez",
            "dateOfBirth": "2017-05-04",
            "email": "lucia@example.com",
        },
        "errors": [],
    }
    actions = [
        r["action"]
        for r in await owner.c.fetch("SELECT action FROM account_history ORDER BY number")
    ]
    assert actions == ["participant.added", "participant.added", "participant.updated"]


@pytest.mark.parametrize(
    ("input_", "code", "field"),
    [
        ({"firstName": "", "lastName": "Lopez"}, "REQUIRED", "input.firstName"),
        ({"firstName": "A", "lastName": "x" * 101}, "TOO_LONG", "input.lastName"),
        (
            {"firstName": "A", "lastName": "B", "dateOfBirth": "2999-01-01"},
            "INVALID",
            "input.dateOfBirth",
        ),
        ({"firstName": "A", "lastName": "B", "email": "nope"}, "INVALID", "input.email"),
        ({"firstName": "A", "lastName": "B", "mobile": "123"}, "INVALID", "input.mobile"),
    ],
)
async def test_participant_input_is_checked(
    api: Api,
    owner: factories.Owner,
    biz: factories.BusinessFixture,
    input_: dict[str, Any],
    code: str,
    field: str,
) -> None:
    parent = await factories.customer(owner, biz.id, "Maria", "Lopez")
    result = (
        await api.data(
            ADD_PARTICIPANT, {"input": {"customerId": str(parent["id"]), **input_}}, staff(api, biz)
        )
    )["participantAdd"]
    assert [(e["code"], e["field"]) for e in result["errors"]] == [(code, field)]
    assert await owner.c.fetchval("SELECT count(*) FROM participants") == 0


async def test_another_business_and_malformed_ids(
    api: Api, owner: factories.Owner, two_businesses: tuple[factories.BusinessFixture, ...]
) -> None:
    mine, other = two_businesses
    theirs = await factories.customer(owner, other.id, "Not", "Yours")
    token = staff(api, mine)
    for document, name, extra in (
        (ADD_PARTICIPANT, "participantAdd", {"firstName": "A", "lastName": "B"}),
        (ADD_USER, "additionalUserAdd", {"firstName": "A", "lastName": "B", "email": "a@b.co"}),
    ):
        result = (
            await api.data(document, {"input": {"customerId": str(theirs["id"]), **extra}}, token)
        )[name]
        assert [(e["code"], e["field"]) for e in result["errors"]] == [
            ("NOT_FOUND", "input.customerId")
        ]
        body = await api.post(document, {"input": {"customerId": "x", **extra}}, token)
        assert body["errors"][0]["extensions"] == {
            "code": "INVALID_ARGUMENT",
            "field": "input.customerId",
        }
    missing = (
        await api.data(
            UPDATE_PARTICIPANT, {"input": {"id": str(uuid.uuid4()), "firstName": "A"}}, token
        )
    )["participantUpdate"]
    assert missing["errors"] == [{"code": "NOT_FOUND", "field": "input.id"}]
