"""Loader rows read their columns as attributes by position, and a statement whose select list
is out of step with its named columns fails loudly rather than swapping values."""

from __future__ import annotations

import pytest
from sqlalchemy import column, text

from loaders.base import AttributeRecord, raw_statement, record_class
from tests import factories


async def test_columns_read_as_attributes_by_position(owner: factories.Owner) -> None:
    assert owner.conn is not None
    rows = await owner.conn.fetch(
        "SELECT 1 AS a, 'two' AS b, 3 AS keys", record_class=record_class(("a", "b", "keys"))
    )
    row = rows[0]
    assert (row.a, row.b, row["keys"]) == (1, "two", 3)
    assert list(row.keys()) == ["a", "b", "keys"]  # the record's own method is not shadowed
    with pytest.raises(AttributeError):
        _ = row.c


async def test_a_statement_returning_other_columns_than_named_is_refused(
    owner: factories.Owner,
) -> None:
    assert owner.conn is not None
    named = text("SELECT 1 AS a, 2 AS b").columns(column("b"), column("a"))
    raw = raw_statement(named)
    assert raw.columns == ("b", "a") and raw.record_class is not AttributeRecord
    rows = await owner.conn.fetch(raw.sql, record_class=raw.record_class)
    with pytest.raises(RuntimeError, match="came back"):
        raw.check_columns(rows)
    matching = raw_statement(text("SELECT 1 AS a, 2 AS b").columns(column("a"), column("b")))
    rows = await owner.conn.fetch(matching.sql, record_class=matching.record_class)
    matching.check_columns(rows)
    assert (rows[0].a, rows[0].b) == (1, 2)
