"""The tenant-scoped database handle and the request's transactions.

Reads of one request share one connection in one READ ONLY, REPEATABLE READ transaction, opened
on first use with the tenant setting applied once; loader batches take turns on it (a lock) so
every tab and count of a page comes from one snapshot. Mutations run in one READ COMMITTED
transaction on one connection and are re-run on serialization failures and deadlocks.
"""

from __future__ import annotations

import asyncio
import logging
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import Any, TypeVar

from sqlalchemy import event, text
from sqlalchemy.engine import Result
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine, create_async_engine
from sqlalchemy.sql import Executable

from server.database_setup import sqlalchemy_url

log = logging.getLogger(__name__)

T = TypeVar("T")

RETRYABLE_SQLSTATES = {"40001", "40P01"}
MUTATION_ATTEMPTS = 3
SET_TENANT = text("SELECT set_config('app.business_id', :business_id, true)")
# Statements carrying this marker are bookkeeping, not work: they are not counted.
UNCOUNTED_MARKER = "/* uncounted */"


@dataclass
class StatementCounter:
    """Counts the SQL statements a request runs (the tenant setting and the token-version
    lookup excluded). Tests assert on it; benchmarks report it."""

    count: int = 0
    statements: list[str] = field(default_factory=list)
    keep_text: bool = False

    def record(self, statement: str) -> None:
        if UNCOUNTED_MARKER in statement or "set_config('app.business_id'" in statement:
            return
        self.count += 1
        if self.keep_text:
            self.statements.append(statement)


def _count_statement(
    conn: Any, cursor: Any, statement: str, parameters: Any, context: Any, executemany: bool
) -> None:
    counter = conn.info.get("statement_counter")
    if counter is not None:
        counter.record(statement)


def create_engine(url: str, *, pool_size: int = 10) -> AsyncEngine:
    """An async engine for the service role with the statement counter attached."""
    engine = create_async_engine(
        sqlalchemy_url(url),
        pool_size=pool_size,
        max_overflow=0,
        pool_pre_ping=False,
        pool_timeout=10,
        # asyncpg's statement cache keeps prepared plans per connection: that is what we want.
        connect_args={"server_settings": {"application_name": "customer-subgraph"}},
    )
    event.listen(engine.sync_engine, "before_cursor_execute", _count_statement)
    return engine


def sqlstate_of(error: BaseException) -> str | None:
    """The SQLSTATE of a database error raised through SQLAlchemy and asyncpg, if any."""
    orig = getattr(error, "orig", None)
    for candidate in (orig, getattr(orig, "__cause__", None), error.__cause__):
        code = getattr(candidate, "sqlstate", None) or getattr(candidate, "pgcode", None)
        if code:
            return str(code)
    return None


class ReadTransaction:
    """The request's one read-only snapshot, opened on first use."""

    def __init__(
        self, engine: AsyncEngine, business_id: uuid.UUID, counter: StatementCounter
    ) -> None:
        self._engine = engine
        self._business_id = business_id
        self._counter = counter
        self._conn: AsyncConnection | None = None
        self._lock = asyncio.Lock()

    async def _connection(self) -> AsyncConnection:
        if self._conn is None:
            conn = await self._engine.connect()
            try:
                # The asyncpg dialect opens the transaction itself on first execute; these
                # options make that BEGIN a read-only, repeatable-read one.
                await conn.execution_options(
                    isolation_level="REPEATABLE READ", postgresql_readonly=True
                )
                conn.sync_connection.info["statement_counter"] = self._counter  # type: ignore[union-attr]
                await conn.execute(SET_TENANT, {"business_id": str(self._business_id)})
            except BaseException:
                await conn.close()
                raise
            self._conn = conn
        return self._conn

    async def execute(self, statement: Executable, params: Any = None) -> Result[Any]:
        """Run one statement on the snapshot; concurrent callers take turns."""
        async with self._lock:
            conn = await self._connection()
            return await conn.execute(statement, params)

    async def close(self) -> None:
        if self._conn is None:
            return
        conn, self._conn = self._conn, None
        try:
            await conn.rollback()
        finally:
            conn.sync_connection.info.pop("statement_counter", None)  # type: ignore[union-attr]
            await conn.close()


class Database:
    """The service's handle: opens tenant-scoped transactions on the service role's pool."""

    def __init__(self, engine: AsyncEngine) -> None:
        self.engine = engine

    async def token_version(
        self, role: str, business_id: uuid.UUID, subject_id: uuid.UUID
    ) -> int | None:
        """The subject's current token version, or None when they may not sign in (unknown,
        archived, access disabled). One round trip, outside any tenant transaction."""
        async with self.engine.connect() as conn:
            raw = await conn.get_raw_connection()
            driver = raw.driver_connection
            assert driver is not None
            version = await driver.fetchval(
                f"SELECT current_token_version($1, $2, $3) {UNCOUNTED_MARKER}",
                role,
                business_id,
                subject_id,
            )
            return int(version) if version is not None else None

    def reader(self, business_id: uuid.UUID, counter: StatementCounter) -> ReadTransaction:
        return ReadTransaction(self.engine, business_id, counter)

    @asynccontextmanager
    async def transaction(
        self,
        business_id: uuid.UUID,
        counter: StatementCounter | None = None,
        *,
        statement_timeout_ms: int | None = None,
    ) -> AsyncIterator[AsyncConnection]:
        """One READ COMMITTED read-write transaction with the tenant applied."""
        async with self.engine.connect() as conn:
            if counter is not None:
                conn.sync_connection.info["statement_counter"] = counter  # type: ignore[union-attr]
            try:
                async with conn.begin():
                    await conn.execute(SET_TENANT, {"business_id": str(business_id)})
                    if statement_timeout_ms is not None:
                        await conn.execute(
                            text(f"SET LOCAL statement_timeout = {int(statement_timeout_ms)}")
                        )
                    yield conn
            finally:
                conn.sync_connection.info.pop("statement_counter", None)  # type: ignore[union-attr]

    async def run_mutation(
        self,
        business_id: uuid.UUID,
        work: Callable[[AsyncConnection], Awaitable[T]],
        counter: StatementCounter | None = None,
        *,
        statement_timeout_ms: int | None = None,
    ) -> T:
        """Run `work` in one transaction, re-running it whole on serialization failures and
        deadlocks (up to three attempts); those errors never reach the caller otherwise."""
        for attempt in range(1, MUTATION_ATTEMPTS + 1):
            try:
                async with self.transaction(
                    business_id, counter, statement_timeout_ms=statement_timeout_ms
                ) as conn:
                    return await work(conn)
            except DBAPIError as error:
                if sqlstate_of(error) not in RETRYABLE_SQLSTATES or attempt == MUTATION_ATTEMPTS:
                    raise
                log.info("mutation retried after %s (attempt %d)", sqlstate_of(error), attempt)
                await asyncio.sleep(0.005 * attempt)
        raise AssertionError("unreachable")


async def lock_rows(conn: AsyncConnection, table: str, ids: Sequence[uuid.UUID]) -> set[uuid.UUID]:
    """`SELECT ... FOR UPDATE` the given rows in ascending id order (a fixed order, so that two
    transactions locking the same rows cannot deadlock); returns the ids that exist."""
    if not ids:
        return set()
    result = await conn.execute(
        text(f"SELECT id FROM {table} WHERE id = ANY(:ids) ORDER BY id FOR UPDATE"),
        {"ids": sorted(set(ids))},
    )
    return {row[0] for row in result}
