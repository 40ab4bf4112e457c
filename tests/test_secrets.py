"""Secrets and personal data: what the logs may hold, how passwords are hashed, and rotating
the link signing secret."""

from __future__ import annotations

import logging
import time
import uuid
from collections.abc import Callable

import jwt
import pytest

from integrations.email import UNSUBSCRIBE, SignedLinks
from resolvers.passwords import hash_password, verify_password
from server.jobs import Worker, drain
from server.log_redaction import ACCESS_LOGGER, StripQueryStrings
from server.settings import DEV_JWT_SECRET, Settings
from tests import factories
from tests.conftest import Api
from tests.fixtures_mail import MailServer
from tests.fixtures_stripe import API_KEY, LocalStripe, connected_account

# Loggers of the test's own peers (the SMTP and Stripe stand-ins), not of the service.
PEER_LOGGERS = ("mail.log", "aiosmtpd", "aiohttp", "localstripe", "asyncio")

CREATE = """
mutation ($input: CustomerCreateInput!) { customerCreate(input: $input) {
  customer { id fullName email mobile } errors { code field message } } }
"""
UPDATE = """
mutation ($input: CustomerUpdateInput!) { customerUpdate(input: $input) {
  errors { code field message } } }
"""
START = """
mutation ($id: ID) { paymentMethodSetupStart(customerId: $id) { clientSecret errors { code } } }
"""
READ = "query ($id: ID!) { customer(id: $id) { fullName email mobile } }"


def _service_records(caplog: pytest.LogCaptureFixture) -> list[str]:
    """Every record above DEBUG from the service's loggers, fully formatted."""
    texts = []
    for record in caplog.records:
        if record.levelno <= logging.DEBUG or record.name.startswith(PEER_LOGGERS):
            continue
        text = record.getMessage()
        if record.exc_info:
            text += logging.Formatter().formatException(record.exc_info)
        texts.append(f"{record.name}: {text}")
    return texts


async def test_a_representative_flow_logs_no_personal_data_tokens_or_keys(
    stripe_api: Api,
    stripe_settings: Settings,
    localstripe: LocalStripe,
    owner: factories.Owner,
    make_worker: Callable[..., Worker],
    mail_server: MailServer,
    caplog: pytest.LogCaptureFixture,
) -> None:
    api = stripe_api
    business = await factories.business(owner, stripe_account_id=connected_account())
    staff = api.token(business.id, "staff", business.staff_id)
    person = {
        "firstName": "Zebulon",
        "lastName": "Quillfeather",
        "email": "zebulon.quillfeather@example.com",
        "mobile": "+447700900777",
        "password": "Correct-Horse-Battery-77",
    }
    now = int(time.time())
    expired = jwt.encode(
        {"iss": "customer-subgraph", "aud": "customer-subgraph", "iat": now - 4000,
         "exp": now - 60, "sub": str(business.staff_id), "bid": str(business.id),
         "role": "staff", "ver": 1},
        DEV_JWT_SECRET, algorithm="HS256", headers={"kid": "dev"},
    )  # fmt: skip
    # Real servers quote the address when they refuse it; the refusal is logged.
    mail_server.refuse(person["email"], f"550 5.1.1 <{person['email']}>: unknown user", times=1)
    with caplog.at_level(logging.DEBUG):
        created = (await api.data(CREATE, {"input": person}, staff))["customerCreate"]
        customer_id = created["customer"]["id"]
        member = api.token(business.id, "customer", customer_id)
        refused = await api.post(
            UPDATE,
            {"input": {"id": customer_id, "version": 1, "email": "not-an-email Quillfeather"}},
            staff,
        )
        started = (await api.data(START, {"id": customer_id}, member))["paymentMethodSetupStart"]
        await api.data(READ, {"id": customer_id}, member)
        await api.post(READ, {"id": customer_id}, expired)
        await api.post(READ, {"id": "not-a-uuid zebulon.quillfeather@example.com"}, staff)
        await drain(make_worker())
    assert created["errors"] == [] and refused["data"]["customerUpdate"]["errors"]
    assert started["clientSecret"]  # the flow really ran
    delivery = await owner.c.fetchval("SELECT status_reason FROM messages")
    assert person["email"] in delivery  # the reason is kept in the communication log
    secrets = [
        person["firstName"],
        person["lastName"],
        person["email"],
        person["mobile"],
        person["password"],
        staff,
        member,
        expired,
        started["clientSecret"],
        API_KEY,
        stripe_settings.link_signing_secret,
    ]
    logged = _service_records(caplog)
    assert logged, "the flow should log something above DEBUG (requests, email delivery)"
    assert [(s, t) for t in logged for s in secrets if s in t] == []


def test_passwords_are_hashed_with_argon2id_and_recorded_parameters() -> None:
    stored = hash_password("Correct-Horse-Battery-77")
    assert stored.startswith("$argon2id$v=19$m=65536,t=3,p=2$")
    assert verify_password(stored, "Correct-Horse-Battery-77")
    assert not verify_password(stored, "correct-horse-battery-77")
    assert not verify_password(None, "anything")


def test_link_signing_secrets_rotate_sign_with_the_first_verify_with_any() -> None:
    business, person = uuid.uuid4(), uuid.uuid4()
    old = SignedLinks("https://members.example", "old-secret")
    signed_before = old.unsubscribe_url(business, person).split("token=")[1]
    rotated = SignedLinks("https://members.example", "new-secret, old-secret")
    signed_after = rotated.unsubscribe_url(business, person).split("token=")[1]

    assert rotated.verify(signed_before, UNSUBSCRIBE) is not None  # old links keep working
    assert rotated.verify(signed_after, UNSUBSCRIBE) is not None
    assert old.verify(signed_after, UNSUBSCRIBE) is None  # signed with the new secret
    retired = SignedLinks("https://members.example", "new-secret")
    assert retired.verify(signed_before, UNSUBSCRIBE) is None  # the old secret is gone
    assert retired.verify(signed_after, UNSUBSCRIBE) is not None
    with pytest.raises(ValueError, match="LINK_SIGNING_SECRET"):
        SignedLinks("https://members.example", " , ")


def test_access_logs_drop_query_strings() -> None:
    record = logging.LogRecord(
        ACCESS_LOGGER, logging.INFO, __file__, 1, '%s - "%s %s HTTP/%s" %d',
        ("127.0.0.1:5000", "GET", '/graphql?variables={"email":"ada@example.com"}', "1.1", 200),
        None,
    )  # fmt: skip
    assert StripQueryStrings().filter(record)
    assert record.getMessage() == '127.0.0.1:5000 - "GET /graphql HTTP/1.1" 200'
