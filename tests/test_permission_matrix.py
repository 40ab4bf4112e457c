"""The permission matrix, generated from the schema: every Query and Mutation field by owner,
staff, customer and additional user, in their own business and another one, plus a caller
without a token.

Who may call a field is read from its one declaration (`schema/permissions.py`); a root field
without one fails here. Arguments are built from the schema's types, ids pointing at the
calling role's own seeded rows (a member's own account) or at the same rows of the other
business; `OVERRIDES` covers what the types cannot say. Each field runs in a fresh copy of
the seeded databases, so mutations of one field never disturb another's.

Expected, per cell: a role outside the declaration gets FORBIDDEN (no token: UNAUTHENTICATED);
an allowed role succeeds on its own rows (or gets the business-rule code `OVERRIDES` names) and
gets NOT_FOUND (null, a null entity, or `UserError{code: NOT_FOUND}`) on the other business's.
No answer ever contains an id of the other business that the request did not send, and the
other business's rows are unchanged afterwards (public fields aside: a sign-up adds rows).
"""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import orjson
import pytest
from graphql import (
    GraphQLEnumType,
    GraphQLField,
    GraphQLInputObjectType,
    GraphQLInputType,
    GraphQLList,
    GraphQLNonNull,
    GraphQLObjectType,
    GraphQLScalarType,
    get_named_type,
    is_list_type,
)

from schema.build import schema
from schema.permissions import FEDERATION_FIELDS, declared_permission, root_fields
from server.auth import Role
from tests import database as testdb
from tests import factories
from tests.conftest import Api, serving, settings_for, token_service
from tests.permission_world import ROLES, BusinessWorld, business_world

GRAPHQL_SCHEMA = schema._schema
FIELDS = root_fields(GRAPHQL_SCHEMA)

# An `id` argument (or input field) names the field's own object, found by its name's start.
KIND_BY_FIELD_PREFIX = (
    ("additionalUser", "additionalUser"),
    ("participant", "participant"),
    ("paymentMethod", "paymentMethod"),
    ("customer", "customer"),
    ("person", "customer"),
    ("people", "customer"),
    ("booking", "booking"),
    ("appointment", "appointment"),
    ("pass", "pass"),
    ("video", "video"),
    ("subscription", "subscription"),
    ("questionnaire", "response"),
    ("note", "note"),
    ("job", "job"),
    ("memberMessages", "message"),
    ("campaignAudience", "audience"),
)
KIND_BY_ARGUMENT = {
    "customerId": "customer",
    "participantId": "participant",
    "sessionId": "session",
    "toSessionId": "session",
    "toCustomerId": "customer2",
    "serviceId": "service",
    "facilitatorId": "facilitator",
    "passProductId": "passProduct",
    "videoId": "videoProduct",
    "questionnaireId": "questionnaire",
    "responseId": "response",
    "source": "customer2",
    "target": "customer",
    "audienceId": "audience",
}
# Scalars whose name says more than their type.
SCALAR_BY_NAME: dict[str, Any] = {
    "password": "Correct-Horse-Battery-77",
    "newPassword": "Correct-Horse-Battery-78",
    "currentPassword": "Not-The-Password-99",
    "answers": {"injuries": "None", "consent": True},
    "wording": "Yes, send me news.",
}
# Nullable arguments are left out unless named here (ids are always given).
NULLABLE_GIVEN = {
    "customerId",
    "toSessionId",
    "participantId",
    "manualAmount",
    "firstName",
    "lastName",
}


@dataclass(frozen=True)
class Override:
    """What the schema's types cannot say about one field."""

    arguments: dict[str, Any] | None = None  # literal values, merged over the built ones
    kinds: dict[str, str] | None = None  # which seeded row an id argument names
    own: str = "ALLOWED"  # the expected outcome for an allowed role on its own rows
    # On the other business's: NOT_FOUND, or for public fields the same as on its own.
    other: str | None = None


SENT_TO_STRIPE = "USER_ERROR:PAYMENT_PROVIDER_UNAVAILABLE"  # no Stripe key in this test
OVERRIDES: dict[str, Override] = {
    "paymentMethodSetupStart": Override(own=SENT_TO_STRIPE),
    "paymentMethodSetupComplete": Override(
        arguments={"setupIntentId": "seti_matrix"}, own=SENT_TO_STRIPE
    ),
    "paymentMethodRemove": Override(own=SENT_TO_STRIPE),
    # Without payments the answer is the same whether the booking exists or not.
    "bookingRefund": Override(own=SENT_TO_STRIPE, other=SENT_TO_STRIPE),
    "paymentMethodSetDefault": Override(own=SENT_TO_STRIPE),
    "customerMerge": Override(arguments={"dryRun": True}),
    # Public: the same answers in either business, whoever asks.
    "memberLogIn": Override(own="USER_ERROR:INVALID_CREDENTIALS"),
    "memberResetPassword": Override(own="USER_ERROR:INVALID"),
    # Seeded members have no password: the current one given is wrong.
    "memberChangePassword": Override(own="USER_ERROR:INVALID_CREDENTIALS"),
    "personDelete": Override(kinds={"id": "customer2"}),  # the first customer has history
    "customerActivate": Override(own="USER_ERROR:INVALID_STATE"),  # already active
    "subscriptionResume": Override(own="USER_ERROR:INVALID_STATE"),  # already active
    "peopleActivate": Override(own="USER_ERROR:INVALID_STATE"),  # already active
    "peopleDelete": Override(kinds={"ids": "customer2"}),
    # Moving to the session it is on already: refused after the booking was found.
    "bookingTransfer": Override(own="USER_ERROR:INVALID"),
    # The selected person is not in the role's audience yet (its own customer already is).
    "campaignAudienceAdd": Override(kinds={"ids": "customer2"}),
    # Selected ids are looked up when the job runs: the call queues a job in the caller's
    # business whose item for each id of the other business fails with "not found" (see
    # tests/test_messaging.py). Here the answer names none of them and their rows stay unchanged.
    "peopleEmail": Override(other="ALLOWED"),
    "peopleMessage": Override(other="ALLOWED"),
}


def _kind_for_id(field_name: str) -> str:
    for prefix, kind in KIND_BY_FIELD_PREFIX:
        if field_name.startswith(prefix):
            return kind
    raise AssertionError(f"add {field_name!r} to KIND_BY_FIELD_PREFIX")


class Arguments:
    """Builds minimal valid arguments from the schema's types."""

    def __init__(self, field_name: str, ids: dict[str, str], hours_ahead: int) -> None:
        self.field_name = field_name
        self.ids = ids
        self.when = datetime.now(UTC).replace(microsecond=0) + timedelta(days=12, hours=hours_ahead)
        override = OVERRIDES.get(field_name)
        self.kinds = override.kinds or {} if override else {}
        self.used_ids = False

    def id_for(self, name: str) -> str:
        if name == "idempotencyKey":
            return str(uuid.uuid4())
        if name in self.kinds:
            kind = self.kinds[name]
        elif name in ("id", "ids"):
            kind = _kind_for_id(self.field_name)
        else:
            kind = KIND_BY_ARGUMENT[name]
        self.used_ids = True
        return self.ids[kind]

    def value(self, name: str, type_: GraphQLInputType) -> Any:
        nullable = not isinstance(type_, GraphQLNonNull)
        inner = type_.of_type if isinstance(type_, GraphQLNonNull) else type_
        if nullable and name not in NULLABLE_GIVEN and not (name == "ids" and is_list_type(inner)):
            return None
        if isinstance(inner, GraphQLList):
            return [self.value(name, inner.of_type)]
        if isinstance(inner, GraphQLInputObjectType):
            built = {n: self.value(n, f.type) for n, f in inner.fields.items()}
            return {n: v for n, v in built.items() if v is not None}
        if isinstance(inner, GraphQLEnumType):
            return next(iter(inner.values))
        assert isinstance(inner, GraphQLScalarType), inner
        return self.scalar(name, inner.name)

    def scalar(self, name: str, type_name: str) -> Any:
        if type_name == "ID":
            return self.id_for(name)
        if name == "business":  # public fields name their business
            self.used_ids = True
            return self.ids["business"]
        if name in SCALAR_BY_NAME:
            return SCALAR_BY_NAME[name]
        if type_name == "Int":
            return 1
        if type_name == "Boolean":
            return False
        if type_name == "DateTime":
            return self.when.isoformat()
        if type_name == "Date":
            return self.when.date().isoformat()
        if name == "email":
            return f"matrix-{uuid.uuid4().hex[:8]}@example.com"
        if name == "name":  # unique in the business, as an audience's name must be
            return f"Matrix {uuid.uuid4().hex[:8]}"
        return "Matrix"

    def build(self, field: GraphQLField) -> dict[str, Any]:
        built = {name: self.value(name, arg.type) for name, arg in field.args.items()}
        return {name: value for name, value in built.items() if value is not None}


def _type_ref(type_: Any) -> str:
    if isinstance(type_, GraphQLNonNull):
        return f"{_type_ref(type_.of_type)}!"
    if isinstance(type_, GraphQLList):
        return f"[{_type_ref(type_.of_type)}]"
    return str(type_.name)


def _selection(type_: Any, nested: bool = True) -> str:
    named = get_named_type(type_)
    if not isinstance(named, GraphQLObjectType):
        return ""
    picked = []
    for name, child in named.fields.items():
        child_named = get_named_type(child.type)
        if nested and isinstance(child_named, GraphQLObjectType) and "errors" in child_named.fields:
            picked.append(name + _selection(child_named, nested=False))
        elif name == "edges":
            picked.append("edges { node { id } }")
        elif name == "errors":
            picked.append("errors { code field message }")
        elif isinstance(child_named, GraphQLScalarType | GraphQLEnumType) and not child.args:
            picked.append(name)
    return " { " + " ".join(picked or ["__typename"]) + " }"


ENTITIES = (
    "query ($r: [_Any!]!) { _entities(representations: $r) { __typename ... on Customer { id } } }"
)


def document(root: str, name: str, field: GraphQLField, arguments: dict[str, Any]) -> str:
    """The operation calling one root field with `arguments` as variables."""
    if name == "_entities":
        return ENTITIES
    if name == "_service":
        return "{ _service { sdl } }"
    variables = ", ".join(f"${a}: {_type_ref(field.args[a].type)}" for a in arguments)
    passed = ", ".join(f"{a}: ${a}" for a in arguments)
    header = f"({variables})" if variables else ""
    call = f"{name}({passed})" if passed else name
    return f"{root.lower()} {header} {{ {call}{_selection(field.type)} }}"


def outcome(body: dict[str, Any], name: str, is_mutation: bool) -> str:
    """ALLOWED, UNAUTHENTICATED, FORBIDDEN, NOT_FOUND, or what else came back."""
    codes = [e.get("extensions", {}).get("code") for e in body.get("errors") or []]
    for denied in ("UNAUTHENTICATED", "FORBIDDEN"):
        if denied in codes:
            return denied
    if codes:
        return f"ERROR:{codes}"
    value = (body.get("data") or {}).get(name)
    if value is None or value == [None]:
        return "NOT_FOUND"
    if is_mutation:
        errors = sorted(set(_user_error_codes(value)))
        if errors == ["NOT_FOUND"]:
            return "NOT_FOUND"
        if errors:
            return "USER_ERROR:" + ",".join(errors)
    return "ALLOWED"


def _user_error_codes(value: Any) -> list[str]:
    """Every `UserError` code in a payload, per-item results included."""
    if isinstance(value, list):
        return [code for item in value for code in _user_error_codes(item)]
    if not isinstance(value, dict):
        return []
    codes = [e["code"] for e in value.get("errors") or []]
    return codes + [c for k, v in value.items() if k != "errors" for c in _user_error_codes(v)]


def expected(name: str, role: Role | None, other_business: bool) -> str:
    permission = declared_permission(name, _field(name))
    assert permission is not None
    override = OVERRIDES.get(name, Override())
    if other_business and (permission.public or role in permission.roles):
        return override.other or (override.own if permission.public else "NOT_FOUND")
    if permission.public:
        return override.own
    if role is None:
        return "UNAUTHENTICATED"
    if role not in permission.roles:
        return "FORBIDDEN"
    return override.own


def _field(name: str) -> GraphQLField:
    return next(field for (_, field_name), field in FIELDS.items() if field_name == name)


def test_every_root_field_declares_who_may_call_it() -> None:
    undeclared = [
        f"{root}.{name}"
        for (root, name), field in FIELDS.items()
        if declared_permission(name, field) is None
    ]
    assert undeclared == []
    # Every declaration allows someone, and the field's description says who.
    for (_, name), field in FIELDS.items():
        permission = declared_permission(name, field)
        assert permission is not None and (permission.public or permission.roles), name
        if name not in FEDERATION_FIELDS:
            assert permission.phrase in (field.description or ""), name


@dataclass(frozen=True)
class World:
    template: str
    mine: BusinessWorld
    other: BusinessWorld


@pytest.fixture(scope="module")
async def world(pg_server: testdb.DatabaseServer, template: str) -> AsyncIterator[World]:
    name = await testdb.clone(pg_server, template)
    urls = testdb.urls_for(pg_server, name)
    async with factories.Owner(urls.owner_url) as owner:
        mine = await business_world(owner, "matrix-mine")
        other = await business_world(owner, "matrix-other")
    try:
        yield World(name, mine, other)
    finally:
        await testdb.drop(pg_server, name)


DIGEST_TABLES = (
    "customers",
    "participants",
    "additional_users",
    "bookings",
    "appointments",
    "customer_passes",
    "video_purchases",
    "customer_subscriptions",
    "questionnaire_responses",
    "notes",
    "payment_methods",
    "jobs",
    "account_history",
    "messages",
    "campaign_audiences",
    "campaign_audience_members",
)


async def _digest(owner: factories.Owner, business_id: uuid.UUID) -> dict[str, str | None]:
    digests = {}
    for table in DIGEST_TABLES:
        digests[table] = await owner.c.fetchval(
            f"SELECT md5(string_agg(t::text, ',' ORDER BY t.id)) FROM {table} t "
            "WHERE business_id = $1",
            business_id,
        )
    return digests


@dataclass(frozen=True)
class Cell:
    role: str
    business: str
    expected: str
    actual: str
    leaked: frozenset[str]


def _variables(
    name: str, field: GraphQLField, ids: dict[str, str], hours_ahead: int
) -> tuple[dict[str, Any], bool]:
    """The call's variables and whether they name any seeded row."""
    if name == "_entities":
        return {"r": [{"__typename": "Customer", "id": ids["customer"]}]}, True
    arguments = Arguments(name, ids, hours_ahead)
    built = arguments.build(field)
    override = OVERRIDES.get(name)
    return {**built, **(override.arguments or {} if override else {})}, arguments.used_ids


async def _cells(api: Api, world: World, root: str, name: str) -> list[Cell]:
    field = FIELDS[(root, name)]
    other_ids = world.other.all_ids()
    cells = []
    for index, role in enumerate((*ROLES, None)):
        token = (
            api.token(world.mine.business.id, role, world.mine.slots[role].subject)
            if role is not None
            else None
        )
        for business in (world.mine, world.other):
            slot = business.slots[role or Role.OWNER]
            ids = {**business.catalog, **slot.ids}
            # Each role books its own hour: the slots share a facilitator.
            variables, names_rows = _variables(name, field, ids, hours_ahead=3 * index)
            if business is world.other and (role is None or not names_rows):
                continue  # nothing of the other business to name: the leak check covers it
            body = await api.post(document(root, name, field, variables), variables, token)
            sent = orjson.dumps(variables).decode()
            answer = orjson.dumps(body).decode()
            leaked = frozenset(i for i in other_ids if i in answer and i not in sent)
            cells.append(
                Cell(
                    role=role.value if role else "anonymous",
                    business="other" if business is world.other else "own",
                    expected=expected(name, role, business is world.other),
                    actual=outcome(body, name, root == "Mutation"),
                    leaked=leaked,
                )
            )
    return cells


@pytest.mark.parametrize(("root", "name"), list(FIELDS), ids=[f"{r}.{n}" for r, n in FIELDS])
async def test_permission_matrix(
    root: str, name: str, world: World, pg_server: testdb.DatabaseServer
) -> None:
    copy = await testdb.clone(pg_server, world.template)
    urls = testdb.urls_for(pg_server, copy)
    settings = settings_for(urls, pool_size=2, worker_enabled=False)
    try:
        async with factories.Owner(urls.owner_url) as owner:
            before = await _digest(owner, world.other.business.id)
            async with serving(settings, token_service(settings)) as api:
                cells = await _cells(api, world, root, name)
            after = await _digest(owner, world.other.business.id)
    finally:
        await testdb.drop(pg_server, copy)
    wrong = [
        f"{c.role} on {c.business} rows: expected {c.expected}, got {c.actual}"
        + (f", leaked {sorted(c.leaked)}" if c.leaked else "")
        for c in cells
        if c.actual != c.expected or c.leaked
    ]
    assert wrong == []
    permission = declared_permission(name, FIELDS[(root, name)])
    if permission is not None and not permission.public:  # a public sign-up adds rows
        assert after == before, "the other business's rows changed"
    MATRIX_SIZE[f"{root}.{name}"] = len(cells)


MATRIX_SIZE: dict[str, int] = {}
