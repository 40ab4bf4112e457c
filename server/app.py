"""The Starlette application: /graphql (POST and GET, GraphiQL in development), /healthz and
/readyz, with the database engine managed by the lifespan."""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import logging
from collections.abc import AsyncIterator
from typing import Any

import orjson
from sqlalchemy import text
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route
from strawberry.asgi import GraphQL

from integrations.stripe_client import StripeGateway
from schema.build import build_schema
from server import auth
from server.body_limit import BodySizeLimit
from server.context import Context
from server.database_setup import SERVICE_ROLE, with_user
from server.db import Database, create_engine
from server.jobs import background_worker
from server.member_links import unsubscribe_endpoint, verify_email_endpoint
from server.migrate import head_revision
from server.settings import Settings
from server.webhooks import stripe_webhook_endpoint

log = logging.getLogger(__name__)


def client_address(request: Request, trusted_proxies: tuple[str, ...]) -> str | None:
    """The caller's address: the first X-Forwarded-For hop when the peer is a trusted proxy
    (the gateway), otherwise the socket peer."""
    peer = request.client.host if request.client else None
    forwarded = request.headers.get("x-forwarded-for")
    if peer is not None and peer in trusted_proxies and forwarded:
        return forwarded.split(",")[0].strip() or peer
    return peer


class GraphQLEndpoint(GraphQL[Context, None]):
    """Strawberry's ASGI view with our context and orjson encoding."""

    def __init__(self, settings: Settings, tokens: auth.TokenService, **kwargs: Any) -> None:
        super().__init__(
            build_schema(introspection=settings.introspection),
            graphql_ide="graphiql" if settings.graphiql else None,
            allow_queries_via_get=True,
            **kwargs,
        )
        self.settings = settings
        self.tokens = tokens

    def encode_json(self, data: object) -> bytes:
        return orjson.dumps(data)

    async def execute_operation(
        self,
        request: Any,
        request_adapter: Any,
        request_data: Any,
        context: Context,
        root_value: Any,
        sub_response: Any,
    ) -> Any:
        """The operations of a batch run concurrently: each gets its own read snapshot and
        loaders (a snapshot ends with its operation), sharing the viewer and statement count."""
        if not isinstance(request_data, list):
            return await super().execute_operation(
                request=request,
                request_adapter=request_adapter,
                request_data=request_data,
                context=context,
                root_value=root_value,
                sub_response=sub_response,
            )
        return await asyncio.gather(
            *[
                super(GraphQLEndpoint, self).execute_operation(
                    request=request,
                    request_adapter=request_adapter,
                    request_data=data,
                    context=dataclasses.replace(context, _reader=None, _loaders=None),
                    root_value=root_value,
                    sub_response=sub_response,
                )
                for data in request_data
            ]
        )

    async def get_context(self, request: Any, response: Any) -> Context:
        database: Database = request.app.state.database
        viewer, auth_error = await self._viewer(request, database)
        return Context(
            db=database,
            settings=self.settings,
            stripe=request.app.state.stripe,
            viewer=viewer,
            auth_error=auth_error,
            client_address=client_address(request, self.settings.trusted_proxies),
            tokens=self.tokens,
            request=request,
            response=response,
        )

    async def _viewer(
        self, request: Request, database: Database
    ) -> tuple[auth.Viewer | None, str | None]:
        token = auth.bearer_token(request.headers.get("authorization"))
        if token is None:
            return None, None
        try:
            viewer = self.tokens.verify(token)
        except auth.TokenError as error:
            return None, str(error)
        current = await database.token_version(
            viewer.role.value, viewer.business_id, viewer.subject_id
        )
        if current is None or current != viewer.token_version:
            return None, "This token has been revoked, or its holder may no longer sign in."
        return viewer, None


async def healthz(request: Request) -> Response:
    return JSONResponse({"status": "ok"})


async def readyz(request: Request) -> Response:
    """Ready when the database answers and its schema is at the newest migration."""
    database: Database = request.app.state.database
    try:
        async with database.engine.connect() as conn:
            current = (await conn.execute(text("SELECT version_num FROM alembic_version"))).scalar()
    except Exception as error:
        log.warning("readiness check failed: %s", type(error).__name__)
        return JSONResponse({"status": "unavailable", "reason": "database unreachable"}, 503)
    expected = head_revision()
    if current != expected:
        return JSONResponse(
            {"status": "unavailable", "reason": f"migrations at {current}, expected {expected}"},
            503,
        )
    return JSONResponse({"status": "ok", "migration": current})


def service_url(settings: Settings) -> str:
    return settings.app_database_url or with_user(settings.database_url, SERVICE_ROLE)


def create_app(settings: Settings, database: Database | None = None) -> Starlette:
    """The ASGI app. Pass `database` to share one (tests); otherwise the lifespan makes one."""
    tokens = auth.TokenService(
        auth.parse_verify_keys(settings.jwt_verify_keys, settings.jwt_issuer),
        auth.parse_signing_key(settings.jwt_signing_key),
        settings.jwt_issuer,
        settings.jwt_audience,
    )
    graphql = GraphQLEndpoint(settings, tokens)

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        owned = database is None
        db = database or Database(
            create_engine(service_url(settings), pool_size=settings.pool_size)
        )
        app.state.database = db
        app.state.tokens = tokens
        # One Stripe client (one connection pool) per process, for requests and the reconciler.
        app.state.stripe = StripeGateway.from_settings(settings)
        try:
            async with background_worker(db, settings, app.state.stripe):
                yield
        finally:
            await app.state.stripe.aclose()
            if owned:
                await db.engine.dispose()

    return Starlette(
        debug=settings.debug,
        routes=[
            Route("/graphql", BodySizeLimit(graphql), methods=["GET", "POST"]),
            Route("/healthz", healthz),
            Route("/readyz", readyz),
            Route("/webhooks/stripe", stripe_webhook_endpoint(settings), methods=["POST"]),
            Route("/unsubscribe", unsubscribe_endpoint(settings), methods=["GET", "POST"]),
            Route("/verify-email", verify_email_endpoint(settings), methods=["GET"]),
        ],
        lifespan=lifespan,
    )
