"""Questionnaires: staff assign them (once while unanswered), the full response view, and the
answer validation the member portal's submission will call."""

from __future__ import annotations

import json
import uuid
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from resolvers.questionnaires import MAX_TEXT_ANSWER, validate_answers
from tests import factories
from tests.conftest import Api
from tests.history_actions_support import categories, codes, history_actions, race, setup, staff

ASSIGN = """
mutation($c: ID!, $q: ID!, $p: ID) {
  questionnaireAssign(customerId: $c, questionnaireId: $q, participantId: $p) {
    questionnaireResponse { id number status questionnaire { name questionCount }
      participantName answersSubmitted submittedAt
      answers { key label type required answered value } }
    errors { code field message } } }
"""
RESPONSE = """
query($reps: [_Any!]!) { _entities(representations: $reps) {
  ... on QuestionnaireResponse { status answersSubmitted
    answers { key label type required answered value } } } }
"""

QUESTIONS: list[dict[str, Any]] = [
    {"key": "injuries", "label": "Any injuries?", "type": "text", "required": True},
    {"key": "consent", "label": "I accept the terms", "type": "boolean", "required": True},
    {"key": "heard", "label": "How did you hear?", "type": "select", "required": False,
     "options": ["Friend", "Google"]},
    {"key": "classes", "label": "Which classes?", "type": "multiselect", "required": False,
     "options": ["Yoga", "Pilates", "Barre"]},
    {"key": "height", "label": "Height (cm)", "type": "number", "required": False},
    {"key": "born", "label": "Date of birth", "type": "date", "required": False},
    {"key": "colour", "label": "Favourite colour", "type": "colour", "required": False},
]  # fmt: skip


def _vars(customer: Any, questionnaire: uuid.UUID, participant: Any = None) -> dict[str, Any]:
    return {
        "c": str(customer["id"]),
        "q": str(questionnaire),
        "p": str(participant["id"]) if participant is not None else None,
    }


async def test_a_questionnaire_is_assigned_and_its_full_response_is_shown(
    api: Api, owner: factories.Owner, two_businesses: tuple[factories.BusinessFixture, ...]
) -> None:
    biz, cat, _ = await setup(owner, two_businesses)
    lead = await factories.customer(owner, biz.id, "Lee", "Lead")
    result = (await api.data(ASSIGN, _vars(lead, cat.questionnaire), staff(api, biz)))[
        "questionnaireAssign"
    ]
    assert result["errors"] == []
    response = result["questionnaireResponse"]
    assert {k: v for k, v in response.items() if k != "id"} == {
        "number": 1,
        "status": "ASSIGNED",
        "questionnaire": {"name": "Health Waiver", "questionCount": 3},
        "participantName": None,
        "answersSubmitted": 0,
        "submittedAt": None,
        "answers": [
            {"key": "injuries", "label": "Any injuries?", "type": "text", "required": True,
             "answered": False, "value": None},
            {"key": "consent", "label": "I accept the terms", "type": "boolean",
             "required": True, "answered": False, "value": None},
            {"key": "heard", "label": "How did you hear of us?", "type": "text",
             "required": False, "answered": False, "value": None},
        ],
    }  # fmt: skip
    assert (await categories(owner))[str(lead["id"])] == "PRIMARY"
    assert await history_actions(owner, uuid.UUID(response["id"])) == [
        ("questionnaire.assigned", "STAFF", "Sam Staff")
    ]

    # Once answered (in the portal), the full response shows every answer.
    checked = validate_answers(QUESTIONS[:3], {"injuries": " None ", "consent": False})
    await owner.c.execute(
        "UPDATE questionnaire_responses SET status = 'COMPLETED', answers = $1::jsonb,"
        " answers_submitted = $2, submitted_at = now() WHERE id = $3",
        json.dumps(checked.answers),
        checked.count,
        uuid.UUID(response["id"]),
    )
    reps = [{"__typename": "QuestionnaireResponse", "id": response["id"]}]
    shown = (await api.data(RESPONSE, {"reps": reps}, staff(api, biz)))["_entities"][0]
    assert (shown["status"], shown["answersSubmitted"]) == ("COMPLETED", 2)
    assert [(a["key"], a["answered"], a["value"]) for a in shown["answers"]] == [
        ("injuries", True, "None"),
        ("consent", True, False),
        ("heard", False, None),
    ]


async def test_one_unanswered_assignment_per_person_and_questionnaire(
    api: Api, owner: factories.Owner, two_businesses: tuple[factories.BusinessFixture, ...]
) -> None:
    biz, cat, other_cat = await setup(owner, two_businesses)
    parent = await factories.customer(owner, biz.id, "Maria", "Lopez")
    child = await factories.participant(owner, parent, "Lucia")
    token = staff(api, biz)
    first = (await api.data(ASSIGN, _vars(parent, cat.questionnaire), token))["questionnaireAssign"]
    again = (await api.data(ASSIGN, _vars(parent, cat.questionnaire), token))["questionnaireAssign"]
    assert (codes(again["errors"]), again["questionnaireResponse"]) == (
        [("DUPLICATE", "questionnaireId")],
        None,
    )
    for_child = (await api.data(ASSIGN, _vars(parent, cat.questionnaire, child), token))[
        "questionnaireAssign"
    ]
    assert for_child["questionnaireResponse"]["participantName"] == "Lucia Lopez"
    # Once the first is answered, the form can be sent again.
    await owner.c.execute(
        "UPDATE questionnaire_responses SET status = 'COMPLETED', submitted_at = now()"
        " WHERE id = $1",
        uuid.UUID(first["questionnaireResponse"]["id"]),
    )
    assert (await api.data(ASSIGN, _vars(parent, cat.questionnaire), token))["questionnaireAssign"][
        "errors"
    ] == []

    stranger = await factories.customer(owner, two_businesses[1].id)
    someone = await factories.customer(owner, biz.id, "Sol", "Else")
    cases = [
        (_vars(parent, other_cat.questionnaire), [("NOT_FOUND", "questionnaireId")]),
        (_vars(stranger, cat.questionnaire), [("NOT_FOUND", "customerId")]),
        (_vars(someone, cat.questionnaire, child), [("NOT_FOUND", "participantId")]),
    ]
    for variables, expected in cases:
        result = (await api.data(ASSIGN, variables, token))["questionnaireAssign"]
        assert codes(result["errors"]) == expected
    bad = await api.post(ASSIGN, {**_vars(parent, cat.questionnaire), "q": "form"}, token)
    assert bad["errors"][0]["extensions"] == {
        "code": "INVALID_ARGUMENT",
        "field": "questionnaireId",
    }
    member = await api.post(
        ASSIGN, _vars(parent, cat.questionnaire), api.token(biz.id, "customer", parent["id"])
    )
    assert member["errors"][0]["extensions"]["code"] == "FORBIDDEN"


async def test_concurrent_assignments_leave_one(
    api: Api, owner: factories.Owner, two_businesses: tuple[factories.BusinessFixture, ...]
) -> None:
    biz, cat, _ = await setup(owner, two_businesses)
    ada = await factories.customer(owner, biz.id)
    results = await race(
        api, ASSIGN, [_vars(ada, cat.questionnaire)] * 6, staff(api, biz), "questionnaireAssign"
    )
    assert len([r for r in results if r["errors"] == []]) == 1
    assert {c for r in results for c in codes(r["errors"])} == {("DUPLICATE", "questionnaireId")}
    assert await owner.c.fetchval("SELECT count(*) FROM questionnaire_responses") == 1
    await categories(owner)


# The answer validation (pure) ---------------------------------------------------------------


def test_a_complete_valid_submission_is_cleaned() -> None:
    checked = validate_answers(
        QUESTIONS,
        {
            "injuries": "  Old knee injury  ",
            "consent": True,
            "heard": "Google",
            "classes": ["Barre", "Yoga"],
            "height": 172.5,
            "born": "1990-04-01",
            "colour": {"r": 1},
        },
    )
    assert checked.errors == []
    assert checked.answers == {
        "injuries": "Old knee injury",
        "consent": True,
        "heard": "Google",
        "classes": ["Barre", "Yoga"],
        "height": 172.5,
        "born": "1990-04-01",
        "colour": {"r": 1},
    }
    assert checked.count == 7


def test_false_is_an_answer_and_blank_optional_answers_are_dropped() -> None:
    checked = validate_answers(
        QUESTIONS, {"injuries": "None", "consent": False, "heard": None, "classes": [], "born": " "}
    )
    assert (checked.errors, checked.answers) == ([], {"injuries": "None", "consent": False})


@pytest.mark.parametrize(
    ("answers", "expected"),
    [
        ({}, [("REQUIRED", "answers.injuries"), ("REQUIRED", "answers.consent")]),
        ({"injuries": "   ", "consent": None}, [("REQUIRED", "answers.injuries"),
                                                ("REQUIRED", "answers.consent")]),
        ({"injuries": "x", "consent": "yes"}, [("INVALID", "answers.consent")]),
        ({"injuries": 5, "consent": 1}, [("INVALID", "answers.injuries"),
                                         ("INVALID", "answers.consent")]),
        ({"injuries": "x" * (MAX_TEXT_ANSWER + 1), "consent": True},
         [("TOO_LONG", "answers.injuries")]),
        ({"injuries": "x", "consent": True, "heard": "Radio"}, [("INVALID", "answers.heard")]),
        ({"injuries": "x", "consent": True, "classes": ["Yoga", "Yoga"]},
         [("INVALID", "answers.classes")]),
        ({"injuries": "x", "consent": True, "classes": "Yoga"}, [("INVALID", "answers.classes")]),
        ({"injuries": "x", "consent": True, "height": True}, [("INVALID", "answers.height")]),
        ({"injuries": "x", "consent": True, "height": 1e13}, [("OUT_OF_RANGE", "answers.height")]),
        ({"injuries": "x", "consent": True, "born": "01/04/1990"}, [("INVALID", "answers.born")]),
        ({"injuries": "x", "consent": True, "shoe": 42}, [("INVALID", "answers.shoe")]),
    ],
)  # fmt: skip
def test_invalid_answers_are_named_with_their_codes(
    answers: dict[str, Any], expected: list[tuple[str, str]]
) -> None:
    checked = validate_answers(QUESTIONS, answers)
    assert sorted((e.code.name, e.field) for e in checked.errors) == sorted(expected)
    assert checked.answers == {}


def test_a_non_object_and_a_flood_of_unknown_keys() -> None:
    assert [(e.code.name, e.field) for e in validate_answers(QUESTIONS, [1]).errors] == [
        ("INVALID", "answers")
    ]
    flood = {f"k{i}": i for i in range(1000)} | {"injuries": "x", "consent": True}
    assert len(validate_answers(QUESTIONS, flood, field="input.answers").errors) == 20


def _answer(question: dict[str, Any]) -> st.SearchStrategy[Any]:
    kind = question["type"]
    if kind == "text":
        return st.text(min_size=1, max_size=50).filter(lambda s: s.strip() != "")
    if kind == "boolean":
        return st.booleans()
    if kind == "select":
        return st.sampled_from(question["options"])
    if kind == "multiselect":
        return st.lists(st.sampled_from(question["options"]), min_size=1, unique=True)
    if kind == "number":
        return st.integers(-1000, 1000) | st.floats(-1e6, 1e6, allow_nan=False)
    if kind == "date":
        return st.dates().map(lambda d: d.isoformat())
    return st.integers()


@given(
    st.fixed_dictionaries(
        {q["key"]: _answer(q) for q in QUESTIONS if q["required"]},
        optional={q["key"]: _answer(q) for q in QUESTIONS if not q["required"]},
    )
)
def test_any_well_formed_submission_passes_and_keeps_every_answer(answers: dict[str, Any]) -> None:
    checked = validate_answers(QUESTIONS, answers)
    assert checked.errors == []
    assert set(checked.answers) == set(answers)
    assert checked.count == len(answers)
