"""`GET /exports/people.csv?token=...`: the CSV download behind `peopleExport`.

The token is the only credential: it names the business (the tenant comes from it alone), the
staff member who asked and what to export, and is signed and short-lived. PostgreSQL writes the
CSV (`resolvers/export.py`); chunks go through a small bounded queue to the response, so a slow
client holds PostgreSQL back instead of filling the service's memory.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncGenerator, Awaitable, Callable
from datetime import UTC, datetime
from typing import Final

from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response, StreamingResponse
from starlette.types import Receive, Scope, Send

from integrations.email import EXPORT, SignedLinks
from resolvers.export import ExportRequest, copy_export
from server.db import Database, StatementCounter, TokenClaim
from server.settings import Settings

log = logging.getLogger(__name__)

# What the service holds of a file at most: chunks of about CHUNK_BYTES waiting for the
# client, plus the one being gathered (and, for a two-COPY export, a piece per half).
CHUNK_BYTES: Final = 128 * 1024
QUEUE_CHUNKS: Final = 2
BOM: Final = b"\xef\xbb\xbf"
REFUSED: Final = "This download link is invalid or has expired. Ask for a new export."
BUSY: Final = "Too many exports are running. Try again in a minute."


class _Chunks:
    """The CSV as PostgreSQL writes it, through a bounded queue: the COPY runs in its own task
    and waits whenever the queue is full."""

    def __init__(self, database: Database, export: ExportRequest) -> None:
        self._queue: asyncio.Queue[bytes] = asyncio.Queue(QUEUE_CHUNKS)
        self._task = asyncio.create_task(self._produce(database, export))
        self._closed = False

    async def _produce(self, database: Database, export: ExportRequest) -> None:
        # PostgreSQL's output arrives in whatever pieces the socket had (often a few kB);
        # gathering them into larger chunks saves a queue hop and an HTTP write per piece.
        pending = bytearray()

        async def sink(piece: bytes) -> None:
            pending.extend(piece)
            if len(pending) >= CHUNK_BYTES:
                await self._queue.put(bytes(pending))
                pending.clear()

        await copy_export(database, export, sink)
        if pending:
            await self._queue.put(bytes(pending))

    async def next(self) -> bytes | None:
        """The next chunk; None at the end. Raises what the COPY raised."""
        if self._queue.empty() and not self._task.done():
            getter = asyncio.ensure_future(self._queue.get())
            try:
                await asyncio.wait({getter, self._task}, return_when=asyncio.FIRST_COMPLETED)
            finally:
                if not getter.done():
                    getter.cancel()
            if getter.done() and not getter.cancelled():
                return getter.result()
        if not self._queue.empty():
            return self._queue.get_nowait()
        self._task.result()
        return None

    async def close(self) -> None:
        """Stop the COPY if it still runs (the client went away) and wait until it has let go
        of its connection."""
        if self._closed:
            return
        self._closed = True
        if not self._task.done():
            self._task.cancel()
        await asyncio.wait({self._task})
        if not self._task.cancelled() and self._task.exception() is not None:
            log.warning("export failed: %r", self._task.exception())


async def _body(chunks: _Chunks, first: bytes, excel: bool) -> AsyncGenerator[bytes]:
    chunk: bytes | None = first
    if excel:
        yield BOM
    while chunk is not None:
        # COPY ends lines with LF; Excel prefers CRLF (one byte, so chunk edges are safe).
        yield chunk.replace(b"\n", b"\r\n") if excel else chunk
        chunk = await chunks.next()


class ExportResponse(StreamingResponse):
    """A streamed CSV download that stops its COPY and frees its slot when the response ends,
    however it ends (Starlette leaves the body suspended when a client disconnects mid-send)."""

    def __init__(
        self,
        chunks: _Chunks,
        first: bytes,
        excel: bool,
        filename: str,
        release: Callable[[], None],
    ) -> None:
        self._generator = _body(chunks, first, excel)
        self._chunks = chunks
        self._release = release
        super().__init__(
            self._generator,
            media_type="text/csv; charset=utf-8",
            headers={
                "Content-Disposition": f'attachment; filename="{filename}"',
                "Cache-Control": "no-store",
                "Referrer-Policy": "no-referrer",
                "X-Content-Type-Options": "nosniff",
            },
        )

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        try:
            await super().__call__(scope, receive, send)
        finally:
            try:
                await self._generator.aclose()
                await self._chunks.close()
            finally:
                self._release()


def _refused(message: str = REFUSED, status: int = 403) -> Response:
    return PlainTextResponse(message, status, headers={"Cache-Control": "no-store"})


def _request_in(links: SignedLinks | None, token: str) -> ExportRequest | None:
    """The export a genuine, unexpired export token stands for."""
    claims = links.verify(token, EXPORT) if links is not None and token else None
    if claims is None or claims.token_version is None:
        return None
    return ExportRequest.from_claims(
        claims.business_id, claims.person_id, claims.token_version, claims.data
    )


def export_endpoint(settings: Settings) -> Callable[[Request], Awaitable[Response]]:
    links = (
        SignedLinks(settings.public_base_url, settings.link_signing_secret)
        if settings.link_signing_secret
        else None
    )
    # A running export holds one or two pooled connections (two for a large filter
    # selection) for as long as its download takes: leave at least half the pool to GraphQL.
    running = asyncio.Semaphore(max(1, settings.pool_size // 4))

    async def endpoint(request: Request) -> Response:
        export = _request_in(links, request.query_params.get("token", ""))
        if export is None:
            return _refused()
        database: Database = request.app.state.database
        # The staff member must still hold the token version the link was made under: the
        # links of a revoked or removed staff member stop working with their tokens.
        claim = TokenClaim(export.staff_role, export.staff_id, export.staff_token_version)
        check = await database.checked_reader(export.business_id, claim, StatementCounter())
        if check is None:
            return _refused()
        await check.close()
        if running.locked():
            return _refused(BUSY, 503)
        await running.acquire()
        try:
            chunks = _Chunks(database, export)
            try:
                # The first chunk (the header row) comes before any status is sent, so that
                # a failure to start is a plain 500 rather than a truncated file.
                first = await chunks.next()
            except BaseException:
                await chunks.close()
                raise
        except BaseException:
            running.release()
            raise
        stamp = datetime.now(UTC).strftime("%Y%m%d-%H%M%S")
        return ExportResponse(
            chunks, first or b"", export.excel, f"people-history-{stamp}.csv", running.release
        )

    return endpoint
