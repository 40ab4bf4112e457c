"""Shared fixtures: a PostgreSQL server per session, a migrated template, a fresh database per
test, the app over HTTP (httpx + the real lifespan) and token minting."""

from __future__ import annotations

import contextlib
import os
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass, replace
from typing import Any

import httpx
import pytest
from asgi_lifespan import LifespanManager
from hypothesis import settings as hypothesis_settings

from server.app import create_app
from server.auth import Role, TokenService, Viewer, parse_signing_key, parse_verify_keys
from server.settings import Settings, load_settings
from tests import database as testdb
from tests import factories

pytest_plugins = ["tests.fixtures_mail", "tests.fixtures_stripe"]

hypothesis_settings.register_profile("ci", max_examples=25, derandomize=True, deadline=None)
hypothesis_settings.register_profile("dev", max_examples=50, deadline=None)
hypothesis_settings.load_profile("ci" if os.environ.get("CI") else "dev")


@pytest.fixture(scope="session")
def pg_server() -> Iterator[testdb.DatabaseServer]:
    server = testdb.start_server()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture(scope="session")
async def template(pg_server: testdb.DatabaseServer) -> AsyncIterator[str]:
    name = await testdb.create_template(pg_server)
    try:
        yield name
    finally:
        await testdb.drop(pg_server, name)


@pytest.fixture
async def db(
    pg_server: testdb.DatabaseServer, template: str
) -> AsyncIterator[testdb.ClonedDatabase]:
    name = await testdb.clone(pg_server, template)
    try:
        yield testdb.urls_for(pg_server, name)
    finally:
        await testdb.drop(pg_server, name)


@pytest.fixture
async def owner(db: testdb.ClonedDatabase) -> AsyncIterator[factories.Owner]:
    async with factories.Owner(db.owner_url) as connection:
        yield connection


def settings_for(db: testdb.ClonedDatabase, **overrides: Any) -> Settings:
    """The test settings for one cloned database."""
    values: dict[str, Any] = {"pool_size": 4, "statement_count_header": True, **overrides}
    return replace(
        load_settings(),
        environment="test",
        database_url=db.owner_url,
        app_database_url=db.service_url,
        **values,
    )


def token_service(settings: Settings) -> TokenService:
    return TokenService(
        parse_verify_keys(settings.jwt_verify_keys, settings.jwt_issuer),
        parse_signing_key(settings.jwt_signing_key),
        settings.jwt_issuer,
        settings.jwt_audience,
    )


@pytest.fixture
def settings(db: testdb.ClonedDatabase) -> Settings:
    return settings_for(db)


@pytest.fixture
def tokens(settings: Settings) -> TokenService:
    return token_service(settings)


@dataclass
class Api:
    """The app over HTTP, with helpers to mint tokens and send GraphQL."""

    http: httpx.AsyncClient
    tokens: TokenService

    def token(self, business_id: Any, role: Role | str, subject_id: Any, version: int = 1) -> str:
        return self.tokens.sign(Viewer(business_id, Role(role), subject_id, version))

    last_statements: int = -1

    async def post(
        self, query: str, variables: dict[str, Any] | None = None, token: str | None = None
    ) -> dict[str, Any]:
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        response = await self.http.post(
            "/graphql", json={"query": query, "variables": variables or {}}, headers=headers
        )
        assert response.status_code == 200, response.text
        self.last_statements = int(response.headers.get("x-sql-statements", "-1"))
        body: dict[str, Any] = response.json()
        return body

    async def data(
        self, query: str, variables: dict[str, Any] | None = None, token: str | None = None
    ) -> dict[str, Any]:
        """The `data` of a response that must have no errors."""
        body = await self.post(query, variables, token)
        assert "errors" not in body, body["errors"]
        result: dict[str, Any] = body["data"]
        return result

    async def payload(
        self, query: str, variables: dict[str, Any] | None = None, token: str | None = None
    ) -> Any:
        """The payload of a mutation that must succeed: no `errors`, nor any in the results
        of a bulk payload."""
        payload = next(iter((await self.data(query, variables, token)).values()))
        errors = payload.get("errors") or [
            error for result in payload.get("results", []) for error in result.get("errors", [])
        ]
        assert not errors, payload
        return payload


@contextlib.asynccontextmanager
async def serving(settings: Settings, tokens: TokenService) -> AsyncIterator[Api]:
    """The app with its real lifespan, over HTTP."""
    app = create_app(settings)
    async with LifespanManager(app) as manager:
        transport = httpx.ASGITransport(app=manager.app)
        async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as http:
            yield Api(http=http, tokens=tokens)


@pytest.fixture
async def api(settings: Settings, tokens: TokenService) -> AsyncIterator[Api]:
    async with serving(settings, tokens) as api:
        yield api


@pytest.fixture
async def two_businesses(
    owner: factories.Owner,
) -> tuple[factories.BusinessFixture, factories.BusinessFixture]:
    first = await factories.business(owner, "first-studio")
    second = await factories.business(owner, "second-gym")
    return first, second
