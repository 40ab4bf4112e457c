"""Fixtures for outgoing mail and background jobs: an aiosmtpd server on 127.0.0.1 (a random
port, on the tests' own event loop) whose received messages tests read, and which can be told to
refuse a recipient, drop the connection mid-message, hold a message, or stop listening.

The app's in-process worker is off in tests (WORKER_ENABLED=0 unless the environment says
otherwise): tests run the worker themselves with `server.jobs.drain`, synchronously.
"""

from __future__ import annotations

import asyncio
import email
import os
from collections.abc import AsyncIterator, Callable, Iterator
from dataclasses import dataclass, field
from email.message import EmailMessage
from email.policy import default as default_policy
from typing import Any

import pytest
from aiosmtpd.smtp import SMTP as SMTPServerProtocol

from integrations.email import SignedLinks
from integrations.sms import LoggingSmsProvider, SmsProvider
from integrations.smtp import SmtpConfig, SmtpSender
from server.db import Database, create_engine
from server.jobs import JobRegistry, Services, Worker, WorkerConfig
from server.jobs.outbox import OutboxConfig
from tests.database import ClonedDatabase


@pytest.fixture(scope="session", autouse=True)
def worker_off_in_tests() -> Iterator[None]:
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("WORKER_ENABLED", os.environ.get("WORKER_ENABLED", "0"))
        yield


@dataclass(frozen=True)
class Received:
    """One message the server accepted."""

    sender: str
    recipients: list[str]
    raw: bytes

    @property
    def message(self) -> EmailMessage:
        parsed = email.message_from_bytes(self.raw, policy=default_policy)
        assert isinstance(parsed, EmailMessage)
        return parsed

    @property
    def subject(self) -> str:
        return str(self.message["Subject"])

    def part(self, subtype: str) -> str:
        body = self.message.get_body(preferencelist=(subtype,))
        assert body is not None, f"no text/{subtype} part"
        content = body.get_content()
        assert isinstance(content, str)
        return content


@dataclass
class _Rule:
    reply: str
    times: int | None  # None: every time


@dataclass
class _Hold:
    arrived: asyncio.Event = field(default_factory=asyncio.Event)
    release: asyncio.Event = field(default_factory=asyncio.Event)


class _Handler:
    def __init__(self, server: MailServer) -> None:
        self.server = server

    async def handle_RCPT(
        self, smtp: Any, session: Any, envelope: Any, address: str, rcpt_options: list[str]
    ) -> str:
        rule = self.server._refusals.get(address.lower())
        if rule is not None and rule.times != 0:
            if rule.times is not None:
                rule.times -= 1
            return rule.reply
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, smtp: Any, session: Any, envelope: Any) -> str:
        recipients = [r.lower() for r in envelope.rcpt_tos]
        for recipient in recipients:
            hold = self.server._holds.get(recipient)
            if hold is not None:
                hold.arrived.set()
                await hold.release.wait()
            if recipient in self.server._drops:
                # The content arrived but the reply never leaves: the client cannot know.
                smtp.transport.close()
                return "421 closing"
        raw = envelope.original_content or b""
        self.server.received.append(Received(envelope.mail_from, list(envelope.rcpt_tos), raw))
        return "250 Message accepted"


class MailServer:
    """An SMTP server for one test."""

    def __init__(self) -> None:
        self.host = "127.0.0.1"
        self.port = 0
        self.received: list[Received] = []
        self._refusals: dict[str, _Rule] = {}
        self._drops: set[str] = set()
        self._holds: dict[str, _Hold] = {}
        self._server: asyncio.Server | None = None
        self._connections: list[SMTPServerProtocol] = []

    def _protocol(self) -> SMTPServerProtocol:
        protocol = SMTPServerProtocol(
            _Handler(self), hostname="mail.test", enable_SMTPUTF8=True, ident="test-smtpd"
        )
        self._connections.append(protocol)
        return protocol

    async def start(self) -> None:
        """Listen (again, on the same port after `stop`)."""
        loop = asyncio.get_running_loop()
        self._server = await loop.create_server(self._protocol, self.host, self.port)
        self.port = self._server.sockets[0].getsockname()[1]

    async def stop(self) -> None:
        """Stop listening and drop every connection: new connections are refused."""
        for hold in self._holds.values():
            hold.release.set()
        if self._server is not None:
            self._server.close()
            await self._server.wait_closed()
            self._server = None
        for protocol in self._connections:
            if protocol.transport is not None:
                protocol.transport.close()
        self._connections.clear()
        await asyncio.sleep(0)

    async def hang_up(self) -> None:
        """Close every open connection (as servers do with idle ones), still listening."""
        for protocol in self._connections:
            if protocol.transport is not None:
                protocol.transport.close()
        await asyncio.sleep(0.01)

    @property
    def config(self) -> SmtpConfig:
        return SmtpConfig(host=self.host, port=self.port, timeout_s=5.0, start_tls=False)

    def sender(self) -> SmtpSender:
        return SmtpSender(self.config)

    def to(self, address: str) -> list[Received]:
        return [r for r in self.received if address.lower() in (x.lower() for x in r.recipients)]

    def refuse(
        self, address: str, reply: str = "550 5.1.1 Mailbox unavailable", times: int | None = None
    ) -> None:
        """Refuse RCPT for `address` with `reply` (`times` times, or always)."""
        self._refusals[address.lower()] = _Rule(reply, times)

    def drop_during_data(self, address: str) -> None:
        """Close the connection after receiving a message for `address`, without replying."""
        self._drops.add(address.lower())

    def hold(self, address: str) -> _Hold:
        """Keep a message for `address` waiting after its content arrived, until released."""
        hold = self._holds[address.lower()] = _Hold()
        return hold


@pytest.fixture
async def mail_server() -> AsyncIterator[MailServer]:
    server = MailServer()
    await server.start()
    try:
        yield server
    finally:
        await server.stop()


@pytest.fixture
async def jobs_db(db: ClonedDatabase) -> AsyncIterator[Database]:
    """The service role's database handle, as the worker uses it."""
    database = Database(create_engine(db.service_url, pool_size=4))
    try:
        yield database
    finally:
        await database.engine.dispose()


TEST_LINKS = SignedLinks("https://members.example", "test-link-secret")


@pytest.fixture
def make_worker(jobs_db: Database, mail_server: MailServer) -> Callable[..., Worker]:
    """`make_worker(**config)`: a worker on the test database sending to the test server, with
    retries due at once unless a backoff is given; `sms` makes its text-message provider (the
    logging one by default)."""

    def build(
        *,
        registry: JobRegistry | None = None,
        sender: Any = "default",
        sms: Callable[[], SmsProvider] = LoggingSmsProvider,
        **config: Any,
    ) -> Worker:
        outbox_options = {
            key.removeprefix("outbox_"): config.pop(key)
            for key in list(config)
            if key.startswith("outbox_")
        }
        outbox_options.setdefault("backoff_base_s", 0.0)
        config.setdefault("backoff_base_s", 0.0)
        return Worker(
            jobs_db,
            registry=registry,
            sender=mail_server.sender() if sender == "default" else sender,
            services=Services(mail_from="studio@mail.test", links=TEST_LINKS, sms=sms),
            config=WorkerConfig(outbox=OutboxConfig(**outbox_options), **config),
        )

    return build
