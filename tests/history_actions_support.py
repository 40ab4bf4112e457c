"""What the history-action tests share: the business and its catalog, tokens, concurrent
requests, and the check that every customer's stored category equals one recomputed from
scratch."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from typing import Any

from tests import factories
from tests import history_factories as hf
from tests.conftest import Api
from tests.test_category import RECOMPUTE


async def setup(
    owner: factories.Owner, two_businesses: tuple[factories.BusinessFixture, ...]
) -> tuple[factories.BusinessFixture, hf.Catalog, hf.Catalog]:
    """The first business with its catalog, and the second business's catalog."""
    mine, other = two_businesses
    return mine, await hf.catalog(owner, mine.id), await hf.catalog(owner, other.id)


def staff(api: Api, biz: factories.BusinessFixture) -> str:
    return api.token(biz.id, "staff", biz.staff_id)


def owner_token(api: Api, biz: factories.BusinessFixture) -> str:
    return api.token(biz.id, "owner", biz.owner_id)


async def categories(owner: factories.Owner) -> dict[str, str]:
    """Every customer's category, after checking it equals the one derived from scratch."""
    rows = await owner.c.fetch(RECOMPUTE)
    assert [dict(r) for r in rows if r["derived"] != r["category"]] == []
    return {str(r["id"]): r["category"] for r in rows}


async def history_actions(owner: factories.Owner, subject_id: Any) -> list[tuple[str, str, str]]:
    """(action, actor kind, actor name) of the account-history entries about one row."""
    rows = await owner.c.fetch(
        "SELECT action, actor_kind, actor_name FROM account_history WHERE subject_id = $1"
        " ORDER BY number",
        subject_id,
    )
    return [(r["action"], r["actor_kind"], r["actor_name"]) for r in rows]


async def one(owner: factories.Owner, sql: str, *args: Any) -> Any:
    """The single row a query must find."""
    row = await owner.c.fetchrow(sql, *args)
    assert row is not None
    return row


def codes(errors: Sequence[dict[str, Any]]) -> list[tuple[str, str | None]]:
    return [(e["code"], e["field"]) for e in errors]


async def race(
    api: Api, query: str, variables: Sequence[dict[str, Any]], token: str, field: str
) -> list[dict[str, Any]]:
    """Send the mutations at once; every answer must be data (no deadlock or bug surfaces)."""
    bodies = await asyncio.gather(*(api.post(query, v, token) for v in variables))
    assert [b for b in bodies if "errors" in b] == []
    return [b["data"][field] for b in bodies]
