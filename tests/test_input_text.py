"""A NUL character in any argument is refused as an invalid argument, never a server error."""

from __future__ import annotations

from tests import factories
from tests.conftest import Api

Businesses = tuple[factories.BusinessFixture, factories.BusinessFixture]

LOG_IN = """
mutation LogIn($input: MemberLogInInput!) {
  memberLogIn(input: $input) { token errors { code } }
}
"""
CREATE_AUDIENCE = 'mutation { campaignAudienceCreate(name: "News\\u0000") { errors { code } } }'
PEOPLE = 'query { people(search: "%s") { totalCount } }'
REFUSED = {
    "message": "Text may not contain the NUL character (U+0000).",
    "extensions": {"code": "INVALID_ARGUMENT"},
}


def _refused(answer: dict[str, object]) -> bool:
    errors = answer.get("errors")
    return answer.get("data") is None and isinstance(errors, list) and errors == [REFUSED]


async def test_nul_in_variables_and_literals_is_an_invalid_argument(
    api: Api, two_businesses: Businesses
) -> None:
    mine, _ = two_businesses
    staff = api.token(mine.id, "staff", mine.staff_id)
    variables = {"input": {"business": "x\x00", "email": "a@b.c", "password": "secret"}}
    answer = await api.post(LOG_IN, variables)
    assert answer["data"] is None
    assert answer["errors"] == [
        {**REFUSED, "extensions": {"code": "INVALID_ARGUMENT", "field": "input.business"}}
    ]
    assert _refused(await api.post(CREATE_AUDIENCE, token=staff))
    assert _refused(await api.post(PEOPLE % "\\u{0}", token=staff))


async def test_an_escaped_backslash_is_not_a_nul(api: Api, two_businesses: Businesses) -> None:
    mine, _ = two_businesses
    staff = api.token(mine.id, "staff", mine.staff_id)
    answer = await api.post(PEOPLE % "\\\\u0000", token=staff)
    assert answer == {"data": {"people": {"totalCount": 0}}}
