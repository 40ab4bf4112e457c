"""Request bodies are read up to a cap: a larger one is answered 413 without reading the rest
(Strawberry itself would parse a 20 MB JSON body and answer it)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Final

from starlette.responses import JSONResponse
from starlette.types import ASGIApp, Message, Receive, Scope, Send

MAX_GRAPHQL_BODY_BYTES: Final = 1024 * 1024


async def read_capped(chunks: AsyncIterator[bytes], limit: int) -> bytes | None:
    """The whole body, or None as soon as it grows beyond `limit` bytes."""
    parts: list[bytes] = []
    size = 0
    async for chunk in chunks:
        size += len(chunk)
        if size > limit:
            return None
        parts.append(chunk)
    return b"".join(parts)


def _declared_length(scope: Scope) -> int | None:
    for name, value in scope.get("headers", ()):
        if name == b"content-length":
            try:
                return int(value)
            except ValueError:
                return None
    return None


class BodySizeLimit:
    """Wraps an ASGI app: bodies over `limit` bytes get 413, others are replayed to the app."""

    def __init__(self, app: ASGIApp, limit: int = MAX_GRAPHQL_BODY_BYTES) -> None:
        self.app = app
        self.limit = limit

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        declared = _declared_length(scope)
        body = (
            None
            if declared is not None and declared > self.limit
            else await read_capped(_body_chunks(receive), self.limit)
        )
        if body is None:
            response = JSONResponse(
                {"errors": [{"message": f"The request body is larger than {self.limit} bytes."}]},
                status_code=413,
            )
            await response(scope, receive, send)
            return
        await self.app(scope, _replay(body, receive), send)


async def _body_chunks(receive: Receive) -> AsyncIterator[bytes]:
    while True:
        message = await receive()
        if message["type"] != "http.request":
            return
        yield message.get("body", b"")
        if not message.get("more_body", False):
            return


def _replay(body: bytes, receive: Receive) -> Receive:
    sent = False

    async def replayed() -> Message:
        nonlocal sent
        if not sent:
            sent = True
            return {"type": "http.request", "body": body, "more_body": False}
        return await receive()

    return replayed
