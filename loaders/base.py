"""The loader base: one SQL statement per batch, run on the request's read snapshot, results
returned in key order (missing keys as None or an empty list)."""

from __future__ import annotations

import uuid
from collections import defaultdict
from collections.abc import Callable, Sequence
from typing import Any, Generic, TypeVar

from aiodataloader import DataLoader
from sqlalchemy import Row
from sqlalchemy.sql import Select

from server.db import ReadTransaction

K = TypeVar("K")
V = TypeVar("V")


class RowLoader(DataLoader, Generic[K, V]):  # type: ignore[type-arg]
    """Loads rows by key with one statement per batch."""

    def __init__(self, reader: ReadTransaction) -> None:
        # aiodataloader binds the running loop here: build loaders inside the request.
        super().__init__(max_batch_size=1000)
        self.reader = reader

    async def fetch(self, statement: Select[Any]) -> Sequence[Row[Any]]:
        result = await self.reader.execute(statement)
        return result.all()


class ByIdLoader(RowLoader[uuid.UUID, Row[Any] | None]):
    """One row per id (None for ids that do not exist in the viewer's business)."""

    def statement(self, keys: list[uuid.UUID]) -> Select[Any]:
        raise NotImplementedError

    async def batch_load_fn(self, keys: list[uuid.UUID]) -> list[Row[Any] | None]:
        rows = await self.fetch(self.statement(keys))
        by_id = {row.id: row for row in rows}
        return [by_id.get(key) for key in keys]


class ManyByParentLoader(RowLoader[uuid.UUID, list[Row[Any]]]):
    """All child rows per parent id, in the statement's order."""

    parent_key: Callable[[Row[Any]], uuid.UUID]

    def statement(self, keys: list[uuid.UUID]) -> Select[Any]:
        raise NotImplementedError

    async def batch_load_fn(self, keys: list[uuid.UUID]) -> list[list[Row[Any]]]:
        grouped: dict[uuid.UUID, list[Row[Any]]] = defaultdict(list)
        for row in await self.fetch(self.statement(keys)):
            grouped[type(self).parent_key(row)].append(row)
        return [grouped.get(key, []) for key in keys]
