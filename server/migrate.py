"""Bring a database to the newest schema: roles first, then the Alembic chain as the owner."""

from __future__ import annotations

import asyncio

from alembic import command
from alembic.config import Config

from server.database_setup import ensure_roles
from server.settings import REPO_ROOT


def alembic_config(url: str) -> Config:
    config = Config(toml_file=str(REPO_ROOT / "pyproject.toml"))
    config.attributes["url"] = url
    return config


async def upgrade(admin_url: str, revision: str = "head") -> None:
    await ensure_roles(admin_url)
    # env.py runs its own event loop: give it a thread of its own.
    await asyncio.to_thread(command.upgrade, alembic_config(admin_url), revision)


async def downgrade(admin_url: str, revision: str) -> None:
    await asyncio.to_thread(command.downgrade, alembic_config(admin_url), revision)


def head_revision() -> str | None:
    from alembic.script import ScriptDirectory

    script = ScriptDirectory.from_config(alembic_config(""))
    return script.get_current_head()
