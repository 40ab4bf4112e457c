"""The query root."""

from __future__ import annotations

import uuid
from enum import Enum
from typing import Annotated, Any

import strawberry
from strawberry.types import Info

from resolvers.customers import SortDirection, customer_list_signature, customer_page
from schema.errors import ApiError, ErrorCode
from schema.pagination import Connection, build_connection, page_request
from schema.people import Customer, PersonStatus, _visible_customer
from schema.permissions import IsAuthenticated, IsStaff
from server.context import Context


@strawberry.enum(description="Sort direction of a list.")
class SortOrder(Enum):
    ASC = strawberry.enum_value("ASC", description="A to Z.")
    DESC = strawberry.enum_value("DESC", description="Z to A.")


def parse_id(value: str, field: str) -> uuid.UUID:
    try:
        return uuid.UUID(str(value))
    except ValueError as error:
        raise ApiError(ErrorCode.INVALID_ARGUMENT, "This id is not a valid UUID.", field) from error


PageArg = Annotated[
    int | None,
    strawberry.argument(description="Page size from the start (default 20, at most 100)."),
]
AfterArg = Annotated[str | None, strawberry.argument(description="Cursor to page forward from.")]
LastArg = Annotated[
    int | None, strawberry.argument(description="Page size from the end (at most 100).")
]
BeforeArg = Annotated[str | None, strawberry.argument(description="Cursor to page backward from.")]


@strawberry.type(description="Reads of the customer subgraph.")
class Query:
    @strawberry.field(
        description="The business's customers in the Active or Archived tab, sorted by last "
        "name, then first name (case and accents ignored), then id. Staff only.",
        permission_classes=[IsStaff],
    )
    async def customers(
        self,
        info: Info[Context, Any],
        status: Annotated[
            PersonStatus, strawberry.argument(description="Which tab.")
        ] = PersonStatus.ACTIVE,
        order: Annotated[
            SortOrder, strawberry.argument(description="Sort direction.")
        ] = SortOrder.ASC,
        first: PageArg = None,
        after: AfterArg = None,
        last: LastArg = None,
        before: BeforeArg = None,
    ) -> Connection[Customer]:
        direction = SortDirection(order.name)
        signature = customer_list_signature(status.name, direction)
        request = page_request(signature, first, after, last, before, key_parsers=(str, uuid.UUID))
        rows, total = await customer_page(info.context.reader, status.name, direction, request)
        nodes = [(Customer.from_row(row), keys) for row, keys in rows]
        return build_connection(nodes, request, signature, total)

    @strawberry.field(
        description="One customer by id; null when there is none in the viewer's business or the "
        "viewer may not see it. Staff see every customer; a member sees only their own account.",
        permission_classes=[IsAuthenticated],
    )
    async def customer(
        self,
        info: Info[Context, Any],
        id: Annotated[strawberry.ID, strawberry.argument(description="The customer's UUID.")],
    ) -> Customer | None:
        return await _visible_customer(info, parse_id(id, "id"))
