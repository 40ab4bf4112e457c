"""Member self-service: sign-up with a verification email, password change and emailed reset,
contact details, marketing consent with its records, and the unsubscribe link."""

from __future__ import annotations

import re
import uuid
from typing import Any

import pytest

from tests import factories
from tests.conftest import Api
from tests.member_support import NEW_PASSWORD, PASSWORD, SESSION, Members, codes, log_in, members

SIGN_UP = f"""
mutation($input: MemberSignUpInput!) {{ memberSignUp(input: $input) {{ {SESSION} }} }}
"""
REQUEST_RESET = """
mutation($business: String!, $email: String!) {
  memberRequestPasswordReset(input: {business: $business, email: $email}) {
    errors { code field message } } }
"""
REQUEST_RESET_WAIT = """
mutation($business: String!, $email: String!) {
  memberRequestPasswordReset(input: {business: $business, email: $email}) {
    errors { code } retryAfterSeconds } }
"""
RESET = f"""
mutation($business: String!, $token: String!, $password: String!) {{
  memberResetPassword(input: {{business: $business, token: $token, password: $password}}) {{
    {SESSION} }} }}
"""
CHANGE = f"""
mutation($current: String!, $new: String!) {{
  memberChangePassword(input: {{currentPassword: $current, newPassword: $new}}) {{ {SESSION} }}
}}
"""
ME_FIELDS = (
    "me { kind marketingConsent emailVerified customer { id email mobile version "
    "marketingConsent } additionalUser { id email version marketingConsent } }"
)
UPDATE = f"""
mutation($input: MemberUpdateContactInput!) {{
  memberUpdateContact(input: $input) {{ {ME_FIELDS} errors {{ code field message }} }} }}
"""
CONSENT = f"""
mutation($granted: Boolean!, $wording: String!) {{
  memberSetMarketingConsent(input: {{granted: $granted, wording: $wording}}) {{
    {ME_FIELDS} errors {{ code field message }} }} }}
"""
ME = f"{{ {ME_FIELDS} }}"


@pytest.fixture
async def people(owner: factories.Owner) -> Members:
    return await members(owner)


def tokens(api: Api, people: Members) -> dict[str, str]:
    return {
        "customer": api.token(people.home.id, "customer", people.customer["id"]),
        "additional_user": api.token(people.home.id, "additional_user", people.helper["id"]),
    }


async def last_email(owner: factories.Owner, to: str) -> Any:
    return await owner.c.fetchrow(
        "SELECT subject, body, purpose, status FROM messages WHERE to_address = $1"
        " ORDER BY created_at DESC, number DESC LIMIT 1",
        to,
    )


def link_token(body: str, path: str) -> str:
    found = re.search(rf"/{path}\?token=([A-Za-z0-9_\-.]+)", body)
    assert found is not None, body
    return found.group(1)


async def test_sign_up_creates_an_app_user_signed_in_with_a_verification_email(
    api: Api, people: Members, owner: factories.Owner
) -> None:
    new = {
        "business": "home-studio",
        "firstName": "Mary",
        "lastName": "Somerville",
        "email": "Mary@Example.com",
        "password": PASSWORD,
        "marketingConsent": True,
        "consentWording": "Send me news and offers.",
    }
    session = (await api.data(SIGN_UP, {"input": new}))["memberSignUp"]
    assert session["errors"] == [] and session["kind"] == "CUSTOMER"
    row = await owner.c.fetchrow(
        "SELECT origin, category, marketing_consent, email_verified_at FROM customers"
        " WHERE id = $1",
        uuid.UUID(session["personId"]),
    )
    assert row is not None and tuple(row) == ("PORTAL_SIGNUP", "APP_USER", True, None)
    record = await owner.c.fetchrow("SELECT granted, source, wording FROM consent_records")
    assert record is not None and tuple(record) == (True, "SIGN_UP", "Send me news and offers.")
    email = await last_email(owner, "Mary@Example.com")
    assert (email["purpose"], email["status"]) == ("SERVICE", "QUEUED")
    token = link_token(email["body"], "verify-email")

    me = (await api.data(ME, token=session["token"]))["me"]
    assert me["emailVerified"] is False
    page = await api.http.get(f"/verify-email?token={token}")
    assert page.status_code == 200 and "confirmed" in page.text
    assert (await api.data(ME, token=session["token"]))["me"]["emailVerified"] is True
    assert (await api.http.get("/verify-email?token=forged.x")).status_code == 400

    # The email is taken now, whatever its case, also by an additional user's login.
    again = await api.data(SIGN_UP, {"input": {**new, "email": "mary@example.COM"}})
    assert codes(again["memberSignUp"]) == ["DUPLICATE"]
    helper_email = {**new, "email": "byron@example.com"}
    assert codes((await api.data(SIGN_UP, {"input": helper_email}))["memberSignUp"]) == [
        "DUPLICATE"
    ]
    # The same email is free in another business.
    elsewhere = await api.data(SIGN_UP, {"input": {**new, "business": "away-gym"}})
    assert elsewhere["memberSignUp"]["errors"] == []


async def test_sign_up_checks_the_password_rule_and_the_consent_wording(
    api: Api, people: Members, owner: factories.Owner
) -> None:
    new = {
        "business": "home-studio",
        "firstName": "Mary",
        "lastName": "Somerville",
        "email": "mary@example.com",
        "password": "password",
        "marketingConsent": True,
    }
    answer = (await api.data(SIGN_UP, {"input": new}))["memberSignUp"]
    assert codes(answer) == ["INVALID"] and answer["errors"][0]["field"] == "input.password"
    answer = (await api.data(SIGN_UP, {"input": {**new, "password": PASSWORD}}))["memberSignUp"]
    assert [(e["code"], e["field"]) for e in answer["errors"]] == [
        ("REQUIRED", "input.consentWording")
    ]
    answer = await api.data(SIGN_UP, {"input": {**new, "business": "nowhere"}})
    assert codes(answer["memberSignUp"]) == ["NOT_FOUND"]
    assert (
        await owner.c.fetchval("SELECT count(*) FROM customers WHERE email = $1", new["email"]) == 0
    )


@pytest.mark.parametrize("role", ["customer", "additional_user"])
async def test_changing_the_password_signs_out_other_devices(
    api: Api, people: Members, role: str
) -> None:
    token = tokens(api, people)[role]
    email = "ada@example.com" if role == "customer" else "byron@example.com"
    wrong = await api.data(CHANGE, {"current": "Not-It-123!", "new": NEW_PASSWORD}, token)
    assert [(e["code"], e["field"]) for e in wrong["memberChangePassword"]["errors"]] == [
        ("INVALID_CREDENTIALS", "input.currentPassword")
    ]
    weak = await api.data(CHANGE, {"current": PASSWORD, "new": "short"}, token)
    assert codes(weak["memberChangePassword"]) == ["INVALID"]
    changed = (await api.data(CHANGE, {"current": PASSWORD, "new": NEW_PASSWORD}, token))[
        "memberChangePassword"
    ]
    assert changed["errors"] == [] and changed["token"]
    old = await api.post(ME, token=token)
    assert old["errors"][0]["extensions"]["code"] == "UNAUTHENTICATED"
    assert (await api.data(ME, token=changed["token"]))["me"]["kind"] == role.upper()
    assert codes(await log_in(api, "home-studio", email)) == ["INVALID_CREDENTIALS"]
    assert (await log_in(api, "home-studio", email, NEW_PASSWORD))["errors"] == []


async def test_a_reset_link_works_once_and_unknown_emails_get_the_same_answer(
    api: Api, people: Members, owner: factories.Owner
) -> None:
    answers = [
        (await api.data(REQUEST_RESET, {"business": "home-studio", "email": email}))[
            "memberRequestPasswordReset"
        ]
        for email in ("BYRON@example.com", "nobody@example.com", "alan@example.com")
    ]
    assert answers == [{"errors": []}] * 3
    assert await owner.c.fetchval("SELECT count(*) FROM messages") == 1
    email = await last_email(owner, "byron@example.com")
    token = link_token(email["body"], "reset-password")

    weak = await api.data(RESET, {"business": "home-studio", "token": token, "password": "x"})
    assert codes(weak["memberResetPassword"]) == ["INVALID"]
    wrong_business = await api.data(
        RESET, {"business": "away-gym", "token": token, "password": NEW_PASSWORD}
    )
    assert codes(wrong_business["memberResetPassword"]) == ["INVALID"]
    variables = {"business": "home-studio", "token": token, "password": NEW_PASSWORD}
    done = (await api.data(RESET, variables))["memberResetPassword"]
    assert done["errors"] == [] and done["kind"] == "ADDITIONAL_USER"
    assert (await api.data(ME, token=done["token"]))["me"]["emailVerified"] is True
    again = await api.data(RESET, {**variables, "password": "Another-Pass-99"})
    assert again["memberResetPassword"]["errors"] == [
        {
            "code": "INVALID",
            "field": "input.token",
            "message": "This link is not valid: it has expired, was already used, or is broken.",
        }
    ]
    assert (await log_in(api, "home-studio", "byron@example.com", NEW_PASSWORD))["errors"] == []
    tampered = token[:-2] + ("AA" if not token.endswith("AA") else "BB")
    bad = await api.data(RESET, {**variables, "token": tampered})
    assert codes(bad["memberResetPassword"]) == ["INVALID"]


@pytest.mark.parametrize("email", ["byron@example.com", "nobody@example.com"])
async def test_reset_requests_are_limited_per_email_whether_or_not_it_exists(
    api: Api, people: Members, owner: factories.Owner, email: str
) -> None:
    async def request(address: str) -> dict[str, Any]:
        answer = await api.data(REQUEST_RESET_WAIT, {"business": "home-studio", "email": address})
        payload: dict[str, Any] = answer["memberRequestPasswordReset"]
        return payload

    answers = [await request(email.upper() if i % 2 else email) for i in range(6)]
    assert answers[:5] == [{"errors": [], "retryAfterSeconds": None}] * 5
    assert answers[5] == {"errors": [{"code": "TOO_MANY_ATTEMPTS"}], "retryAfterSeconds": 30}
    sent = await owner.c.fetchval(
        "SELECT count(*) FROM messages WHERE lower(to_address) = $1", email
    )
    assert sent == (5 if email.startswith("byron") else 0)
    # Another email is unaffected, and logging in is never locked by reset requests.
    assert (await request("alan@example.com"))["errors"] == []
    assert (await log_in(api, "home-studio", "byron@example.com", PASSWORD))["errors"] == []


async def test_no_reset_email_for_people_who_may_not_sign_in(
    api: Api, people: Members, owner: factories.Owner
) -> None:
    await owner.c.execute(
        "UPDATE customers SET status = 'ARCHIVED' WHERE id = $1", people.customer["id"]
    )
    answer = await api.data(REQUEST_RESET, {"business": "home-studio", "email": "ada@example.com"})
    assert answer["memberRequestPasswordReset"] == {"errors": []}
    assert await owner.c.fetchval("SELECT count(*) FROM messages") == 0


@pytest.mark.parametrize("role", ["customer", "additional_user"])
async def test_members_update_their_own_contact_details(
    api: Api, people: Members, owner: factories.Owner, role: str
) -> None:
    token = tokens(api, people)[role]
    me = (await api.data(ME, token=token))["me"]
    own = me["customer"] if role == "customer" else me["additionalUser"]
    change = {"version": own["version"], "email": "new-me@example.com", "mobile": "07700 900123"}
    updated = (await api.data(UPDATE, {"input": change}, token))["memberUpdateContact"]
    assert updated["errors"] == []
    after = updated["me"]["customer"] if role == "customer" else updated["me"]["additionalUser"]
    assert after["email"] == "new-me@example.com" and after["version"] == own["version"] + 1
    assert updated["me"]["emailVerified"] is False
    assert (await last_email(owner, "new-me@example.com"))["subject"].startswith("Confirm")
    assert (await log_in(api, "home-studio", "new-me@example.com"))["errors"] == []

    stale = await api.data(UPDATE, {"input": {**change, "mobile": ""}}, token)
    assert codes(stale["memberUpdateContact"]) == ["STALE"]
    taken = {"version": after["version"], "email": "GRACE@example.com"}
    answer = (await api.data(UPDATE, {"input": taken}, token))["memberUpdateContact"]
    assert [(e["code"], e["field"]) for e in answer["errors"]] == [("DUPLICATE", "input.email")]
    bad = {"version": after["version"], "mobile": "12", "firstName": ""}
    answer = (await api.data(UPDATE, {"input": bad}, token))["memberUpdateContact"]
    assert sorted(e["field"] for e in answer["errors"]) == ["input.firstName", "input.mobile"]
    # Nobody else changed.
    assert (
        await owner.c.fetchval("SELECT email FROM customers WHERE id = $1", people.neighbour["id"])
        == "grace@example.com"
    )


async def test_staff_are_not_members(api: Api, people: Members) -> None:
    staff = api.token(people.home.id, "staff", people.home.staff_id)
    body = await api.post(ME, token=staff)
    assert body["errors"][0]["extensions"]["code"] == "FORBIDDEN"
    body = await api.post(ME)
    assert body["errors"][0]["extensions"]["code"] == "UNAUTHENTICATED"


@pytest.mark.parametrize("role", ["customer", "additional_user"])
async def test_marketing_consent_changes_are_recorded_and_unsubscribe_links_work(
    api: Api, people: Members, owner: factories.Owner, role: str
) -> None:
    from integrations.email import SignedLinks
    from server.settings import load_settings

    token = tokens(api, people)[role]
    person = people.customer if role == "customer" else people.helper
    column = "customer_id" if role == "customer" else "additional_user_id"
    wording = "Yes, send me the studio's news and offers."
    given = await api.data(CONSENT, {"granted": True, "wording": wording}, token)
    assert given["memberSetMarketingConsent"]["me"]["marketingConsent"] is True
    same = await api.data(CONSENT, {"granted": True, "wording": wording}, token)
    assert same["memberSetMarketingConsent"]["errors"] == []
    blank = await api.data(CONSENT, {"granted": False, "wording": " "}, token)
    assert codes(blank["memberSetMarketingConsent"]) == ["REQUIRED"]

    links = SignedLinks(load_settings().public_base_url, load_settings().link_signing_secret)
    url = links.unsubscribe_url(people.home.id, person["id"])
    path = url[url.index("/unsubscribe") :]
    page = await api.http.get(path)
    assert page.status_code == 200 and "<form method=post" in page.text
    assert (await api.data(ME, token=token))["me"][
        "marketingConsent"
    ] is True  # GET changes nothing
    done = await api.http.post(path, content="List-Unsubscribe=One-Click")
    assert done.status_code == 200 and "unsubscribed" in done.text
    assert (await api.data(ME, token=token))["me"]["marketingConsent"] is False
    assert (await api.http.post("/unsubscribe?token=nope")).status_code == 400

    records = await owner.c.fetch(
        f"SELECT granted, source, wording FROM consent_records WHERE {column} = $1"
        " ORDER BY created_at",
        person["id"],
    )
    assert [(r["granted"], r["source"]) for r in records] == [
        (True, "MEMBER_PORTAL"),
        (False, "UNSUBSCRIBE_LINK"),
    ]
    assert records[0]["wording"] == wording
    history = await owner.c.fetch(
        "SELECT actor_kind FROM account_history WHERE action = 'marketing_consent.changed'"
        " AND customer_id = $1",
        people.customer["id"],
    )
    assert len(history) == 2 and {h["actor_kind"] for h in history} == {role.upper()}


@pytest.mark.parametrize("table", ["customers", "additional_users"])
async def test_a_changed_email_is_no_longer_verified_whoever_changes_it(
    people: Members, owner: factories.Owner, table: str
) -> None:
    person = people.customer if table == "customers" else people.helper
    verified_at = f"SELECT email_verified_at FROM {table} WHERE id = $1"
    await owner.c.execute(
        f"UPDATE {table} SET email_verified_at = now() WHERE id = $1", person["id"]
    )
    await owner.c.execute(f"UPDATE {table} SET email = upper(email) WHERE id = $1", person["id"])
    assert await owner.c.fetchval(verified_at, person["id"]) is not None
    await owner.c.execute(
        f"UPDATE {table} SET email = 'elsewhere@example.com' WHERE id = $1", person["id"]
    )
    assert await owner.c.fetchval(verified_at, person["id"]) is None
