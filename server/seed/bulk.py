"""Schema switches for a bulk load, all inside the loading transaction: whatever happens, a
rollback restores the indexes, constraints and triggers as they were (DDL is transactional in
PostgreSQL), so no failure can leave the schema half-disabled."""

from __future__ import annotations

from dataclasses import dataclass

import asyncpg


@dataclass(frozen=True)
class SavedDefinition:
    table: str
    name: str
    definition: str


def quote(identifier: str) -> str:
    return '"' + identifier.replace('"', '""') + '"'


async def tenant_tables(conn: asyncpg.Connection) -> list[str]:
    """Every table carrying `business_id`."""
    rows = await conn.fetch(
        """SELECT c.table_name FROM information_schema.columns c
           JOIN information_schema.tables t
             ON t.table_schema = c.table_schema AND t.table_name = c.table_name
           WHERE c.table_schema = 'public' AND c.column_name = 'business_id'
             AND t.table_type = 'BASE TABLE'
           ORDER BY c.table_name"""
    )
    return [r["table_name"] for r in rows]


async def drop_secondary_indexes(
    conn: asyncpg.Connection, tables: list[str]
) -> list[SavedDefinition]:
    """Drop the non-unique indexes that back no constraint; return how to recreate them.
    Building an index once at the end is far cheaper than maintaining it row by row, while
    primary keys and unique indexes stay, so the load is still checked for duplicates.

    An index comes back from `pg_get_indexdef` with the same columns and meaning, though a
    partial index's predicate may be spelled differently (an `IN` list over varchar deparses
    to a cast array); Alembic's comparison does not look at predicates."""
    rows = await conn.fetch(
        """SELECT t.relname AS table, i.relname AS name, pg_get_indexdef(i.oid) AS definition
           FROM pg_index x
           JOIN pg_class i ON i.oid = x.indexrelid
           JOIN pg_class t ON t.oid = x.indrelid
           JOIN pg_namespace n ON n.oid = t.relnamespace
           WHERE n.nspname = 'public' AND t.relname = ANY($1::text[])
             AND NOT x.indisunique AND NOT x.indisprimary
             AND NOT EXISTS (SELECT 1 FROM pg_constraint k WHERE k.conindid = x.indexrelid)
           ORDER BY t.relname, i.relname""",
        tables,
    )
    saved = [SavedDefinition(r["table"], r["name"], r["definition"]) for r in rows]
    for index in saved:
        await conn.execute(f"DROP INDEX {quote(index.name)}")
    return saved


async def drop_foreign_keys(conn: asyncpg.Connection, tables: list[str]) -> list[SavedDefinition]:
    """Drop the foreign keys of tables whose rows are generated consistent by construction;
    adding them back validates each with one join instead of one lookup (and one row lock on
    the referenced row) per inserted row."""
    rows = await conn.fetch(
        """SELECT t.relname AS table, k.conname AS name, pg_get_constraintdef(k.oid) AS definition
           FROM pg_constraint k
           JOIN pg_class t ON t.oid = k.conrelid
           JOIN pg_namespace n ON n.oid = t.relnamespace
           WHERE n.nspname = 'public' AND k.contype = 'f' AND t.relname = ANY($1::text[])
           ORDER BY t.relname, k.conname""",
        tables,
    )
    saved = [SavedDefinition(r["table"], r["name"], r["definition"]) for r in rows]
    for fk in saved:
        await conn.execute(f"ALTER TABLE {quote(fk.table)} DROP CONSTRAINT {quote(fk.name)}")
    return saved


async def restore_index(conn: asyncpg.Connection, index: SavedDefinition) -> None:
    await conn.execute(index.definition)


async def restore_foreign_key(conn: asyncpg.Connection, fk: SavedDefinition) -> None:
    await conn.execute(
        f"ALTER TABLE {quote(fk.table)} ADD CONSTRAINT {quote(fk.name)} {fk.definition}"
    )


async def set_user_triggers(conn: asyncpg.Connection, tables: list[str], enabled: bool) -> None:
    action = "ENABLE" if enabled else "DISABLE"
    for table in tables:
        await conn.execute(f"ALTER TABLE {quote(table)} {action} TRIGGER USER")
