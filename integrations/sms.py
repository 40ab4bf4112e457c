"""Text messages: a small provider interface, the Twilio adapter and a logging stand-in.

`SMS_PROVIDER=twilio` sends through Twilio's Messages API (a plain HTTPS form POST with the
account SID and auth token as basic auth; no SDK). The default, `log`, sends nothing and logs
that a message would have been sent.

A provider either returns a receipt or raises `SmsError`, which says whether the message may
have gone out anyway (`uncertain`: the request reached Twilio but the answer was lost or was a
server error). Callers never repeat an uncertain send: an SMS is sent at most once. Requests
that certainly sent nothing (the connection was refused, Twilio answered 429) are retried here
a few times before giving up.

Phone numbers are personal data: they are never logged above DEBUG.
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass
from typing import Final, Protocol

import httpx

from server.settings import Settings

log = logging.getLogger(__name__)

TWILIO_API_BASE: Final = "https://api.twilio.com"
# Twilio refuses longer bodies (error 21617).
MAX_BODY_LENGTH: Final = 1600
# The receipt status of the logging provider: nothing left the building.
LOGGED: Final = "logged"


@dataclass(frozen=True)
class SmsReceipt:
    """What the provider said when it took the message."""

    provider_id: str | None
    status: str


class SmsError(Exception):
    """The message was not taken. `uncertain`: it may have been sent all the same, so it must
    not be sent again. `reason` is for staff to read."""

    def __init__(self, reason: str, *, uncertain: bool = False) -> None:
        super().__init__(reason)
        self.reason = reason[:500]
        self.uncertain = uncertain


class SmsConfigError(ValueError):
    """SMS settings that cannot work (e.g. Twilio chosen without credentials)."""


class SmsProvider(Protocol):
    """Sends one text message. `reference` is ours (the job item), for the logs."""

    name: str

    async def send(self, to: str, body: str, *, reference: str) -> SmsReceipt: ...

    async def aclose(self) -> None: ...


class LoggingSmsProvider:
    """The default: nothing is sent; the log says a message would have been."""

    name = "log"

    async def send(self, to: str, body: str, *, reference: str) -> SmsReceipt:
        log.info("SMS not sent (SMS_PROVIDER=log): %s, %d characters", reference, len(body))
        log.debug("SMS %s would go to %s", reference, to)
        return SmsReceipt(provider_id=None, status=LOGGED)

    async def aclose(self) -> None:
        return None


@dataclass(frozen=True)
class TwilioConfig:
    account_sid: str
    auth_token: str
    # A number in E.164, or a Messaging Service SID (MG...).
    sender: str
    base_url: str = TWILIO_API_BASE
    timeout_s: float = 10.0
    # Tries for requests that certainly sent nothing (connection refused, 429).
    max_attempts: int = 3
    backoff_base_s: float = 1.0
    backoff_cap_s: float = 10.0


def _twilio_reason(response: httpx.Response) -> str:
    """Twilio's own explanation when it gives one (`{"code": 21211, "message": ...}`)."""
    try:
        data = response.json()
    except ValueError:
        data = None
    if isinstance(data, dict) and data.get("message"):
        code = f" (Twilio error {data['code']})" if data.get("code") else ""
        return f"Twilio refused the message: {data['message']}{code}"
    return f"Twilio refused the message (HTTP {response.status_code})."


class TwilioSmsProvider:
    """Twilio's Messages API over one pooled HTTPS client."""

    name = "twilio"

    def __init__(self, config: TwilioConfig, *, client: httpx.AsyncClient | None = None) -> None:
        if not (config.account_sid and config.auth_token and config.sender):
            raise SmsConfigError(
                "SMS_PROVIDER=twilio needs TWILIO_ACCOUNT_SID, TWILIO_AUTH_TOKEN and TWILIO_FROM."
            )
        self.config = config
        self._client = client or httpx.AsyncClient(timeout=config.timeout_s)
        self._owns_client = client is None
        self._url = (
            f"{config.base_url.rstrip('/')}/2010-04-01/Accounts/{config.account_sid}/Messages.json"
        )

    def _form(self, to: str, body: str) -> dict[str, str]:
        sender_field = "MessagingServiceSid" if self.config.sender.startswith("MG") else "From"
        return {"To": to, sender_field: self.config.sender, "Body": body}

    async def _pause(self, attempt: int, retry_after: str | None) -> None:
        delay = self.config.backoff_base_s * 2 ** (attempt - 1)
        if retry_after is not None and retry_after.isdigit():
            delay = float(retry_after)
        await asyncio.sleep(min(delay, self.config.backoff_cap_s))

    async def send(self, to: str, body: str, *, reference: str) -> SmsReceipt:
        for attempt in range(1, self.config.max_attempts + 1):
            last = attempt == self.config.max_attempts
            try:
                response = await self._client.post(
                    self._url,
                    data=self._form(to, body),
                    auth=(self.config.account_sid, self.config.auth_token),
                )
            except (httpx.ConnectError, httpx.ConnectTimeout, httpx.PoolTimeout) as error:
                # Nothing reached Twilio: safe to try again.
                if last:
                    raise SmsError(
                        f"Could not reach Twilio ({type(error).__name__}); nothing was sent."
                    ) from error
                await self._pause(attempt, None)
                continue
            except httpx.HTTPError as error:
                raise SmsError(
                    f"The request to Twilio broke off ({type(error).__name__}); the message may "
                    "or may not have been sent, so it is not sent again.",
                    uncertain=True,
                ) from error
            if response.status_code == 429 and not last:
                await self._pause(attempt, response.headers.get("retry-after"))
                continue
            return self._receipt(response, reference)
        raise AssertionError("unreachable")  # pragma: no cover - the loop returns or raises

    def _receipt(self, response: httpx.Response, reference: str) -> SmsReceipt:
        if response.status_code >= 500:
            raise SmsError(
                f"Twilio answered with a server error (HTTP {response.status_code}); the message "
                "may or may not have been sent, so it is not sent again.",
                uncertain=True,
            )
        if response.status_code >= 400:
            raise SmsError(_twilio_reason(response))
        try:
            data = response.json()
        except ValueError:
            data = {}
        sid = data.get("sid") if isinstance(data, dict) else None
        status = data.get("status") if isinstance(data, dict) else None
        log.info("SMS %s accepted by Twilio as %s", reference, sid)
        return SmsReceipt(provider_id=str(sid) if sid else None, status=str(status or "accepted"))

    async def aclose(self) -> None:
        if self._owns_client:
            await self._client.aclose()


def provider_from_settings(settings: Settings) -> SmsProvider:
    """The provider SMS_PROVIDER names (raises SmsConfigError for an unknown one or missing
    Twilio credentials)."""
    if settings.sms_provider == "log":
        return LoggingSmsProvider()
    if settings.sms_provider == "twilio":
        return TwilioSmsProvider(
            TwilioConfig(
                account_sid=settings.twilio_account_sid,
                auth_token=settings.twilio_auth_token,
                sender=settings.twilio_from,
                base_url=settings.twilio_api_base or TWILIO_API_BASE,
                timeout_s=settings.sms_timeout_s,
            )
        )
    raise SmsConfigError(f"Unknown SMS_PROVIDER {settings.sms_provider!r}: use 'log' or 'twilio'.")
