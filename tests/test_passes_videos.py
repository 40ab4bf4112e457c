"""Passes and videos assigned by staff: defaults from the catalog, manual payments, credits
spent and given back exactly once, and every refusal with its code."""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime
from typing import Any

import pytest

from loaders import history
from tests import factories
from tests import history_factories as hf
from tests.conftest import Api
from tests.history_actions_support import (
    categories,
    codes,
    history_actions,
    one,
    race,
    setup,
    staff,
)

# 23:30 in London on 31 May is already 1 June there (BST): "today" is the business's date.
NOW = datetime(2026, 5, 31, 23, 30, tzinfo=UTC)

ASSIGN_PASS = """
mutation($input: PassAssignInput!) { passAssign(input: $input) {
  customerPass { id number purchasedAt passProduct { name } validFrom validUntil usesTotal
    usesRemaining unlimited price { amount currency } state paidThroughStripe participantName
    payment { amount { amount } method description } }
  errors { code field message } } }
"""
ASSIGN_VIDEO = """
mutation($input: VideoAssignInput!) { videoAssign(input: $input) {
  videoPurchase { id number purchasedAt video { name } expiresAt price { money { amount } credits }
    state payment { amount { amount } } customerPass { id usesRemaining } }
  errors { code field message } } }
"""
CANCEL_VIDEO = """
mutation($id: ID!) { videoCancel(id: $id) {
  videoPurchase { id state cancelledAt customerPass { usesRemaining } }
  errors { code field message } } }
"""


@pytest.fixture(autouse=True)
def pinned_clock(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(history, "now", lambda: NOW)


def _pass(customer: Any, product: uuid.UUID, **values: Any) -> dict[str, Any]:
    return {"input": {"customerId": str(customer["id"]), "passProductId": str(product), **values}}


def _video(customer: Any, video: uuid.UUID, **values: Any) -> dict[str, Any]:
    return {"input": {"customerId": str(customer["id"]), "videoId": str(video), **values}}


async def _uses(owner: factories.Owner, pass_id: Any) -> int | None:
    value: int | None = await owner.c.fetchval(
        "SELECT uses_remaining FROM customer_passes WHERE id = $1", pass_id
    )
    return value


async def test_a_pass_is_assigned_with_the_products_defaults_and_a_manual_payment(
    api: Api, owner: factories.Owner, two_businesses: tuple[factories.BusinessFixture, ...]
) -> None:
    biz, cat, _ = await setup(owner, two_businesses)
    lead = await factories.customer(owner, biz.id, "Lee", "Lead")
    result = (await api.data(ASSIGN_PASS, _pass(lead, cat.ten_pack), staff(api, biz)))["passAssign"]
    assert result["errors"] == []
    held = result["customerPass"]
    assert {k: v for k, v in held.items() if k != "id"} == {
        "number": 1,
        "purchasedAt": "2026-05-31T23:30:00+00:00",
        "passProduct": {"name": "Ten Class Pass"},
        "validFrom": "2026-06-01",
        "validUntil": "2026-08-30",
        "usesTotal": 10,
        "usesRemaining": 10,
        "unlimited": False,
        "price": {"amount": 9000, "currency": "GBP"},
        "state": "MANUAL",
        "paidThroughStripe": False,
        "participantName": None,
        "payment": {
            "amount": {"amount": 9000},
            "method": "MANUAL",
            "description": "Pass: Ten Class Pass",
        },
    }
    assert (await categories(owner))[str(lead["id"])] == "PRIMARY"
    assert await history_actions(owner, uuid.UUID(held["id"])) == [
        ("pass.assigned", "STAFF", "Sam Staff")
    ]


async def test_a_pass_given_free_unlimited_without_end_for_a_participant(
    api: Api, owner: factories.Owner, two_businesses: tuple[factories.BusinessFixture, ...]
) -> None:
    biz, cat, _ = await setup(owner, two_businesses)
    parent = await factories.customer(owner, biz.id, "Maria", "Lopez")
    child = await factories.participant(owner, parent, "Lucia")
    values = {
        "participantId": str(child["id"]),
        "uses": None,
        "validFrom": "2026-05-20",
        "validUntil": None,
        "price": 0,
    }
    held = (await api.data(ASSIGN_PASS, _pass(parent, cat.ten_pack, **values), staff(api, biz)))[
        "passAssign"
    ]["customerPass"]
    assert (
        held["validFrom"],
        held["validUntil"],
        held["usesTotal"],
        held["usesRemaining"],
        held["unlimited"],
        held["price"]["amount"],
        held["payment"],
        held["participantName"],
    ) == ("2026-05-20", None, None, None, True, 0, None, "Lucia Lopez")
    assert await owner.c.fetchval("SELECT count(*) FROM payments") == 0
    # Typed values win over the product's.
    typed = {"validFrom": "2026-06-05", "validUntil": "2026-06-05", "uses": 3, "price": 4500}
    held = (await api.data(ASSIGN_PASS, _pass(parent, cat.unlimited, **typed), staff(api, biz)))[
        "passAssign"
    ]["customerPass"]
    assert (held["validUntil"], held["usesRemaining"], held["unlimited"], held["price"]) == (
        "2026-06-05",
        3,
        False,
        {"amount": 4500, "currency": "GBP"},
    )


async def test_pass_refusals(
    api: Api, owner: factories.Owner, two_businesses: tuple[factories.BusinessFixture, ...]
) -> None:
    biz, cat, other_cat = await setup(owner, two_businesses)
    ada = await factories.customer(owner, biz.id)
    token = staff(api, biz)
    cases: list[tuple[uuid.UUID, dict[str, Any], list[tuple[str, str]]]] = [
        (
            cat.ten_pack,
            {"validFrom": "2026-07-01", "validUntil": "2026-06-30"},
            [("INVALID_DATE_RANGE", "input.validUntil")],
        ),
        (
            cat.ten_pack,
            {"validFrom": "2026-05-01", "validUntil": "2026-05-31"},
            [("IN_THE_PAST", "input.validUntil")],
        ),
        (cat.ten_pack, {"validFrom": "9999-12-31"}, [("OUT_OF_RANGE", "input.validFrom")]),
        (cat.ten_pack, {"validUntil": "1900-01-01"}, [("OUT_OF_RANGE", "input.validUntil")]),
        (cat.ten_pack, {"uses": 0}, [("OUT_OF_RANGE", "input.uses")]),
        (cat.ten_pack, {"uses": 10_001}, [("OUT_OF_RANGE", "input.uses")]),
        (cat.ten_pack, {"price": -1}, [("OUT_OF_RANGE", "input.price")]),
        (cat.ten_pack, {"price": 10_000_001}, [("OUT_OF_RANGE", "input.price")]),
        (
            cat.ten_pack,
            {"uses": -3, "price": -3},
            [("OUT_OF_RANGE", "input.uses"), ("OUT_OF_RANGE", "input.price")],
        ),
        (other_cat.ten_pack, {}, [("NOT_FOUND", "input.passProductId")]),
        (
            cat.ten_pack,
            {"participantId": str(uuid.uuid4())},
            [("NOT_FOUND", "input.participantId")],
        ),
    ]
    for product, values, expected in cases:
        result = (await api.data(ASSIGN_PASS, _pass(ada, product, **values), token))["passAssign"]
        assert (codes(result["errors"]), result["customerPass"]) == (expected, None), values
    stranger = await factories.customer(owner, two_businesses[1].id)
    result = (await api.data(ASSIGN_PASS, _pass(stranger, cat.ten_pack), token))["passAssign"]
    assert codes(result["errors"]) == [("NOT_FOUND", "input.customerId")]
    counts = await one(
        owner,
        "SELECT (SELECT count(*) FROM customer_passes) AS a, (SELECT count(*) FROM payments) AS p,"
        " (SELECT count(*) FROM account_history) AS h",
    )
    assert tuple(counts) == (0, 0, 0)
    member = await api.post(
        ASSIGN_PASS, _pass(ada, cat.ten_pack), api.token(biz.id, "customer", ada["id"])
    )
    assert member["errors"][0]["extensions"]["code"] == "FORBIDDEN"


async def test_a_video_bought_with_money_expires_by_default_or_never(
    api: Api, owner: factories.Owner, two_businesses: tuple[factories.BusinessFixture, ...]
) -> None:
    biz, cat, _ = await setup(owner, two_businesses)
    app_user = await factories.customer(owner, biz.id, "Ann", "App", origin="PORTAL_SIGNUP")
    token = staff(api, biz)
    bought = (await api.data(ASSIGN_VIDEO, _video(app_user, cat.video), token))["videoAssign"]
    assert bought["errors"] == []
    assert {k: v for k, v in bought["videoPurchase"].items() if k != "id"} == {
        "number": 1,
        "purchasedAt": "2026-05-31T23:30:00+00:00",
        "video": {"name": "Core Basics"},
        "expiresAt": "2026-06-30T23:30:00+00:00",
        "price": {"money": {"amount": 799}, "credits": None},
        "state": "ACTIVE",
        "payment": {"amount": {"amount": 799}},
        "customerPass": None,
    }
    assert (await categories(owner))[str(app_user["id"])] == "PRIMARY"

    forever = (
        await api.data(ASSIGN_VIDEO, _video(app_user, cat.video, expiresAt=None, price=0), token)
    )["videoAssign"]["videoPurchase"]
    assert (forever["expiresAt"], forever["price"]["money"], forever["payment"]) == (
        None,
        {"amount": 0},
        None,
    )
    # Without an offset, the business's wall-clock time (BST in June).
    local = (
        await api.data(
            ASSIGN_VIDEO, _video(app_user, cat.video, expiresAt="2026-06-02T12:00:00"), token
        )
    )["videoAssign"]["videoPurchase"]
    assert local["expiresAt"] == "2026-06-02T11:00:00+00:00"


async def test_a_video_bought_with_credits_spends_them_and_a_cancel_gives_them_back_once(
    api: Api, owner: factories.Owner, two_businesses: tuple[factories.BusinessFixture, ...]
) -> None:
    biz, cat, _ = await setup(owner, two_businesses)
    ada = await factories.customer(owner, biz.id)
    held = await hf.customer_pass(
        owner, ada, cat, NOW, valid_from=date(2026, 5, 1), valid_until=date(2026, 7, 1)
    )  # 7 of 10 uses left
    token = staff(api, biz)
    bought = (
        await api.data(
            ASSIGN_VIDEO, _video(ada, cat.credit_video, customerPassId=str(held["id"])), token
        )
    )["videoAssign"]
    assert bought["errors"] == []
    purchase = bought["videoPurchase"]
    assert (purchase["price"], purchase["expiresAt"], purchase["payment"]) == (
        {"money": None, "credits": 2},
        None,
        None,
    )
    assert purchase["customerPass"] == {"id": str(held["id"]), "usesRemaining": 5}

    results = await race(api, CANCEL_VIDEO, [{"id": purchase["id"]}] * 8, token, "videoCancel")
    done = [r for r in results if r["errors"] == []]
    assert len(done) == 1
    assert done[0]["videoPurchase"] == {
        "id": purchase["id"],
        "state": "CANCELLED",
        "cancelledAt": "2026-05-31T23:30:00+00:00",
        "customerPass": {"usesRemaining": 7},
    }
    assert {c for r in results for c in codes(r["errors"])} == {("INVALID_STATE", "id")}
    assert await _uses(owner, held["id"]) == 7
    entry = await one(owner, "SELECT after FROM account_history WHERE action = 'video.cancelled'")
    assert '"credits_returned": 2' in entry["after"]
    assert await history_actions(owner, uuid.UUID(purchase["id"])) == [
        ("video.assigned", "STAFF", "Sam Staff"),
        ("video.cancelled", "STAFF", "Sam Staff"),
    ]


async def test_credits_go_back_only_to_a_pass_still_valid(
    api: Api, owner: factories.Owner, two_businesses: tuple[factories.BusinessFixture, ...]
) -> None:
    biz, cat, _ = await setup(owner, two_businesses)
    ada = await factories.customer(owner, biz.id)
    # Bought yesterday with a pass whose last day was yesterday (31 May, London).
    expired = await hf.customer_pass(
        owner, ada, cat, NOW, valid_from=date(2026, 5, 1), valid_until=date(2026, 5, 31)
    )
    purchase = await hf.video_purchase(
        owner, ada, cat, datetime(2026, 5, 30, tzinfo=UTC), video_id=cat.credit_video,
        price_amount=0, price_credits=2, customer_pass_id=expired["id"], expires_at=None,
    )  # fmt: skip
    result = (await api.data(CANCEL_VIDEO, {"id": str(purchase["id"])}, staff(api, biz)))[
        "videoCancel"
    ]
    assert result["videoPurchase"]["state"] == "CANCELLED"
    assert await _uses(owner, expired["id"]) == 7


async def test_video_refusals(
    api: Api, owner: factories.Owner, two_businesses: tuple[factories.BusinessFixture, ...]
) -> None:
    biz, cat, other_cat = await setup(owner, two_businesses)
    ada = await factories.customer(owner, biz.id)
    bob = await factories.customer(owner, biz.id, "Bob", "Other")
    valid = {"valid_from": date(2026, 5, 1), "valid_until": date(2026, 7, 1)}
    one_left = await hf.customer_pass(owner, ada, cat, NOW, uses_remaining=1, **valid)
    ended = await hf.customer_pass(
        owner, ada, cat, NOW, valid_from=date(2026, 4, 1), valid_until=date(2026, 5, 31)
    )
    later = await hf.customer_pass(
        owner, ada, cat, NOW, valid_from=date(2026, 6, 2), valid_until=date(2026, 7, 1)
    )
    bobs = await hf.customer_pass(owner, bob, cat, NOW, **valid)
    good = await hf.customer_pass(owner, ada, cat, NOW, **valid)
    token = staff(api, biz)
    field = "input.customerPassId"
    cases: list[tuple[uuid.UUID, dict[str, Any], list[tuple[str, str]]]] = [
        (cat.credit_video, {"customerPassId": str(one_left["id"])}, [("PASS_EXHAUSTED", field)]),
        (cat.credit_video, {"customerPassId": str(ended["id"])}, [("PASS_EXPIRED", field)]),
        (cat.credit_video, {"customerPassId": str(later["id"])}, [("PASS_EXPIRED", field)]),
        (cat.credit_video, {"customerPassId": str(bobs["id"])}, [("PASS_NOT_USABLE", field)]),
        (cat.credit_video, {"customerPassId": str(uuid.uuid4())}, [("NOT_FOUND", field)]),
        (cat.video, {"customerPassId": str(good["id"])}, [("INVALID", field)]),
        (
            cat.credit_video,
            {"customerPassId": str(good["id"]), "price": 100},
            [("INVALID", "input.price")],
        ),
        (cat.video, {"price": -1}, [("OUT_OF_RANGE", "input.price")]),
        (cat.video, {"price": 10_000_001}, [("OUT_OF_RANGE", "input.price")]),
        (cat.video, {"expiresAt": "2026-05-31T23:00:00Z"}, [("IN_THE_PAST", "input.expiresAt")]),
        (cat.video, {"expiresAt": "2040-01-01T00:00:00Z"}, [("OUT_OF_RANGE", "input.expiresAt")]),
        (other_cat.video, {}, [("NOT_FOUND", "input.videoId")]),
    ]
    for video, values, expected in cases:
        result = (await api.data(ASSIGN_VIDEO, _video(ada, video, **values), token))["videoAssign"]
        assert (codes(result["errors"]), result["videoPurchase"]) == (expected, None), values
    assert [await _uses(owner, p["id"]) for p in (one_left, ended, later, bobs, good)] == [
        1,
        7,
        7,
        7,
        7,
    ]
    counts = await one(
        owner,
        "SELECT (SELECT count(*) FROM video_purchases) AS v, (SELECT count(*) FROM payments) AS p,"
        " (SELECT count(*) FROM account_history) AS h",
    )
    assert tuple(counts) == (0, 0, 0)

    expired = await hf.video_purchase(
        owner, ada, cat, datetime(2026, 4, 1, tzinfo=UTC)
    )  # access ran out on 1 May
    theirs = await hf.video_purchase(
        owner, await factories.customer(owner, two_businesses[1].id), other_cat, NOW
    )
    for target, expected in (
        (expired["id"], [("INVALID_STATE", "id")]),
        (theirs["id"], [("NOT_FOUND", "id")]),
    ):
        result = (await api.data(CANCEL_VIDEO, {"id": str(target)}, token))["videoCancel"]
        assert (codes(result["errors"]), result["videoPurchase"]) == (expected, None)


async def test_concurrent_purchases_cannot_spend_the_same_last_credits(
    api: Api, owner: factories.Owner, two_businesses: tuple[factories.BusinessFixture, ...]
) -> None:
    biz, cat, _ = await setup(owner, two_businesses)
    ada = await factories.customer(owner, biz.id)
    held = await hf.customer_pass(
        owner, ada, cat, NOW, uses_remaining=3, valid_from=date(2026, 5, 1)
    )
    request = _video(ada, cat.credit_video, customerPassId=str(held["id"]))
    results = await race(api, ASSIGN_VIDEO, [request] * 6, staff(api, biz), "videoAssign")
    assert len([r for r in results if r["errors"] == []]) == 1
    assert {c for r in results for c in codes(r["errors"])} == {
        ("PASS_EXHAUSTED", "input.customerPassId")
    }
    assert await _uses(owner, held["id"]) == 1
    assert await owner.c.fetchval("SELECT count(*) FROM video_purchases") == 1


async def test_an_unlimited_pass_pays_without_counting(
    api: Api, owner: factories.Owner, two_businesses: tuple[factories.BusinessFixture, ...]
) -> None:
    biz, cat, _ = await setup(owner, two_businesses)
    ada = await factories.customer(owner, biz.id)
    held = await hf.customer_pass(
        owner, ada, cat, NOW, unlimited=True, valid_from=date(2026, 5, 15)
    )
    token = staff(api, biz)
    request = _video(ada, cat.credit_video, customerPassId=str(held["id"]))
    purchase = (await api.data(ASSIGN_VIDEO, request, token))["videoAssign"]["videoPurchase"]
    assert purchase["customerPass"] == {"id": str(held["id"]), "usesRemaining": None}
    cancelled = (await api.data(CANCEL_VIDEO, {"id": purchase["id"]}, token))["videoCancel"]
    assert cancelled["videoPurchase"]["customerPass"] == {"usesRemaining": None}
