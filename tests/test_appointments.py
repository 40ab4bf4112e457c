"""Appointments: book (defaults from the service, manual or free), the facilitator's overlap
rule under concurrency, cancel once, and every refusal with its code."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
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

NOW = datetime(2026, 6, 1, 8, 0, tzinfo=UTC)

CREATE = """
mutation($input: AppointmentCreateInput!) { appointmentCreate(input: $input) {
  appointment { id number bookedAt service { name } facilitator { name }
    startsAt { instant timeZone localDateTime } endsAt { localTime } durationMinutes
    price { amount currency } paidWith state cancelledAt participantName
    payment { amount { amount } method } customer { category } }
  errors { code field message } } }
"""
CANCEL = """
mutation($id: ID!) { appointmentCancel(id: $id) {
  appointment { id state cancelledAt paidWith payment { amount { amount } } }
  errors { code field message } } }
"""


@pytest.fixture(autouse=True)
def pinned_clock(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(history, "now", lambda: NOW)


def _input(customer: Any, cat: hf.Catalog, **values: Any) -> dict[str, Any]:
    return {
        "customerId": str(customer["id"]),
        "serviceId": str(cat.service),
        "facilitatorId": str(cat.facilitator),
        "startsAt": "2026-06-10T10:00:00+01:00",
        **values,
    }


async def test_an_appointment_is_booked_with_the_services_defaults_and_paid_manually(
    api: Api, owner: factories.Owner, two_businesses: tuple[factories.BusinessFixture, ...]
) -> None:
    biz, cat, _ = await setup(owner, two_businesses)
    lead = await factories.customer(owner, biz.id, "Lee", "Lead")
    assert (await categories(owner))[str(lead["id"])] == "LEAD"

    result = (await api.data(CREATE, {"input": _input(lead, cat)}, staff(api, biz)))[
        "appointmentCreate"
    ]

    assert result["errors"] == []
    made = result["appointment"]
    assert {k: v for k, v in made.items() if k not in ("id", "bookedAt")} == {
        "number": 1,
        "service": {"name": "Sports Massage"},
        "facilitator": {"name": "Grace Hopper"},
        "startsAt": {
            "instant": "2026-06-10T09:00:00+00:00",
            "timeZone": "Europe/London",
            "localDateTime": "2026-06-10T10:00:00",
        },
        "endsAt": {"localTime": "10:45"},
        "durationMinutes": 45,
        "price": {"amount": 5500, "currency": "GBP"},
        "paidWith": "MANUAL",
        "state": "SCHEDULED",
        "cancelledAt": None,
        "participantName": None,
        "payment": {"amount": {"amount": 5500}, "method": "MANUAL"},
        "customer": {"category": "PRIMARY"},
    }
    assert made["bookedAt"] == "2026-06-01T08:00:00+00:00"
    assert (await categories(owner))[str(lead["id"])] == "PRIMARY"
    assert await history_actions(owner, uuid.UUID(made["id"])) == [
        ("appointment.booked", "STAFF", "Sam Staff")
    ]
    row = await one(
        owner,
        "SELECT created_by_staff_id, customer_name FROM appointments WHERE id = $1",
        uuid.UUID(made["id"]),
    )
    assert (row["created_by_staff_id"], row["customer_name"]) == (biz.staff_id, "Lee Lead")


async def test_a_free_appointment_for_a_participant_with_its_own_length_and_local_time(
    api: Api, owner: factories.Owner, two_businesses: tuple[factories.BusinessFixture, ...]
) -> None:
    biz, cat, _ = await setup(owner, two_businesses)
    parent = await factories.customer(owner, biz.id, "Maria", "Lopez")
    child = await factories.participant(owner, parent, "Lucia")
    values = {
        "participantId": str(child["id"]),
        "startsAt": "2026-06-10T16:30:00",  # no offset: London wall-clock time
        "durationMinutes": 90,
        "price": 0,
    }
    result = (await api.data(CREATE, {"input": _input(parent, cat, **values)}, staff(api, biz)))[
        "appointmentCreate"
    ]
    made = result["appointment"]
    assert (made["startsAt"]["instant"], made["endsAt"]["localTime"]) == (
        "2026-06-10T15:30:00+00:00",
        "18:00",
    )
    assert (made["price"], made["paidWith"], made["payment"], made["participantName"]) == (
        {"amount": 0, "currency": "GBP"},
        "FREE",
        None,
        "Lucia Lopez",
    )
    assert await owner.c.fetchval("SELECT count(*) FROM payments") == 0


async def test_bad_input_is_refused_with_specific_codes_and_nothing_is_written(
    api: Api, owner: factories.Owner, two_businesses: tuple[factories.BusinessFixture, ...]
) -> None:
    biz, cat, other_cat = await setup(owner, two_businesses)
    ada = await factories.customer(owner, biz.id)
    someone = await factories.customer(owner, biz.id, "Sol", "Else")
    their_child = await factories.participant(owner, someone, "Kim")
    stranger = await factories.customer(owner, two_businesses[1].id, "Stan", "Ger")
    token = staff(api, biz)
    cases: list[tuple[dict[str, Any], list[tuple[str, str]]]] = [
        ({"startsAt": "2026-06-01T08:00:00Z"}, [("IN_THE_PAST", "input.startsAt")]),
        ({"durationMinutes": 0}, [("OUT_OF_RANGE", "input.durationMinutes")]),
        ({"durationMinutes": 1441}, [("OUT_OF_RANGE", "input.durationMinutes")]),
        ({"price": -1}, [("OUT_OF_RANGE", "input.price")]),
        ({"price": 10_000_001}, [("OUT_OF_RANGE", "input.price")]),
        (
            {"startsAt": "2026-05-01T08:00:00Z", "price": -5},
            [("IN_THE_PAST", "input.startsAt"), ("OUT_OF_RANGE", "input.price")],
        ),
        ({"customerId": str(stranger["id"])}, [("NOT_FOUND", "input.customerId")]),
        ({"serviceId": str(other_cat.service)}, [("NOT_FOUND", "input.serviceId")]),
        ({"facilitatorId": str(other_cat.facilitator)}, [("NOT_FOUND", "input.facilitatorId")]),
        ({"facilitatorId": str(uuid.uuid4())}, [("NOT_FOUND", "input.facilitatorId")]),
        ({"participantId": str(their_child["id"])}, [("NOT_FOUND", "input.participantId")]),
    ]
    for values, expected in cases:
        body = await api.data(CREATE, {"input": _input(ada, cat, **values)}, token)
        result = body["appointmentCreate"]
        assert (codes(result["errors"]), result["appointment"]) == (expected, None), values

    malformed = await api.post(CREATE, {"input": _input(ada, cat, serviceId="nope")}, token)
    assert malformed["errors"][0]["extensions"] == {
        "code": "INVALID_ARGUMENT",
        "field": "input.serviceId",
    }
    member = await api.post(
        CREATE, {"input": _input(ada, cat)}, api.token(biz.id, "customer", ada["id"])
    )
    assert member["errors"][0]["extensions"]["code"] == "FORBIDDEN"
    counts = await one(
        owner,
        "SELECT (SELECT count(*) FROM appointments) AS a, (SELECT count(*) FROM payments) AS p,"
        " (SELECT count(*) FROM account_history) AS h",
    )
    assert tuple(counts) == (0, 0, 0)
    assert set((await categories(owner)).values()) == {"LEAD"}


async def test_a_merged_customer_is_refused(
    api: Api, owner: factories.Owner, two_businesses: tuple[factories.BusinessFixture, ...]
) -> None:
    biz, cat, _ = await setup(owner, two_businesses)
    kept = await factories.customer(owner, biz.id, "Kept", "One")
    gone = await factories.customer(
        owner, biz.id, "Gone", "One", status="ARCHIVED", merged_into_id=kept["id"]
    )
    result = (await api.data(CREATE, {"input": _input(gone, cat)}, staff(api, biz)))[
        "appointmentCreate"
    ]
    assert codes(result["errors"]) == [("INVALID_STATE", "input.customerId")]


async def test_a_facilitator_cannot_be_booked_twice_at_overlapping_times(
    api: Api, owner: factories.Owner, two_businesses: tuple[factories.BusinessFixture, ...]
) -> None:
    biz, cat, _ = await setup(owner, two_businesses)
    a = await factories.customer(owner, biz.id, "A", "One")
    b = await factories.customer(owner, biz.id, "B", "Two")
    token = staff(api, biz)
    first = await api.data(CREATE, {"input": _input(a, cat)}, token)  # 10:00-10:45 London
    number = first["appointmentCreate"]["appointment"]["number"]

    async def book(**values: Any) -> list[tuple[str, str | None]]:
        body = await api.data(CREATE, {"input": _input(b, cat, **values)}, token)
        return codes(body["appointmentCreate"]["errors"])

    clash = [("FACILITATOR_UNAVAILABLE", "input.startsAt")]
    assert await book(startsAt="2026-06-10T10:30:00+01:00") == clash
    assert await book(startsAt="2026-06-10T09:30:00+01:00", durationMinutes=31) == clash
    assert await book(startsAt="2026-06-10T09:00:00+01:00", durationMinutes=180) == clash
    # Back to back is fine; so is the day before for a whole day.
    assert await book(startsAt="2026-06-10T10:45:00+01:00") == []
    assert await book(startsAt="2026-06-09T09:00:00+01:00", durationMinutes=1440) == []
    message = (
        await api.data(
            CREATE, {"input": _input(b, cat, startsAt="2026-06-10T10:10:00+01:00")}, token
        )
    )["appointmentCreate"]["errors"][0]["message"]
    assert message == f"The facilitator already has appointment {number} at that time."

    # Another facilitator is free; a cancelled appointment frees its slot.
    other = await owner.insert("facilitators", business_id=biz.id, name="Ada Byron")
    assert await book(facilitatorId=str(other["id"])) == []
    await api.data(CANCEL, {"id": first["appointmentCreate"]["appointment"]["id"]}, token)
    assert await book(startsAt="2026-06-10T10:00:00+01:00", durationMinutes=30) == []


async def test_concurrent_bookings_of_one_facilitator_slot_leave_exactly_one(
    api: Api, owner: factories.Owner, two_businesses: tuple[factories.BusinessFixture, ...]
) -> None:
    biz, cat, _ = await setup(owner, two_businesses)
    people = [await factories.customer(owner, biz.id, f"P{i}", "Race") for i in range(12)]
    starts = [f"2026-06-10T10:{minute:02d}:00+01:00" for minute in range(0, 36, 3)]
    results = await race(
        api,
        CREATE,
        [{"input": _input(p, cat, startsAt=s)} for p, s in zip(people, starts, strict=True)],
        staff(api, biz),
        "appointmentCreate",
    )
    booked = [r for r in results if r["errors"] == []]
    assert len(booked) == 1
    assert {c for r in results for c in codes(r["errors"])} == {
        ("FACILITATOR_UNAVAILABLE", "input.startsAt")
    }
    assert await owner.c.fetchval("SELECT count(*) FROM appointments") == 1
    assert await owner.c.fetchval("SELECT count(*) FROM payments") == 1
    await categories(owner)


async def test_cancel_once_keeps_the_payment_and_refuses_the_rest(
    api: Api, owner: factories.Owner, two_businesses: tuple[factories.BusinessFixture, ...]
) -> None:
    biz, cat, other_cat = await setup(owner, two_businesses)
    ada = await factories.customer(owner, biz.id)
    token = staff(api, biz)
    made = (await api.data(CREATE, {"input": _input(ada, cat)}, token))["appointmentCreate"]
    appointment_id = made["appointment"]["id"]

    results = await race(api, CANCEL, [{"id": appointment_id}] * 8, token, "appointmentCancel")

    done = [r for r in results if r["errors"] == []]
    assert len(done) == 1
    assert done[0]["appointment"] == {
        "id": appointment_id,
        "state": "CANCELLED",
        "cancelledAt": "2026-06-01T08:00:00+00:00",
        "paidWith": "MANUAL",
        "payment": {"amount": {"amount": 5500}},
    }
    assert {c for r in results for c in codes(r["errors"])} == {("INVALID_STATE", "id")}
    assert await history_actions(owner, uuid.UUID(appointment_id)) == [
        ("appointment.booked", "STAFF", "Sam Staff"),
        ("appointment.cancelled", "STAFF", "Sam Staff"),
    ]
    # A cancelled appointment is still history: the customer stays primary.
    assert (await categories(owner))[str(ada["id"])] == "PRIMARY"
    assert await owner.c.fetchval("SELECT refunded_amount FROM payments") == 0

    started = await hf.appointment(
        owner,
        ada,
        cat,
        datetime(2026, 5, 30, tzinfo=UTC),
        starts_at=datetime(2026, 6, 1, 7, 30, tzinfo=UTC),
    )
    theirs = await hf.appointment(
        owner,
        await factories.customer(owner, two_businesses[1].id),
        other_cat,
        datetime(2026, 5, 30, tzinfo=UTC),
        starts_at=datetime(2026, 6, 20, tzinfo=UTC),
    )
    for target, expected in (
        (started["id"], [("ALREADY_STARTED", "id")]),
        (theirs["id"], [("NOT_FOUND", "id")]),
        (uuid.uuid4(), [("NOT_FOUND", "id")]),
    ):
        result = (await api.data(CANCEL, {"id": str(target)}, token))["appointmentCancel"]
        assert (codes(result["errors"]), result["appointment"]) == (expected, None)
    assert (await api.post(CANCEL, {"id": "x"}, token))["errors"][0]["extensions"] == {
        "code": "INVALID_ARGUMENT",
        "field": "id",
    }
