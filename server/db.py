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
        connect_args={
            "server_settings": {"application_name": "customer-subgraph"},
            # asyncpg prepares (and PostgreSQL caches the plan of) statements up to this size:
            # a compiled trusted document's one statement is 20-40 kB, and planning it costs
            # more than running it.
            "max_cacheable_statement_size": 256 * 1024,
        },
    )
    event.listen(engine.sync_engine, "before_cursor_execute", _count_statement)
    return engine


def sqlstate_of(error: BaseException) -> str | None:
    """The SQLSTATE of a database error raised through SQLAlchemy or by asyncpg, if any."""
    orig = getattr(error, "orig", None)
    for candidate in (error, orig, getattr(orig, "__cause__", None), error.__cause__):
        code = getattr(candidate, "sqlstate", None) or getattr(candidate, "pgcode", None)
        if code:
            return str(code)
    return None


# The snapshot opens in one round trip: BEGIN and the tenant setting go as one simple-protocol
# message. The values are spliced in as literals, which is safe only because they are a UUID's
# text form (hex digits and dashes), a role name from `Role` and an integer.
BEGIN_SNAPSHOT = "BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY"
# When the request's token is checked in the same message, the tenant value becomes 'revoked'
# unless the subject's current token version is the token's, and casting set_config's result to
# uuid then fails with invalid_text_representation: the transaction aborts before any read.
TOKEN_REFUSED_SQLSTATE = "22P02"


def _begin_snapshot_sql(business_id: uuid.UUID, token: TokenClaim | None) -> str:
    tenant = f"'{uuid.UUID(str(business_id))}'"
    if token is None:
        value = tenant
    else:
        role = token.role
        if not role.isidentifier():
            raise ValueError(f"unexpected role {role!r}")
        subject = uuid.UUID(str(token.subject_id))
        value = (
            f"CASE WHEN current_token_version('{role}', {tenant}::uuid, '{subject}'::uuid) "
            f"IS NOT DISTINCT FROM {int(token.version)} THEN {tenant} ELSE 'revoked' END"
        )
    return (
        f"{BEGIN_SNAPSHOT}; "
        f"SELECT set_config('app.business_id', {value}, true)::uuid {UNCOUNTED_MARKER}"
    )


@dataclass(frozen=True)
class TokenClaim:
    """What a bearer token claims, to be checked against the database as the snapshot opens."""

    role: str
    subject_id: uuid.UUID
    version: int


class TokenRefused(Exception):
    """The token's version is not the subject's current one (revoked, archived, no access)."""


class ReadTransaction:
    """The request's one read-only snapshot, opened on first use (or at once, when it also
    checks the request's token)."""

    def __init__(
        self, engine: AsyncEngine, business_id: uuid.UUID, counter: StatementCounter
    ) -> None:
        self._engine = engine
        self._business_id = business_id
        self._counter = counter
        self._conn: AsyncConnection | None = None
        # Its asyncpg connection, looked up through SQLAlchemy (a greenlet hop) once.
        self._driver: Any = None
        self._lock = asyncio.Lock()

    async def open(self, token: TokenClaim | None = None) -> None:
        """BEGIN, the tenant setting and (given a token) its version check, in one round trip.
        Raises TokenRefused, having released the connection, when the check fails."""
        conn = await self._engine.connect()
        try:
            # The transaction is begun by hand below, so SQLAlchemy must not send its own BEGIN.
            await conn.execution_options(isolation_level="AUTOCOMMIT")
            driver = await _driver(conn)
            try:
                await driver.execute(_begin_snapshot_sql(self._business_id, token))
            except Exception as error:
                if token is not None and sqlstate_of(error) == TOKEN_REFUSED_SQLSTATE:
                    await _end(conn, driver)
                    raise TokenRefused from None
                raise
            conn.sync_connection.info["statement_counter"] = self._counter  # type: ignore[union-attr]
            self._driver = driver
        except TokenRefused:
            await conn.close()
            raise
        except BaseException:
            await conn.invalidate()
            await conn.close()
            raise
        self._conn = conn

    async def _connection(self) -> AsyncConnection:
        if self._conn is None:
            await self.open()
        assert self._conn is not None
        return self._conn

    async def _raw_connection(self) -> Any:
        await self._connection()
        return self._driver

    async def _turn(self, operation: Callable[[], Awaitable[T]]) -> T:
        """Run `operation` on the snapshot's connection when no other is using it. It runs as
        a task of its own that the caller's cancellation does not reach: graphql-core cancels a
        request's pending fields when a sibling fails in a non-null position, and an asyncpg
        call cut off mid-flight would leave the connection busy for good ("another operation is
        in progress"). A cancelled caller stops waiting; the statement finishes, and the next
        one (or `close`) waits for it."""

        async def locked() -> T:
            async with self._lock:
                return await operation()

        return await asyncio.shield(asyncio.ensure_future(locked()))

    async def execute(self, statement: Executable, params: Any = None) -> Result[Any]:
        """Run one statement on the snapshot; concurrent callers take turns."""

        async def run() -> Result[Any]:
            conn = await self._connection()
            return await conn.execute(statement, params)

        return await self._turn(run)

    async def fetch_raw(self, sql: str, *args: Any, record_class: type | None = None) -> list[Any]:
        """Run one statement as asyncpg records (of `record_class`, an `asyncpg.Record`
        subclass, if given), bypassing SQLAlchemy's result machinery: for hot read paths whose
        SQL is fixed text with `$n` parameters. Counted like any other statement."""

        async def run() -> list[Any]:
            driver = await self._raw_connection()
            self._counter.record(sql)
            rows: list[Any] = await driver.fetch(sql, *args, record_class=record_class)
            return rows

        return await self._turn(run)

    async def fetchval_raw(self, sql: str, *args: Any) -> Any:
        """The first column of the first row of one statement (see `fetch_raw`)."""

        async def run() -> Any:
            driver = await self._raw_connection()
            self._counter.record(sql)
            return await driver.fetchval(sql, *args)

        return await self._turn(run)

    async def close(self) -> None:
        """End the snapshot once the statements still running on it are done."""
        async with self._lock:
            await self._close()

    async def _close(self) -> None:
        if self._conn is None:
            return
        conn, self._conn = self._conn, None
        driver, self._driver = self._driver, None
        conn.sync_connection.info.pop("statement_counter", None)  # type: ignore[union-attr]
        try:
            await _end(conn, driver)
        except BaseException:
            # Never hand the pool a connection whose transaction state is unknown.
            await conn.invalidate()
            raise
        finally:
            await conn.close()


async def _driver(conn: AsyncConnection) -> Any:
    raw = await conn.get_raw_connection()
    driver = raw.driver_connection
    assert driver is not None
    return driver


async def _end(conn: AsyncConnection, driver: Any = None) -> None:
    """Roll back the hand-begun transaction (the pool would not: it did not begin it)."""
    if driver is None:
        driver = await _driver(conn)
    if driver.is_in_transaction():
        await driver.execute("ROLLBACK")


class Database:
    """The service's handle: opens tenant-scoped transactions on the service role's pool."""

    def __init__(self, engine: AsyncEngine) -> None:
        self.engine = engine

    def reader(self, business_id: uuid.UUID, counter: StatementCounter) -> ReadTransaction:
        return ReadTransaction(self.engine, business_id, counter)

    async def checked_reader(
        self, business_id: uuid.UUID, token: TokenClaim, counter: StatementCounter
    ) -> ReadTransaction | None:
        """The request's snapshot, opened together with the check of its token's version (one
        round trip for both); None when the token is refused."""
        reader = ReadTransaction(self.engine, business_id, counter)
        try:
            await reader.open(token)
        except TokenRefused:
            return None
        return reader

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
