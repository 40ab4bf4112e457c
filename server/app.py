"""The Starlette application: /graphql (POST and GET, GraphiQL in development, its files under
/graphiql/), /healthz and /readyz, with the database engine managed by the lifespan."""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import gc
import logging
from collections.abc import AsyncIterator
from typing import Any

import orjson
from graphql import GraphQLError
from sqlalchemy import text
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route
from starlette.types import Receive, Scope, Send
from strawberry.asgi import GraphQL
from strawberry.http import GraphQLRequestData
from strawberry.types import ExecutionResult

from integrations.stripe_client import StripeGateway
from schema.build import build_schema, finish_operation
from schema.compiled.registry import TrustedDocument, TrustedDocuments
from schema.compiled.run import execute_plan, execute_sql
from schema.masking import masked
from server import auth, graphiql
from server.body_limit import BodySizeLimit
from server.context import Context
from server.database_setup import SERVICE_ROLE, with_user
from server.db import Database, TokenClaim, create_engine
from server.exports import export_endpoint
from server.input_text import nul_refusal
from server.jobs import background_worker
from server.member_links import unsubscribe_endpoint, verify_email_endpoint
from server.migrate import head_revision
from server.settings import Settings
from server.webhooks import stripe_webhook_endpoint

log = logging.getLogger(__name__)

# The ASGI scope key under which the endpoint keeps the contexts whose snapshots it ends after
# the response.
SERVED_CONTEXTS = "customer_subgraph.served_contexts"


def client_address(request: Request, trusted_proxies: tuple[str, ...]) -> str | None:
    """The caller's address: the first X-Forwarded-For hop when the peer is a trusted proxy
    (the gateway), otherwise the socket peer."""
    peer = request.client.host if request.client else None
    forwarded = request.headers.get("x-forwarded-for")
    if peer is not None and peer in trusted_proxies and forwarded:
        return forwarded.split(",")[0].strip() or peer
    return peer


class GraphQLEndpoint(GraphQL[Context, None]):
    """Strawberry's ASGI view with our context and orjson encoding; trusted documents run
    through their compiled plans."""

    def __init__(
        self,
        settings: Settings,
        tokens: auth.TokenService,
        documents: TrustedDocuments,
        **kwargs: Any,
    ) -> None:
        served = build_schema(introspection=settings.introspection)
        super().__init__(
            served,
            graphql_ide="graphiql" if settings.graphiql else None,
            allow_queries_via_get=True,
            **kwargs,
        )
        self.served_schema = served
        self.settings = settings
        self.tokens = tokens
        self.documents = documents

    async def execute_single(
        self,
        request: Any,
        request_adapter: Any,
        sub_response: Any,
        context: Context,
        root_value: Any,
        request_data: GraphQLRequestData,
    ) -> ExecutionResult:
        found = self.documents.lookup(request_data.query, request_data.extensions)
        refused = found.error or nul_refusal(found.query, request_data.variables)
        if refused is not None:
            await finish_operation(context)
            return ExecutionResult(data=None, errors=[refused])
        document, operation_name = found.document, request_data.operation_name
        answered = await self._one_statement(context, document, request_data)
        if answered is not None:
            return answered
        plan = document.plan_for(operation_name) if document else None
        if plan is None:
            request_data.query = found.query
            return await super().execute_single(
                request, request_adapter, sub_response, context, root_value, request_data
            )
        try:
            result = await execute_plan(
                self.served_schema._schema,
                plan,
                context,
                request_data.variables,
                request_data.operation_name,
                root_value,
            )
        finally:
            await finish_operation(context)
        return self._reported(result)

    async def _one_statement(
        self,
        context: Context,
        document: TrustedDocument | None,
        request_data: GraphQLRequestData,
    ) -> ExecutionResult | None:
        """The answer of the document's one-statement plan, or None when the request takes the
        executor plan: no viewer, and whatever the statement would not answer identically (see
        `SqlPlan.bind`, and `execute_sql` for a NULL in a non-null field)."""
        sql_plan = document.sql_plan_for(request_data.operation_name) if document else None
        viewer = context.viewer
        if sql_plan is None or viewer is None:
            return None
        bound = sql_plan.bind(request_data.variables, viewer)
        if bound is None:
            return None
        try:
            answered = await execute_sql(context, bound)
        except Exception as error:  # a timeout, a lost connection: reported as any bug is
            failed = GraphQLError(str(error), original_error=error)
            answered = ExecutionResult(data=None, errors=[failed])
        except BaseException:
            await finish_operation(context)
            raise
        if answered is None:
            return None
        await finish_operation(context)
        return self._reported(answered)

    def _reported(self, result: ExecutionResult) -> ExecutionResult:
        """A result made outside Strawberry's execution: its errors logged and masked as
        Strawberry's extensions would have."""
        if result.errors:
            self.served_schema.process_errors(result.errors)
            result.errors = masked(result.errors, self.settings.debug)
        return result

    async def render_graphql_ide(self, request: Request) -> Response:
        return graphiql.page_response()

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
        """Check the token as the request's snapshot opens, run the operation (or the
        operations of a batch, concurrently: each gets its own snapshot and loaders, sharing
        the viewer and statement count), and end the snapshot whatever happens (the request's
        own after the response: see `__call__`)."""
        await self._check_token(context)
        try:
            if not isinstance(request_data, list):
                return await super().execute_operation(
                    request=request,
                    request_adapter=request_adapter,
                    request_data=request_data,
                    context=context,
                    root_value=root_value,
                    sub_response=sub_response,
                )
            await context.close()
            return await asyncio.gather(
                *[
                    super(GraphQLEndpoint, self).execute_operation(
                        request=request,
                        request_adapter=request_adapter,
                        request_data=data,
                        context=dataclasses.replace(
                            context, _reader=None, _loaders=None, ends_after_response=False
                        ),
                        root_value=root_value,
                        sub_response=sub_response,
                    )
                    for data in request_data
                ]
            )
        finally:
            await context.finish()

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Serve the request, then end its snapshot: the rollback and the connection's return
        to the pool happen after the response has gone out, whatever happened before."""
        if scope["type"] != "http":
            await super().__call__(scope, receive, send)
            return
        served: list[Context] = []
        scope[SERVED_CONTEXTS] = served
        try:
            await super().__call__(scope, receive, send)
        finally:
            # Emptied as it goes: the contexts hold the request, whose scope holds this list.
            while served:
                await served.pop().close()

    async def get_context(self, request: Any, response: Any) -> Context:
        claimed, auth_error = self._claimed_viewer(request)
        served: list[Context] | None = request.scope.get(SERVED_CONTEXTS)
        context = Context(
            db=request.app.state.database,
            settings=self.settings,
            stripe=request.app.state.stripe,
            viewer=None,
            auth_error=auth_error,
            client_address=client_address(request, self.settings.trusted_proxies),
            tokens=self.tokens,
            request=request,
            response=response,
            claimed_viewer=claimed,
            ends_after_response=served is not None,
        )
        if served is not None:
            served.append(context)
        return context

    def _claimed_viewer(self, request: Request) -> tuple[auth.Viewer | None, str | None]:
        """Who the bearer token says the caller is (signature, issuer, audience and lifetime
        verified); its version is checked against the database before anything runs."""
        token = auth.bearer_token(request.headers.get("authorization"))
        if token is None:
            return None, None
        try:
            return self.tokens.verify(token), None
        except auth.TokenError as error:
            return None, str(error)

    async def _check_token(self, context: Context) -> None:
        """The token's version against the subject's current one (revocation, archiving and
        disabled access take effect at once), in the round trip that opens the snapshot."""
        claimed = context.claimed_viewer
        if claimed is None:
            return
        reader = await context.db.checked_reader(
            claimed.business_id,
            TokenClaim(claimed.role.value, claimed.subject_id, claimed.token_version),
            context.counter,
        )
        if reader is None:
            context.auth_error = "This token has been revoked, or its holder may no longer sign in."
            return
        context.viewer = claimed
        context.use_reader(reader)


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


# A request allocates tens of thousands of short-lived objects (rows, types, results), so with
# the default first threshold (700) collections run dozens of times per request and promote the
# request's live objects towards the oldest generation, whose full collections walk every object.
GC_THRESHOLDS = (20_000, 20, 20)


def settle_garbage_collector() -> None:
    """Move what the process has built so far (schema, SQLAlchemy, libraries: about 160,000
    objects that live as long as the process) out of the collector's sight, and collect the
    young generation less often. Full collections then walk only what requests left behind.
    For the serving process only (`serve`), just before it starts serving."""
    gc.collect()
    gc.freeze()
    gc.set_threshold(*GC_THRESHOLDS)


def serving_process_app() -> Starlette:
    """The app of one of several serving processes (`WEB_CONCURRENCY` > 1): uvicorn calls this
    in each process once it has configured logging; `serve` has put the database in the
    environment."""
    from server import log_redaction
    from server.settings import load_settings

    app = create_app(load_settings())
    settle_garbage_collector()
    log_redaction.install()
    return app


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
    documents = TrustedDocuments.load(
        build_schema(introspection=settings.introspection)._schema,
        settings.trusted_documents_dirs,
        trusted_only=settings.trusted_documents_only,
        compile_plans=settings.compiled_documents,
    )
    graphql = GraphQLEndpoint(settings, tokens, documents)

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
            *graphiql.routes(enabled=settings.graphiql),
            Route("/healthz", healthz),
            Route("/readyz", readyz),
            Route("/webhooks/stripe", stripe_webhook_endpoint(settings), methods=["POST"]),
            Route("/unsubscribe", unsubscribe_endpoint(settings), methods=["GET", "POST"]),
            Route("/verify-email", verify_email_endpoint(settings), methods=["GET"]),
            Route("/exports/people.csv", export_endpoint(settings), methods=["GET"]),
        ],
        lifespan=lifespan,
    )
