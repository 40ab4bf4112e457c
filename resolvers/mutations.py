"""How every mutation runs: one transaction (re-run on serialization failures), user errors
that roll it back and come back as data, and the rows it touched for the fresh read after."""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable
from typing import TypeVar

from sqlalchemy import text
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncConnection

from resolvers.account_history import Actor, actor_for
from schema.errors import ErrorCode, UserError, UserFacingError, user_error
from server.auth import Viewer
from server.context import Context
from server.db import sqlstate_of

T = TypeVar("T")

UNIQUE_VIOLATION = "23505"


async def run(
    context: Context,
    work: Callable[[AsyncConnection, Actor], Awaitable[T]],
    *,
    on_unique_violation: UserError | None = None,
    statement_timeout_ms: int | None = None,
) -> tuple[T | None, list[UserError]]:
    """Run `work` for the viewer's business; returns its result or the user errors that rolled
    it back. Afterwards reads come from a fresh snapshot. `statement_timeout_ms` raises the
    service role's timeout for this transaction only (merges and other long work)."""
    viewer = _viewer(context)

    async def attempt(conn: AsyncConnection) -> T:
        actor = await actor_for(conn, viewer)
        return await work(conn, actor)

    try:
        result = await context.db.run_mutation(
            viewer.business_id,
            attempt,
            context.counter,
            statement_timeout_ms=statement_timeout_ms,
        )
    except UserFacingError as refused:
        return None, refused.errors
    except IntegrityError as error:
        if on_unique_violation is not None and sqlstate_of(error) == UNIQUE_VIOLATION:
            return None, [on_unique_violation]
        raise
    finally:
        await context.fresh_snapshot()
    return result, []


def _viewer(context: Context) -> Viewer:
    assert context.viewer is not None, "mutations are reached only through a permission check"
    return context.viewer


def not_found(field: str, what: str = "person") -> UserFacingError:
    return UserFacingError(
        user_error(ErrorCode.NOT_FOUND, field, f"No such {what} in this business.")
    )


async def business_country(conn: AsyncConnection) -> str:
    """The viewer's business's country (the default region for phone numbers)."""
    return str((await conn.execute(text("SELECT country FROM businesses"))).scalar_one())


def parse_uuid(value: str) -> uuid.UUID | None:
    try:
        return uuid.UUID(str(value))
    except ValueError:
        return None
