"""What a signed-in member reads and answers: `me` with the account's profile (no notes, no
account history; no cards for additional users), assigned questionnaires, the inbox, and saved
cards through the shared payment-method fields. Another member's or business's ids are
answered as missing."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from tests import factories
from tests import history_factories as hf
from tests.conftest import Api
from tests.member_support import Members, codes, members, token_for

PROFILE = """
{ me { kind customer { id fullName paymentMethod { last4 }
  salesActivity { months { month } }
  bookings(first: 5) { totalCount }
  questionnaires(statuses: [ASSIGNED]) { totalCount edges { node { id questionnaire { name }
    answers { key label type required options } } } } } } }
"""
SUBMIT = """
mutation($id: ID!, $answers: JSON!) {
  memberQuestionnaireSubmit(input: {responseId: $id, answers: $answers}) {
    response { id status answersSubmitted actedBy { id } answers { key value } }
    errors { code field message } } }
"""
INBOX = """
query($unread: Boolean) { me { unreadMessageCount
  inbox(unreadOnly: $unread, first: 10) { totalCount edges { node { id subject body readAt } } } } }
"""
MARK_READ = """
mutation($ids: [ID!]!) { memberMessagesMarkRead(ids: $ids) {
  messages { id readAt } unreadMessageCount errors { code field message } } }
"""


@pytest.fixture
async def people(owner: factories.Owner) -> Members:
    return await members(owner)


def tokens(api: Api, people: Members) -> dict[str, str]:
    return {
        "customer": api.token(people.home.id, "customer", people.customer["id"]),
        "additional_user": api.token(people.home.id, "additional_user", people.helper["id"]),
    }


@pytest.mark.parametrize("role", ["customer", "additional_user"])
async def test_me_shows_the_accounts_profile_but_no_notes_or_account_history(
    api: Api, people: Members, owner: factories.Owner, role: str
) -> None:
    cat = await hf.catalog(owner, people.home.id)
    now = datetime.now(UTC)
    await hf.booking(owner, people.customer, cat, now - timedelta(days=3))
    await hf.response(owner, people.customer, cat, now - timedelta(days=1))
    await hf.note(owner, people.customer, "Private staff note", now)
    await owner.insert(
        "payment_methods",
        business_id=people.home.id,
        customer_id=people.customer["id"],
        stripe_payment_method_id="pm_1",
        brand="visa",
        last4="4242",
        exp_month=4,
        exp_year=2031,
        is_default=True,
    )
    token = tokens(api, people)[role]
    me = (await api.data(PROFILE, token=token))["me"]
    customer = me["customer"]
    assert customer["id"] == str(people.customer["id"])
    assert customer["bookings"]["totalCount"] == 1
    assert len(customer["salesActivity"]["months"]) == 12
    assert customer["paymentMethod"] == ({"last4": "4242"} if role == "customer" else None)
    (response,) = [e["node"] for e in customer["questionnaires"]["edges"]]
    assert response["questionnaire"]["name"] == "Health Waiver"
    assert [a["key"] for a in response["answers"]] == ["injuries", "consent", "heard"]
    for field in ("notes", "accountHistory"):
        body = await api.post(
            f"{{ me {{ customer {{ {field} {{ totalCount }} }} }} }}", token=token
        )
        assert body["errors"][0]["extensions"]["code"] == "FORBIDDEN"
    # Somebody else's profile, in this business or another, is not there.
    for other in (people.neighbour, people.stranger):
        found = await api.data(
            "query($id: ID!) { customer(id: $id) { id } }", {"id": str(other["id"])}, token
        )
        assert found == {"customer": None}


@pytest.mark.parametrize("role", ["customer", "additional_user"])
async def test_members_answer_assigned_questionnaires(
    api: Api, people: Members, owner: factories.Owner, role: str
) -> None:
    cat = await hf.catalog(owner, people.home.id)
    now = datetime.now(UTC)
    mine = await hf.response(owner, people.customer, cat, now)
    theirs = await hf.response(owner, people.neighbour, cat, now)
    away_cat = await hf.catalog(owner, people.away.id)
    away = await hf.response(owner, people.stranger, away_cat, now)
    token = tokens(api, people)[role]

    invalid = await api.data(
        SUBMIT, {"id": str(mine["id"]), "answers": {"consent": "yes", "extra": 1}}, token
    )
    errors = invalid["memberQuestionnaireSubmit"]["errors"]
    assert sorted((e["code"], e["field"]) for e in errors) == [
        ("INVALID", "input.answers.consent"),
        ("INVALID", "input.answers.extra"),
        ("REQUIRED", "input.answers.injuries"),
    ]
    for other in (theirs, away):
        answer = await api.data(
            SUBMIT, {"id": str(other["id"]), "answers": {"injuries": "none"}}, token
        )
        assert codes(answer["memberQuestionnaireSubmit"]) == ["NOT_FOUND"]
    answers = {"injuries": "  None  ", "consent": True}
    done = (await api.data(SUBMIT, {"id": str(mine["id"]), "answers": answers}, token))[
        "memberQuestionnaireSubmit"
    ]
    assert done["errors"] == []
    response = done["response"]
    assert (response["status"], response["answersSubmitted"]) == ("COMPLETED", 2)
    acting = people.customer if role == "customer" else people.helper
    assert response["actedBy"] == {"id": str(acting["id"])}
    stored = await owner.c.fetchval(
        "SELECT answers FROM questionnaire_responses WHERE id = $1", mine["id"]
    )
    assert json.loads(stored) == {"injuries": "None", "consent": True}
    again = await api.data(SUBMIT, {"id": str(mine["id"]), "answers": answers}, token)
    assert codes(again["memberQuestionnaireSubmit"]) == ["INVALID_STATE"]
    untouched = await owner.c.fetchval(
        "SELECT status FROM questionnaire_responses WHERE id = $1", theirs["id"]
    )
    assert untouched == "ASSIGNED"


async def _message(
    owner: factories.Owner, customer: Any, subject: str, minutes_ago: int, **values: Any
) -> Any:
    return await owner.insert(
        "messages",
        business_id=customer["business_id"],
        customer_id=customer["id"],
        customer_name=f"{customer['first_name']} {customer['last_name']}",
        channel=values.pop("channel", "IN_APP"),
        purpose="SERVICE",
        subject=subject,
        body=f"About {subject}",
        status=values.pop("status", "SENT"),
        created_at=datetime.now(UTC) - timedelta(minutes=minutes_ago),
        **values,
    )


@pytest.mark.parametrize("role", ["customer", "additional_user"])
async def test_the_inbox_lists_the_members_own_messages_and_marks_them_read(
    api: Api, people: Members, owner: factories.Owner, role: str
) -> None:
    helper = {"recipient_additional_user_id": people.helper["id"]}
    to_me = {} if role == "customer" else helper
    to_other = helper if role == "customer" else {}
    older = await _message(owner, people.customer, "Timetable", 30, **to_me)
    newer = await _message(owner, people.customer, "Welcome", 5, **to_me)
    await _message(owner, people.customer, "Skipped offer", 1, status="SKIPPED", **to_me)
    await _message(owner, people.customer, "An email", 2, channel="EMAIL", **to_me)
    other_person = await _message(owner, people.customer, "Not yours", 3, **to_other)
    neighbours = await _message(owner, people.neighbour, "Neighbour's", 4)
    strangers = await _message(owner, people.stranger, "Elsewhere", 4)
    token = tokens(api, people)[role]

    me = (await api.data(INBOX, {}, token))["me"]
    assert me["unreadMessageCount"] == 2
    assert [e["node"]["subject"] for e in me["inbox"]["edges"]] == ["Welcome", "Timetable"]

    ids = [str(newer["id"]), str(other_person["id"]), str(neighbours["id"]), "nope"]
    ids += [str(strangers["id"]), str(newer["id"])]
    marked = (await api.data(MARK_READ, {"ids": ids}, token))["memberMessagesMarkRead"]
    assert [m["id"] for m in marked["messages"]] == [str(newer["id"])]
    assert marked["unreadMessageCount"] == 1
    assert [e["field"] for e in marked["errors"]] == ["ids.1", "ids.2", "ids.3", "ids.4"]
    assert {e["code"] for e in marked["errors"]} == {"NOT_FOUND"}
    first_read = marked["messages"][0]["readAt"]
    again = await api.data(MARK_READ, {"ids": [str(newer["id"])]}, token)
    assert again["memberMessagesMarkRead"]["messages"][0]["readAt"] == first_read
    unread = (await api.data(INBOX, {"unread": True}, token))["me"]["inbox"]
    assert [e["node"]["id"] for e in unread["edges"]] == [str(older["id"])]
    assert await owner.c.fetchval("SELECT count(*) FROM messages WHERE read_at IS NOT NULL") == 1
    too_many = await api.post(MARK_READ, {"ids": [str(newer["id"])] * 101}, token)
    assert too_many["errors"][0]["extensions"]["code"] == "TOO_MANY_IDS"


async def test_portal_tokens_from_log_in_work_for_the_shared_payment_method_fields(
    stripe_api: Api, owner: factories.Owner, localstripe: Any
) -> None:
    from tests.fixtures_stripe import confirm_setup_as_stripe_js, connected_account
    from tests.test_payment_methods import LIST, REMOVE, SET_DEFAULT, complete, start

    people = await members(owner)
    account = connected_account()
    await owner.c.execute(
        "UPDATE businesses SET stripe_account_id = $1 WHERE id = $2", account, people.home.id
    )
    me = await token_for(stripe_api, "home-studio", "ada@example.com")
    helper = await token_for(stripe_api, "home-studio", "byron@example.com")
    grace = await token_for(stripe_api, "home-studio", "grace@example.com")

    started = await start(stripe_api, me)
    assert started["errors"] == []
    await confirm_setup_as_stripe_js(
        localstripe, account, started["setupIntentId"], started["clientSecret"]
    )
    done = await complete(stripe_api, me, started["setupIntentId"])
    assert done["errors"] == [] and done["paymentMethod"]["isDefault"] is True
    card = done["paymentMethod"]["id"]
    listed = (await stripe_api.data(LIST, {}, me))["paymentMethods"]
    assert [c["id"] for c in listed] == [card]
    chosen = (await stripe_api.data(SET_DEFAULT, {"id": card}, me))["paymentMethodSetDefault"]
    assert chosen["errors"] == []

    # Another member of the business: as if the card did not exist; the helper: forbidden.
    for mutation, name in (
        (SET_DEFAULT, "paymentMethodSetDefault"),
        (REMOVE, "paymentMethodRemove"),
    ):
        answer = (await stripe_api.data(mutation, {"id": card}, grace))[name]
        assert codes(answer) == ["NOT_FOUND"]
    refused = await stripe_api.post(LIST, {}, helper)
    assert refused["errors"][0]["extensions"]["code"] == "FORBIDDEN"
    removed = (await stripe_api.data(REMOVE, {"id": card}, me))["paymentMethodRemove"]
    assert removed["errors"] == [] and removed["paymentMethods"] == []
