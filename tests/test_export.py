"""`peopleExport` and `GET /exports/people.csv`: the literal CSV of a hand-built account, the
Excel option, refused links, tenancy, big selections, and memory that stays flat while a large
file streams."""

from __future__ import annotations

import asyncio
import contextlib
import csv
import io
import itertools
import time
import tracemalloc
import uuid
from collections.abc import AsyncIterator, MutableMapping
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import urlsplit

import asyncpg
import httpx
import pytest
from asgi_lifespan import LifespanManager
from starlette.applications import Starlette

from integrations.email import EXPORT, UNSUBSCRIBE, SignedLinks
from resolvers import export
from server.app import create_app
from server.exports import REFUSED
from server.settings import Settings
from tests import factories
from tests import history_factories as hf
from tests.conftest import Api

EXPORT_MUTATION = """
mutation Export($selection: PeopleSelectionInput!, $excel: Boolean! = false) {
  peopleExport(selection: $selection, excelFriendly: $excel) {
    link { url expiresAt }
    errors { code field message }
  }
}
"""
HEADER = (
    "kind,number,customer_number,customer_name,customer_email,participant_name,item,date,"
    "starts_at,valid_from,valid_until,expires_at,next_payment_on,billing_interval,state,"
    "payment_method,amount,currency,credits,uses_remaining,refunded_amount"
)


def at(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=UTC)


@dataclass(frozen=True)
class Account:
    business: factories.BusinessFixture
    other: factories.BusinessFixture
    customer_id: uuid.UUID
    participant_id: uuid.UUID


@pytest.fixture
async def account(
    owner: factories.Owner, two_businesses: tuple[factories.BusinessFixture, ...]
) -> Account:
    """A customer whose name starts with `=`, with an accented participant and one row of
    every kind (plus a refunded Stripe payment, whose refunds are no lines of their own, and a
    manual payment whose description looks negative)."""
    mine, other = two_businesses
    cat = await hf.catalog(owner, mine.id)
    ada = await factories.customer(
        owner, mine.id, '=HYPERLINK("x")', "Lovelace", email="ada@example.com", number=7
    )
    zoe = await owner.insert(
        "participants", business_id=mine.id, customer_id=ada["id"], first_name="Zoë",
        last_name="Ångström",
    )  # fmt: skip
    # 00:30 UTC on the day British Summer Time starts is still 00:30 GMT; 01:30 UTC is 02:30.
    stripe = await hf.payment(
        owner, ada, 1200, at("2026-03-29 00:30"), stripe=True, description="Sunrise Yoga",
        refunded_amount=500,
    )  # fmt: skip
    await hf.booking(
        owner, ada, cat, at("2026-03-29 00:30"), participant_id=zoe["id"],
        participant_name="Zoë Ångström", state="COMPLETED", paid_with="STRIPE",
        payment_id=stripe["id"], refunded_amount=500,
    )  # fmt: skip
    for status, when in (("SUCCEEDED", "2026-04-02 09:15"), ("FAILED", "2026-04-03 09:15")):
        await owner.insert(
            "refunds", business_id=mine.id, customer_id=ada["id"],
            customer_name="=HYPERLINK(\"x\") Lovelace", payment_id=stripe["id"], amount=500,
            currency="GBP", status=status, reason="Class cancelled", created_at=at(when),
        )  # fmt: skip
    await hf.appointment(owner, ada, cat, at("2026-03-29 01:30"))
    await hf.customer_pass(owner, ada, cat, at("2026-04-01 10:00"))
    await hf.video_purchase(
        owner, ada, cat, at("2026-05-01 08:00"), video_id=cat.credit_video, price_amount=0,
        price_credits=2,
    )  # fmt: skip
    await hf.subscription(owner, ada, cat, at("2026-06-01 07:00"))
    await hf.payment(owner, ada, 950, at("2026-06-02 12:00"), description="-10% voucher\tapplied")
    # Another business's customer, with history of its own, must never appear.
    theirs = await factories.customer(owner, other.id, "Other", "Person")
    await hf.payment(owner, theirs, 4200, at("2026-06-02 12:00"), description="Theirs")
    return Account(mine, other, ada["id"], zoe["id"])


# Customer number, name (a formula, neutralised and quoted) and email, as every line has them.
ADA = '7,"\'=HYPERLINK(""x"") Lovelace",ada@example.com'
EXPECTED_LINES = (
    HEADER,
    f"BOOKING,1,{ADA},Zoë Ångström,Sunrise Yoga,2026-03-29 00:30:00+00,2026-06-10 14:30:00+01,"
    ",,,,,COMPLETED,STRIPE,12.00,GBP,,,5.00",
    f"PAYMENT,1,{ADA},,Sunrise Yoga,2026-03-29 00:30:00+00,,,,,,,PARTLY_REFUNDED,STRIPE,12.00,"
    "GBP,,,5.00",
    f"APPOINTMENT,1,{ADA},,Sports Massage,2026-03-29 02:30:00+01,2026-04-01 02:30:00+01,,,,,,"
    "SCHEDULED,MANUAL,55.00,GBP,,,",
    f"PASS,1,{ADA},,Ten Class Pass,2026-04-01 11:00:00+01,,2026-04-01,2026-06-30,,,,MANUAL,,"
    "90.00,GBP,,7,",
    f"VIDEO,1,{ADA},,Mobility Masterclass,2026-05-01 09:00:00+01,,,,2026-05-31 09:00:00+01,,,"
    "EXPIRED,,0.00,GBP,2,,",
    f"SUBSCRIPTION,1,{ADA},,Monthly Membership,2026-06-01 08:00:00+01,,2026-06-01,,,2026-12-01,"
    "1 MONTH,ACTIVE,,45.00,GBP,,,",
    f"PAYMENT,2,{ADA},,'-10% voucher\tapplied,2026-06-02 13:00:00+01,,,,,,,PAID,MANUAL,9.50,GBP,"
    ",,0.00",
)
EXPECTED = "".join(f"{line}\n" for line in EXPECTED_LINES)


def path_of(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.path}?{parts.query}"


async def link_for(
    api: Api, token: str, selection: dict[str, Any], excel: bool = False
) -> dict[str, Any]:
    data = await api.data(EXPORT_MUTATION, {"selection": selection, "excel": excel}, token)
    payload: dict[str, Any] = data["peopleExport"]
    return payload


async def download(api: Api, url: str) -> httpx.Response:
    return await api.http.get(path_of(url))


def staff_token(api: Api, business: factories.BusinessFixture) -> str:
    return api.token(business.id, "staff", business.staff_id)


# The literal file


async def test_export_of_one_account_is_the_literal_csv(
    api: Api, settings: Settings, account: Account
) -> None:
    token = staff_token(api, account.business)
    before = datetime.now(UTC)
    payload = await link_for(api, token, {"ids": [str(account.customer_id)]})
    assert payload["errors"] == []
    link = payload["link"]
    assert link["url"].startswith(f"{settings.public_base_url}/exports/people.csv?token=")
    expires = datetime.fromisoformat(link["expiresAt"])
    assert before + timedelta(minutes=14) < expires <= datetime.now(UTC) + timedelta(minutes=15)

    response = await download(api, link["url"])
    assert response.status_code == 200
    assert response.headers["content-type"] == "text/csv; charset=utf-8"
    assert response.headers["content-disposition"].startswith('attachment; filename="people-')
    assert response.headers["cache-control"] == "no-store"
    assert response.content.decode() == EXPECTED


async def test_a_participant_stands_for_their_account(api: Api, account: Account) -> None:
    """Selecting the participant and the customer exports the account once."""
    token = staff_token(api, account.business)
    ids = [str(account.participant_id), str(account.customer_id), str(account.participant_id)]
    payload = await link_for(api, token, {"ids": ids})
    response = await download(api, payload["link"]["url"])
    assert response.content.decode() == EXPECTED


async def test_excel_friendly_has_a_bom_crlf_and_local_times(api: Api, account: Account) -> None:
    token = staff_token(api, account.business)
    payload = await link_for(api, token, {"ids": [str(account.customer_id)]}, excel=True)
    response = await download(api, payload["link"]["url"])
    assert response.content.startswith(b"\xef\xbb\xbf")
    text = response.content[3:].decode()
    assert text.count("\r\n") == EXPECTED.count("\n") and "\n" not in text.replace("\r\n", "")
    lines = text.split("\r\n")
    assert lines[0] == HEADER
    assert lines[1] == (
        'BOOKING,1,7,"\'=HYPERLINK(""x"") Lovelace",ada@example.com,Zoë Ångström,'
        "Sunrise Yoga,2026-03-29 00:30:00,2026-06-10 14:30:00,,,,,,COMPLETED,STRIPE,12.00,GBP,"
        ",,5.00"
    )
    assert lines[5] == (
        'VIDEO,1,7,"\'=HYPERLINK(""x"") Lovelace",ada@example.com,,Mobility Masterclass,'
        "2026-05-01 09:00:00,,,,2026-05-31 09:00:00,,,EXPIRED,,0.00,GBP,2,,"
    )


async def test_both_plans_write_the_same_excel_lines(
    api: Api, account: Account, monkeypatch: pytest.MonkeyPatch
) -> None:
    token = staff_token(api, account.business)
    files = []
    plans: list[tuple[int, dict[str, Any]]] = [
        (1000, {"ids": [str(account.customer_id)]}),
        (0, {"filter": {}}),  # one pass, two copies
    ]
    for per_account_limit, selection in plans:
        monkeypatch.setattr(export, "PER_ACCOUNT_LIMIT", per_account_limit)
        payload = await link_for(api, token, selection, excel=True)
        files.append((await download(api, payload["link"]["url"])).content)
    per_account, two_copies = files
    assert two_copies.startswith(b"\xef\xbb\xbf" + HEADER.encode() + b"\r\n")
    assert sorted(two_copies.split(b"\r\n")) == sorted(per_account.split(b"\r\n"))


async def test_every_formula_start_is_neutralised_and_nothing_else(
    api: Api, owner: factories.Owner, account: Account
) -> None:
    b = account.business.id
    starts = ["=1+1", "+1", "-1", "@SUM(A1)", "\tx", "\rx", "plain", "'quoted", " =spaced", "é"]
    customer = await factories.customer(owner, b, "-Neutral", "Cells", email="+n@example.com")
    for index, description in enumerate(starts):
        when = at("2026-01-01 12:00") + timedelta(days=index)
        await hf.payment(owner, customer, 5 + index, when, description=description)
    token = staff_token(api, account.business)
    payload = await link_for(api, token, {"ids": [str(customer["id"])]})
    body = (await download(api, payload["link"]["url"])).content.decode()
    rows = list(csv.reader(io.StringIO(body, newline="")))[1:]
    assert [row[6] for row in rows] == [
        "'=1+1", "'+1", "'-1", "'@SUM(A1)", "'\tx", "'\rx", "plain", "'quoted", " =spaced", "é",
    ]  # fmt: skip
    assert {(row[3], row[4]) for row in rows} == {("'-Neutral Cells", "'+n@example.com")}
    assert [row[16] for row in rows] == [f"0.{5 + i:02d}" for i in range(10)]


# Refused links


def export_token(settings: Settings, business: uuid.UUID, staff: uuid.UUID, **changes: Any) -> str:
    """A token made the way the server makes them, with `changes` to its parts."""
    links = SignedLinks(
        settings.public_base_url, changes.pop("secret", settings.link_signing_secret)
    )
    data = changes.pop("data", {"r": "staff", "x": False, "f": ["ACTIVE", "EVERYONE", None]})
    return links._token(
        changes.pop("purpose", EXPORT), business, staff, changes.pop("version", 1), data=data,
        expires=changes.pop("expires", int(time.time()) + 600),
    )  # fmt: skip


async def test_wrong_expired_tampered_or_revoked_links_are_refused(
    api: Api, owner: factories.Owner, settings: Settings, account: Account
) -> None:
    mine = account.business
    good = export_token(settings, mine.id, mine.staff_id)
    body, _, signature = good.partition(".")
    other_body = export_token(settings, account.other.id, mine.staff_id).partition(".")[0]
    refused = {
        "no token": "",
        "garbage": "not-a-token",
        "no signature": body,
        "another business, same signature": f"{other_body}.{signature}",
        "flipped signature": f"{body}.{signature[:-2]}{'AB' if signature[-2:] != 'AB' else 'CD'}",
        "not ascii": f"{body}.é{signature[1:]}",
        "other secret": export_token(settings, mine.id, mine.staff_id, secret="other"),
        "expired": export_token(settings, mine.id, mine.staff_id, expires=int(time.time()) - 1),
        "an unsubscribe link": export_token(settings, mine.id, mine.staff_id, purpose=UNSUBSCRIBE),
        "no selection": export_token(settings, mine.id, mine.staff_id, data={"r": "staff", "x": 0}),
        "a customer's": export_token(
            settings, mine.id, account.customer_id, data={"r": "customer", "x": False, "f": [
                "ACTIVE", "EVERYONE", None]}),
        "a stale version": export_token(settings, mine.id, mine.staff_id, version=0),
        "staff of another business": export_token(settings, account.other.id, mine.staff_id),
    }  # fmt: skip
    for case, token in refused.items():
        response = await api.http.get("/exports/people.csv", params={"token": token})
        assert (response.status_code, response.text) == (403, REFUSED), case
        assert response.headers["content-type"].startswith("text/plain"), case

    assert (await api.http.get("/exports/people.csv", params={"token": good})).status_code == 200
    # Revoking the staff member's tokens revokes their links.
    await owner.c.execute("UPDATE staff_users SET token_version = 2 WHERE id = $1", mine.staff_id)
    response = await api.http.get("/exports/people.csv", params={"token": good})
    assert response.status_code == 403


# Tenancy


async def test_a_link_reads_only_the_business_in_its_token(
    api: Api, settings: Settings, account: Account
) -> None:
    mine, other = account.business, account.other
    theirs = await api.data(
        "{ customers(first: 5) { edges { node { id } } } }",
        token=api.token(other.id, "staff", other.staff_id),
    )
    their_id = theirs["customers"]["edges"][0]["node"]["id"]

    # Another business's ids: not found, no link.
    payload = await link_for(
        api, staff_token(api, mine), {"ids": [str(account.customer_id), their_id]}
    )
    assert payload == {
        "link": None,
        "errors": [{"code": "NOT_FOUND", "field": "selection.ids.1",
                    "message": "No such person in this business."}],
    }  # fmt: skip

    # A whole tab: this business's rows only.
    payload = await link_for(api, staff_token(api, mine), {"filter": {}})
    body = (await download(api, payload["link"]["url"])).content.decode()
    assert sorted(body.splitlines()) == sorted(EXPECTED.splitlines())
    assert "Theirs" not in body

    # Even a genuine token of this business naming the other's account reads nothing of it:
    # the tenant is the token's business, and row-level security holds it there.
    data = {"r": "staff", "x": False, "i": export._pack_ids([uuid.UUID(their_id)])}
    token = export_token(settings, mine.id, mine.staff_id, data=data)
    response = await api.http.get("/exports/people.csv", params={"token": token})
    assert (response.status_code, response.text) == (200, HEADER + "\n")
    # And the other business's own link shows only theirs.
    payload = await link_for(api, api.token(other.id, "staff", other.staff_id), {"filter": {}})
    body = (await download(api, payload["link"]["url"])).content.decode()
    assert [line.split(",")[6] for line in body.splitlines()[1:]] == ["Theirs"]


# Selections


async def test_filters_select_what_the_list_shows_in_either_plan(
    api: Api, owner: factories.Owner, account: Account, monkeypatch: pytest.MonkeyPatch
) -> None:
    b = account.business.id
    gone = await factories.customer(owner, b, "Archie", "Ved", status="ARCHIVED")
    await hf.payment(owner, gone, 300, at("2026-02-01 12:00"), description="Archived pay")
    lead = await factories.customer(owner, b, "Lee", "Dd")  # no history: no rows
    assert lead["category"] == "LEAD"
    token = staff_token(api, account.business)

    async def items(filter: dict[str, Any]) -> list[str]:
        payload = await link_for(api, token, {"filter": filter})
        body = (await download(api, payload["link"]["url"])).content.decode()
        return sorted(row[6] for row in csv.reader(io.StringIO(body, newline="")))[:-1]

    everyone = sorted(row.split(",")[6] for row in EXPECTED.splitlines()[1:])
    for per_account_limit in (1000, 0):  # per account, then one pass over the business
        monkeypatch.setattr(export, "PER_ACCOUNT_LIMIT", per_account_limit)
        assert await items({}) == everyone
        assert await items({"status": "ARCHIVED"}) == ["Archived pay"]
        assert await items({"search": "lovel"}) == everyone
        assert await items({"search": "zoë"}) == everyone  # through the participant
        assert await items({"category": "LEAD"}) == []
        assert await items({"search": "nobody"}) == []


async def test_a_large_selection_is_written_by_two_copies_kind_by_kind(
    api: Api, owner: factories.Owner, account: Account, monkeypatch: pytest.MonkeyPatch
) -> None:
    await bulk_history(owner, account.business.id, 20_000, first_number=1001)
    monkeypatch.setattr(export, "PER_ACCOUNT_LIMIT", 0)
    pieces = [0, 0]
    receiver = export._Halves._receiver

    def counted(self: Any, half: int) -> Any:
        receive = receiver(self, half)

        async def count(piece: bytes) -> None:
            pieces[half] += 1
            await receive(piece)

        return count

    monkeypatch.setattr(export._Halves, "_receiver", counted)
    payload = await link_for(api, staff_token(api, account.business), {"filter": {}})
    body = (await download(api, payload["link"]["url"])).content.decode()

    assert pieces[0] > 0 and pieces[1] > 0  # both halves of the payments had rows
    rows = list(csv.reader(io.StringIO(body, newline="")))
    assert ",".join(rows[0]) == HEADER
    kinds = [row[0] for row in rows[1:]]
    # Grouped by kind, in the usual order; no marker row is left in the file.
    assert [kind for kind, _ in itertools.groupby(kinds)] == [
        "BOOKING", "APPOINTMENT", "PASS", "VIDEO", "SUBSCRIPTION", "PAYMENT",
    ]  # fmt: skip
    bulk = [row for row in rows[1:] if row[3] == "Bulk Buyer"]
    assert sorted(int(row[1]) for row in bulk) == list(range(1001, 21_001))
    expected = list(csv.reader(io.StringIO(EXPECTED, newline="")))[1:]
    assert sorted(row for row in rows[1:] if row[3] != "Bulk Buyer") == sorted(expected)


async def test_a_large_selection_on_a_pool_of_one_connection_is_one_copy(
    settings: Settings, api: Api, account: Account, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(export, "PER_ACCOUNT_LIMIT", 0)
    halves: list[int] = []
    monkeypatch.setattr(export._Halves, "copy", lambda *args: halves.append(1))
    application = create_app(replace(settings, pool_size=1))
    async with LifespanManager(application) as manager:
        transport = httpx.ASGITransport(app=manager.app)
        async with httpx.AsyncClient(transport=transport, base_url="http://test") as http:
            single = Api(http=http, tokens=api.tokens)
            payload = await link_for(single, staff_token(single, account.business), {"filter": {}})
            body = (await download(single, payload["link"]["url"])).content.decode()
    assert halves == []
    rows = list(csv.reader(io.StringIO(body, newline="")))
    expected = list(csv.reader(io.StringIO(EXPECTED, newline="")))
    assert rows[0] == expected[0] and sorted(rows[1:]) == sorted(expected[1:])


async def test_who_may_ask_and_malformed_selections(api: Api, account: Account) -> None:
    mine = account.business
    member = api.token(mine.id, "customer", account.customer_id)
    body = await api.post(EXPORT_MUTATION, {"selection": {"filter": {}}}, member)
    assert body["errors"][0]["extensions"]["code"] == "FORBIDDEN"
    assert (await api.post(EXPORT_MUTATION, {"selection": {"filter": {}}}))["errors"][0][
        "extensions"]["code"] == "UNAUTHENTICATED"  # fmt: skip

    token = staff_token(api, mine)
    too_many = [str(uuid.uuid4()) for _ in range(101)]
    body = await api.post(EXPORT_MUTATION, {"selection": {"ids": too_many}}, token)
    assert body["errors"][0]["extensions"]["code"] == "TOO_MANY_IDS"
    body = await api.post(EXPORT_MUTATION, {"selection": {"ids": ["nope"]}}, token)
    assert body["errors"][0]["extensions"] == {
        "code": "INVALID_ARGUMENT", "field": "selection.ids.0"
    }  # fmt: skip
    both = {"ids": [str(account.customer_id)], "filter": {}}
    body = await api.post(EXPORT_MUTATION, {"selection": both}, token)
    assert body["errors"][0]["extensions"]["code"] == "INVALID_ARGUMENT"
    body = await api.post(EXPORT_MUTATION, {"selection": {"filter": {"search": "x" * 201}}}, token)
    assert body["errors"][0]["extensions"]["code"] == "INVALID_ARGUMENT"
    assert await link_for(api, token, {"ids": []}) == {
        "link": None,
        "errors": [{"code": "REQUIRED", "field": "selection.ids",
                    "message": "Select at least one person."}],
    }  # fmt: skip


# Streaming


@dataclass
class Streamed:
    status: int = 0
    size: int = 0
    lines: int = 0
    chunks: int = 0


async def stream(app: Starlette, url: str, *, disconnect_after: int | None = None) -> Streamed:
    """GET `url` from the ASGI app, counting what comes back without keeping it (an HTTP client
    would hold the whole body)."""
    parts = urlsplit(url)
    seen = Streamed()
    gone = asyncio.Event()
    asked = False

    async def receive() -> MutableMapping[str, Any]:
        nonlocal asked
        if not asked:
            asked = True
            return {"type": "http.request", "body": b"", "more_body": False}
        await gone.wait()
        return {"type": "http.disconnect"}

    async def send(message: MutableMapping[str, Any]) -> None:
        if message["type"] == "http.response.start":
            seen.status = message["status"]
        elif message["type"] == "http.response.body":
            body = message.get("body", b"")
            seen.size += len(body)
            seen.lines += body.count(b"\n")
            seen.chunks += 1
            if not message.get("more_body") or seen.chunks == disconnect_after:
                gone.set()

    scope = {
        "type": "http", "asgi": {"version": "3.0"}, "http_version": "1.1", "method": "GET",
        "scheme": "http", "path": parts.path, "raw_path": parts.path.encode(),
        "query_string": parts.query.encode(), "root_path": "", "headers": [(b"host", b"test")],
        "client": ("127.0.0.1", 50000), "server": ("test", 80),
    }  # fmt: skip
    await app(scope, receive, send)
    return seen


@pytest.fixture
async def app(settings: Settings) -> AsyncIterator[Starlette]:
    application = create_app(replace(settings, pool_size=4))
    async with LifespanManager(application):
        yield application


async def bulk_history(
    owner: factories.Owner, business: uuid.UUID, rows: int, first_number: int = 1
) -> uuid.UUID:
    """One customer with `rows` payments, written in one statement. Numbers and the category
    are given, so the row triggers have nothing to add: as the superuser the fixtures connect
    as, they are skipped (seconds saved per 100,000 rows), as the scale seeder skips them."""
    customer = await factories.customer(owner, business, "Bulk", "Buyer")
    async with owner.c.transaction():
        with contextlib.suppress(asyncpg.InsufficientPrivilegeError):
            async with owner.c.transaction():
                await owner.c.execute("SET LOCAL ROLE NONE")
                await owner.c.execute("SET LOCAL session_replication_role = replica")
        await owner.c.execute(
            """INSERT INTO payments (business_id, number, customer_id, customer_name, amount,
                   currency, method, description, paid_at)
               SELECT $1, g, $2, 'Bulk Buyer', 1000 + g % 500, 'GBP', 'MANUAL', 'Payment ' || g,
                      timestamptz '2026-01-01 00:00+00' + g * interval '1 minute'
               FROM generate_series($4::bigint, $4::bigint + $3 - 1) g""",
            business, customer["id"], rows, first_number,
        )  # fmt: skip
        await owner.c.execute(
            "UPDATE customers SET category = 'PRIMARY' WHERE id = $1", customer["id"]
        )
    return uuid.UUID(str(customer["id"]))


async def _bulk_export_url(
    app: Starlette,
    owner: factories.Owner,
    tokens: Any,
    two_businesses: Any,
    rows: int,
    one_pass: bool,
    monkeypatch: pytest.MonkeyPatch,
) -> str:
    """The download link of one customer's `rows` payments: asked for by id (one COPY per
    account) or, with `one_pass`, as the whole tab (the two-COPY export)."""
    mine, _ = two_businesses
    customer = await bulk_history(owner, mine.id, rows)
    if one_pass:
        monkeypatch.setattr(export, "PER_ACCOUNT_LIMIT", 0)
    selection: dict[str, Any] = {"filter": {}} if one_pass else {"ids": [str(customer)]}
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://test") as http:
        api = Api(http=http, tokens=tokens)
        payload = await link_for(api, staff_token(api, mine), selection)
    url: str = payload["link"]["url"]
    return url


@pytest.mark.parametrize("one_pass", [False, True], ids=["per-account", "two-copies"])
async def test_memory_stays_flat_while_200000_rows_stream(
    app: Starlette,
    owner: factories.Owner,
    tokens: Any,
    two_businesses: Any,
    monkeypatch: pytest.MonkeyPatch,
    one_pass: bool,
) -> None:
    url = await _bulk_export_url(app, owner, tokens, two_businesses, 200_000, one_pass, monkeypatch)

    tracemalloc.start()
    try:
        tracemalloc.reset_peak()
        seen = await stream(app, url)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert (seen.status, seen.lines) == (200, 200_001)
    assert seen.size > 20_000_000 and seen.chunks > 50
    # The file is over 20 MB; the service held a few chunks of it at a time (about 4 MB at the
    # most when another test process shares the cores and the reader falls behind).
    assert peak < 6_000_000, peak


@pytest.mark.parametrize("one_pass", [False, True], ids=["per-account", "two-copies"])
async def test_a_client_that_goes_away_stops_the_copy(
    app: Starlette,
    owner: factories.Owner,
    tokens: Any,
    two_businesses: Any,
    monkeypatch: pytest.MonkeyPatch,
    one_pass: bool,
) -> None:
    url = await _bulk_export_url(app, owner, tokens, two_businesses, 30_000, one_pass, monkeypatch)

    # More abandoned downloads than the app runs at once (1 with a pool of 4).
    for _ in range(3):
        seen = await stream(app, url, disconnect_after=2)
        assert seen.status == 200 and seen.lines < 30_001
    running = await owner.c.fetchval(
        "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() "
        "AND query LIKE 'COPY (%' AND state <> 'idle'"
    )
    assert running == 0
    # Their slots and connections were given back.
    again = await stream(app, url)
    assert (again.status, again.lines) == (200, 30_001)
