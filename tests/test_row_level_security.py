"""Row-level security: the database itself keeps businesses apart, whatever the query says."""

from __future__ import annotations

import asyncio

import asyncpg
from sqlalchemy import text

from server.database_setup import asyncpg_url
from server.db import Database, StatementCounter, create_engine
from tests import factories
from tests.database import ClonedDatabase

TENANT = "SELECT set_config('app.business_id', $1, true)"


async def test_a_query_without_a_business_filter_sees_only_the_tenant(
    db: ClonedDatabase,
    owner: factories.Owner,
    two_businesses: tuple[factories.BusinessFixture, ...],
) -> None:
    mine, other = two_businesses
    await factories.customer(owner, mine.id, "Mine", "One")
    await factories.customer(owner, other.id, "Theirs", "One")
    conn = await asyncpg.connect(asyncpg_url(db.service_url))
    try:
        async with conn.transaction():
            await conn.execute(TENANT, str(mine.id))
            names = [r[0] for r in await conn.fetch("SELECT first_name FROM customers")]
            businesses = [r[0] for r in await conn.fetch("SELECT slug FROM businesses")]
        assert names == ["Mine"]
        assert businesses == [mine.slug]
        # Outside a tenant transaction the setting reads '' and nothing is visible.
        assert await conn.fetchval("SELECT count(*) FROM customers") == 0
    finally:
        await conn.close()


async def test_writes_into_another_business_are_refused(
    db: ClonedDatabase,
    owner: factories.Owner,
    two_businesses: tuple[factories.BusinessFixture, ...],
) -> None:
    mine, other = two_businesses
    theirs = await factories.customer(owner, other.id, "Theirs", "One")
    conn = await asyncpg.connect(asyncpg_url(db.service_url))
    try:
        async with conn.transaction():
            await conn.execute(TENANT, str(mine.id))
            updated = await conn.execute(
                "UPDATE customers SET first_name = 'X' WHERE id = $1", theirs["id"]
            )
            assert updated == "UPDATE 0"
        try:
            async with conn.transaction():
                await conn.execute(TENANT, str(mine.id))
                await conn.execute(
                    "INSERT INTO customers (business_id, first_name, last_name, origin, category)"
                    " VALUES ($1, 'Sneaky', 'Insert', 'STAFF', 'LEAD')",
                    other.id,
                )
        except asyncpg.InsufficientPrivilegeError:
            pass
        else:
            raise AssertionError("an insert into another business was accepted")
    finally:
        await conn.close()


async def test_composite_keys_refuse_links_across_businesses(
    owner: factories.Owner, two_businesses: tuple[factories.BusinessFixture, ...]
) -> None:
    mine, other = two_businesses
    theirs = await factories.customer(owner, other.id, "Theirs", "One")
    try:
        await owner.insert(
            "participants",
            business_id=mine.id,
            customer_id=theirs["id"],
            first_name="Cross",
            last_name="Link",
        )
    except asyncpg.ForeignKeyViolationError:
        return
    raise AssertionError("a participant pointing into another business was accepted")


async def test_the_service_role_is_not_privileged(db: ClonedDatabase) -> None:
    conn = await asyncpg.connect(asyncpg_url(db.service_url))
    try:
        row = await conn.fetchrow(
            "SELECT rolsuper, rolbypassrls FROM pg_roles WHERE rolname = current_user"
        )
        owns = await conn.fetchval(
            "SELECT count(*) FROM pg_tables"
            " WHERE schemaname = 'public' AND tableowner = current_user"
        )
    finally:
        await conn.close()
    assert row is not None and (row["rolsuper"], row["rolbypassrls"]) == (False, False)
    assert owns == 0


async def test_every_tenant_table_has_a_policy_and_business_led_indexes(db: ClonedDatabase) -> None:
    conn = await asyncpg.connect(asyncpg_url(db.owner_url))
    try:
        unpoliced = await conn.fetch(
            """
            SELECT c.relname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
            WHERE n.nspname = 'public' AND c.relkind = 'r' AND c.relname <> 'alembic_version'
              AND (NOT c.relrowsecurity
                   OR NOT EXISTS (SELECT 1 FROM pg_policy p WHERE p.polrelid = c.oid))
            """
        )
        misled = await conn.fetch(
            """
            SELECT i.indexrelid::regclass::text AS name
            FROM pg_index i JOIN pg_class t ON t.oid = i.indrelid
            JOIN pg_namespace n ON n.oid = t.relnamespace
            JOIN pg_attribute a ON a.attrelid = t.oid AND a.attnum = i.indkey[0]
            WHERE n.nspname = 'public' AND NOT i.indisprimary
              AND t.relname NOT IN ('businesses', 'alembic_version')
              AND a.attname <> 'business_id'
            """
        )
    finally:
        await conn.close()
    assert [r["relname"] for r in unpoliced] == []
    assert [r["name"] for r in misled] == []


async def test_interleaved_tenants_on_a_pool_of_one_never_see_each_other(
    db: ClonedDatabase,
    owner: factories.Owner,
    two_businesses: tuple[factories.BusinessFixture, ...],
) -> None:
    mine, other = two_businesses
    for i in range(3):
        await factories.customer(owner, mine.id, f"Mine{i}", "A")
        await factories.customer(owner, other.id, f"Theirs{i}", "B")
    database = Database(create_engine(db.service_url, pool_size=1))
    try:

        async def names(business_id: object) -> set[str]:
            reader = database.reader(business_id, StatementCounter())  # type: ignore[arg-type]
            try:
                result = await reader.execute(text("SELECT first_name FROM customers"))
                return {row[0] for row in result}
            finally:
                await reader.close()

        results = await asyncio.gather(*[names(b) for b in [mine.id, other.id] * 10])
    finally:
        await database.engine.dispose()
    for index, seen in enumerate(results):
        expected = (
            {"Mine0", "Mine1", "Mine2"} if index % 2 == 0 else {"Theirs0", "Theirs1", "Theirs2"}
        )
        assert seen == expected


async def test_reads_share_one_read_only_repeatable_read_snapshot(
    db: ClonedDatabase, two_businesses: tuple[factories.BusinessFixture, ...]
) -> None:
    mine, _ = two_businesses
    database = Database(create_engine(db.service_url, pool_size=2))
    counter = StatementCounter()
    reader = database.reader(mine.id, counter)
    try:
        isolation = (await reader.execute(text("SHOW transaction_isolation"))).scalar()
        read_only = (await reader.execute(text("SHOW transaction_read_only"))).scalar()
        tenant = (await reader.execute(text("SELECT current_setting('app.business_id')"))).scalar()
        # The raw path runs on the same snapshot's connection, and is counted alike.
        backend = (await reader.execute(text("SELECT pg_backend_pid()"))).scalar()
        raw_backend = await reader.fetchval_raw("SELECT pg_backend_pid()")
        raw_rows = await reader.fetch_raw(
            "SELECT current_setting('app.business_id') AS tenant, $1::int AS n", 7
        )
    finally:
        await reader.close()
        await database.engine.dispose()
    assert (isolation, read_only, tenant) == ("repeatable read", "on", str(mine.id))
    assert raw_backend == backend
    assert [(row["tenant"], row["n"]) for row in raw_rows] == [(str(mine.id), 7)]
    assert counter.count == 6  # the tenant setting is not counted


async def test_mutations_run_read_committed_and_retry_serialization_failures(
    db: ClonedDatabase, two_businesses: tuple[factories.BusinessFixture, ...]
) -> None:
    mine, _ = two_businesses
    database = Database(create_engine(db.service_url, pool_size=2))
    attempts: list[str] = []

    async def work(conn: object) -> str:
        isolation = (await conn.execute(text("SHOW transaction_isolation"))).scalar()  # type: ignore[attr-defined]
        attempts.append(isolation)
        if len(attempts) < 3:
            await conn.execute(text("SELECT pg_sleep(0) WHERE false"))  # type: ignore[attr-defined]
            raise_serialization = text(
                "DO $$ BEGIN RAISE EXCEPTION 'conflict' USING ERRCODE = '40001'; END $$"
            )
            await conn.execute(raise_serialization)  # type: ignore[attr-defined]
        return "done"

    try:
        assert await database.run_mutation(mine.id, work) == "done"
    finally:
        await database.engine.dispose()
    assert attempts == ["read committed"] * 3
