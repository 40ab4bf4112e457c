"""A stand-in for Twilio's Messages API: a real HTTP server on 127.0.0.1 (aiohttp) that checks
basic auth, records every form it receives, and answers as Twilio does, or as a test scripts it:
a refusal with Twilio's error body, 429, a server error, a dropped connection, a held request."""

from __future__ import annotations

import asyncio
import base64
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field

from aiohttp import web

ACCOUNT_SID = "AC00000000000000000000000000000001"
AUTH_TOKEN = "test-auth-token"
SENDER = "+15005550006"


@dataclass(frozen=True)
class Reply:
    """A scripted answer: an HTTP status with Twilio's error body, or `drop` (close the
    connection without answering) or `hold` (wait until `FakeTwilio.release`)."""

    status: int = 201
    code: int | None = None
    message: str | None = None
    drop: bool = False
    hold: bool = False


@dataclass
class FakeTwilio:
    url: str = ""
    received: list[dict[str, str]] = field(default_factory=list)
    # Replies by recipient number (every time), then in order for anyone; else 201.
    by_number: dict[str, Reply] = field(default_factory=dict)
    script: list[Reply] = field(default_factory=list)
    held: asyncio.Event = field(default_factory=asyncio.Event)
    released: asyncio.Event = field(default_factory=asyncio.Event)

    def to(self, number: str) -> list[dict[str, str]]:
        return [form for form in self.received if form.get("To") == number]

    def release(self) -> None:
        self.released.set()

    def _authorised(self, request: web.Request) -> bool:
        expected = base64.b64encode(f"{ACCOUNT_SID}:{AUTH_TOKEN}".encode()).decode()
        return request.headers.get("Authorization") == f"Basic {expected}"

    async def handle(self, request: web.Request) -> web.StreamResponse:
        if request.match_info["sid"] != ACCOUNT_SID or not self._authorised(request):
            return web.json_response(
                {"code": 20003, "message": "Authenticate", "status": 401}, status=401
            )
        form = {key: str(value) for key, value in (await request.post()).items()}
        self.received.append(form)
        reply = self.by_number.get(form.get("To", ""))
        if reply is None:
            reply = self.script.pop(0) if self.script else Reply()
        if reply.hold:
            self.held.set()
            await self.released.wait()
        if reply.drop:
            assert request.transport is not None
            request.transport.close()
            return web.Response(status=500)
        if reply.status >= 400:
            body = {"code": reply.code, "message": reply.message, "status": reply.status}
            return web.json_response(body, status=reply.status)
        sid = f"SM{len(self.received):032x}"
        return web.json_response(
            {"sid": sid, "status": "queued", "to": form.get("To"), "body": form.get("Body")},
            status=201,
        )


@asynccontextmanager
async def fake_twilio() -> AsyncIterator[FakeTwilio]:
    fake = FakeTwilio()
    app = web.Application()
    app.router.add_post("/2010-04-01/Accounts/{sid}/Messages.json", fake.handle)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = runner.addresses[0][1]
    fake.url = f"http://127.0.0.1:{port}"
    try:
        yield fake
    finally:
        fake.release()
        await runner.cleanup()
