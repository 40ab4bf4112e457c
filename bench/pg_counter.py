"""A PostgreSQL wire-protocol relay that counts the statements a client executes, for peers
whose statements the service's own counter cannot see (PostGraphile)."""

from __future__ import annotations

import asyncio
import contextlib
import re
import struct
from collections.abc import AsyncIterator
from dataclasses import dataclass, field

# Not data statements: transaction control and the per-request settings (our counter leaves
# the tenant `set_config` out too).
_BOOKKEEPING = re.compile(r"^\s*(begin|commit|rollback|start transaction|select set_config)", re.I)


@dataclass
class StatementCount:
    executed: int = 0
    prepared: dict[bytes, str] = field(default_factory=dict)
    # The statement a Bind names until its Execute arrives.
    bound: str = ""

    def client_message(self, kind: bytes, body: bytes) -> None:
        if kind == b"Q":
            self._count(body.rstrip(b"\0").decode(errors="replace"))
        elif kind == b"P":
            name, _, rest = body.partition(b"\0")
            self.prepared[name] = rest.partition(b"\0")[0].decode(errors="replace")
            self.bound = self.prepared[name]
        elif kind == b"B":
            _portal, _, rest = body.partition(b"\0")
            statement = rest.partition(b"\0")[0]
            self.bound = self.prepared.get(statement, self.bound)
        elif kind == b"E":
            self._count(self.bound)

    def _count(self, sql: str) -> None:
        if sql and not _BOOKKEEPING.match(sql):
            self.executed += 1


async def _pipe_client(
    reader: asyncio.StreamReader, writer: asyncio.StreamWriter, count: StatementCount
) -> None:
    # The startup packet has no type byte; every later message is type + length + body.
    length = struct.unpack("!I", await reader.readexactly(4))[0]
    writer.write(struct.pack("!I", length) + await reader.readexactly(length - 4))
    while True:
        kind = await reader.readexactly(1)
        length = struct.unpack("!I", await reader.readexactly(4))[0]
        body = await reader.readexactly(length - 4)
        count.client_message(kind, body)
        writer.write(kind + struct.pack("!I", length) + body)
        await writer.drain()


async def _pipe(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    while data := await reader.read(65536):
        writer.write(data)
        await writer.drain()


@contextlib.asynccontextmanager
async def counting_relay(
    target_host: str, target_port: int
) -> AsyncIterator[tuple[int, StatementCount]]:
    """Listens on a free local port; yields it and the running count."""
    count = StatementCount()

    async def handle(client_r: asyncio.StreamReader, client_w: asyncio.StreamWriter) -> None:
        server_r, server_w = await asyncio.open_connection(target_host, target_port)
        with contextlib.suppress(Exception):
            await asyncio.gather(_pipe_client(client_r, server_w, count), _pipe(server_r, client_w))
        for writer in (client_w, server_w):
            writer.close()

    server = await asyncio.start_server(handle, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    async with server:
        yield port, count
