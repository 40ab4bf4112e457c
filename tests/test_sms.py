"""The SMS providers: the Twilio adapter against a local stand-in for Twilio's Messages API
(a real HTTP server on 127.0.0.1), the logging default, and the choice made by settings."""

from __future__ import annotations

import logging
import socket
from dataclasses import replace

import pytest

from integrations.sms import (
    LoggingSmsProvider,
    SmsConfigError,
    SmsError,
    TwilioConfig,
    TwilioSmsProvider,
    provider_from_settings,
)
from server.settings import Settings, load_settings
from tests.fake_twilio import ACCOUNT_SID, AUTH_TOKEN, SENDER, Reply, fake_twilio

TO = "+447700900123"


def twilio(url: str, **overrides: object) -> TwilioSmsProvider:
    config = TwilioConfig(
        account_sid=ACCOUNT_SID,
        auth_token=AUTH_TOKEN,
        sender=SENDER,
        base_url=url,
        timeout_s=2.0,
        backoff_base_s=0.0,
    )
    return TwilioSmsProvider(replace(config, **overrides))  # type: ignore[arg-type]


async def test_twilio_gets_the_message_as_a_form_with_basic_auth() -> None:
    async with fake_twilio() as fake:
        provider = twilio(fake.url)
        try:
            receipt = await provider.send(TO, "Hi Ada, see you at 6", reference="item-1")
        finally:
            await provider.aclose()
    assert fake.received == [{"To": TO, "From": SENDER, "Body": "Hi Ada, see you at 6"}]
    assert (receipt.provider_id, receipt.status) == ("SM" + "0" * 31 + "1", "queued")


async def test_a_messaging_service_sends_instead_of_a_number() -> None:
    async with fake_twilio() as fake:
        provider = twilio(fake.url, sender="MG00000000000000000000000000000009")
        try:
            await provider.send(TO, "Hello", reference="item-1")
        finally:
            await provider.aclose()
    assert fake.received == [
        {"To": TO, "MessagingServiceSid": "MG00000000000000000000000000000009", "Body": "Hello"}
    ]


async def test_twilio_refusals_carry_its_reason_and_are_certain() -> None:
    async with fake_twilio() as fake:
        fake.script = [
            Reply(400, 21211, "The 'To' number +447700900999 is not a valid phone number.")
        ]
        provider = twilio(fake.url)
        try:
            with pytest.raises(SmsError) as refused:
                await provider.send("+447700900999", "Hello", reference="item-1")
        finally:
            await provider.aclose()
    assert refused.value.reason == (
        "Twilio refused the message: The 'To' number +447700900999 is not a valid phone number. "
        "(Twilio error 21211)"
    )
    assert refused.value.uncertain is False
    assert len(fake.received) == 1


async def test_wrong_credentials_are_refused_without_sending() -> None:
    async with fake_twilio() as fake:
        provider = twilio(fake.url, auth_token="wrong")
        try:
            with pytest.raises(SmsError) as refused:
                await provider.send(TO, "Hello", reference="item-1")
        finally:
            await provider.aclose()
    assert refused.value.reason == "Twilio refused the message: Authenticate (Twilio error 20003)"
    assert fake.received == []


async def test_too_many_requests_is_tried_again_until_it_goes_through() -> None:
    async with fake_twilio() as fake:
        fake.script = [Reply(429, 20429, "Too Many Requests"), Reply(429, 20429, "Too Many")]
        provider = twilio(fake.url)
        try:
            receipt = await provider.send(TO, "Hello", reference="item-1")
        finally:
            await provider.aclose()
    assert len(fake.received) == 3
    assert receipt.status == "queued"


async def test_too_many_requests_every_time_gives_up_certain_that_nothing_went() -> None:
    async with fake_twilio() as fake:
        fake.script = [Reply(429, 20429, "Too Many Requests")] * 3
        provider = twilio(fake.url, max_attempts=3)
        try:
            with pytest.raises(SmsError) as refused:
                await provider.send(TO, "Hello", reference="item-1")
        finally:
            await provider.aclose()
    assert len(fake.received) == 3
    assert refused.value.uncertain is False
    assert "Too Many Requests" in refused.value.reason


@pytest.mark.parametrize(
    ("reply", "timeout_s"),
    [(Reply(500), 2.0), (Reply(drop=True), 2.0), (Reply(hold=True), 0.3)],
    ids=["server error", "dropped connection", "no answer in time"],
)
async def test_a_lost_answer_is_uncertain_and_never_resent(reply: Reply, timeout_s: float) -> None:
    async with fake_twilio() as fake:
        fake.script = [reply]
        provider = twilio(fake.url, timeout_s=timeout_s)
        try:
            with pytest.raises(SmsError) as lost:
                await provider.send(TO, "Hello", reference="item-1")
        finally:
            await provider.aclose()
    assert lost.value.uncertain is True
    assert "may or may not have been sent" in lost.value.reason
    assert len(fake.received) == 1


async def test_an_unreachable_twilio_is_tried_a_few_times_and_nothing_is_sent() -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    provider = twilio(f"http://127.0.0.1:{port}", max_attempts=2)
    try:
        with pytest.raises(SmsError) as refused:
            await provider.send(TO, "Hello", reference="item-1")
    finally:
        await provider.aclose()
    assert refused.value.uncertain is False
    assert refused.value.reason == "Could not reach Twilio (ConnectError); nothing was sent."


async def test_the_logging_provider_keeps_phone_numbers_out_of_ordinary_logs(
    caplog: pytest.LogCaptureFixture,
) -> None:
    provider = LoggingSmsProvider()
    with caplog.at_level(logging.INFO, logger="integrations.sms"):
        receipt = await provider.send(TO, "Hello Ada", reference="item-1")
    assert receipt.status == "logged"
    assert [r.getMessage() for r in caplog.records] == [
        "SMS not sent (SMS_PROVIDER=log): item-1, 9 characters"
    ]
    assert TO not in caplog.text
    caplog.clear()
    with caplog.at_level(logging.DEBUG, logger="integrations.sms"):
        await provider.send(TO, "Hello Ada", reference="item-2")
    assert f"SMS item-2 would go to {TO}" in caplog.text


async def test_settings_choose_the_provider(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("SMS_PROVIDER", "TWILIO_ACCOUNT_SID", "TWILIO_AUTH_TOKEN", "TWILIO_FROM"):
        monkeypatch.delenv(name, raising=False)
    assert isinstance(provider_from_settings(load_settings()), LoggingSmsProvider)

    monkeypatch.setenv("SMS_PROVIDER", "twilio")
    with pytest.raises(SmsConfigError, match="TWILIO_ACCOUNT_SID, TWILIO_AUTH_TOKEN"):
        provider_from_settings(load_settings())

    monkeypatch.setenv("TWILIO_ACCOUNT_SID", ACCOUNT_SID)
    monkeypatch.setenv("TWILIO_AUTH_TOKEN", AUTH_TOKEN)
    monkeypatch.setenv("TWILIO_FROM", SENDER)
    monkeypatch.setenv("TWILIO_API_BASE", "http://127.0.0.1:9/")
    chosen = provider_from_settings(load_settings())
    assert isinstance(chosen, TwilioSmsProvider)
    assert chosen.config.base_url == "http://127.0.0.1:9/"
    assert chosen.config.sender == SENDER
    await chosen.aclose()

    with pytest.raises(SmsConfigError, match="Unknown SMS_PROVIDER 'carrier-pigeon'"):
        provider_from_settings(Settings(sms_provider="carrier-pigeon"))
