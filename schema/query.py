"""The query root."""

from __future__ import annotations

import uuid
from enum import Enum
from typing import Annotated, Any

import strawberry
from strawberry.types import Info

from resolvers.customers import SortDirection, customer_list_signature, customer_page
from resolvers.directory import directory_page, directory_request
from schema.campaigns import CampaignQueries
from schema.errors import ApiError, ErrorCode
from schema.jobs import JobQueries
from schema.member import MemberQueries
from schema.pagination import Connection, build_connection, page_request
from schema.payment_methods import PaymentMethodQueries
from schema.people import (
    Customer,
    Person,
    PersonStatus,
    _visible_customer,
    people_from_directory_rows,
)
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


@strawberry.enum(description="Which people the customer list shows.")
class DirectoryCategory(Enum):
    EVERYONE = strawberry.enum_value(
        "EVERYONE",
        description="Customers, participants (not the customers themselves) and additional users.",
    )
    PRIMARY = strawberry.enum_value("PRIMARY", description="Customers with history.")
    LEAD = strawberry.enum_value(
        "LEAD", description="Customers without history created by staff or another service."
    )
    APP_USER = strawberry.enum_value(
        "APP_USER", description="Customers without history who signed up in the member portal."
    )
    PARTICIPANT = strawberry.enum_value(
        "PARTICIPANT", description="Participants, plus customers who take part themselves."
    )
    ADDITIONAL_USER = strawberry.enum_value("ADDITIONAL_USER", description="Additional users.")


SearchArg = Annotated[
    str | None,
    strawberry.argument(
        description="As you type: case- and accent-insensitive over first, last and full name, "
        "email, mobile digits and number. Terms of 1 or 2 characters match the start of the first "
        'or last name; 3 or more also match anywhere ("smi" finds Smith and Goldsmith). '
        "Digits (spaces and + allowed) match mobile numbers and the person's number; a UUID "
        "finds that person. At most 200 characters."
    ),
]


@strawberry.type(description="Reads of the customer subgraph.")
class Query(JobQueries, PaymentMethodQueries, MemberQueries, CampaignQueries):
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
        description="The customer list: customers, participants and additional users of the "
        "viewer's business in the Active or Archived tab, filtered by category, searched as you "
        "type, sorted by last name, then first name (case and accents ignored), then id. A "
        "customer who takes part themselves is one row (categories e.g. [PRIMARY, "
        "PARTICIPANT]). Staff only.",
        permission_classes=[IsStaff],
    )
    async def people(
        self,
        info: Info[Context, Any],
        status: Annotated[
            PersonStatus, strawberry.argument(description="Which tab.")
        ] = PersonStatus.ACTIVE,
        category: Annotated[
            DirectoryCategory, strawberry.argument(description="Which people.")
        ] = DirectoryCategory.EVERYONE,
        search: SearchArg = None,
        order: Annotated[
            SortOrder, strawberry.argument(description="Sort direction.")
        ] = SortOrder.ASC,
        first: PageArg = None,
        after: AfterArg = None,
        last: LastArg = None,
        before: BeforeArg = None,
    ) -> Connection[Person]:
        request = directory_request(
            status.name,
            category.name,
            search,
            descending=order is SortOrder.DESC,
            first=first,
            after=after,
            last=last,
            before=before,
        )
        rows, total = await directory_page(info.context.reader, request)
        people = await people_from_directory_rows(info, rows)
        nodes = [
            (person, [row.name_key, str(row.person_id)])
            for person, row in zip(people, rows, strict=True)
            if person is not None
        ]
        return build_connection(nodes, request.page, request.signature, total)

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
