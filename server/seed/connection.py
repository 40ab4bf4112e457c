"""The owner connection both seeders write through."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from typing import Any

import asyncpg

from server.database_setup import OWNER_ROLE, asyncpg_url

Row = dict[str, Any]


def _jsonb_encode(value: Any) -> bytes:
    return b"\x01" + json.dumps(value).encode()  # jsonb's binary form: version 1, then text


def _jsonb_decode(data: bytes) -> Any:
    return json.loads(data[1:])


@asynccontextmanager
async def owner_connection(admin_url: str) -> AsyncIterator[asyncpg.Connection]:
    """An administrative connection acting as the table owner: RLS is enabled but not forced,
    so the owner sees every business, and COPY is allowed."""
    conn = await asyncpg.connect(asyncpg_url(admin_url))
    try:
        # Binary, because COPY (copy_records_to_table) only speaks the binary format.
        await conn.set_type_codec(
            "jsonb",
            encoder=_jsonb_encode,
            decoder=_jsonb_decode,
            schema="pg_catalog",
            format="binary",
        )
        await conn.execute(f"SET ROLE {OWNER_ROLE}")
        yield conn
    finally:
        await conn.close()


async def copy_rows(conn: asyncpg.Connection, table: str, rows: Sequence[Row]) -> None:
    """COPY dict rows that share their keys. Columns left out take their defaults, and BEFORE
    row triggers (per-business numbers) still fire under COPY."""
    if not rows:
        return
    columns = list(rows[0])
    await conn.copy_records_to_table(
        table, records=[tuple(row[c] for c in columns) for row in rows], columns=columns
    )
