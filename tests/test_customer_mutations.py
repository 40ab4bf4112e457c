"""Create, edit, archive, activate and delete people through GraphQL, with every refusal."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from integrations.email import SignedLinks
from server.jobs import Worker, drain
from server.settings import Settings
from tests import factories
from tests.conftest import Api
from tests.fixtures_mail import MailServer

CREATE = """
mutation($input: CustomerCreateInput!) {
  customerCreate(input: $input) {
    customer { id number firstName lastName email mobile category status version }
    errors { code field message }
  }
}
"""
UPDATE = """
mutation($input: CustomerUpdateInput!) {
  customerUpdate(input: $input) {
    customer { id firstName lastName email mobile version }
    errors { code field message }
  }
}
"""
ARCHIVE = """
mutation($id: ID!) { customerArchive(id: $id) {
  customer { status } warnings { upcomingBookings activeSubscriptions } errors { code field } } }
"""
ACTIVATE = (
    "mutation($id: ID!) { customerActivate(id: $id) { customer { status } errors { code field } } }"
)
DELETE = (
    "mutation($id: ID!) { personDelete(id: $id) { deletedId kind errors { code field message } } }"
)
BULK_ARCHIVE = """
mutation($ids: [ID!]!) { peopleArchive(selection: {ids: $ids}) {
  results { id ok errors { code field } } errors { code field } } }
"""
BULK_DELETE = """
mutation($ids: [ID!]!) { peopleDelete(selection: {ids: $ids}) {
  results { id ok errors { code field } } errors { code field } } }
"""
VALID = {
    "firstName": "Zoë",
    "lastName": "Ållén",
    "email": "zoe@example.com",
    "mobile": "07700 900123",
}


@pytest.fixture
def biz(two_businesses: tuple[factories.BusinessFixture, ...]) -> factories.BusinessFixture:
    return two_businesses[0]


def staff(api: Api, biz: factories.BusinessFixture) -> str:
    return api.token(biz.id, "staff", biz.staff_id)


async def create(api: Api, token: str, **overrides: Any) -> dict[str, Any]:
    result: dict[str, Any] = (await api.data(CREATE, {"input": {**VALID, **overrides}}, token))[
        "customerCreate"
    ]
    return result


async def test_create_makes_a_searchable_lead_with_history(
    api: Api, owner: factories.Owner, biz: factories.BusinessFixture
) -> None:
    token = staff(api, biz)
    result = await create(api, token, password="Tr1cky-Horse-88")
    assert result["errors"] == []
    customer = result["customer"]
    assert customer["mobile"] == "+447700900123"
    assert (customer["category"], customer["status"], customer["number"]) == ("LEAD", "ACTIVE", 1)
    found = await api.data('{ people(search: "alle") { edges { node { id } } } }', token=token)
    assert found["people"]["edges"] == [{"node": {"id": customer["id"]}}]
    row = await owner.c.fetchrow(
        "SELECT password_hash FROM customers WHERE id = $1", uuid.UUID(customer["id"])
    )
    assert row is not None and row["password_hash"].startswith("$argon2id$v=19$m=65536,t=3,p=2$")
    history = await owner.c.fetch("SELECT action, actor_kind, actor_name FROM account_history")
    assert [tuple(r) for r in history] == [("customer.created", "STAFF", "Sam Staff")]


@pytest.mark.parametrize(
    ("overrides", "code", "field"),
    [
        ({"email": "not-an-email"}, "INVALID", "input.email"),
        ({"email": "  "}, "REQUIRED", "input.email"),
        ({"email": "a@b.c" + "x" * 320}, "TOO_LONG", "input.email"),
        ({"mobile": "12"}, "INVALID", "input.mobile"),
        ({"mobile": "call me maybe"}, "INVALID", "input.mobile"),
        ({"firstName": "   "}, "REQUIRED", "input.firstName"),
        ({"lastName": "x" * 10_000}, "TOO_LONG", "input.lastName"),
        ({"lastName": "Bell\u0007"}, "INVALID", "input.lastName"),
        ({"password": "Sh0rt!"}, "INVALID", "input.password"),
        ({"password": "alllowercase1!"}, "INVALID", "input.password"),
        ({"password": "ALLUPPERCASE1!"}, "INVALID", "input.password"),
        ({"password": "NoDigitsHere!"}, "INVALID", "input.password"),
        ({"password": "NoSpecials123"}, "INVALID", "input.password"),
        ({"password": "Aa1!" + "x" * 125}, "TOO_LONG", "input.password"),
        ({"password": "P@ssw0rd123!"}, "INVALID", "input.password"),
        ({"password": "Welcome2024!"}, "INVALID", "input.password"),
    ],
)
async def test_create_refuses_bad_input_with_code_and_field(
    api: Api,
    owner: factories.Owner,
    biz: factories.BusinessFixture,
    overrides: dict[str, str],
    code: str,
    field: str,
) -> None:
    result = await create(api, staff(api, biz), **overrides)
    assert result["customer"] is None
    assert [(e["code"], e["field"]) for e in result["errors"]] == [(code, field)]
    assert result["errors"][0]["message"]
    assert await owner.c.fetchval("SELECT count(*) FROM customers") == 0


async def test_a_nul_character_is_refused_before_anything_runs(
    api: Api, owner: factories.Owner, biz: factories.BusinessFixture
) -> None:
    new = {"firstName": "Bad\u0000Name", "lastName": "Lovelace", "email": "ada@example.com"}
    answer = await api.post(CREATE, {"input": new}, staff(api, biz))
    assert answer["data"] is None
    assert [e["extensions"] for e in answer["errors"]] == [
        {"code": "INVALID_ARGUMENT", "field": "input.firstName"}
    ]
    assert await owner.c.fetchval("SELECT count(*) FROM customers") == 0


async def test_password_rule_lists_every_missing_part(
    api: Api, biz: factories.BusinessFixture
) -> None:
    result = await create(api, staff(api, biz), password="abc")
    assert result["errors"][0]["message"] == (
        "The password needs at least 8 characters, an uppercase letter, a number, "
        "a special character."
    )


async def test_email_is_unique_across_customers_and_additional_users_in_any_case(
    api: Api, owner: factories.Owner, two_businesses: tuple[factories.BusinessFixture, ...]
) -> None:
    mine, other = two_businesses
    holder = await factories.customer(
        owner,
        mine.id,
        "Ann",
        "Archived",
        email="Taken@Example.com",
        status="ARCHIVED",
        archived_at=datetime.now(UTC),
    )
    await factories.additional_user(owner, holder, "Helper", email="helper@example.com")
    await factories.customer(owner, other.id, "Other", "Business", email="free-here@example.com")
    token = staff(api, mine)
    for email in ("taken@example.com", "TAKEN@EXAMPLE.COM", "Helper@example.com"):
        result = await create(api, token, email=email)
        assert [(e["code"], e["field"]) for e in result["errors"]] == [("DUPLICATE", "input.email")]
    assert (await create(api, token, email="free-here@example.com"))["errors"] == []


async def test_concurrent_creates_with_one_email_make_one_customer(
    api: Api, owner: factories.Owner, biz: factories.BusinessFixture
) -> None:
    token = staff(api, biz)
    results = await asyncio.gather(
        *[create(api, token, email="race@example.com") for _ in range(5)]
    )
    assert sum(1 for r in results if not r["errors"]) == 1
    assert all(r["errors"][0]["code"] == "DUPLICATE" for r in results if r["errors"])
    assert await owner.c.fetchval("SELECT count(*) FROM customers") == 1


async def test_update_changes_only_what_is_sent_and_refuses_stale_versions(
    api: Api, owner: factories.Owner, biz: factories.BusinessFixture
) -> None:
    token = staff(api, biz)
    created = (await create(api, token, password="Tr1cky-Horse-88"))["customer"]
    before = await owner.c.fetchval("SELECT password_hash FROM customers")
    updated = (
        await api.data(
            UPDATE,
            {
                "input": {
                    "id": created["id"],
                    "version": created["version"],
                    "lastName": "Allen",
                    "password": "",
                }
            },
            token,
        )
    )["customerUpdate"]
    assert updated["errors"] == []
    assert (updated["customer"]["firstName"], updated["customer"]["lastName"]) == ("Zoë", "Allen")
    assert updated["customer"]["version"] == created["version"] + 1
    assert await owner.c.fetchval("SELECT password_hash FROM customers") == before

    stale = (
        await api.data(
            UPDATE,
            {"input": {"id": created["id"], "version": created["version"], "firstName": "Zed"}},
            token,
        )
    )["customerUpdate"]
    assert [(e["code"], e["field"]) for e in stale["errors"]] == [("STALE", "input.version")]

    cleared = (
        await api.data(
            UPDATE,
            {
                "input": {
                    "id": created["id"],
                    "version": updated["customer"]["version"],
                    "mobile": "",
                    "email": "NEW@example.com",
                }
            },
            token,
        )
    )["customerUpdate"]
    assert (cleared["customer"]["mobile"], cleared["customer"]["email"]) == (
        None,
        "NEW@example.com",
    )
    keys = [r["email_key"] for r in await owner.c.fetch("SELECT email_key FROM login_emails")]
    assert keys == ["new@example.com"]
    actions = [
        r["action"]
        for r in await owner.c.fetch("SELECT action FROM account_history ORDER BY number")
    ]
    assert actions == ["customer.created", "customer.updated", "customer.updated"]


async def test_concurrent_edits_of_one_version_apply_once(
    api: Api, biz: factories.BusinessFixture
) -> None:
    token = staff(api, biz)
    created = (await create(api, token))["customer"]
    edits = [
        api.data(
            UPDATE,
            {
                "input": {
                    "id": created["id"],
                    "version": created["version"],
                    "firstName": f"Name{i}",
                }
            },
            token,
        )
        for i in range(4)
    ]
    results = [r["customerUpdate"] for r in await asyncio.gather(*edits)]
    assert sum(1 for r in results if not r["errors"]) == 1
    assert sorted(r["errors"][0]["code"] for r in results if r["errors"]) == ["STALE"] * 3


async def test_update_of_another_business_or_malformed_id(
    api: Api, owner: factories.Owner, two_businesses: tuple[factories.BusinessFixture, ...]
) -> None:
    mine, other = two_businesses
    theirs = await factories.customer(owner, other.id, "Not", "Yours")
    token = staff(api, mine)
    result = (
        await api.data(
            UPDATE, {"input": {"id": str(theirs["id"]), "version": 1, "firstName": "X"}}, token
        )
    )["customerUpdate"]
    assert [(e["code"], e["field"]) for e in result["errors"]] == [("NOT_FOUND", "input.id")]
    body = await api.post(UPDATE, {"input": {"id": "nope", "version": 1}}, token)
    assert body["errors"][0]["extensions"] == {"code": "INVALID_ARGUMENT", "field": "input.id"}


async def test_archive_warns_and_activate_restores(
    api: Api, owner: factories.Owner, biz: factories.BusinessFixture
) -> None:
    token = staff(api, biz)
    ada = await factories.customer(owner, biz.id, "Ada", "Busy")
    event = await owner.insert("events", business_id=biz.id, name="Yoga")
    now = datetime.now(UTC)
    session = await owner.insert(
        "sessions",
        business_id=biz.id,
        event_id=event["id"],
        starts_at=now + timedelta(days=2),
        ends_at=now + timedelta(days=2, hours=1),
        time_zone="Europe/London",
    )
    await owner.insert(
        "bookings",
        business_id=biz.id,
        customer_id=ada["id"],
        customer_name="Ada Busy",
        session_id=session["id"],
        booked_at=now,
        state="MANUAL",
        paid_with="FREE",
        price_amount=0,
        currency="GBP",
    )
    archived = (await api.data(ARCHIVE, {"id": str(ada["id"])}, token))["customerArchive"]
    assert archived == {
        "customer": {"status": "ARCHIVED"},
        "warnings": {"upcomingBookings": 1, "activeSubscriptions": 0},
        "errors": [],
    }
    again = (await api.data(ARCHIVE, {"id": str(ada["id"])}, token))["customerArchive"]
    assert again["errors"] == [{"code": "INVALID_STATE", "field": "id"}]
    activated = (await api.data(ACTIVATE, {"id": str(ada["id"])}, token))["customerActivate"]
    assert activated == {"customer": {"status": "ACTIVE"}, "errors": []}


async def test_merged_customers_cannot_be_activated_or_deleted(
    api: Api, owner: factories.Owner, biz: factories.BusinessFixture
) -> None:
    target = await factories.customer(owner, biz.id, "Tara", "Target")
    merged = await factories.customer(
        owner,
        biz.id,
        "Mo",
        "Merged",
        status="ARCHIVED",
        archived_at=datetime.now(UTC),
        merged_into_id=target["id"],
    )
    token = staff(api, biz)
    assert (await api.data(ACTIVATE, {"id": str(merged["id"])}, token))["customerActivate"][
        "errors"
    ] == [{"code": "INVALID_STATE", "field": "id"}]
    assert (await api.data(DELETE, {"id": str(merged["id"])}, token))["personDelete"]["errors"][0][
        "code"
    ] == "INVALID_STATE"


async def test_delete_follows_the_lifecycle_table(
    api: Api, owner: factories.Owner, biz: factories.BusinessFixture
) -> None:
    token = staff(api, biz)
    app_user = await factories.customer(owner, biz.id, "App", "User", origin="PORTAL_SIGNUP")
    lead_with_helper = await factories.customer(owner, biz.id, "Lead", "Helped")
    await factories.additional_user(owner, lead_with_helper)
    lonely_lead = await factories.customer(owner, biz.id, "Lone", "Lead")
    await owner.insert(
        "notes",
        business_id=biz.id,
        customer_id=lonely_lead["id"],
        customer_name="Lone Lead",
        content="Call back",
        author_name="Sam Staff",
    )
    primary = await factories.customer(owner, biz.id, "Pri", "Mary")
    await factories.manual_payment(owner, primary)

    deleted = (await api.data(DELETE, {"id": str(app_user["id"])}, token))["personDelete"]
    assert deleted == {"deletedId": str(app_user["id"]), "kind": "CUSTOMER", "errors": []}
    refused = (await api.data(DELETE, {"id": str(lead_with_helper["id"])}, token))["personDelete"]
    assert [(e["code"], e["field"]) for e in refused["errors"]] == [("HAS_HISTORY", "id")]
    refused = (await api.data(DELETE, {"id": str(primary["id"])}, token))["personDelete"]
    assert (
        refused["errors"][0]["code"] == "HAS_HISTORY"
        and "archive" in refused["errors"][0]["message"]
    )
    assert (await api.data(DELETE, {"id": str(lonely_lead["id"])}, token))["personDelete"][
        "errors"
    ] == []
    assert await owner.c.fetchval("SELECT count(*) FROM notes") == 0
    remaining = {r["first_name"] for r in await owner.c.fetch("SELECT first_name FROM customers")}
    assert remaining == {"Lead", "Pri"}
    audit = await owner.c.fetch(
        "SELECT customer_id, customer_name FROM account_history"
        " WHERE action = 'customer.deleted' ORDER BY number"
    )
    assert [(r["customer_id"], r["customer_name"]) for r in audit] == [
        (None, "App User"),
        (None, "Lone Lead"),
    ]


async def test_deleting_an_additional_user_moves_their_history_to_the_customer(
    api: Api, owner: factories.Owner, biz: factories.BusinessFixture
) -> None:
    parent = await factories.customer(owner, biz.id, "Pat", "Parent")
    helper = await factories.additional_user(owner, parent, "Hal")
    payment = await factories.manual_payment(
        owner, parent, acted_by_additional_user_id=helper["id"]
    )
    result = (await api.data(DELETE, {"id": str(helper["id"])}, staff(api, biz)))["personDelete"]
    assert result == {"deletedId": str(helper["id"]), "kind": "ADDITIONAL_USER", "errors": []}
    row = await owner.c.fetchrow(
        "SELECT customer_id, acted_by_additional_user_id FROM payments WHERE id = $1", payment["id"]
    )
    assert row is not None and (row["customer_id"], row["acted_by_additional_user_id"]) == (
        parent["id"],
        None,
    )
    assert (
        await owner.c.fetchval(
            "SELECT count(*) FROM login_emails WHERE additional_user_id IS NOT NULL"
        )
        == 0
    )


async def test_a_participant_with_upcoming_bookings_is_kept(
    api: Api, owner: factories.Owner, biz: factories.BusinessFixture
) -> None:
    parent = await factories.customer(owner, biz.id, "Pat", "Parent")
    kid = await factories.participant(owner, parent, "Kim")
    event = await owner.insert("events", business_id=biz.id, name="Swim")
    now = datetime.now(UTC)
    past = await owner.insert(
        "sessions",
        business_id=biz.id,
        event_id=event["id"],
        starts_at=now - timedelta(days=9),
        ends_at=now - timedelta(days=9) + timedelta(hours=1),
        time_zone="Europe/London",
    )
    future = await owner.insert(
        "sessions",
        business_id=biz.id,
        event_id=event["id"],
        starts_at=now + timedelta(days=9),
        ends_at=now + timedelta(days=9, hours=1),
        time_zone="Europe/London",
    )
    common = {
        "business_id": biz.id,
        "customer_id": parent["id"],
        "customer_name": "Pat Parent",
        "participant_id": kid["id"],
        "participant_name": "Kim Parent",
        "booked_at": now,
        "paid_with": "FREE",
        "price_amount": 0,
        "currency": "GBP",
    }
    await owner.insert("bookings", session_id=past["id"], state="MANUAL", **common)
    upcoming = await owner.insert("bookings", session_id=future["id"], state="MANUAL", **common)
    token = staff(api, biz)
    refused = (await api.data(DELETE, {"id": str(kid["id"])}, token))["personDelete"]
    assert refused["errors"][0]["code"] == "INVALID_STATE"
    await owner.c.execute(
        "UPDATE bookings SET state = 'CANCELLED', cancelled_at = now() WHERE id = $1",
        upcoming["id"],
    )
    assert (await api.data(DELETE, {"id": str(kid["id"])}, token))["personDelete"][
        "kind"
    ] == "PARTICIPANT"
    kept = await owner.c.fetch("SELECT participant_id, participant_name FROM bookings")
    assert {(r["participant_id"], r["participant_name"]) for r in kept} == {(None, "Kim Parent")}


async def test_bulk_actions_are_per_person_deduplicated_and_bounded(
    api: Api, owner: factories.Owner, two_businesses: tuple[factories.BusinessFixture, ...]
) -> None:
    mine, other = two_businesses
    token = staff(api, mine)
    a = await factories.customer(owner, mine.id, "A", "One")
    b = await factories.customer(
        owner, mine.id, "B", "Two", status="ARCHIVED", archived_at=datetime.now(UTC)
    )
    theirs = await factories.customer(owner, other.id, "C", "Theirs")
    ids = [str(a["id"]), str(b["id"]), str(a["id"]), str(theirs["id"])]
    result = (await api.data(BULK_ARCHIVE, {"ids": ids}, token))["peopleArchive"]
    assert result["errors"] == []
    assert result["results"] == [
        {"id": str(a["id"]), "ok": True, "errors": []},
        {
            "id": str(b["id"]),
            "ok": False,
            "errors": [{"code": "INVALID_STATE", "field": "selection.ids.1"}],
        },
        {
            "id": str(theirs["id"]),
            "ok": False,
            "errors": [{"code": "NOT_FOUND", "field": "selection.ids.3"}],
        },
    ]
    assert (
        await owner.c.fetchval("SELECT status FROM customers WHERE id = $1", theirs["id"])
        == "ACTIVE"
    )

    empty = (await api.data(BULK_DELETE, {"ids": []}, token))["peopleDelete"]
    assert empty == {"results": [], "errors": [{"code": "REQUIRED", "field": "selection.ids"}]}
    too_many = await api.post(BULK_DELETE, {"ids": [str(uuid.uuid4()) for _ in range(101)]}, token)
    assert too_many["errors"][0]["extensions"] == {
        "code": "TOO_MANY_IDS",
        "field": "selection.ids",
    }
    malformed = await api.post(BULK_DELETE, {"ids": [str(a["id"]), "x"]}, token)
    assert malformed["errors"][0]["extensions"] == {
        "code": "INVALID_ARGUMENT",
        "field": "selection.ids.1",
    }


async def test_members_cannot_use_staff_mutations(
    api: Api, owner: factories.Owner, biz: factories.BusinessFixture
) -> None:
    member = await factories.customer(owner, biz.id, "Mia", "Member")
    body = await api.post(CREATE, {"input": VALID}, api.token(biz.id, "customer", member["id"]))
    assert body["errors"][0]["extensions"]["code"] == "FORBIDDEN"
    body = await api.post(
        DELETE, {"id": str(member["id"])}, api.token(biz.id, "customer", member["id"])
    )
    assert body["errors"][0]["extensions"]["code"] == "FORBIDDEN"


async def test_a_new_customer_is_emailed_their_login_never_a_password(
    api: Api,
    owner: factories.Owner,
    biz: factories.BusinessFixture,
    settings: Settings,
    make_worker: Callable[..., Worker],
    mail_server: MailServer,
) -> None:
    token = staff(api, biz)
    linked = (await create(api, token, email="link@example.com"))["customer"]
    typed = (await create(api, token, email="typed@example.com", password="Tr1cky-Horse-88"))[
        "customer"
    ]
    await drain(make_worker())

    by_address = {r.recipients[0]: r for r in mail_server.received}
    assert set(by_address) == {"link@example.com", "typed@example.com"}
    link_mail = by_address["link@example.com"]
    assert link_mail.subject == "Your First Studio member account"
    text = link_mail.part("plain")
    url = text.split("/set-password?token=")[1].split()[0]
    links = SignedLinks(settings.public_base_url, settings.link_signing_secret)
    claims = links.verify(url, "set-password")
    assert claims is not None
    assert (claims.business_id, claims.person_id) == (biz.id, uuid.UUID(linked["id"]))
    typed_text = by_address["typed@example.com"].part("plain")
    assert "set-password" not in typed_text and "Tr1cky-Horse-88" not in typed_text
    log = await owner.c.fetch(
        "SELECT customer_id, purpose, status FROM messages ORDER BY to_address"
    )
    assert [(r["customer_id"], r["purpose"], r["status"]) for r in log] == [
        (uuid.UUID(linked["id"]), "SERVICE", "SENT"),
        (uuid.UUID(typed["id"]), "SERVICE", "SENT"),
    ]


async def test_a_refused_create_sends_nothing(
    api: Api, owner: factories.Owner, biz: factories.BusinessFixture
) -> None:
    result = await create(api, staff(api, biz), email="bad")
    assert result["errors"]
    assert await owner.c.fetchval("SELECT count(*) FROM messages") == 0
