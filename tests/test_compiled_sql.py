"""Trusted documents answered by one SQL statement: the statement count, the values whose text
PostgreSQL must print exactly as Python does, and the requests left to today's path."""

from __future__ import annotations

import logging
import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from loaders import history
from schema.build import schema as app_schema
from schema.compiled.registry import TrustedDocuments
from schema.compiled.sql_plan import MAX_SHAPES
from schema.pagination import encode_cursor, list_signature
from server.auth import Role, TokenService, Viewer
from server.settings import Settings
from tests import factories
from tests import history_factories as hf
from tests.compiled_support import PROFILE, QUERIES, Pair, app_pair

NOW = datetime(2026, 7, 15, 12, 0, 0, 250_000, tzinfo=UTC)
STAFF = Viewer(uuid.uuid4(), Role.STAFF, uuid.uuid4(), 1)

# Everything the mapping covers that the profile does not ask for.
WIDER = """
query Wider($id: ID!, $months: Int, $last: Int, $after: String, $search: String) {
  __typename
  customer(id: $id) {
    __typename
    kind
    customer { id fullName }
    mergedInto { id }
    participants { __typename kind categories status firstName lastName createdAt customer { id } }
    additionalUsers { kind categories status marketingConsent version createdAt customer { id } }
    salesActivity(months: $months) {
      months { month startsAt }
      bookings { count amount { amount currency } credits }
      passes { count amount { amount } credits }
      videos { count amount { amount } credits }
    }
    bookings(last: $last) {
      __typename
      pageInfo { __typename hasNextPage hasPreviousPage startCursor endCursor }
      edges {
        __typename
        cursor
        node {
          __typename
          cancelledAt
          paidWith
          customer { id }
          session {
            id timeZone capacity
            startsAt { instant timeZone localDateTime localDate localTime utcOffset }
            endsAt { localDateTime utcOffset }
            event { id name description }
            facilitator { id name }
          }
          price { money { amount currency decimal } credits }
          refundedAmount { decimal }
          payment {
            id paidAt method paidThroughStripe description customerName
            amount { amount currency } refundedAmount { amount }
          }
          customerPass { id unlimited usesRemaining payment { id amount { decimal } } }
        }
      }
    }
    appointments(first: 3, after: $after) {
      pageInfo { hasNextPage hasPreviousPage startCursor endCursor }
      edges {
        node {
          service { id name durationMinutes price { amount currency } }
          facilitator { id }
          startsAt { instant localDateTime utcOffset }
          endsAt { instant localDateTime localTime utcOffset }
          paidThroughStripe
          cancelledAt
        }
      }
    }
    passes(first: 2) {
      edges {
        node {
          passProduct { id name uses unlimited validityDays price { amount currency } }
          validUntil usesTotal usesRemaining unlimited
        }
      }
    }
    videos(first: 5) {
      edges {
        node {
          video { id name accessDays price { money { amount } credits } }
          expiresAt cancelledAt state
        }
      }
    }
    subscriptions(first: 2) {
      edges {
        node {
          plan { id name price { amount { amount currency } intervalUnit intervalCount } }
          startedOn createdAt updatedAt customerName participantName
        }
      }
    }
    questionnaires(first: 2) { edges { node { questionnaire { id questionCount } submittedAt } } }
    notes(first: 5, search: $search) {
      edges { node { content authorId updatedById updatedByName } }
    }
    accountHistory(first: 5) {
      edges { node { actorId subjectId customerName before after customer { id } } }
    }
  }
}
"""


@pytest.fixture
async def pair(
    settings: Settings, tokens: TokenService, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> AsyncIterator[Pair]:
    monkeypatch.setattr(history, "now", lambda: NOW)
    (tmp_path / "wider.graphql").write_text(WIDER)
    async with app_pair(settings, tokens, tmp_path) as apps:
        yield apps


async def test_the_profile_is_one_statement_for_every_viewer(
    pair: Pair, owner: factories.Owner, two_businesses: tuple[factories.BusinessFixture, ...]
) -> None:
    mine, _ = two_businesses
    cat = await hf.catalog(owner, mine.id)
    busy = await factories.customer(owner, mine.id, "Busy", "Body")
    await factories.participant(owner, busy, is_self=True)
    await hf.fill_every_tab(owner, busy, cat, 25)
    variables = {"id": str(busy["id"])}
    staff = pair.token(mine.id, "staff", mine.staff_id)
    compiled, plain = await pair.counts(PROFILE, variables, staff)
    assert (compiled, int(plain)) == ("1", 12)
    body = await pair.same(PROFILE, variables, staff)
    assert body["data"]["customer"]["bookings"]["pageInfo"]["hasNextPage"] is True
    assert len(body["data"]["customer"]["bookings"]["edges"]) == 10
    # Members too: null and FORBIDDEN for the staff-only tabs, no card for an additional user,
    # nothing of another account.
    helper = await factories.additional_user(owner, busy, "Helper")
    for role, subject in (("customer", busy["id"]), ("additional_user", helper["id"])):
        member = pair.token(mine.id, role, subject)
        compiled, _ = await pair.counts(PROFILE, variables, member)
        assert compiled == "1"
        body = await pair.same(PROFILE, variables, member)
        assert [e["path"] for e in body["errors"]] == [
            ["customer", "notes"],
            ["customer", "accountHistory"],
        ]
    stranger = pair.token(mine.id, "customer", helper["id"])
    assert (await pair.same(PROFILE, variables, stranger))["data"] == {"customer": None}
    # So do arguments the statement does not answer: an error to report, a search.
    assert (await pair.counts(PROFILE, {"id": "nope"}, staff))[0] != "1"
    searched = {**variables, "search": "note"}
    compiled, plain = await pair.counts(WIDER, searched, staff)
    assert compiled == plain != "1"
    # Cursors are the statement's own: the next page, and the one before it again.
    first = await pair.same(WIDER, variables, staff)
    page = first["data"]["customer"]["appointments"]["pageInfo"]
    after = {**variables, "after": page["endCursor"]}
    assert (await pair.counts(WIDER, after, staff))[0] == "1"
    second = await pair.same(WIDER, after, staff)
    assert second["data"]["customer"]["appointments"]["pageInfo"]["hasPreviousPage"] is True


async def test_awkward_values_print_as_plain_execution_prints_them(
    pair: Pair, owner: factories.Owner, two_businesses: tuple[factories.BusinessFixture, ...]
) -> None:
    mine, _ = two_businesses
    cat = await hf.catalog(owner, mine.id)
    odd = ' Zoë "Q" \\ \t\x01\x1f\u2028 🎉 '
    person = await factories.customer(
        owner, mine.id, odd, "O'Brien, Jr: \n", mobile="+447700900123"
    )
    await factories.participant(owner, person, is_self=True)
    await factories.participant(owner, person, "Kid", date_of_birth=datetime(2015, 2, 3).date())
    helper = await factories.additional_user(owner, person, "Helper")
    other = await factories.customer(
        owner, mine.id, "Merged", "Away", merged_into_id=person["id"], status="ARCHIVED"
    )
    whole_second = datetime(2026, 7, 1, 8, 0, tzinfo=UTC)
    fraction = datetime(2026, 3, 29, 0, 59, 59, 999_999, tzinfo=UTC)  # London's clocks go forward
    await hf.booking(owner, person, cat, whole_second)
    await hf.booking(owner, person, cat, whole_second, price_amount=5, refunded_amount=5)
    await hf.booking(owner, person, cat, whole_second, price_amount=1234, currency="JPY")
    await hf.booking(owner, person, cat, fraction, state="CANCELLED", paid_with="CREDITS",
                     price_credits=2)  # fmt: skip
    await hf.appointment(
        owner, person, cat, fraction, starts_at=datetime(2026, 10, 25, 0, 30, tzinfo=UTC)
    )
    paid = await hf.payment(owner, person, 9000, whole_second, stripe=True, refunded_amount=100)
    held = await hf.customer_pass(owner, person, cat, whole_second, payment_id=paid["id"])
    await hf.booking(owner, person, cat, whole_second, payment_id=paid["id"],
                     customer_pass_id=held["id"])  # fmt: skip
    await hf.customer_pass(owner, person, cat, whole_second, unlimited=True)
    # Paid by someone else: staff see that payment, the customer does not.
    payer = await factories.customer(owner, mine.id, "Other", "Payer")
    theirs = await hf.payment(owner, payer, 1200, whole_second)
    await hf.booking(owner, person, cat, fraction, payment_id=theirs["id"])
    await hf.video_purchase(owner, person, cat, NOW - timedelta(days=40))  # expired by NOW
    await hf.video_purchase(owner, person, cat, NOW - timedelta(days=2), expires_at=None)
    await hf.video_purchase(owner, person, cat, fraction, state="CANCELLED")
    await hf.subscription(owner, person, cat, fraction, next_payment_on=None, state="PAUSED")
    await hf.response(owner, person, cat, fraction, answers={"injuries": "none"})
    await hf.note(owner, person, 'Said: "hello", then\\left.\n\tBye: ok', fraction)
    nested = {
        "name": 'a, b: "c"',
        "tags": ["x", "y, z", {"deep": [1, 2.5, True, None]}],
        "n": 10,
        "ok": False,
        "empty": {},
        "none": None,
        "é": "\u00e9\u2028",
    }
    await hf.account_entry(owner, person, "customer.updated", fraction, before=nested, after={})
    await hf.account_entry(owner, person, "customer.noted", whole_second, before=None, after=None)
    staff = pair.token(mine.id, "owner", mine.owner_id)
    for variables in (
        {"id": str(person["id"]), "months": 36, "last": 2},
        {"id": str(person["id"]), "months": 1},
        {"id": str(other["id"]), "months": 5, "last": 0},
    ):
        compiled, _ = await pair.counts(WIDER, variables, staff)
        assert compiled == "1"
    for role in ("customer", "additional_user"):
        subject = person["id"] if role == "customer" else helper["id"]
        member = pair.token(mine.id, role, subject)
        compiled, _ = await pair.counts(WIDER, {"id": str(person["id"])}, member)
        assert compiled == "1"
    wide = await pair.same(WIDER, {"id": str(person["id"])}, staff)
    prices = [e["node"]["price"]["money"] for e in wide["data"]["customer"]["bookings"]["edges"]]
    assert {"amount": 5, "currency": "GBP", "decimal": "0.05"} in prices
    assert {"amount": 1234, "currency": "JPY", "decimal": "1234"} in prices
    nodes = [e["node"] for e in wide["data"]["customer"]["bookings"]["edges"]]
    assert [n["customerPass"]["payment"]["id"] for n in nodes if n["customerPass"]] == [
        str(paid["id"])
    ]
    body = await pair.same(PROFILE, {"id": str(person["id"])}, staff)
    assert body["data"]["customer"]["firstName"] == odd
    states = {edge["node"]["state"] for edge in body["data"]["customer"]["videos"]["edges"]}
    assert states == {"ACTIVE", "EXPIRED", "CANCELLED"}


def test_start_up_log_says_which_documents_run_as_one_statement(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    (tmp_path / "acted.graphql").write_text(
        "query($id: ID!) { customer(id: $id) { videos { edges { node { actedBy { id } } } } } }"
    )
    (tmp_path / "customers.graphql").write_text("{ customers { totalCount } }")
    with caplog.at_level(logging.INFO, logger="schema.compiled.registry"):
        registry = TrustedDocuments.load(
            app_schema._schema, (QUERIES, tmp_path), trusted_only=False
        )
    reasons = {d.name: d.not_sql_because for d in registry.by_hash.values()}
    assert reasons == {
        "profile.graphql": None,
        "customer_list.graphql": None,
        "acted.graphql": "VideoPurchase.actedBy has no SQL mapping",
        "customers.graphql": "Query.customers has no SQL mapping",
    }
    # What the statement would not answer as plain execution does is left to it, per request.
    profile = next(d for d in registry.by_hash.values() if d.name == "profile.graphql")
    plan = profile.sql_plan_for("Profile")
    assert plan is not None
    customer = "1a7d3c1e-2f1c-4bb0-9d55-0d5c2b0b7a11"
    assert plan.bind({"id": customer}, STAFF) is not None
    for refused in ({"id": "nope"}, {}, {"id": 5.5}):
        assert plan.bind(refused, STAFF) is None
    # The list: staff only, and only arguments the field itself accepts.
    listing = next(d for d in registry.by_hash.values() if d.name == "customer_list.graphql")
    list_plan = listing.sql_plan_for("CustomerList")
    assert list_plan is not None
    assert list_plan.bind({}, STAFF) is not None
    assert list_plan.bind({"search": "sm", "first": None, "last": 0}, STAFF) is not None
    member = Viewer(STAFF.business_id, Role.CUSTOMER, uuid.uuid4(), 1)
    assert list_plan.bind({}, member) is None
    another_list = encode_cursor(list_signature("people", "other"), ["lee ann", customer])
    refusals: tuple[dict[str, object], ...] = (
        {"first": 101},
        {"first": 1, "last": 1},
        {"after": "garbage"},
        {"before": another_list},
        {"search": "x" * 201},
        {"order": "SIDEWAYS"},
    )
    for refusal in refusals:
        assert list_plan.bind(refusal, STAFF) is None, refusal
    (tmp_path / "acted.graphql").unlink()
    (tmp_path / "customers.graphql").unlink()
    (tmp_path / "wider.graphql").write_text(WIDER)
    wider = TrustedDocuments.load(app_schema._schema, (tmp_path,), trusted_only=False)
    wide_plan = next(iter(wider.by_hash.values())).sql_plan_for("Wider")
    assert wide_plan is not None
    signature = list_signature("customer-tab", "appointments", customer, [], None)
    good = encode_cursor(signature, [NOW.isoformat(), customer])
    other_list = encode_cursor(signature + "0", [NOW.isoformat(), customer])
    assert wide_plan.bind({"id": customer, "after": good}, STAFF) is not None
    for after in ("garbage", other_list, good[:-3]):
        assert wide_plan.bind({"id": customer, "after": after}, STAFF) is None
    for months in (0, 37):
        assert wide_plan.bind({"id": customer, "months": months}, STAFF) is None
    assert wide_plan.bind({"id": customer, "last": 101}, STAFF) is None
    assert wide_plan.bind({"id": customer, "search": " \t"}, STAFF) is not None  # no terms
    # Page sizes shape the text; the plan keeps a bounded number of texts.
    for size in range(MAX_SHAPES + 10):
        bound = wide_plan.bind({"id": customer, "last": size}, STAFF)
        assert bound is not None and f"LIMIT {size} + 1" in bound.sql
    assert len(wide_plan.statements) == MAX_SHAPES
    logged = "\n".join(caplog.messages)
    assert "profile.graphql runs as one SQL statement" in logged
    assert "acted.graphql keeps its executor plan" in logged
