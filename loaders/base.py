"""The loader base: one SQL statement per batch, run on the request's read snapshot, results
returned in key order (missing keys as None or an empty list)."""

from __future__ import annotations

import operator
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
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


def record_class(columns: Sequence[str]) -> type[AttributeRecord]:
    """A record class for a statement whose result columns are `columns`, in order: each reads
    as a real attribute, a property at its position. `AttributeRecord.__getattr__` only runs
    after the ordinary lookup has failed, about 1 µs per read; a profile page reads some
    3,000 columns of its tab rows."""
    attributes: dict[str, Any] = {"__slots__": ()}
    for index, name in enumerate(columns):
        if name.isidentifier() and name not in attributes and not hasattr(AttributeRecord, name):
            attributes[name] = property(operator.itemgetter(index))
    return type("StatementRecord", (AttributeRecord,), attributes)


@dataclass(frozen=True)
class RawStatement:
    """A textual statement compiled once for asyncpg: `$n` placeholders, the bound names in
    their order, and the record class of its rows (by position when its columns are named)."""

    sql: str
    names: tuple[str, ...]
    columns: tuple[str, ...] = ()
    record_class: type[AttributeRecord] = field(default=AttributeRecord, compare=False)

    def arguments(self, params: Mapping[str, Any]) -> list[Any]:
        return [params[name] for name in self.names]

    def check_columns(self, rows: Sequence[asyncpg.Record]) -> None:
        """The columns the record class reads by position are the ones that came back (once
        per statement: a select list out of step with its names fails loudly, never swaps
        two values)."""
        if self.columns and rows and _checked.get(id(self)) is not self:
            returned = tuple(rows[0].keys())
            if returned != self.columns:
                raise RuntimeError(f"Columns {returned} came back where {self.columns} were named.")
            _checked[id(self)] = self


_checked: dict[int, RawStatement] = {}


_DIALECT = AsyncpgDialect()  # type: ignore[no-untyped-call]


@lru_cache(maxsize=1024)
def raw_statement(statement: TextualSelect | TextClause) -> RawStatement:
    """What SQLAlchemy would send for `statement`, compiled once. Only for statements whose
    result columns are untyped (textual SQL): their values are asyncpg's either way, so
    skipping SQLAlchemy's result processing changes nothing but the cost."""
    compiled = statement.compile(dialect=_DIALECT)
    columns = (
        tuple(column.name for column in statement.selected_columns)
        if isinstance(statement, TextualSelect)
        else ()
    )
    return RawStatement(
        compiled.string,
        tuple(compiled.positiontup or ()),
        columns,
        record_class(columns) if columns else AttributeRecord,
    )


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
        rows = await self.reader.fetch_raw(
            raw.sql, *raw.arguments(params), record_class=raw.record_class
        )
        raw.check_columns(rows)
        return rows


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
