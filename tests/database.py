"""Test databases: one PostgreSQL server per session (the embedded one, or `DATABASE_URL`), a
migrated template, and a fresh clone of it per test (`CREATE DATABASE ... TEMPLATE`, ~85 ms)."""

from __future__ import annotations

import os
import shutil
import tempfile
import uuid
from dataclasses import dataclass
from pathlib import Path

import asyncpg

from server.database_setup import SERVICE_ROLE, asyncpg_url, ensure_roles, with_database, with_user
from server.local_postgres import LocalPostgres
from server.migrate import upgrade


@dataclass(frozen=True)
class DatabaseServer:
    """Where the test databases live."""

    admin_url: str  # a superuser (or CREATEDB + CREATEROLE) connection to the server
    local: LocalPostgres | None
    scratch: Path | None

    def stop(self) -> None:
        if self.local is not None:
            self.local.stop()
        if self.scratch is not None:
            shutil.rmtree(self.scratch, ignore_errors=True)


def start_server() -> DatabaseServer:
    url = os.environ.get("DATABASE_URL")
    if url:
        return DatabaseServer(admin_url=url, local=None, scratch=None)
    scratch = Path(tempfile.mkdtemp(prefix="customer-subgraph-tests-"))
    local = LocalPostgres(scratch / "pg")
    return DatabaseServer(admin_url=local.start(), local=local, scratch=scratch)


async def create_template(server: DatabaseServer) -> str:
    """A freshly migrated database to clone; returns its name."""
    name = f"cs_template_{uuid.uuid4().hex[:10]}"
    await _admin(server, f'CREATE DATABASE "{name}"')
    url = with_database(server.admin_url, name)
    await ensure_roles(url)
    await upgrade(url)
    return name


async def clone(server: DatabaseServer, template: str) -> str:
    name = f"cs_test_{uuid.uuid4().hex[:12]}"
    await _admin(server, f'CREATE DATABASE "{name}" TEMPLATE "{template}"')
    return name


async def drop(server: DatabaseServer, name: str) -> None:
    await _admin(server, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


async def _admin(server: DatabaseServer, sql: str) -> None:
    conn = await asyncpg.connect(asyncpg_url(with_database(server.admin_url, "postgres")))
    try:
        await conn.execute(sql)
    finally:
        await conn.close()


@dataclass(frozen=True)
class ClonedDatabase:
    """One cloned database: the owner's URL (fixtures seed through it) and the service role's
    (what the app and the tests' queries use)."""

    name: str
    owner_url: str
    service_url: str


def urls_for(server: DatabaseServer, name: str) -> ClonedDatabase:
    owner = with_database(server.admin_url, name)
    return ClonedDatabase(name=name, owner_url=owner, service_url=with_user(owner, SERVICE_ROLE))
