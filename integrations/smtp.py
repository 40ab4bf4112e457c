"""Sending email over SMTP (aiosmtplib), behind a small interface the outbox worker uses.

A `MailSender` opens sessions; a session keeps one connection for a batch of messages and
reconnects after a failure. `send` either returns (the server accepted the message) or raises
`DeliveryError`, which says whether trying again is safe:

- refused before the message content was sent, or with a 4xx reply: nothing was delivered and
  the refusal may pass, so `retryable`;
- refused with a 5xx reply: nothing was delivered and trying again will not help;
- the connection broke or timed out after the content started to go out: the server may have
  accepted it, so `uncertain`, never retried (a duplicate is worse than a reported failure).

Nothing here touches the database; nothing here may be awaited inside a transaction.
"""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator
from contextlib import AbstractAsyncContextManager
from dataclasses import dataclass
from email.message import EmailMessage
from email.policy import SMTP, SMTPUTF8
from typing import Protocol

import aiosmtplib


class DeliveryError(Exception):
    """The message was not (or not certainly) accepted. `reason` is for a person to read."""

    def __init__(self, reason: str, *, retryable: bool, uncertain: bool = False) -> None:
        super().__init__(reason)
        self.reason = reason
        self.retryable = retryable and not uncertain
        self.uncertain = uncertain


class MailSession(Protocol):
    async def send(self, message: EmailMessage, *, sender: str, recipient: str) -> None:
        """Deliver one message to one recipient, or raise DeliveryError."""
        ...


class MailSender(Protocol):
    def session(self) -> AbstractAsyncContextManager[MailSession]:
        """A session for a batch of messages (one connection, reused)."""
        ...


@dataclass(frozen=True)
class SmtpConfig:
    host: str
    port: int = 25
    timeout_s: float = 30.0
    username: str = ""
    password: str = ""
    # None: upgrade with STARTTLS when the server offers it.
    start_tls: bool | None = None
    validate_certs: bool = True


def _refusal(
    error: aiosmtplib.SMTPResponseException, stage: str, *, retryable: bool | None = None
) -> DeliveryError:
    text = (error.message or "").strip()
    reason = f"The mail server refused the {stage} ({error.code} {text})."[:480]
    return DeliveryError(
        reason, retryable=400 <= error.code < 500 if retryable is None else retryable
    )


class SmtpSession:
    """One connection's worth of messages."""

    def __init__(self, config: SmtpConfig) -> None:
        self._config = config
        self._client: aiosmtplib.SMTP | None = None

    async def _connected(self) -> aiosmtplib.SMTP:
        if self._client is not None and self._client.is_connected:
            return self._client
        self._drop()
        config = self._config
        client = aiosmtplib.SMTP(
            hostname=config.host,
            port=config.port,
            timeout=config.timeout_s,
            start_tls=config.start_tls,
            validate_certs=config.validate_certs,
            username=config.username or None,
            password=config.password or None,
        )
        try:
            await client.connect()
        except aiosmtplib.SMTPResponseException as error:
            # Refusing the connection (or our login) says nothing about the message.
            client.close()
            raise _refusal(error, "connection", retryable=True) from error
        except (aiosmtplib.SMTPException, OSError) as error:
            client.close()
            raise DeliveryError(
                f"Could not reach the mail server ({type(error).__name__}).", retryable=True
            ) from error
        self._client = client
        return client

    def _drop(self) -> None:
        if self._client is not None:
            self._client.close()
            self._client = None

    async def _reset(self) -> None:
        """Abort the current envelope so the next message starts clean (or reconnect)."""
        if self._client is None:
            return
        try:
            await self._client.rset()
        except (aiosmtplib.SMTPException, OSError):
            self._drop()

    async def _envelope(self, sender: str, recipient: str, utf8: bool) -> aiosmtplib.SMTP:
        reused = self._client is not None and self._client.is_connected
        client = await self._connected()
        if utf8 and not client.supports_extension("smtputf8"):
            raise DeliveryError(
                "The mail server cannot deliver to an address with non-ASCII characters.",
                retryable=False,
            )
        options = ["SMTPUTF8"] if utf8 else []
        try:
            await client.mail(sender, options=options, encoding="utf-8")
        except (aiosmtplib.SMTPServerDisconnected, ConnectionError):
            if not reused:
                raise
            # The server hung up on an idle connection between two messages: reconnect once.
            self._drop()
            client = await self._connected()
            await client.mail(sender, options=options, encoding="utf-8")
        await client.rcpt(recipient, encoding="utf-8")
        return client

    async def send(self, message: EmailMessage, *, sender: str, recipient: str) -> None:
        utf8 = not (sender.isascii() and recipient.isascii())
        try:
            client = await self._envelope(sender, recipient, utf8)
        except aiosmtplib.SMTPResponseException as error:
            await self._reset()
            stage = "sender" if isinstance(error, aiosmtplib.SMTPSenderRefused) else "recipient"
            raise _refusal(error, stage) from error
        except (aiosmtplib.SMTPException, OSError) as error:
            # Nothing of the message has been sent yet: safe to try again later.
            self._drop()
            raise DeliveryError(
                f"The mail server connection failed before sending ({type(error).__name__}).",
                retryable=True,
            ) from error
        policy = SMTPUTF8 if utf8 else SMTP
        content = message.as_bytes(policy=policy)
        try:
            await client.data(content)
        except aiosmtplib.SMTPResponseException as error:
            # The server answered: it did not take the message.
            await self._reset()
            raise _refusal(error, "message") from error
        except (aiosmtplib.SMTPException, OSError) as error:
            self._drop()
            raise DeliveryError(
                "The mail server connection broke while sending; the message may or may not "
                f"have been delivered ({type(error).__name__}).",
                retryable=False,
                uncertain=True,
            ) from error

    def abort(self) -> None:
        self._drop()

    async def close(self) -> None:
        if self._client is None:
            return
        with contextlib.suppress(aiosmtplib.SMTPException, OSError):
            await self._client.quit()
        self._drop()


class SmtpSender:
    """The production sender."""

    def __init__(self, config: SmtpConfig) -> None:
        self.config = config

    @contextlib.asynccontextmanager
    async def session(self) -> AsyncIterator[MailSession]:
        session = SmtpSession(self.config)
        try:
            yield session
        except BaseException:
            # Cancelled or failed mid-command: a QUIT would wait behind it, so just hang up.
            session.abort()
            raise
        await session.close()
