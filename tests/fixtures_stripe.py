"""Fixtures for payments (localstripe on 127.0.0.1, an empty store per test).

localstripe (GPL) is imported here and only here: it is a test-time peer, never a dependency of
the service. Its aiohttp app runs in the tests' own event loop on a free port. Three middlewares
sit in front of it:

- a recorder of every request as it arrived (method, path, query, headers, form), which is how
  tests see the `Stripe-Account` and `Idempotency-Key` headers localstripe itself ignores;
- programmable faults (`LocalStripe.fail`): drop the connection, answer 500 or answer too late,
  before or after localstripe has processed the request, i.e. the lost responses and timeouts a
  real network produces;
- a shim for one gap: localstripe refuses the `customer` filter when listing SetupIntents, which
  Stripe supports; the filter is removed on the way in (the wrapper narrows by customer itself).

localstripe 1.15.10 pickles its whole store to the fixed path /tmp/localstripe.pickle after each
write (TMPDIR is not consulted), which parallel test processes would share; each process points
that dump at a folder of its own instead.
"""

from __future__ import annotations

import asyncio
import pickle
import shutil
import tempfile
import uuid
import warnings
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

import httpx
import pytest
from aiohttp import web

from integrations.stripe_client import StripeGateway
from server.db import Database, create_engine
from server.settings import Settings
from tests.database import ClonedDatabase

if TYPE_CHECKING:
    from server.auth import TokenService
    from tests.conftest import Api

WEBHOOK_SECRET = "whsec_test_0123456789abcdef"
API_KEY = "sk_test_localstripe"
PUBLISHABLE_KEY = "pk_test_localstripe"
# What the tests send in place of Stripe.js, so that its requests can be told from the service's.
STRIPE_JS_AGENT = "stripe-js-in-tests"

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


@dataclass(frozen=True)
class RecordedRequest:
    method: str
    path: str
    query: dict[str, str]
    headers: dict[str, str]
    form: dict[str, str]


@dataclass
class Fault:
    method: str
    path: str  # a prefix of the request path
    when: Literal["before", "after"]  # before or after localstripe processes the request
    action: Literal["drop", "error", "late"]
    times: int = 1
    late_s: float = 0.0


@dataclass
class LocalStripe:
    """The running localstripe and what the tests can do with it."""

    url: str
    requests: list[RecordedRequest] = field(default_factory=list)
    faults: list[Fault] = field(default_factory=list)

    def fail(
        self,
        method: str,
        path: str,
        *,
        when: Literal["before", "after"],
        action: Literal["drop", "error", "late"],
        times: int = 1,
        late_s: float = 0.0,
    ) -> None:
        """Make the next `times` matching requests fail the given way."""
        self.faults.append(Fault(method.upper(), path, when, action, times, late_s))

    def sent(self, method: str | None = None, path: str | None = None) -> list[RecordedRequest]:
        """Requests received, optionally only those with this method and path prefix."""
        return [
            r
            for r in self.requests
            if (method is None or r.method == method.upper())
            and (path is None or r.path.startswith(path))
        ]

    def _take(self, request: web.Request, when: str) -> Fault | None:
        for fault in self.faults:
            if (
                fault.when == when
                and fault.times > 0
                and fault.method == request.method
                and request.path.startswith(fault.path)
            ):
                fault.times -= 1
                return fault
        return None

    async def _inflict(self, request: web.Request, fault: Fault, response: Any) -> Any:
        if fault.action == "drop":
            if request.transport is not None:
                request.transport.close()
            return web.Response(status=500)
        if fault.action == "error":
            return web.json_response(
                {"error": {"type": "api_error", "message": "Injected server error."}}, status=500
            )
        await asyncio.sleep(fault.late_s)
        return response if response is not None else web.Response(status=504)

    def middlewares(self) -> list[Any]:
        @web.middleware
        async def record(request: web.Request, handler: Handler) -> web.StreamResponse:
            form: dict[str, str] = {}
            if request.method == "POST" and request.path.startswith("/v1/"):
                form = {k: str(v) for k, v in (await request.post()).items()}
            self.requests.append(
                RecordedRequest(
                    request.method,
                    request.path,
                    dict(request.query),
                    dict(request.headers),
                    form,
                )
            )
            return await handler(request)

        @web.middleware
        async def faults(request: web.Request, handler: Handler) -> web.StreamResponse:
            fault = self._take(request, "before")
            if fault is not None:
                return await self._inflict(request, fault, None)  # type: ignore[no-any-return]
            response = await handler(request)
            fault = self._take(request, "after")
            if fault is not None:
                return await self._inflict(request, fault, response)  # type: ignore[no-any-return]
            return response

        @web.middleware
        async def setup_intent_filter(request: web.Request, handler: Handler) -> web.StreamResponse:
            if request.method == "GET" and request.path == "/v1/setup_intents":
                request = request.clone(rel_url=request.rel_url.without_query_params("customer"))
            return await handler(request)

        return [record, faults, setup_intent_filter]


def _redirect_store_dump(folder: Path) -> None:
    from localstripe.resources import store

    target = folder / "localstripe.pickle"

    def dump_to_disk() -> None:
        with target.open("wb") as f:
            pickle.dump(dict(store), f, protocol=pickle.HIGHEST_PROTOCOL)

    store.dump_to_disk = dump_to_disk


@pytest.fixture(scope="session")
async def localstripe_server() -> AsyncIterator[LocalStripe]:
    folder = Path(tempfile.mkdtemp(prefix="localstripe-"))
    _redirect_store_dump(folder)
    with warnings.catch_warnings():
        # localstripe registers plain functions as aiohttp handlers (deprecated, still served).
        warnings.simplefilter("ignore", DeprecationWarning)
        from localstripe.server import app

    # The app is a module-level object that can be started once per process.
    server = LocalStripe(url="")
    for middleware in reversed(server.middlewares()):
        app.middlewares.insert(0, middleware)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    host, port = runner.addresses[0][:2]
    server.url = f"http://{host}:{port}"
    try:
        yield server
    finally:
        await runner.cleanup()
        shutil.rmtree(folder, ignore_errors=True)


@pytest.fixture
async def localstripe(localstripe_server: LocalStripe) -> AsyncIterator[LocalStripe]:
    """localstripe with an empty store, no recorded requests and no faults."""
    async with httpx.AsyncClient() as http:
        response = await http.delete(f"{localstripe_server.url}/_config/data")
        response.raise_for_status()
    localstripe_server.requests.clear()
    localstripe_server.faults.clear()
    yield localstripe_server
    localstripe_server.faults.clear()


@pytest.fixture
def stripe_settings(settings: Settings, localstripe: LocalStripe) -> Settings:
    """The test settings with Stripe pointed at localstripe (short timeouts: faults are local)."""
    return replace(
        settings,
        stripe_api_key=API_KEY,
        stripe_api_base=localstripe.url,
        stripe_webhook_secret=WEBHOOK_SECRET,
        stripe_timeout_s=1.0,
    )


@pytest.fixture
async def stripe_gateway(stripe_settings: Settings) -> AsyncIterator[StripeGateway]:
    gateway = StripeGateway.from_settings(stripe_settings)
    try:
        yield gateway
    finally:
        await gateway.aclose()


@pytest.fixture
async def stripe_api(stripe_settings: Settings, tokens: TokenService) -> AsyncIterator[Api]:
    """The app over HTTP, as the `api` fixture, with its Stripe client pointed at localstripe."""
    from asgi_lifespan import LifespanManager

    from server.app import create_app
    from tests.conftest import Api

    app = create_app(stripe_settings)
    async with LifespanManager(app) as manager:
        transport = httpx.ASGITransport(app=manager.app)
        async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as http:
            yield Api(http=http, tokens=tokens)


async def confirm_setup_as_stripe_js(
    localstripe: LocalStripe,
    account: str,
    setup_intent_id: str,
    client_secret: str,
    *,
    payment_method: str | None = "pm_card_visa",
    card: dict[str, str] | None = None,
) -> dict[str, Any]:
    """What Stripe.js does in the browser once the card is typed in: confirm the SetupIntent
    with the publishable key and the client secret, on the connected account. `card` (number,
    exp_month, exp_year, cvc) sends a typed-in card instead of a test PaymentMethod."""
    form = {"key": PUBLISHABLE_KEY, "client_secret": client_secret}
    if card is not None:
        form["payment_method_data[type]"] = "card"
        form.update({f"payment_method_data[card][{k}]": v for k, v in card.items()})
    elif payment_method is not None:
        form["payment_method"] = payment_method
    async with httpx.AsyncClient() as http:
        response = await http.post(
            f"{localstripe.url}/v1/setup_intents/{setup_intent_id}/confirm",
            data=form,
            headers={"Stripe-Account": account, "User-Agent": STRIPE_JS_AGENT},
        )
    body: dict[str, Any] = response.json()
    return body


@pytest.fixture
async def payments_db(db: ClonedDatabase) -> AsyncIterator[Database]:
    """The service role's database handle on this test's database."""
    database = Database(create_engine(db.service_url, pool_size=4))
    try:
        yield database
    finally:
        await database.engine.dispose()


def connected_account() -> str:
    """A fresh connected-account id (localstripe accepts any)."""
    return f"acct_{uuid.uuid4().hex[:16]}"


@dataclass(frozen=True)
class StripePayment:
    """A business with a connected account, a customer, and a card payment made at localstripe
    and recorded in `payments`."""

    business_id: uuid.UUID
    account: str
    customer_id: uuid.UUID
    payment_id: uuid.UUID
    payment_intent: str
    amount: int


async def stripe_payment(
    owner: Any, gateway: StripeGateway, *, amount: int = 5000, account: str | None = None
) -> StripePayment:
    from datetime import UTC, datetime

    from tests import factories

    account = account or connected_account()
    business = await factories.business(owner, stripe_account_id=account)
    customer = await factories.customer(owner, business.id, "Grace", "Hopper")
    intent = await gateway.for_account(account).create_payment_intent(
        pending_id=uuid.uuid4(),
        amount=amount,
        currency="GBP",
        payment_method="pm_card_visa",
        confirm=True,
    )
    payment = await owner.insert(
        "payments",
        business_id=business.id,
        customer_id=customer["id"],
        customer_name="Grace Hopper",
        amount=amount,
        currency="GBP",
        method="STRIPE",
        stripe_payment_intent_id=intent.id,
        description="Ten-class pass",
        paid_at=datetime.now(UTC),
    )
    return StripePayment(business.id, account, customer["id"], payment["id"], intent.id, amount)


async def reserve_refund(
    conn: Any, payment: StripePayment, amount: int, *, reason: str | None = None
) -> uuid.UUID:
    """What a refund mutation's `prepare` does: a PENDING refund row that reserves its amount
    on the payment (the convention `resolvers.stripe_calls` releases on failure)."""
    from sqlalchemy import text

    refund_id = uuid.uuid4()
    await conn.execute(
        text(
            "INSERT INTO refunds (id, business_id, customer_id, customer_name, payment_id, "
            "amount, currency, status, reason) VALUES (:id, :b, :c, 'Grace Hopper', :p, :amount, "
            "'GBP', 'PENDING', :reason)"
        ),
        {
            "id": refund_id,
            "b": payment.business_id,
            "c": payment.customer_id,
            "p": payment.payment_id,
            "amount": amount,
            "reason": reason,
        },
    )
    await conn.execute(
        text(
            "UPDATE payments SET refunded_amount = refunded_amount + :amount "
            "WHERE business_id = :b AND id = :p"
        ),
        {"amount": amount, "b": payment.business_id, "p": payment.payment_id},
    )
    return refund_id
