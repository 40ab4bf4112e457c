"""customerMerge: the dry run's literal counts and conflicts, the merge itself (rows, categories,
directory, history, login), every refusal, and concurrent merges of one pair and of a cycle."""

from __future__ import annotations

import asyncio
import json
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import asyncpg
import pytest

from resolvers.merge import MOVED_TABLES
from tests import factories
from tests import history_factories as hf
from tests.conftest import Api

MERGE = """
mutation($source: ID!, $target: ID!, $dryRun: Boolean!) {
  customerMerge(source: $source, target: $target, dryRun: $dryRun) {
    dryRun
    source { id status category mergedInto { id } }
    target { id status category email mobile marketingConsent
             participants { fullName isSelf } additionalUsers { fullName } }
    moved { participants additionalUsers bookings appointments passes videoPurchases
            subscriptions questionnaireResponses notes payments refunds messages consentRecords
            campaignMemberships }
    kept { paymentMethods hasStripeCustomer accountHistoryEntries }
    conflicts { kind message sourceValue targetValue sourceIds targetIds }
    errors { code field message }
  }
}
"""
SHORT_MERGE = """
mutation($source: ID!, $target: ID!) {
  customerMerge(source: $source, target: $target) { errors { code field } }
}
"""
CUSTOMER = "query($id: ID!) { customer(id: $id) { id status mergedInto { id status } } }"
ENTITIES = """
query($reps: [_Any!]!) {
  _entities(representations: $reps) { ... on Customer { id status mergedInto { id } } }
}
"""
AT = datetime(2026, 3, 1, 10, 0, tzinfo=UTC)
# Everything a customer can own, by table: what must be zero on a merged customer.
OWNED = [table for _, table in MOVED_TABLES]


@pytest.fixture
def biz(two_businesses: tuple[factories.BusinessFixture, ...]) -> factories.BusinessFixture:
    return two_businesses[0]


@pytest.fixture
def other(two_businesses: tuple[factories.BusinessFixture, ...]) -> factories.BusinessFixture:
    return two_businesses[1]


def staff(api: Api, biz: factories.BusinessFixture) -> str:
    return api.token(biz.id, "staff", biz.staff_id)


@dataclass
class Pair:
    """A hand-built duplicate (A, the source) of a customer (B, the target)."""

    a: asyncpg.Record
    b: asyncpg.Record
    a_self: uuid.UUID
    a_byron: uuid.UUID
    b_self: uuid.UUID
    b_byron: uuid.UUID
    a_subscription: uuid.UUID
    b_subscription: uuid.UUID
    helper: asyncpg.Record


async def named_participant(
    owner: factories.Owner, customer: asyncpg.Record, first: str, last: str
) -> asyncpg.Record:
    return await owner.insert(
        "participants",
        business_id=customer["business_id"],
        customer_id=customer["id"],
        first_name=first,
        last_name=last,
    )


async def build_pair(owner: factories.Owner, biz: factories.BusinessFixture) -> Pair:
    cat = await hf.catalog(owner, biz.id)
    a = await factories.customer(
        owner,
        biz.id,
        "Ada",
        "King",
        email="Ada@Old.example",
        mobile="+447700900111",
        stripe_customer_id="cus_ada_old",
    )
    b = await factories.customer(
        owner,
        biz.id,
        "Ada",
        "Lovelace",
        email="ada@new.example",
        mobile="+447700900222",
        marketing_consent=True,
    )
    a_self = await factories.participant(owner, a, is_self=True)
    a_byron = await named_participant(owner, a, "Byron", "Lovelace")
    b_self = await factories.participant(owner, b, is_self=True)
    # Same name as A's Byron once case and accents are folded.
    b_byron = await named_participant(owner, b, "Byrön", "LOVELACE")
    helper = await factories.additional_user(owner, a, "Charles")
    # A is in both audiences, B already in one of them; A's additional user in the other.
    for name, people in (("Spring news", (a, b)), ("Members", (a, helper))):
        audience = await owner.insert("campaign_audiences", business_id=biz.id, name=name)
        for person in people:
            column = "additional_user_id" if person is helper else "customer_id"
            await owner.insert(
                "campaign_audience_members",
                business_id=biz.id,
                audience_id=audience["id"],
                **{column: person["id"]},
            )

    await hf.booking(owner, a, cat, AT, participant_id=a_byron["id"])
    await hf.booking(owner, a, cat, AT + timedelta(days=1), state="CANCELLED")
    await hf.booking(owner, b, cat, AT)
    await hf.appointment(owner, a, cat, AT)
    await hf.customer_pass(owner, a, cat, AT)
    await hf.video_purchase(owner, a, cat, AT)
    a_sub = await hf.subscription(owner, a, cat, AT)
    b_sub = await hf.subscription(owner, b, cat, AT)
    await hf.response(owner, a, cat, AT)
    await hf.note(owner, a, "Prefers the front row.", AT)
    card = await hf.payment(owner, a, 3000, AT, stripe=True, refunded_amount=500)
    await hf.payment(owner, a, 1000, AT)
    await owner.insert(
        "refunds",
        business_id=biz.id,
        customer_id=a["id"],
        customer_name="Ada King",
        payment_id=card["id"],
        amount=500,
        currency="GBP",
        status="SUCCEEDED",
    )
    await owner.insert(
        "messages",
        business_id=biz.id,
        customer_id=a["id"],
        customer_name="Ada King",
        channel="IN_APP",
        purpose="SERVICE",
        body="See you Monday",
        status="SENT",
    )
    await owner.insert(
        "consent_records",
        business_id=biz.id,
        customer_id=a["id"],
        granted=False,
        source="STAFF",
        wording="Marketing emails",
    )
    await owner.insert(
        "payment_methods",
        business_id=biz.id,
        customer_id=a["id"],
        stripe_payment_method_id="pm_ada_old",
        brand="visa",
        last4="4242",
        exp_month=12,
        exp_year=2030,
        is_default=True,
    )
    await hf.account_entry(owner, a, "customer.updated", AT)
    return Pair(
        a, b, a_self["id"], a_byron["id"], b_self["id"], b_byron["id"], a_sub["id"], b_sub["id"],
        helper,
    )  # fmt: skip


async def memberships(owner: factories.Owner) -> list[tuple[str, str, uuid.UUID]]:
    rows = await owner.c.fetch(
        "SELECT a.name, CASE WHEN m.customer_id IS NULL THEN 'additional_user' ELSE 'customer'"
        " END AS kind, coalesce(m.customer_id, m.additional_user_id) AS person"
        " FROM campaign_audience_members m JOIN campaign_audiences a ON a.id = m.audience_id"
        " ORDER BY 1, 2"
    )
    return [(r["name"], r["kind"], r["person"]) for r in rows]


async def merge(
    api: Api, token: str, source: Any, target: Any, *, dry_run: bool = False
) -> dict[str, Any]:
    variables = {"source": str(source), "target": str(target), "dryRun": dry_run}
    result: dict[str, Any] = (await api.data(MERGE, variables, token))["customerMerge"]
    return result


async def owned_counts(owner: factories.Owner, customer_id: uuid.UUID) -> dict[str, int]:
    tables = [*OWNED, "payment_methods", "account_history"]
    row = await owner.c.fetchrow(
        "SELECT "
        + ", ".join(f"(SELECT count(*) FROM {t} WHERE customer_id = $1) AS {t}" for t in tables),
        customer_id,
    )
    assert row is not None
    return dict(row)


def expected_plan(pair: Pair) -> dict[str, Any]:
    return {
        "moved": {
            "participants": 2,
            "additionalUsers": 1,
            "bookings": 2,
            "appointments": 1,
            "passes": 1,
            "videoPurchases": 1,
            "subscriptions": 1,
            "questionnaireResponses": 1,
            "notes": 1,
            "payments": 2,
            "refunds": 1,
            "messages": 1,
            "consentRecords": 1,
            "campaignMemberships": 1,
        },
        "kept": {"paymentMethods": 1, "hasStripeCustomer": True, "accountHistoryEntries": 1},
        "conflicts": [
            {
                "kind": "SAME_NAMED_PARTICIPANTS",
                "message": "Both customers have a participant named Byron Lovelace: both are "
                "kept; remove one afterwards if they are the same person.",
                "sourceValue": None,
                "targetValue": None,
                "sourceIds": [str(pair.a_byron)],
                "targetIds": [str(pair.b_byron)],
            },
            {
                "kind": "TWO_SELF_PARTICIPANTS",
                "message": "Both customers attend themselves: the target's stays the customer "
                "themselves; the source's is kept as an ordinary participant with its history.",
                "sourceValue": None,
                "targetValue": None,
                "sourceIds": [str(pair.a_self)],
                "targetIds": [str(pair.b_self)],
            },
            {
                "kind": "DUPLICATE_ACTIVE_SUBSCRIPTION",
                "message": "Both customers have an active Monthly Membership subscription: both "
                "are kept and both keep charging; pause or suspend one.",
                "sourceValue": "Monthly Membership",
                "targetValue": "Monthly Membership",
                "sourceIds": [str(pair.a_subscription)],
                "targetIds": [str(pair.b_subscription)],
            },
            {
                "kind": "DIFFERENT_EMAIL",
                "message": "The emails differ: the target's is kept; the source's stays with the "
                "merged account (it cannot log in) and is recorded in the target's account "
                "history.",
                "sourceValue": "Ada@Old.example",
                "targetValue": "ada@new.example",
                "sourceIds": [],
                "targetIds": [],
            },
            {
                "kind": "DIFFERENT_MOBILE",
                "message": "The mobile numbers differ: the target's is kept; the source's is "
                "recorded in the target's account history.",
                "sourceValue": "+447700900111",
                "targetValue": "+447700900222",
                "sourceIds": [],
                "targetIds": [],
            },
            {
                "kind": "DIFFERENT_MARKETING_CONSENT",
                "message": "Marketing consent differs: the target's choice is kept; the source's "
                "consent records move to the target as history.",
                "sourceValue": "false",
                "targetValue": "true",
                "sourceIds": [],
                "targetIds": [],
            },
            {
                "kind": "PAYMENT_METHODS_STAY_WITH_SOURCE",
                "message": "Saved cards cannot move between Stripe customers: the source's 1 "
                "saved card(s) and Stripe customer stay with the merged account; the target "
                "adds their own card to pay with.",
                "sourceValue": "1",
                "targetValue": None,
                "sourceIds": [],
                "targetIds": [],
            },
        ],
    }


async def test_dry_run_returns_counts_and_conflicts_and_changes_nothing(
    api: Api, owner: factories.Owner, biz: factories.BusinessFixture
) -> None:
    pair = await build_pair(owner, biz)
    before_a = await owned_counts(owner, pair.a["id"])
    before_b = await owned_counts(owner, pair.b["id"])

    result = await merge(api, staff(api, biz), pair.a["id"], pair.b["id"], dry_run=True)

    assert result["dryRun"] is True
    assert result["errors"] == []
    assert {k: result[k] for k in ("moved", "kept", "conflicts")} == expected_plan(pair)
    assert result["source"] == {
        "id": str(pair.a["id"]),
        "status": "ACTIVE",
        "category": "PRIMARY",
        "mergedInto": None,
    }
    assert await owned_counts(owner, pair.a["id"]) == before_a
    assert await owned_counts(owner, pair.b["id"]) == before_b
    assert before_a == {
        "participants": 2, "additional_users": 1, "bookings": 2, "appointments": 1,
        "customer_passes": 1, "video_purchases": 1, "customer_subscriptions": 1,
        "questionnaire_responses": 1, "notes": 1, "payments": 2, "refunds": 1, "messages": 1,
        "consent_records": 1, "payment_methods": 1, "account_history": 1,
    }  # fmt: skip


async def test_merge_moves_everything_and_archives_the_source(
    api: Api, owner: factories.Owner, biz: factories.BusinessFixture
) -> None:
    pair = await build_pair(owner, biz)
    before_b = await owned_counts(owner, pair.b["id"])

    result = await merge(api, staff(api, biz), pair.a["id"], pair.b["id"])

    assert result["errors"] == []
    assert result["dryRun"] is False
    assert {k: result[k] for k in ("moved", "kept", "conflicts")} == expected_plan(pair)
    assert result["source"] == {
        "id": str(pair.a["id"]),
        "status": "ARCHIVED",
        "category": "LEAD",
        "mergedInto": {"id": str(pair.b["id"])},
    }
    # B's contact details win; A's participants join B's, A's self participant as an ordinary
    # one; names keep their original spelling.
    assert result["target"] == {
        "id": str(pair.b["id"]),
        "status": "ACTIVE",
        "category": "PRIMARY",
        "email": "ada@new.example",
        "mobile": "+447700900222",
        "marketingConsent": True,
        "participants": result["target"]["participants"],
        "additionalUsers": [{"fullName": "Charles King"}],
    }
    assert result["target"]["participants"][0] == {"fullName": "Ada Lovelace", "isSelf": True}
    assert sorted(p["fullName"] for p in result["target"]["participants"][1:]) == [
        "Ada King",
        "Byron Lovelace",
        "Byrön LOVELACE",
    ]
    assert not any(p["isSelf"] for p in result["target"]["participants"][1:])

    # Only the cards and A's own audit trail (plus the merge entry) stay with A.
    after_a = await owned_counts(owner, pair.a["id"])
    assert after_a == {t: 0 for t in OWNED} | {"payment_methods": 1, "account_history": 2}
    after_b = await owned_counts(owner, pair.b["id"])
    moved = expected_plan(pair)["moved"]
    assert after_b["bookings"] == before_b["bookings"] + moved["bookings"] == 3
    assert after_b["participants"] == 4
    assert after_b["account_history"] == 1

    # One membership per audience: A's Members membership moved, its Spring news one was B's
    # already; A's additional user keeps theirs.
    assert await memberships(owner) == [
        ("Members", "additional_user", pair.helper["id"]),
        ("Members", "customer", pair.b["id"]),
        ("Spring news", "customer", pair.b["id"]),
    ]

    # Name snapshots record history: the moved rows keep A's name.
    snapshots = await owner.c.fetch(
        "SELECT DISTINCT customer_name FROM bookings WHERE customer_id = $1 ORDER BY 1",
        pair.b["id"],
    )
    assert [r["customer_name"] for r in snapshots] == ["Ada King", "Ada Lovelace"]
    row = await owner.c.fetchrow(
        "SELECT status, merged_into_id, token_version, version, email, archived_at IS NOT NULL"
        " AS archived FROM customers WHERE id = $1",
        pair.a["id"],
    )
    assert dict(row or {}) == {
        "status": "ARCHIVED",
        "merged_into_id": pair.b["id"],
        "token_version": 2,
        "version": 2,
        "email": "Ada@Old.example",
        "archived": True,
    }
    # A's login email stays A's: nobody else can take it.
    assert (
        await owner.c.fetchval(
            "SELECT customer_id FROM login_emails WHERE email_key = 'ada@old.example'"
        )
        == pair.a["id"]
    )


async def test_a_target_without_marketing_consent_takes_no_audience_memberships(
    api: Api, owner: factories.Owner, biz: factories.BusinessFixture
) -> None:
    pair = await build_pair(owner, biz)
    await owner.c.execute(
        "UPDATE customers SET marketing_consent = false WHERE id = $1", pair.b["id"]
    )
    token = staff(api, biz)

    planned = await merge(api, token, pair.a["id"], pair.b["id"], dry_run=True)
    assert planned["moved"]["campaignMemberships"] == 0
    done = await merge(api, token, pair.a["id"], pair.b["id"])
    assert done["errors"] == [] and done["moved"]["campaignMemberships"] == 0

    # B's choice wins: A's memberships are dropped, B keeps the one B had.
    assert await memberships(owner) == [
        ("Members", "additional_user", pair.helper["id"]),
        ("Spring news", "customer", pair.b["id"]),
    ]


async def test_merge_writes_history_on_both_and_keeps_categories_and_directory_current(
    api: Api, owner: factories.Owner, biz: factories.BusinessFixture
) -> None:
    pair = await build_pair(owner, biz)
    await merge(api, staff(api, biz), pair.a["id"], pair.b["id"])

    entries = await owner.c.fetch(
        "SELECT customer_id, actor_kind, actor_name, action, subject_id, before, after"
        " FROM account_history WHERE action = 'customer.merged' ORDER BY number"
    )
    moved = {
        "participants": 2, "additional_users": 1, "bookings": 2, "appointments": 1, "passes": 1,
        "video_purchases": 1, "subscriptions": 1, "questionnaire_responses": 1, "notes": 1,
        "payments": 2, "refunds": 1, "messages": 1, "consent_records": 1,
        "campaign_memberships": 1,
    }  # fmt: skip
    link = {"from": str(pair.a["id"]), "into": str(pair.b["id"])}
    parsed = [
        {**dict(e), "before": json.loads(e["before"]), "after": json.loads(e["after"])}
        for e in entries
    ]
    assert parsed == [
        {
            "customer_id": pair.a["id"],
            "actor_kind": "STAFF",
            "actor_name": "Sam Staff",
            "action": "customer.merged",
            "subject_id": pair.b["id"],
            "before": {"status": "ACTIVE"},
            "after": {"status": "ARCHIVED", **link, "moved": moved},
        },
        {
            "customer_id": pair.b["id"],
            "actor_kind": "STAFF",
            "actor_name": "Sam Staff",
            "action": "customer.merged",
            "subject_id": pair.a["id"],
            "before": {"email": "ada@new.example", "mobile": "+447700900222"},
            "after": {
                "email": "ada@new.example",
                "mobile": "+447700900222",
                **link,
                "source_number": pair.a["number"],
                "source_name": "Ada King",
                "source_email": "Ada@Old.example",
                "source_mobile": "+447700900111",
                "moved": moved,
            },
        },
    ]

    # Categories recomputed from scratch agree with the stored ones.
    rows = await owner.c.fetch(
        "SELECT c.id, c.category, CASE WHEN EXISTS (SELECT 1 FROM bookings h WHERE h.customer_id"
        " = c.id) OR EXISTS (SELECT 1 FROM payments h WHERE h.customer_id = c.id) THEN 'PRIMARY'"
        " WHEN c.origin IN ('STAFF', 'SERVICE') THEN 'LEAD' ELSE 'APP_USER' END AS derived"
        " FROM customers c WHERE c.id = ANY($1::uuid[])",
        [pair.a["id"], pair.b["id"]],
    )
    assert {r["id"]: (r["category"], r["derived"]) for r in rows} == {
        pair.a["id"]: ("LEAD", "LEAD"),
        pair.b["id"]: ("PRIMARY", "PRIMARY"),
    }
    # The directory lists the moved people under B, with B's status; A is archived and no
    # longer a participant-customer.
    directory = await owner.c.fetch(
        "SELECT person_id, kind, customer_id, status, category, is_participant"
        " FROM directory_entries WHERE person_id = ANY($1::uuid[])",
        [pair.a["id"], pair.a_self, pair.a_byron, pair.helper["id"]],
    )
    assert {r["person_id"]: tuple(r)[1:] for r in directory} == {
        pair.a["id"]: ("CUSTOMER", pair.a["id"], "ARCHIVED", "LEAD", False),
        pair.a_self: ("PARTICIPANT", pair.b["id"], "ACTIVE", None, True),
        pair.a_byron: ("PARTICIPANT", pair.b["id"], "ACTIVE", None, True),
        pair.helper["id"]: ("ADDITIONAL_USER", pair.b["id"], "ACTIVE", None, False),
    }


async def test_merged_customer_resolves_with_merged_into_and_cannot_log_in(
    api: Api, owner: factories.Owner, biz: factories.BusinessFixture
) -> None:
    pair = await build_pair(owner, biz)
    token = staff(api, biz)
    member = api.token(biz.id, "customer", pair.a["id"])
    helper = api.token(biz.id, "additional_user", pair.helper["id"])
    own = await api.data(CUSTOMER, {"id": str(pair.a["id"])}, member)
    assert own["customer"]["status"] == "ACTIVE"

    await merge(api, token, pair.a["id"], pair.b["id"])

    expected = {
        "id": str(pair.a["id"]),
        "status": "ARCHIVED",
        "mergedInto": {"id": str(pair.b["id"]), "status": "ACTIVE"},
    }
    assert (await api.data(CUSTOMER, {"id": str(pair.a["id"])}, token))["customer"] == expected
    reps = [{"__typename": "Customer", "id": str(pair.a["id"])}]
    assert (await api.data(ENTITIES, {"reps": reps}, token))["_entities"] == [
        {"id": str(pair.a["id"]), "status": "ARCHIVED", "mergedInto": {"id": str(pair.b["id"])}}
    ]
    # The token A had stops working at once; a fresh one of the old version too.
    refused = await api.post(CUSTOMER, {"id": str(pair.a["id"])}, member)
    assert refused["data"] == {"customer": None}
    assert [e["extensions"]["code"] for e in refused["errors"]] == ["UNAUTHENTICATED"]
    newer = api.token(biz.id, "customer", pair.a["id"], version=2)
    refused = await api.post(CUSTOMER, {"id": str(pair.a["id"])}, newer)
    assert [e["extensions"]["code"] for e in refused["errors"]] == ["UNAUTHENTICATED"]
    # A's additional user now acts for B.
    seen = await api.data(CUSTOMER, {"id": str(pair.b["id"])}, helper)
    assert seen["customer"]["id"] == str(pair.b["id"])


async def test_refusals_name_their_argument(
    api: Api,
    owner: factories.Owner,
    biz: factories.BusinessFixture,
    other: factories.BusinessFixture,
) -> None:
    token = staff(api, biz)
    a = await factories.customer(owner, biz.id, "Ada", "Lovelace")
    b = await factories.customer(owner, biz.id, "Ada", "Byron")
    archived = await factories.customer(owner, biz.id, "Old", "Archive", status="ARCHIVED")
    c = await factories.customer(owner, biz.id, "Cy", "Target")
    gone = await factories.customer(owner, biz.id, "Gone", "Merged")
    theirs = await factories.customer(owner, other.id, "Not", "Yours")
    await merge(api, token, gone["id"], c["id"])
    unknown = uuid.uuid4()

    async def refusal(source: Any, target: Any) -> list[dict[str, Any]]:
        variables = {"source": str(source), "target": str(target)}
        errors: list[dict[str, Any]] = (await api.data(SHORT_MERGE, variables, token))[
            "customerMerge"
        ]["errors"]
        return errors

    assert await refusal(a["id"], a["id"]) == [{"code": "INVALID", "field": "target"}]
    assert await refusal(a["id"], archived["id"]) == [{"code": "INVALID_STATE", "field": "target"}]
    assert await refusal(a["id"], gone["id"]) == [{"code": "INVALID_STATE", "field": "target"}]
    assert await refusal(gone["id"], a["id"]) == [{"code": "INVALID_STATE", "field": "source"}]
    assert await refusal(gone["id"], c["id"]) == [{"code": "INVALID_STATE", "field": "source"}]
    assert await refusal(theirs["id"], a["id"]) == [{"code": "NOT_FOUND", "field": "source"}]
    assert await refusal(a["id"], theirs["id"]) == [{"code": "NOT_FOUND", "field": "target"}]
    assert await refusal(unknown, theirs["id"]) == [
        {"code": "NOT_FOUND", "field": "source"},
        {"code": "NOT_FOUND", "field": "target"},
    ]
    # The dry run refuses the same way.
    dry = await api.data(
        MERGE, {"source": str(a["id"]), "target": str(archived["id"]), "dryRun": True}, token
    )
    assert dry["customerMerge"]["errors"][0]["code"] == "INVALID_STATE"
    assert dry["customerMerge"]["moved"] is None
    # An archived (not merged) source may be merged.
    assert await refusal(archived["id"], b["id"]) == []
    statuses = await owner.c.fetch(
        "SELECT id, status, merged_into_id FROM customers WHERE business_id = $1", biz.id
    )
    assert {r["id"]: (r["status"], r["merged_into_id"]) for r in statuses} == {
        a["id"]: ("ACTIVE", None),
        b["id"]: ("ACTIVE", None),
        archived["id"]: ("ARCHIVED", b["id"]),
        c["id"]: ("ACTIVE", None),
        gone["id"]: ("ARCHIVED", c["id"]),
    }
    theirs_now = await owner.c.fetchval("SELECT status FROM customers WHERE id = $1", theirs["id"])
    assert theirs_now == "ACTIVE"


async def test_malformed_ids_and_members_are_refused_at_the_top(
    api: Api, owner: factories.Owner, biz: factories.BusinessFixture
) -> None:
    a = await factories.customer(owner, biz.id, "Ada", "Lovelace")
    b = await factories.customer(owner, biz.id, "Ada", "Byron")
    body = await api.post(
        SHORT_MERGE, {"source": "not-a-uuid", "target": str(b["id"])}, staff(api, biz)
    )
    assert body["data"] is None
    assert [(e["extensions"]["code"], e["extensions"]["field"]) for e in body["errors"]] == [
        ("INVALID_ARGUMENT", "source")
    ]
    body = await api.post(SHORT_MERGE, {"source": str(a["id"]), "target": "42"}, staff(api, biz))
    assert [(e["extensions"]["code"], e["extensions"]["field"]) for e in body["errors"]] == [
        ("INVALID_ARGUMENT", "target")
    ]
    member = api.token(biz.id, "customer", a["id"])
    body = await api.post(SHORT_MERGE, {"source": str(a["id"]), "target": str(b["id"])}, member)
    assert [e["extensions"]["code"] for e in body["errors"]] == ["FORBIDDEN"]
    body = await api.post(SHORT_MERGE, {"source": str(a["id"]), "target": str(b["id"])})
    assert [e["extensions"]["code"] for e in body["errors"]] == ["UNAUTHENTICATED"]
    assert await owner.c.fetchval("SELECT count(*) FROM customers WHERE status = 'ARCHIVED'") == 0


async def test_fifty_concurrent_merges_of_one_pair_apply_exactly_once(
    api: Api, owner: factories.Owner, biz: factories.BusinessFixture
) -> None:
    pair = await build_pair(owner, biz)
    counts_a, counts_b = (
        await owned_counts(owner, pair.a["id"]),
        await owned_counts(owner, pair.b["id"]),
    )
    total_before = {t: counts_a[t] + counts_b[t] for t in OWNED}
    token = staff(api, biz)
    a, b = str(pair.a["id"]), str(pair.b["id"])
    calls = [
        api.post(
            SHORT_MERGE, {"source": a, "target": b} if i % 2 else {"source": b, "target": a}, token
        )
        for i in range(50)
    ]
    bodies = await asyncio.gather(*calls)

    assert [body for body in bodies if "errors" in body] == []  # no deadlock, nothing top-level
    outcomes = [body["data"]["customerMerge"]["errors"] for body in bodies]
    applied = [errors for errors in outcomes if errors == []]
    assert len(applied) == 1
    refused = sorted({(e["code"], e["field"]) for errors in outcomes for e in errors})
    assert set(refused) <= {("INVALID_STATE", "source"), ("INVALID_STATE", "target")}
    assert sum(len(errors) for errors in outcomes) >= 49

    rows = await owner.c.fetch(
        "SELECT id, merged_into_id FROM customers WHERE id = ANY($1::uuid[])",
        [pair.a["id"], pair.b["id"]],
    )
    merged = {r["id"]: r["merged_into_id"] for r in rows}
    survivor = pair.b["id"] if merged[pair.a["id"]] == pair.b["id"] else pair.a["id"]
    loser = pair.a["id"] if survivor == pair.b["id"] else pair.b["id"]
    assert merged == {loser: survivor, survivor: None}
    after = await owned_counts(owner, survivor)
    assert {t: after[t] for t in OWNED} == total_before
    assert (
        await owner.c.fetchval(
            "SELECT count(*) FROM account_history WHERE action = 'customer.merged'"
        )
        == 2
    )


async def test_concurrent_merges_around_a_cycle_never_lose_a_row(
    api: Api, owner: factories.Owner, biz: factories.BusinessFixture
) -> None:
    """A→B, B→C and C→A at once, ten times over: no deadlock surfaces, the cycle never
    closes, and every row ends on a customer that was not merged away."""
    token = staff(api, biz)
    people = [await factories.customer(owner, biz.id, f"P{i}", "Cycle") for i in range(3)]
    for person in people:
        await factories.participant(owner, person, is_self=True)
        await factories.manual_payment(owner, person, 700)
    ids = [str(p["id"]) for p in people]
    calls = [
        api.post(SHORT_MERGE, {"source": ids[i % 3], "target": ids[(i + 1) % 3]}, token)
        for i in range(30)
    ]
    bodies = await asyncio.gather(*calls)

    assert [body for body in bodies if "errors" in body] == []
    applied = [b for b in bodies if b["data"]["customerMerge"]["errors"] == []]
    rows = await owner.c.fetch(
        "SELECT id, merged_into_id FROM customers WHERE business_id = $1", biz.id
    )
    merged = {r["id"]: r["merged_into_id"] for r in rows if r["merged_into_id"] is not None}
    assert len(applied) == len(merged) in (1, 2)
    survivors = {r["id"] for r in rows} - set(merged)
    assert len(survivors) == 3 - len(merged)
    totals = await owner.c.fetchrow(
        "SELECT count(*) AS payments, sum(amount) AS amount,"
        " count(*) FILTER (WHERE customer_id = ANY($1::uuid[])) AS on_survivors"
        " FROM payments",
        list(survivors),
    )
    assert dict(totals or {}) == {"payments": 3, "amount": 2100, "on_survivors": 3}
    participants = await owner.c.fetchval(
        "SELECT count(*) FROM participants WHERE customer_id = ANY($1::uuid[])", list(survivors)
    )
    assert participants == 3
