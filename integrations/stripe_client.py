"""The Stripe wrapper every payment feature goes through.

Each business has its own connected account: `StripeGateway.for_account(...)` gives a
`ConnectedAccount` bound to it, and every request it sends names that account (the
`Stripe-Account` header), so no call can forget it. Creations take `pending_id`, the id of our
row committed before the call: it is the idempotency key and is written into
`metadata.pending_id`, which is how `find_by_pending_id` recognises the object after a lost
response.

Nothing here touches the database, and nothing here may be awaited while a database transaction
is open: a Stripe call can take seconds, and a transaction held across it would keep its locks
(and a pooled connection) for that long. `resolvers.stripe_calls` is the way in for writes: it
commits the pending row, calls Stripe, and records the result in a second transaction.

Errors come out as three types: `StripeUnavailable` (no API key, or the business has no
connected account; callers answer PAYMENT_PROVIDER_UNAVAILABLE), `StripeTransientError` (timeout,
lost connection, 5xx, 409, 429: the request may or may not have taken effect) and
`StripePermanentError` (Stripe refused it: card declined, invalid request, permissions; nothing
happened at Stripe).
"""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable, Mapping
from functools import partial
from typing import Any, Literal, TypeVar

import stripe
from stripe.params import (
    CustomerCreateParams,
    PaymentIntentCreateParams,
    SetupIntentCreateParams,
)

from server.settings import Settings

T = TypeVar("T")

# Stripe's list endpoints return at most 100 objects a page. Lists that look for our own
# objects stop after this many pages: more than 2,000 refunds of one payment or SetupIntents of
# one customer would be a bug elsewhere.
PAGE_SIZE = 100
MAX_PAGES = 20

Searchable = Literal["refunds", "setup_intents", "customers"]


class StripeUnavailable(Exception):
    """Payments cannot be made for this business: Stripe is not configured here (the demo), or
    the business has not connected a Stripe account."""


class StripeCallError(Exception):
    """A Stripe request that did not succeed."""

    def __init__(
        self, message: str, *, code: str | None = None, http_status: int | None = None
    ) -> None:
        super().__init__(message)
        self.message = message
        self.code = code
        self.http_status = http_status

    def summary(self) -> str:
        """What may be logged above DEBUG: Stripe's messages can quote what was sent (names,
        emails in a customer's fields), its codes and statuses cannot."""
        return f"{type(self).__name__} code={self.code or '-'} status={self.http_status or '-'}"


class StripeTransientError(StripeCallError):
    """The outcome is unknown: Stripe may have done what was asked. Before sending again, look
    for the object (`find_by_pending_id`)."""


class StripePermanentError(StripeCallError):
    """Stripe refused the request; nothing happened there. Sending it again would fail again."""


_PERMANENT = (
    stripe.CardError,
    stripe.InvalidRequestError,
    stripe.IdempotencyError,
    stripe.AuthenticationError,
    stripe.PermissionError,
)


def _classify(error: stripe.StripeError) -> StripeCallError:
    message = error.user_message or str(error) or type(error).__name__
    kind = StripePermanentError if isinstance(error, _PERMANENT) else StripeTransientError
    # Everything else (APIConnectionError for timeouts and dropped connections, APIError for
    # 5xx and 409, RateLimitError, error types newer than this code) is treated as unknown:
    # assuming "nothing happened" could pay a refund twice.
    return kind(message, code=error.code, http_status=error.http_status)


def metadata_of(obj: Any) -> dict[str, str]:
    """An object's metadata as a plain dict (SDK objects are not dicts)."""
    metadata = getattr(obj, "metadata", None)
    if metadata is None:
        return {}
    raw = metadata.to_dict() if hasattr(metadata, "to_dict") else dict(metadata)
    return {str(k): str(v) for k, v in raw.items()}


class ConnectedAccount:
    """Stripe as seen by one business: every request carries its `Stripe-Account`."""

    def __init__(self, client: stripe.StripeClient, account_id: str) -> None:
        self._client = client
        self.account_id = account_id

    def _options(self, idempotency_key: uuid.UUID | str | None = None) -> stripe.RequestOptions:
        options: stripe.RequestOptions = {"stripe_account": self.account_id}
        if idempotency_key is not None:
            options["idempotency_key"] = str(idempotency_key)
        return options

    @staticmethod
    async def _send(request: Callable[[], Awaitable[T]]) -> T:
        try:
            return await request()
        except stripe.StripeError as error:
            raise _classify(error) from error

    # Customers -------------------------------------------------------------------------------

    async def create_customer(
        self,
        *,
        pending_id: uuid.UUID,
        email: str | None = None,
        name: str | None = None,
        metadata: Mapping[str, str] | None = None,
    ) -> stripe.Customer:
        params: CustomerCreateParams = {
            "metadata": {**(metadata or {}), "pending_id": str(pending_id)}
        }
        if email:
            params["email"] = email
        if name:
            params["name"] = name
        return await self._send(
            lambda: self._client.v1.customers.create_async(params, self._options(pending_id))
        )

    # SetupIntents and payment methods --------------------------------------------------------

    async def create_setup_intent(
        self, *, pending_id: uuid.UUID, customer: str
    ) -> stripe.SetupIntent:
        """A SetupIntent for saving a card to `customer` for later, off-session payments; its
        `client_secret` goes to Stripe.js, so the card itself never reaches us. Which payment
        methods are offered is the connected account's setting (the SDK's API version has no
        `payment_method_types`)."""
        params: SetupIntentCreateParams = {
            "customer": customer,
            "usage": "off_session",
            "metadata": {"pending_id": str(pending_id)},
        }
        return await self._send(
            lambda: self._client.v1.setup_intents.create_async(params, self._options(pending_id))
        )

    async def retrieve_setup_intent(self, setup_intent_id: str) -> stripe.SetupIntent:
        return await self._send(
            lambda: self._client.v1.setup_intents.retrieve_async(
                setup_intent_id, None, self._options()
            )
        )

    async def list_setup_intents(self, *, customer: str) -> list[stripe.SetupIntent]:
        """The customer's SetupIntents, newest first."""
        return await self._list("setup_intents", {"customer": customer})

    async def attach_payment_method(
        self, payment_method: str, *, customer: str
    ) -> stripe.PaymentMethod:
        """Attach explicitly: a succeeded SetupIntent is not enough everywhere (localstripe
        leaves the PaymentMethod unattached). Attaching twice to the same customer is harmless,
        so Stripe's own per-request key is enough here."""
        return await self._send(
            lambda: self._client.v1.payment_methods.attach_async(
                payment_method, {"customer": customer}, self._options()
            )
        )

    async def detach_payment_method(self, payment_method: str) -> stripe.PaymentMethod:
        return await self._send(
            lambda: self._client.v1.payment_methods.detach_async(
                payment_method, None, self._options()
            )
        )

    async def list_payment_methods(self, *, customer: str) -> list[stripe.PaymentMethod]:
        """The customer's saved cards."""
        return await self._list("payment_methods", {"customer": customer, "type": "card"})

    # Payments and refunds ----------------------------------------------------------------------

    async def create_payment_intent(
        self,
        *,
        pending_id: uuid.UUID,
        amount: int,
        currency: str,
        customer: str | None = None,
        payment_method: str | None = None,
        confirm: bool = False,
    ) -> stripe.PaymentIntent:
        """Taking payments belongs to another subgraph; this exists for tests and demo data."""
        params: PaymentIntentCreateParams = {
            "amount": amount,
            "currency": currency.lower(),
            "metadata": {"pending_id": str(pending_id)},
        }
        if customer:
            params["customer"] = customer
        if payment_method:
            params["payment_method"] = payment_method
        if confirm:
            params["confirm"] = True
        return await self._send(
            lambda: self._client.v1.payment_intents.create_async(params, self._options(pending_id))
        )

    async def create_refund(
        self,
        *,
        pending_id: uuid.UUID,
        payment_intent: str,
        amount: int,
        reason: str | None = None,
    ) -> stripe.Refund:
        """Refund `amount` of a PaymentIntent. Stripe's `reason` parameter accepts three fixed
        values (and localstripe rejects it), so the staff's free text goes into metadata."""
        metadata = {"pending_id": str(pending_id)}
        if reason:
            metadata["reason"] = reason[:500]
        return await self._send(
            lambda: self._client.v1.refunds.create_async(
                {"payment_intent": payment_intent, "amount": amount, "metadata": metadata},
                self._options(pending_id),
            )
        )

    async def list_refunds(self, *, payment_intent: str) -> list[stripe.Refund]:
        """The PaymentIntent's refunds, newest first."""
        return await self._list("refunds", {"payment_intent": payment_intent})

    # Finding our own objects -----------------------------------------------------------------

    async def find_by_pending_id(
        self, resource: Searchable, pending_id: uuid.UUID, filters: Mapping[str, str]
    ) -> Any | None:
        """The object created for `pending_id`, if Stripe has it: lists `resource` narrowed by
        `filters` (`payment_intent` for refunds, `customer` for SetupIntents, `email` for
        customers) and matches `metadata.pending_id`.

        This is the first step of every retry after a transient error; sending again with the
        same key is only right when this finds nothing (Stripe would replay its stored answer,
        but localstripe ignores keys and would create a second object)."""
        wanted = str(pending_id)
        found: Any | None = None

        def match(page: list[Any]) -> bool:
            nonlocal found
            for obj in page:
                if metadata_of(obj).get("pending_id") == wanted:
                    found = obj
                    return True
            return False

        await self._list(resource, dict(filters), stop=match)
        return found

    async def _list(
        self,
        resource: str,
        filters: dict[str, str],
        stop: Callable[[list[Any]], bool] | None = None,
    ) -> list[Any]:
        service = getattr(self._client.v1, resource)
        collected: list[Any] = []
        starting_after: str | None = None
        for _ in range(MAX_PAGES):
            params: dict[str, Any] = {**filters, "limit": PAGE_SIZE}
            if starting_after is not None:
                params["starting_after"] = starting_after
            page = await self._send(partial(service.list_async, params, self._options()))
            items = _narrow(list(page.data), filters)
            collected.extend(items)
            if (stop is not None and stop(items)) or not page.has_more or not page.data:
                break
            starting_after = page.data[-1].id
        return collected


def _narrow(items: list[Any], filters: Mapping[str, str]) -> list[Any]:
    """Keep what matches `customer` when that filter was asked for. Stripe filters on its side;
    doing it again costs nothing and keeps a wider answer (a test double) from leaking another
    customer's SetupIntents into a match."""
    customer = filters.get("customer")
    if customer is None:
        return items
    return [item for item in items if getattr(item, "customer", None) == customer]


class _HTTPXClient(stripe.HTTPXClient):
    """The SDK's httpx client, handing the encoded form to httpx as `content`: stripe 16.1
    passes it as `data=<str>`, which httpx 0.28 deprecates (a warning on every request)."""

    def _get_request_args_kwargs(
        self, method: str, url: str, headers: Mapping[str, str], post_data: Any
    ) -> list[Any]:
        args, kwargs = super()._get_request_args_kwargs(method, url, headers, post_data)
        if isinstance(kwargs.get("data"), str | bytes):
            kwargs["content"] = kwargs.pop("data")
        elif not kwargs.get("data"):
            kwargs.pop("data", None)
        return [args, kwargs]


class StripeGateway:
    """The process's Stripe client (one HTTP connection pool). Build it once with
    `from_settings`, close it with `aclose()`."""

    def __init__(
        self,
        api_key: str,
        *,
        api_base: str = "",
        timeout_s: float = 8.0,
        http_client: stripe.HTTPClient | None = None,
    ) -> None:
        self.timeout_s = timeout_s
        self._http: stripe.HTTPClient | None = None
        self._client: stripe.StripeClient | None = None
        if not api_key:
            return
        self._http = http_client or _HTTPXClient(timeout=timeout_s)
        self._client = stripe.StripeClient(
            api_key,
            base_addresses={"api": api_base} if api_base else None,
            http_client=self._http,
            # Retries are ours (list and match first, then resend): the SDK's own would resend
            # blindly after a lost response.
            max_network_retries=0,
        )

    @classmethod
    def from_settings(
        cls, settings: Settings, http_client: stripe.HTTPClient | None = None
    ) -> StripeGateway:
        return cls(
            settings.stripe_api_key,
            api_base=settings.stripe_api_base,
            timeout_s=settings.stripe_timeout_s,
            http_client=http_client,
        )

    @property
    def configured(self) -> bool:
        return self._client is not None

    def for_account(self, stripe_account_id: str | None) -> ConnectedAccount:
        """The business's connected account; `StripeUnavailable` when payments are off."""
        if self._client is None:
            raise StripeUnavailable("Payments are not configured on this server.")
        if not stripe_account_id:
            raise StripeUnavailable("This business has not connected a Stripe account.")
        return ConnectedAccount(self._client, stripe_account_id)

    async def aclose(self) -> None:
        if self._http is not None:
            await self._http.close_async()  # type: ignore[no-untyped-call]
            self._http = None
            self._client = None
