"""Creates what must exist before migrations can run: the database, the owner role that owns
every table and the service role the app connects as (neither owner, superuser nor BYPASSRLS).

Run with an administrative connection (the embedded server's superuser, or `DATABASE_URL`).
Idempotent: every statement checks before it creates.
"""

from __future__ import annotations

import asyncio
import contextlib
from urllib.parse import urlsplit, urlunsplit

import asyncpg

OWNER_ROLE = "customer_owner"
SERVICE_ROLE = "customer_service"


def with_database(url: str, database: str) -> str:
    parts = urlsplit(url)
    return urlunsplit(parts._replace(path=f"/{database}"))


def with_user(url: str, user: str, password: str | None = None) -> str:
    parts = urlsplit(url)
    host = parts.hostname or ""
    if ":" in host:
        host = f"[{host}]"
    port = f":{parts.port}" if parts.port else ""
    credentials = user if password is None else f"{user}:{password}"
    return urlunsplit(parts._replace(netloc=f"{credentials}@{host}{port}"))


def database_name(url: str) -> str:
    return urlsplit(url).path.lstrip("/") or "postgres"


def asyncpg_url(url: str) -> str:
    """asyncpg accepts only the postgresql:// / postgres:// schemes."""
    return url.replace("postgresql+asyncpg://", "postgresql://", 1)


def sqlalchemy_url(url: str) -> str:
    return (
        asyncpg_url(url)
        .replace("postgresql://", "postgresql+asyncpg://", 1)
        .replace("postgres://", "postgresql+asyncpg://", 1)
    )


async def ensure_database(admin_url: str, database: str) -> None:
    """Create `database` if it does not exist (connecting to the server's `postgres` database)."""
    conn = await asyncpg.connect(asyncpg_url(with_database(admin_url, "postgres")))
    try:
        exists = await conn.fetchval("SELECT 1 FROM pg_database WHERE datname = $1", database)
        if not exists:
            await conn.execute(f'CREATE DATABASE "{database}"')
    finally:
        await conn.close()


async def ensure_roles(admin_url: str, statement_timeout_ms: int = 5000) -> None:
    """Create the owner and service roles and give the owner what migrations need. Roles are
    shared by the whole server, so processes preparing databases side by side (parallel test
    workers) may collide on them: PostgreSQL then answers "tuple concurrently updated", and the
    steps, all idempotent, are simply run again."""
    for attempt in range(5):
        try:
            await _ensure_roles_once(admin_url, statement_timeout_ms)
            return
        except asyncpg.InternalServerError as error:
            if "concurrently" not in str(error) or attempt == 4:
                raise
            await asyncio.sleep(0.05 * (attempt + 1))


async def _ensure_roles_once(admin_url: str, statement_timeout_ms: int) -> None:
    conn = await asyncpg.connect(asyncpg_url(admin_url))
    try:
        for role, options in (
            (OWNER_ROLE, "NOLOGIN NOSUPERUSER NOBYPASSRLS NOCREATEDB NOCREATEROLE"),
            (SERVICE_ROLE, "LOGIN NOSUPERUSER NOBYPASSRLS NOCREATEDB NOCREATEROLE"),
        ):
            if not await conn.fetchval("SELECT 1 FROM pg_roles WHERE rolname = $1", role):
                # Another process may create it meanwhile.
                with contextlib.suppress(asyncpg.DuplicateObjectError):
                    await conn.execute(f"CREATE ROLE {role} {options}")
        me = await conn.fetchval("SELECT current_user")
        if not await conn.fetchval("SELECT pg_has_role($1, $2, 'MEMBER')", me, OWNER_ROLE):
            await conn.execute(f'GRANT {OWNER_ROLE} TO "{me}"')
        database = await conn.fetchval("SELECT current_database()")
        await conn.execute(f'GRANT CONNECT, CREATE ON DATABASE "{database}" TO {OWNER_ROLE}')
        await conn.execute(f'GRANT CONNECT ON DATABASE "{database}" TO {SERVICE_ROLE}')
        await conn.execute(f"GRANT USAGE, CREATE ON SCHEMA public TO {OWNER_ROLE}")
        await conn.execute(f"GRANT USAGE ON SCHEMA public TO {SERVICE_ROLE}")
        await conn.execute(
            f"ALTER ROLE {SERVICE_ROLE} SET statement_timeout = {int(statement_timeout_ms)}"
        )
    finally:
        await conn.close()
