"""Alembic environment: runs every migration as the owner role over asyncpg.

The URL comes from `config.attributes["url"]` when called from code (server.migrate), else from
`DATABASE_URL`. The connection may be an administrator; migrations `SET ROLE` to the owner so
that the owner owns every object they create.
"""

from __future__ import annotations

import asyncio
import os

from alembic import context
from sqlalchemy import text
from sqlalchemy.engine import Connection
from sqlalchemy.ext.asyncio import create_async_engine
from sqlalchemy.pool import NullPool

from models import Base
from server.database_setup import OWNER_ROLE, sqlalchemy_url

config = context.config
target_metadata = Base.metadata

# Objects that belong to the schema but are not described by the models (a job library's own
# tables, should one be used) are listed here so that `alembic check` ignores them.
UNMODELLED_TABLES: set[str] = set()


def include_object(
    obj: object, name: str | None, type_: str, reflected: bool, compare_to: object
) -> bool:
    return not (type_ == "table" and name in UNMODELLED_TABLES)


def _url() -> str:
    url = config.attributes.get("url") or os.environ.get("DATABASE_URL")
    if not url:
        raise RuntimeError(
            "Set DATABASE_URL (or run migrations through `python -m server migrate`)."
        )
    return sqlalchemy_url(url)


def _run(connection: Connection) -> None:
    connection.execute(text(f"SET ROLE {OWNER_ROLE}"))
    context.configure(
        connection=connection,
        target_metadata=target_metadata,
        include_object=include_object,
        compare_type=True,
        transaction_per_migration=True,
    )
    with context.begin_transaction():
        context.run_migrations()


async def _run_async() -> None:
    engine = create_async_engine(_url(), poolclass=NullPool)
    async with engine.connect() as connection:
        await connection.run_sync(_run)
        await connection.commit()
    await engine.dispose()


if context.is_offline_mode():
    raise RuntimeError("Offline migrations are not supported: run them against a database.")

existing = config.attributes.get("connection")
if existing is not None:
    _run(existing)
else:
    asyncio.run(_run_async())
