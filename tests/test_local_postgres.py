"""The embedded PostgreSQL: starts, stops, and starts again on the same data directory (the
quickstart's second run), keeping the directory private as PostgreSQL requires."""

from __future__ import annotations

import stat
from pathlib import Path

import asyncpg
import pytest

from server.local_postgres import LocalPostgres


@pytest.mark.skipif(
    not (Path("/proc").exists()), reason="the embedded PostgreSQL is packaged for Linux only"
)
async def test_restarts_on_the_same_data_directory(tmp_path: Path) -> None:
    server = LocalPostgres(tmp_path / "pg")
    try:
        first_url = server.start()
        conn = await asyncpg.connect(first_url)
        await conn.execute("CREATE TABLE kept (value int); INSERT INTO kept VALUES (42)")
        await conn.close()
        server.stop()
        assert server.running_port() is None

        second_url = server.start()
        conn = await asyncpg.connect(second_url)
        assert await conn.fetchval("SELECT value FROM kept") == 42
        await conn.close()
        mode = stat.S_IMODE((tmp_path / "pg").stat().st_mode)
        assert mode & 0o077 in (0, 0o050), oct(mode)
    finally:
        server.stop()
