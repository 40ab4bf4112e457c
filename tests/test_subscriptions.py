"""Subscriptions: the next-payment rule as a pure function (with properties), and pause,
resume and suspend through GraphQL with PRODUCT.md's transitions."""

from __future__ import annotations

import calendar
import uuid
from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from loaders import history
from resolvers.subscriptions import cycle_date, first_cycle_on_or_after
from tests import factories
from tests import history_factories as hf
from tests.conftest import Api
from tests.history_actions_support import codes, history_actions, one, race, setup, staff

PAUSE = """
mutation($id: ID!) { subscriptionPause(id: $id) {
  subscription { id state nextPaymentOn startedOn } errors { code field message } } }
"""
RESUME = PAUSE.replace("subscriptionPause", "subscriptionResume")
SUSPEND = PAUSE.replace("subscriptionPause", "subscriptionSuspend")

UNITS = st.sampled_from(["WEEK", "MONTH", "YEAR"])
STARTS = st.dates(min_value=date(2000, 1, 1), max_value=date(2030, 12, 31))


def _brute_force(started: date, unit: str, count: int, day: date) -> date:
    n = 0
    while (candidate := cycle_date(started, unit, count, n)) < day:
        n += 1
    return candidate


@pytest.mark.parametrize(
    ("started", "unit", "count", "day", "expected"),
    [
        (date(2027, 1, 31), "MONTH", 1, date(2027, 2, 10), date(2027, 2, 28)),
        (date(2028, 1, 31), "MONTH", 1, date(2028, 2, 10), date(2028, 2, 29)),
        (date(2027, 1, 31), "MONTH", 1, date(2027, 3, 1), date(2027, 3, 31)),
        (date(2027, 1, 31), "MONTH", 1, date(2027, 4, 30), date(2027, 4, 30)),
        (date(2027, 1, 15), "MONTH", 1, date(2027, 3, 15), date(2027, 3, 15)),
        (date(2027, 1, 15), "MONTH", 1, date(2027, 3, 16), date(2027, 4, 15)),
        (date(2027, 1, 15), "MONTH", 3, date(2027, 3, 20), date(2027, 4, 15)),
        (date(2027, 1, 15), "MONTH", 1, date(2026, 12, 1), date(2027, 1, 15)),
        (date(2027, 1, 4), "WEEK", 1, date(2027, 1, 12), date(2027, 1, 18)),
        (date(2027, 1, 4), "WEEK", 2, date(2027, 1, 12), date(2027, 1, 18)),
        (date(2027, 1, 4), "WEEK", 2, date(2027, 1, 19), date(2027, 2, 1)),
        (date(2024, 2, 29), "YEAR", 1, date(2025, 1, 1), date(2025, 2, 28)),
        (date(2024, 2, 29), "YEAR", 1, date(2027, 3, 1), date(2028, 2, 29)),
    ],
)
def test_next_payment_examples(
    started: date, unit: str, count: int, day: date, expected: date
) -> None:
    assert first_cycle_on_or_after(started, unit, count, day) == expected


@given(started=STARTS, unit=UNITS, count=st.integers(1, 12), ahead=st.integers(-400, 4000))
def test_next_payment_is_the_first_cycle_date_not_before_the_day(
    started: date, unit: str, count: int, ahead: int
) -> None:
    day = started + timedelta(days=ahead)
    found = first_cycle_on_or_after(started, unit, count, day)
    assert found >= day
    assert found == _brute_force(started, unit, count, day)
    # It is a cycle date, and the one before it (if any) falls before the day.
    n = next(n for n in range(10_000) if cycle_date(started, unit, count, n) >= found)
    assert cycle_date(started, unit, count, n) == found
    assert n == 0 or cycle_date(started, unit, count, n - 1) < day


@given(started=STARTS, count=st.integers(1, 12), n=st.integers(0, 200))
def test_monthly_cycles_keep_the_day_of_month_or_the_months_last_day(
    started: date, count: int, n: int
) -> None:
    cycle = cycle_date(started, "MONTH", count, n)
    months = started.month - 1 + count * n
    assert (cycle.year, cycle.month) == (started.year + months // 12, months % 12 + 1)
    last = calendar.monthrange(cycle.year, cycle.month)[1]
    assert cycle.day == min(started.day, last)


def _pin(monkeypatch: pytest.MonkeyPatch, at: datetime) -> None:
    monkeypatch.setattr(history, "now", lambda: at)


async def _subscription(
    owner: factories.Owner, customer: Any, cat: hf.Catalog, **values: Any
) -> str:
    row = await hf.subscription(
        owner, customer, cat, datetime(2027, 1, 31, 9, tzinfo=UTC), **values
    )
    return str(row["id"])


async def test_pause_resume_and_suspend_follow_the_transitions(
    api: Api,
    owner: factories.Owner,
    two_businesses: tuple[factories.BusinessFixture, ...],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    biz, cat, _ = await setup(owner, two_businesses)
    ada = await factories.customer(owner, biz.id)
    sub = await _subscription(owner, ada, cat, next_payment_on=date(2027, 2, 28))
    token = staff(api, biz)

    async def act(mutation: str) -> dict[str, Any]:
        field = "subscription" + mutation.split("subscription")[1].split("(")[0]
        result: dict[str, Any] = (await api.data(mutation, {"id": sub}, token))[field]
        return result

    _pin(monkeypatch, datetime(2027, 2, 10, 12, tzinfo=UTC))
    paused = await act(PAUSE)
    assert (paused["errors"], paused["subscription"]["state"]) == ([], "PAUSED")
    assert paused["subscription"]["nextPaymentOn"] is None
    assert codes((await act(PAUSE))["errors"]) == [("INVALID_STATE", "id")]

    _pin(monkeypatch, datetime(2027, 3, 1, 12, tzinfo=UTC))
    resumed = await act(RESUME)
    assert resumed["subscription"] == {
        "id": sub,
        "state": "ACTIVE",
        "nextPaymentOn": "2027-03-31",
        "startedOn": "2027-01-31",
    }
    assert codes((await act(RESUME))["errors"]) == [("INVALID_STATE", "id")]

    assert (await act(PAUSE))["subscription"]["state"] == "PAUSED"
    suspended = await act(SUSPEND)
    assert (suspended["subscription"]["state"], suspended["subscription"]["nextPaymentOn"]) == (
        "SUSPENDED",
        None,
    )
    refused = await act(PAUSE)
    assert (codes(refused["errors"]), refused["subscription"]) == ([("INVALID_STATE", "id")], None)
    assert refused["errors"][0]["message"] == (
        "A suspended subscription cannot be paused: resume it first."
    )
    assert codes((await act(SUSPEND))["errors"]) == [("INVALID_STATE", "id")]

    _pin(monkeypatch, datetime(2028, 2, 3, 12, tzinfo=UTC))
    back = await act(RESUME)
    assert (back["subscription"]["state"], back["subscription"]["nextPaymentOn"]) == (
        "ACTIVE",
        "2028-02-29",
    )
    assert (await act(SUSPEND))["subscription"]["state"] == "SUSPENDED"

    assert [a for a, _, _ in await history_actions(owner, uuid.UUID(sub))] == [
        "subscription.paused",
        "subscription.resumed",
        "subscription.paused",
        "subscription.suspended",
        "subscription.resumed",
        "subscription.suspended",
    ]
    entry = await one(
        owner,
        "SELECT before, after FROM account_history WHERE action = 'subscription.resumed'"
        " ORDER BY number LIMIT 1",
    )
    assert (entry["before"], entry["after"]) == (
        '{"state": "PAUSED", "number": 1, "next_payment_on": null}',
        '{"state": "ACTIVE", "number": 1, "next_payment_on": "2027-03-31"}',
    )


@pytest.mark.parametrize(
    ("time_zone", "expected"),
    [("Europe/London", "2027-02-15"), ("Pacific/Auckland", "2027-03-15")],
)
async def test_the_day_of_resuming_is_the_businesss_date(
    api: Api,
    owner: factories.Owner,
    monkeypatch: pytest.MonkeyPatch,
    time_zone: str,
    expected: str,
) -> None:
    biz = await factories.business(owner, time_zone=time_zone)
    cat = await hf.catalog(owner, biz.id)
    ada = await factories.customer(owner, biz.id)
    sub = await _subscription(
        owner, ada, cat, state="PAUSED", started_on=date(2027, 1, 15), next_payment_on=None
    )
    # 20:00 on 15 February in London is 09:00 on 16 February in Auckland.
    _pin(monkeypatch, datetime(2027, 2, 15, 20, tzinfo=UTC))
    result = (await api.data(RESUME, {"id": sub}, staff(api, biz)))["subscriptionResume"]
    assert result["subscription"]["nextPaymentOn"] == expected


async def test_concurrent_changes_apply_once_and_refusals_name_the_id(
    api: Api, owner: factories.Owner, two_businesses: tuple[factories.BusinessFixture, ...]
) -> None:
    biz, cat, other_cat = await setup(owner, two_businesses)
    ada = await factories.customer(owner, biz.id)
    sub = await _subscription(owner, ada, cat)
    token = staff(api, biz)
    results = await race(api, PAUSE, [{"id": sub}] * 8, token, "subscriptionPause")
    assert len([r for r in results if r["errors"] == []]) == 1
    assert {c for r in results for c in codes(r["errors"])} == {("INVALID_STATE", "id")}
    assert len(await history_actions(owner, uuid.UUID(sub))) == 1

    theirs = await _subscription(
        owner, await factories.customer(owner, two_businesses[1].id), other_cat
    )
    for mutation, field in ((PAUSE, "subscriptionPause"), (SUSPEND, "subscriptionSuspend")):
        result = (await api.data(mutation, {"id": theirs}, token))[field]
        assert (codes(result["errors"]), result["subscription"]) == ([("NOT_FOUND", "id")], None)
    assert (await api.post(RESUME, {"id": "12"}, token))["errors"][0]["extensions"] == {
        "code": "INVALID_ARGUMENT",
        "field": "id",
    }
    member = await api.post(PAUSE, {"id": sub}, api.token(biz.id, "customer", ada["id"]))
    assert member["errors"][0]["extensions"]["code"] == "FORBIDDEN"
