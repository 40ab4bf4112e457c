"""Questionnaires: staff assign one to a customer (or one of their participants); members answer
it in the portal, whose submission checks the answers with `validate_answers` here.

A questionnaire's questions are a JSON list of `{key, label, type, required, options?}`. Types:
`text`, `boolean`, `number`, `date` (ISO `YYYY-MM-DD`), `select` (one of `options`) and
`multiselect` (a list of distinct `options`); a type this code does not know accepts any
non-null JSON value, so a form built elsewhere still works.
"""

from __future__ import annotations

import math
import uuid
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date
from typing import Any

from sqlalchemy import bindparam, text
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.ext.asyncio import AsyncConnection

from resolvers import account_history
from resolvers.account_history import Actor
from resolvers.history_actions import locked_account, participant_of, refuse, staff_id
from schema.errors import ErrorCode, UserError, UserFacingError, user_error

MAX_TEXT_ANSWER = 5000
MAX_NUMBER = 1e12
MAX_UNKNOWN_REPORTED = 20


# An answer as stored, or why it is refused (code and a sentence).
Checked = tuple[Any, tuple[ErrorCode, str] | None]


@dataclass(frozen=True)
class CheckedAnswers:
    """Answers as they are stored (answered questions only, text trimmed), or the problems."""

    answers: dict[str, Any]
    errors: list[UserError]

    @property
    def count(self) -> int:
        return len(self.answers)


def _blank(value: Any) -> bool:
    return value is None or (isinstance(value, str) and not value.strip()) or value == []


def _text(value: Any, question: Mapping[str, Any]) -> Checked:
    if not isinstance(value, str):
        return None, (ErrorCode.INVALID, "Answer with text.")
    if len(value.strip()) > MAX_TEXT_ANSWER:
        return None, (ErrorCode.TOO_LONG, f"Answer in at most {MAX_TEXT_ANSWER} characters.")
    return value.strip(), None


def _boolean(value: Any, question: Mapping[str, Any]) -> Checked:
    if not isinstance(value, bool):
        return None, (ErrorCode.INVALID, "Answer yes or no (true or false).")
    return value, None


def _number(value: Any, question: Mapping[str, Any]) -> Checked:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return None, (ErrorCode.INVALID, "Answer with a number.")
    if not math.isfinite(value) or abs(value) > MAX_NUMBER:
        return None, (ErrorCode.OUT_OF_RANGE, "This number is out of range.")
    return value, None


def _date(value: Any, question: Mapping[str, Any]) -> Checked:
    try:
        return date.fromisoformat(value).isoformat(), None
    except (TypeError, ValueError):
        return None, (ErrorCode.INVALID, "Answer with a date as YYYY-MM-DD.")


def _options(question: Mapping[str, Any]) -> list[str]:
    options = question.get("options")
    return [str(o) for o in options] if isinstance(options, list) else []


def _select(value: Any, question: Mapping[str, Any]) -> Checked:
    if not isinstance(value, str) or value not in _options(question):
        return None, (ErrorCode.INVALID, "Choose one of the options offered.")
    return value, None


def _multiselect(value: Any, question: Mapping[str, Any]) -> Checked:
    options = _options(question)
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        return None, (ErrorCode.INVALID, "Choose a list of the options offered.")
    if len(set(value)) != len(value) or not set(value) <= set(options):
        return None, (
            ErrorCode.INVALID,
            "Choose each option at most once, only from those offered.",
        )
    return value, None


def _anything(value: Any, question: Mapping[str, Any]) -> Checked:
    return value, None


_CHECKS: dict[str, Callable[[Any, Mapping[str, Any]], Checked]] = {
    "text": _text,
    "boolean": _boolean,
    "number": _number,
    "date": _date,
    "select": _select,
    "multiselect": _multiselect,
}


def validate_answers(
    questions: Sequence[Mapping[str, Any]], answers: Any, field: str = "answers"
) -> CheckedAnswers:
    """Check submitted answers against a questionnaire's questions: every key must be a
    question's (INVALID), every required question answered (REQUIRED; `false` is an answer),
    each answer of its question's type and among its options (INVALID), text at most
    MAX_TEXT_ANSWER characters (TOO_LONG), numbers finite and at most MAX_NUMBER in size
    (OUT_OF_RANGE). Blank optional answers are dropped. Errors name `field.key`."""
    if not isinstance(answers, Mapping):
        return CheckedAnswers({}, [user_error(ErrorCode.INVALID, field, "Send an object.")])
    by_key = {str(q.get("key")): q for q in questions if q.get("key") is not None}
    unknown = [key for key in answers if key not in by_key]
    # A few are enough to show what is wrong; a flood of keys gets no flood of errors.
    errors = [
        user_error(ErrorCode.INVALID, f"{field}.{key}", "This is not a question of the form.")
        for key in unknown[:MAX_UNKNOWN_REPORTED]
    ]
    clean: dict[str, Any] = {}
    for key, question in by_key.items():
        value = answers.get(key)
        if _blank(value):
            if question.get("required"):
                errors.append(
                    user_error(
                        ErrorCode.REQUIRED, f"{field}.{key}", "This question needs an answer."
                    )
                )
            continue
        check = _CHECKS.get(str(question.get("type")), _anything)
        checked, problem = check(value, question)
        if problem is not None:
            errors.append(user_error(problem[0], f"{field}.{key}", problem[1]))
        else:
            clean[key] = checked
    return CheckedAnswers(clean if not errors else {}, errors)


async def assign_questionnaire(
    conn: AsyncConnection,
    actor: Actor,
    business_id: uuid.UUID,
    customer_id: uuid.UUID,
    questionnaire_id: uuid.UUID,
    participant_id: uuid.UUID | None,
) -> uuid.UUID:
    """A new response, ASSIGNED. The same questionnaire still waiting for answers from the same
    person is refused (DUPLICATE): the customer would see it twice."""
    account = await locked_account(conn, customer_id, "customerId")
    who = await participant_of(conn, account, participant_id, "participantId")
    name = (
        await conn.execute(
            text("SELECT name FROM questionnaires WHERE id = :id"), {"id": questionnaire_id}
        )
    ).scalar_one_or_none()
    if name is None:
        raise refuse(
            ErrorCode.NOT_FOUND, "questionnaireId", "No such questionnaire in this business."
        )
    waiting = await conn.execute(
        text(
            "SELECT number FROM questionnaire_responses WHERE customer_id = :customer"
            " AND questionnaire_id = :q AND participant_id IS NOT DISTINCT FROM :participant"
            " AND status = 'ASSIGNED' LIMIT 1"
        ),
        {"customer": account.id, "q": questionnaire_id, "participant": who.id},
    )
    if (number := waiting.scalar_one_or_none()) is not None:
        raise refuse(
            ErrorCode.DUPLICATE,
            "questionnaireId",
            f"This questionnaire is already assigned and not answered yet ({number}).",
        )
    row = (
        await conn.execute(
            text(
                "INSERT INTO questionnaire_responses (business_id, customer_id, customer_name,"
                " participant_id, participant_name, created_by_staff_id, questionnaire_id,"
                " status) VALUES (:business, :customer, :name, :participant, :participant_name,"
                " :staff, :q, 'ASSIGNED') RETURNING id, number"
            ),
            {
                "business": business_id,
                "customer": account.id,
                "name": account.name,
                "participant": who.id,
                "participant_name": who.name,
                "staff": staff_id(actor),
                "q": questionnaire_id,
            },
        )
    ).one()
    await account_history.record(
        conn,
        business_id=business_id,
        actor=actor,
        action="questionnaire.assigned",
        customer_id=account.id,
        customer_name=account.name,
        subject_type="QuestionnaireResponse",
        subject_id=row.id,
        after={"number": row.number, "questionnaire": name, "participant": who.name},
    )
    return uuid.UUID(str(row.id))


async def submit_answers(
    conn: AsyncConnection,
    actor: Actor,
    business_id: uuid.UUID,
    account_id: uuid.UUID,
    response_id: uuid.UUID,
    answers: Any,
) -> uuid.UUID:
    """A member answers a questionnaire assigned to their account: the answers are checked
    against its questions, and the response staff see becomes COMPLETED. Someone else's response
    is NOT_FOUND; one already submitted is INVALID_STATE."""
    row = (
        await conn.execute(
            text(
                "SELECT r.id, r.customer_id, r.customer_name, r.status, r.number, q.name,"
                " q.questions FROM questionnaire_responses r"
                " JOIN questionnaires q ON q.business_id = r.business_id"
                " AND q.id = r.questionnaire_id WHERE r.id = :id FOR UPDATE OF r"
            ),
            {"id": response_id},
        )
    ).first()
    if row is None or row.customer_id != account_id:
        raise refuse(ErrorCode.NOT_FOUND, "input.responseId", "No such questionnaire for you.")
    if row.status != "ASSIGNED":
        raise refuse(
            ErrorCode.INVALID_STATE, "input.responseId", "This questionnaire was already submitted."
        )
    checked = validate_answers(row.questions or [], answers, "input.answers")
    if checked.errors:
        raise UserFacingError(*checked.errors)
    await conn.execute(
        text(
            "UPDATE questionnaire_responses SET status = 'COMPLETED', answers = :answers,"
            " answers_submitted = :count, submitted_at = now(), updated_at = now(),"
            " acted_by_additional_user_id = :acted_by WHERE id = :id"
        ).bindparams(bindparam("answers", type_=JSONB)),
        {
            "answers": checked.answers,
            "count": checked.count,
            "acted_by": actor.id if actor.kind == "ADDITIONAL_USER" else None,
            "id": response_id,
        },
    )
    await account_history.record(
        conn,
        business_id=business_id,
        actor=actor,
        action="questionnaire.submitted",
        customer_id=row.customer_id,
        customer_name=row.customer_name,
        subject_type="QuestionnaireResponse",
        subject_id=response_id,
        after={"number": row.number, "questionnaire": row.name, "answers": checked.count},
    )
    return response_id
