"""Two apps over one database, compiled and plain, and the customer shapes and viewers the
differential tests run every trusted document against."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import asyncpg
import httpx
import orjson
from asgi_lifespan import LifespanManager

from server.app import create_app
from server.auth import Role, TokenService, Viewer
from server.settings import REPO_ROOT, Settings
from tests import factories
from tests import history_factories as hf

QUERIES = REPO_ROOT / "tests" / "queries"
PROFILE = (QUERIES / "profile.graphql").read_text()
CUSTOMER_LIST = (QUERIES / "customer_list.graphql").read_text()

MERGE = "mutation($s: ID!, $t: ID!) { customerMerge(source: $s, target: $t) { errors { code } } }"
ARCHIVE = "mutation($id: ID!) { customerArchive(id: $id) { errors { code } } }"


@dataclass
class Pair:
    """The same app twice: trusted documents compiled, and everything executed plainly."""

    compiled: httpx.AsyncClient
    plain: httpx.AsyncClient
    tokens: TokenService

    def token(self, business_id: Any, role: str, subject_id: Any) -> str:
        return self.tokens.sign(Viewer(business_id, Role(role), subject_id, 1))

    async def same(
        self,
        query: str | None,
        variables: dict[str, Any] | None = None,
        token: str | None = None,
        extensions: dict[str, Any] | None = None,
    ) -> Any:
        """Sends one request to both apps, asserts byte-identical answers and statement counts
        (the same, or the one statement of a SQL plan), and returns the decoded body."""
        body: dict[str, Any] = {"query": query, "variables": variables or {}}
        if extensions is not None:
            body["extensions"] = extensions
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        compiled = await self.compiled.post("/graphql", json=body, headers=headers)
        plain = await self.plain.post("/graphql", json=body, headers=headers)
        assert compiled.status_code == plain.status_code
        assert compiled.content == plain.content, ((query or "")[:60], variables)
        statements = "x-sql-statements"
        assert compiled.headers.get(statements) in {plain.headers.get(statements), "1"}
        return orjson.loads(compiled.content)

    async def counts(self, query: str, variables: dict[str, Any], token: str) -> tuple[str, str]:
        """The statement counts of both apps for one request (after checking the answers
        match)."""
        await self.same(query, variables, token)
        body = {"query": query, "variables": variables}
        headers = {"Authorization": f"Bearer {token}"}
        compiled = await self.compiled.post("/graphql", json=body, headers=headers)
        plain = await self.plain.post("/graphql", json=body, headers=headers)
        return compiled.headers["x-sql-statements"], plain.headers["x-sql-statements"]


@contextlib.asynccontextmanager
async def _client(settings: Settings) -> AsyncIterator[httpx.AsyncClient]:
    app = create_app(settings)
    async with LifespanManager(app) as manager:
        transport = httpx.ASGITransport(app=manager.app)
        async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as http:
            yield http


@contextlib.asynccontextmanager
async def app_pair(settings: Settings, tokens: TokenService, *trusted: Path) -> AsyncIterator[Pair]:
    """Both apps, trusting the project's documents plus any folders given."""
    compiled = replace(settings, trusted_documents_dirs=(QUERIES, *trusted))
    plain = replace(compiled, compiled_documents=False)
    async with _client(compiled) as compiled_http, _client(plain) as plain_http:
        yield Pair(compiled_http, plain_http, tokens)


@dataclass
class Shape:
    """A customer as the profile shows it, with the people who may look at it."""

    customer: asyncpg.Record
    additional_user: asyncpg.Record | None = None


async def _person(
    owner: factories.Owner,
    business: factories.BusinessFixture,
    name: str,
    *,
    kids: int = 0,
    users: int = 0,
    rows: int = 0,
    cat: hf.Catalog | None = None,
) -> Shape:
    customer = await factories.customer(owner, business.id, name, "Shape")
    await factories.participant(owner, customer, is_self=True)
    for i in range(kids):
        await factories.participant(owner, customer, f"Kid{i}")
    users_made = [
        await factories.additional_user(owner, customer, f"User{i}") for i in range(users)
    ]
    if rows and cat is not None:
        await hf.fill_every_tab(owner, customer, cat, rows)
    return Shape(customer, users_made[0] if users_made else None)


async def customer_shapes(
    owner: factories.Owner, pair: Pair, business: factories.BusinessFixture, *, busy_rows: int
) -> dict[str, Shape]:
    """Empty, typical, busy (`busy_rows` per tab), several participants, merged, archived."""
    cat = await hf.catalog(owner, business.id)
    staff = pair.token(business.id, "staff", business.staff_id)
    shapes = {
        "empty": Shape(await factories.customer(owner, business.id, "Empty", "Shape")),
        "typical": await _person(owner, business, "Typical", kids=1, users=1, rows=3, cat=cat),
        "family": await _person(owner, business, "Family", kids=5, users=2, rows=2, cat=cat),
        "merged": await _person(owner, business, "Merged", kids=1, users=1, rows=2, cat=cat),
        "archived": await _person(owner, business, "Archived", users=1, rows=2, cat=cat),
    }
    if busy_rows:
        shapes["busy"] = await _person(owner, business, "Busy", rows=busy_rows, cat=cat)
    merged, typical = shapes["merged"].customer, shapes["typical"].customer
    await _mutate(pair, MERGE, {"s": str(merged["id"]), "t": str(typical["id"])}, staff)
    await _mutate(pair, ARCHIVE, {"id": str(shapes["archived"].customer["id"])}, staff)
    return shapes


async def _mutate(pair: Pair, query: str, variables: dict[str, Any], token: str) -> None:
    response = await pair.plain.post(
        "/graphql",
        json={"query": query, "variables": variables},
        headers={"Authorization": f"Bearer {token}"},
    )
    body = response.json()
    assert "errors" not in body and all(
        not payload["errors"] for payload in body["data"].values()
    ), body


def viewers(
    pair: Pair,
    mine: factories.BusinessFixture,
    other: factories.BusinessFixture,
    shape: Shape,
    bystander: asyncpg.Record,
) -> dict[str, str | None]:
    """Every role that may ask: staff of both businesses, the customer, their additional
    user, another customer of the business, and nobody signed in."""
    tokens: dict[str, str | None] = {
        "owner": pair.token(mine.id, "owner", mine.owner_id),
        "staff": pair.token(mine.id, "staff", mine.staff_id),
        "customer": pair.token(mine.id, "customer", shape.customer["id"]),
        "another customer": pair.token(mine.id, "customer", bystander["id"]),
        "another business": pair.token(other.id, "staff", other.staff_id),
        "nobody": None,
    }
    if shape.additional_user is not None:
        tokens["additional user"] = pair.token(
            mine.id, "additional_user", shape.additional_user["id"]
        )
    return tokens
