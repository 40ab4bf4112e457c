"""The loader base: one SQL statement per batch, run on the request's read snapshot, results
returned in key order (missing keys as None or an empty list)."""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from functools import lru_cache
from typing import Any, Generic, TypeVar

import asyncpg
from aiodataloader import DataLoader
from sqlalchemy.dialects.postgresql.asyncpg import dialect as AsyncpgDialect
from sqlalchemy.sql.elements import TextClause
from sqlalchemy.sql.selectable import TextualSelect

from server.db import ReadTransaction

K = TypeVar("K")
V = TypeVar("V")


class AttributeRecord(asyncpg.Record):
    """An asyncpg record whose columns also read as attributes (`row.booked_at`), like the
    SQLAlchemy rows the schema's types are built from."""

    __slots__ = ()

    def __getattr__(self, name: str) -> Any:
        try:
            return self[name]
        except KeyError:
            raise AttributeError(name) from None


@dataclass(frozen=True)
class RawStatement:
    """A textual statement compiled once for asyncpg: `$n` placeholders and the bound names in
    their order."""

    sql: str
    names: tuple[str, ...]

    def arguments(self, params: Mapping[str, Any]) -> list[Any]:
        return [params[name] for name in self.names]


_DIALECT = AsyncpgDialect()  # type: ignore[no-untyped-call]


@lru_cache(maxsize=1024)
def raw_statement(statement: TextualSelect | TextClause) -> RawStatement:
    """What SQLAlchemy would send for `statement`, compiled once. Only for statements whose
    result columns are untyped (textual SQL): their values are asyncpg's either way, so
    skipping SQLAlchemy's result processing changes nothing but the cost."""
    compiled = statement.compile(dialect=_DIALECT)
    return RawStatement(compiled.string, tuple(compiled.positiontup or ()))


class RowLoader(DataLoader, Generic[K, V]):  # type: ignore[type-arg]
    """Loads rows by key with one statement per batch."""

    def __init__(self, reader: ReadTransaction) -> None:
        # aiodataloader binds the running loop here: build loaders inside the request.
        super().__init__(max_batch_size=1000)
        self.reader = reader

    async def fetch_text(
        self, statement: TextualSelect | TextClause, params: Mapping[str, Any]
    ) -> list[Any]:
        """A textual statement's rows straight from asyncpg (`AttributeRecord`s): the hot
        path of profile pages, where SQLAlchemy's per-execution work showed."""
        raw = raw_statement(statement)
        return await self.reader.fetch_raw(
            raw.sql, *raw.arguments(params), record_class=AttributeRecord
        )


class ByIdLoader(RowLoader[uuid.UUID, Any | None]):
    """One row per id (None for ids that do not exist in the viewer's business), from `query`:
    a fixed statement taking the ids as one array (`:ids`), whose `key` column holds the id."""

    query: TextualSelect | TextClause
    key: str = "id"

    async def batch_load_fn(self, keys: list[uuid.UUID]) -> list[Any | None]:
        rows = await self.fetch_text(self.query, {"ids": keys})
        by_id = {row[self.key]: row for row in rows}
        return [by_id.get(key) for key in keys]


class ManyByParentLoader(RowLoader[uuid.UUID, list[Any]]):
    """All child rows per parent id, in the statement's order, from `query`: a fixed statement
    taking the parent ids as one array (`:ids`), whose `parent` column holds the parent's id."""

    query: TextualSelect | TextClause
    parent: str = "customer_id"

    async def batch_load_fn(self, keys: list[uuid.UUID]) -> list[list[Any]]:
        grouped: dict[uuid.UUID, list[Any]] = {key: [] for key in keys}
        for row in await self.fetch_text(self.query, {"ids": keys}):
            grouped[row[self.parent]].append(row)
        return [grouped[key] for key in keys]
