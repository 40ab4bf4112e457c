"""The profile's tabs: each tab's search box and state filter, pages forward and backward, and
cursors that belong to one tab of one customer."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from loaders import history
from tests import factories
from tests import history_factories as hf
from tests.conftest import Api

NOW = datetime(2026, 11, 21, 12, 0, tzinfo=UTC)


def day(n: int) -> datetime:
    """Day `n` of 2026, noon UTC: later rows get higher numbers."""
    return datetime(2026, 1, 1, 12, tzinfo=UTC) + timedelta(days=n)


@pytest.fixture
async def tabs(
    owner: factories.Owner,
    two_businesses: tuple[factories.BusinessFixture, ...],
    monkeypatch: pytest.MonkeyPatch,
) -> dict[str, Any]:
    monkeypatch.setattr(history, "now", lambda: NOW)
    mine, _ = two_businesses
    cat = await hf.catalog(owner, mine.id)
    b = mine.id
    boxer = await owner.insert("facilitators", business_id=b, name="Muhammad Ali")
    boxing = await owner.insert("events", business_id=b, name="Boxing Basics")
    pilates = await owner.insert("events", business_id=b, name="Pilâtes Flow")
    starts = datetime(2026, 7, 1, 18, tzinfo=UTC)

    async def session(event: Any, facilitator: Any) -> Any:
        return (
            await owner.insert(
                "sessions", business_id=b, event_id=event["id"], facilitator_id=facilitator,
                starts_at=starts, ends_at=starts + timedelta(hours=1), time_zone="Europe/London",
            )
        )["id"]  # fmt: skip

    boxing_session = await session(boxing, boxer["id"])
    pilates_session = await session(pilates, None)
    physio = await owner.insert(
        "services", business_id=b, name="Physio Check", duration_minutes=30, price_amount=4000,
        currency="GBP",
    )  # fmt: skip
    annual = await owner.insert(
        "plans", business_id=b, name="Annual Pass Plan", amount=45000, currency="GBP",
        interval_unit="YEAR", interval_count=1,
    )  # fmt: skip
    feedback = await owner.insert(
        "questionnaires", business_id=b, name="Class Feedback", questions="[]"
    )
    ada = await factories.customer(owner, b, "Ada", "Lovelace")

    # Bookings 1-4: yoga (Grace Hopper), boxing (Muhammad Ali), pilates (no one), yoga.
    await hf.booking(owner, ada, cat, day(1))
    await hf.booking(
        owner, ada, cat, day(2), session_id=boxing_session, state="COMPLETED",
        paid_with="STRIPE",
    )  # fmt: skip
    await hf.booking(owner, ada, cat, day(3), session_id=pilates_session, state="CANCELLED")
    await hf.booking(
        owner, ada, cat, day(4), state="PACKAGE", paid_with="CREDITS", price_amount=0,
        price_credits=1,
    )  # fmt: skip
    # Appointments 1-3: massage, physio (cancelled), massage.
    await hf.appointment(owner, ada, cat, day(1))
    await hf.appointment(
        owner, ada, cat, day(2), service_id=physio["id"], state="CANCELLED",
        cancelled_at=day(2),
    )  # fmt: skip
    await hf.appointment(owner, ada, cat, day(3))
    # Passes 1-3: ten-pack (Stripe), unlimited, ten-pack.
    await hf.customer_pass(owner, ada, cat, day(1), state="COMPLETED")
    await hf.customer_pass(owner, ada, cat, day(2), unlimited=True)
    await hf.customer_pass(owner, ada, cat, day(3))
    # Videos 1-3: expired, cancelled, active (never expires).
    await hf.video_purchase(owner, ada, cat, day(1))
    await hf.video_purchase(owner, ada, cat, day(2), state="CANCELLED")
    await hf.video_purchase(
        owner, ada, cat, day(3), video_id=cat.credit_video, expires_at=None, price_credits=2
    )
    # Subscriptions 1-3: monthly active, annual paused, monthly suspended.
    await hf.subscription(owner, ada, cat, day(1))
    await hf.subscription(
        owner, ada, cat, day(2), plan_id=annual["id"], state="PAUSED", next_payment_on=None,
        amount=45000, interval_unit="YEAR",
    )  # fmt: skip
    await hf.subscription(owner, ada, cat, day(3), state="SUSPENDED", next_payment_on=None)
    # Questionnaires 1-3: waiver completed, feedback assigned, waiver assigned.
    await hf.response(owner, ada, cat, day(1), answers={"injuries": "None"})
    await hf.response(owner, ada, cat, day(2), questionnaire_id=feedback["id"])
    await hf.response(owner, ada, cat, day(3))
    # Notes 1-3.
    await hf.note(owner, ada, "Prefers evening classes.", day(1))
    await hf.note(owner, ada, "Knee injury: no jumping.", day(2), author_name="Olivia Owner")
    await hf.note(owner, ada, "Paid cash for the knee brace.", day(3))
    # Account history 1-3.
    await hf.account_entry(owner, ada, "customer.created", day(1), actor_kind="CUSTOMER",
                           actor_name="Ada Lovelace")  # fmt: skip
    await hf.account_entry(owner, ada, "customer.updated", day(2))
    await hf.account_entry(owner, ada, "customer.archived", day(3), actor_kind="SYSTEM",
                           actor_name="Events service")  # fmt: skip

    # Another customer with 25 rows in every tab, for paging.
    busy = await factories.customer(owner, b, "Busy", "Bee")
    await hf.fill_every_tab(owner, busy, cat, 25)
    return {
        "ada": str(ada["id"]),
        "busy": str(busy["id"]),
        "token": None,
        "mine": mine,
    }


def token(api: Api, tabs: dict[str, Any]) -> str:
    mine = tabs["mine"]
    return api.token(mine.id, "staff", mine.staff_id)


def tab_query(tab: str, arguments: str = "") -> str:
    return f"""query($id: ID!, $search: String, $first: Int, $after: String, $last: Int,
                     $before: String) {{
        customer(id: $id) {{
            {tab}(search: $search, first: $first, after: $after, last: $last, before: $before
                  {arguments}) {{
                totalCount
                pageInfo {{ hasNextPage hasPreviousPage startCursor endCursor }}
                edges {{ cursor node {{ number }} }}
            }}
        }}
    }}"""


async def numbers(
    api: Api, tabs: dict[str, Any], tab: str, arguments: str = "", **variables: Any
) -> list[int]:
    variables.setdefault("id", tabs["ada"])
    data = await api.data(tab_query(tab, arguments), variables, token(api, tabs))
    connection = data["customer"][tab]
    found = [edge["node"]["number"] for edge in connection["edges"]]
    assert connection["totalCount"] == len(found)
    return found


# (tab, search, state filter, numbers newest first)
FILTER_CASES: list[tuple[str, str | None, str, list[int]]] = [
    ("bookings", None, "", [4, 3, 2, 1]),
    ("bookings", "yoga", "", [4, 1]),
    ("bookings", "GRACE", "", [4, 1]),
    ("bookings", "ali", "", [2]),
    ("bookings", "pilates", "", [3]),  # accents ignored: "Pilâtes Flow"
    ("bookings", "sunrise yoga", "", [4, 1]),
    ("bookings", "yoga 4", "", [4]),  # the number
    ("bookings", "zumba", "", []),
    ("bookings", "%", "", []),
    ("bookings", None, "states: [CANCELLED]", [3]),
    ("bookings", None, "states: [COMPLETED, PACKAGE]", [4, 2]),
    ("bookings", "yoga", "states: [MANUAL]", [1]),
    ("bookings", None, "states: []", []),
    ("appointments", "physio", "", [2]),
    ("appointments", "hopper", "", [3, 2, 1]),
    ("appointments", None, "states: [SCHEDULED]", [3, 1]),
    ("appointments", None, "states: [CANCELLED]", [2]),
    ("passes", "unlimited", "", [2]),
    ("passes", "ten class", "", [3, 1]),
    ("passes", None, "states: [COMPLETED]", [1]),
    ("passes", None, "states: [MANUAL]", [3, 2]),
    ("videos", "core", "", [2, 1]),
    ("videos", "mobility", "", [3]),
    ("videos", None, "states: [EXPIRED]", [1]),
    ("videos", None, "states: [CANCELLED]", [2]),
    ("videos", None, "states: [ACTIVE]", [3]),
    ("subscriptions", "annual", "", [2]),
    ("subscriptions", "membership", "", [3, 1]),
    ("subscriptions", None, "states: [ACTIVE, PAUSED]", [2, 1]),
    ("subscriptions", None, "states: [SUSPENDED]", [3]),
    ("questionnaires", "waiver", "", [3, 1]),
    ("questionnaires", "feedback", "", [2]),
    ("questionnaires", None, "statuses: [COMPLETED]", [1]),
    ("questionnaires", "waiver", "statuses: [ASSIGNED]", [3]),
    ("notes", "knee", "", [3, 2]),
    ("notes", "olivia", "", [2]),
    ("notes", "KNEE brace", "", [3]),
    ("accountHistory", "updated", "", [2]),
    ("accountHistory", "events service", "", [3]),
    ("accountHistory", None, "actorKinds: [CUSTOMER, SYSTEM]", [3, 1]),
]


async def test_search_and_state_filters(api: Api, tabs: dict[str, Any]) -> None:
    # One fixture for every case: building it is most of the cost.
    found = [
        (tab, search, arguments, await numbers(api, tabs, tab, arguments, search=search))
        for tab, search, arguments, _ in FILTER_CASES
    ]
    assert found == FILTER_CASES


@pytest.mark.parametrize(
    "tab",
    [
        "bookings", "appointments", "passes", "videos", "subscriptions", "questionnaires",
        "notes", "accountHistory",
    ],
)  # fmt: skip
async def test_pages_forward_and_backward(api: Api, tabs: dict[str, Any], tab: str) -> None:
    query = tab_query(tab)
    auth = token(api, tabs)

    async def fetch(**variables: Any) -> dict[str, Any]:
        data = await api.data(query, {"id": tabs["busy"], **variables}, auth)
        connection: dict[str, Any] = data["customer"][tab]
        assert connection["totalCount"] == 25
        return connection

    forward: list[list[int]] = []
    after = None
    while True:
        page = await fetch(first=10, after=after)
        forward.append([edge["node"]["number"] for edge in page["edges"]])
        assert page["pageInfo"]["hasPreviousPage"] is (after is not None)
        if not page["pageInfo"]["hasNextPage"]:
            break
        after = page["pageInfo"]["endCursor"]
    everything = [number for page in forward for number in page]
    assert everything == sorted(set(everything), reverse=True)
    assert [len(page) for page in forward] == [10, 10, 5]

    backward: list[list[int]] = []
    before = None
    while True:
        page = await fetch(last=10, before=before)
        backward.append([edge["node"]["number"] for edge in page["edges"]])
        assert page["pageInfo"]["hasNextPage"] is (before is not None)
        if not page["pageInfo"]["hasPreviousPage"]:
            break
        before = page["pageInfo"]["startCursor"]
    assert backward == [everything[15:], everything[5:15], everything[:5]]

    # A window between two cursors.
    middle = await fetch(first=3, after=(await fetch(first=2))["pageInfo"]["endCursor"])
    assert [edge["node"]["number"] for edge in middle["edges"]] == everything[2:5]


async def _error(api: Api, tabs: dict[str, Any], query: str, **variables: Any) -> dict[str, Any]:
    variables.setdefault("id", tabs["busy"])
    body = await api.post(query, variables, token(api, tabs))
    # A failing tab is null (notes, account history) or takes its customer with it.
    assert body["data"]["customer"] is None or None in body["data"]["customer"].values()
    (error,) = body["errors"]
    extensions: dict[str, Any] = error["extensions"]
    return extensions


async def test_a_cursor_belongs_to_its_tab_customer_and_search(
    api: Api, tabs: dict[str, Any]
) -> None:
    auth = token(api, tabs)
    data = await api.data(tab_query("bookings"), {"id": tabs["busy"], "first": 2}, auth)
    cursor = data["customer"]["bookings"]["pageInfo"]["endCursor"]

    wrong_tab = await _error(api, tabs, tab_query("notes"), after=cursor)
    assert (wrong_tab["code"], wrong_tab["field"]) == ("INVALID_CURSOR", "after")
    wrong_customer = await _error(api, tabs, tab_query("bookings"), id=tabs["ada"], before=cursor)
    assert (wrong_customer["code"], wrong_customer["field"]) == ("INVALID_CURSOR", "before")
    wrong_search = await _error(api, tabs, tab_query("bookings"), after=cursor, search="yoga")
    assert wrong_search["code"] == "INVALID_CURSOR"
    wrong_filter = await _error(api, tabs, tab_query("bookings", "states: [MANUAL]"), after=cursor)
    assert wrong_filter["code"] == "INVALID_CURSOR"
    garbage = await _error(api, tabs, tab_query("bookings"), after="not-a-cursor")
    assert garbage["code"] == "INVALID_CURSOR"


async def test_malformed_arguments_are_top_level_errors(api: Api, tabs: dict[str, Any]) -> None:
    too_many = await _error(api, tabs, tab_query("passes"), first=101)
    assert (too_many["code"], too_many["field"]) == ("INVALID_ARGUMENT", "first")
    too_long = await _error(api, tabs, tab_query("videos"), search="x" * 201)
    assert (too_long["code"], too_long["field"]) == ("INVALID_ARGUMENT", "search")
    chart = """query($id: ID!) { customer(id: $id) { salesActivity(months: 0) { timeZone } } }"""
    months = await _error(api, tabs, chart)
    assert (months["code"], months["field"]) == ("INVALID_ARGUMENT", "months")
