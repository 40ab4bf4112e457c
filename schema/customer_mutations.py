"""Mutations on people from the customer list: create, edit contact, archive, activate and
delete, for one person or a selection. Staff only."""

from __future__ import annotations

import functools
import uuid
from collections.abc import Awaitable
from dataclasses import dataclass
from typing import Annotated, Any, Protocol

import strawberry
from sqlalchemy.ext.asyncio import AsyncConnection
from strawberry.types import Info

from resolvers import account_emails, customer_contact, lifecycle
from resolvers.account_history import Actor
from resolvers.directory import parse_search
from resolvers.jobs import job_by_id
from resolvers.mutations import business_country, run
from resolvers.selection import DirectoryFilter, selected_ids
from schema.errors import ApiError, ErrorCode, UserError, UserFacingError, user_error
from schema.jobs import Job
from schema.people import Customer, PersonKind, PersonStatus, _customer_by_id
from schema.permissions import IsStaff
from schema.query import DirectoryCategory
from server.context import Context
from server.jobs import people_lifecycle


@strawberry.input(description="A new customer, as the Create Customer form sends it.")
class CustomerCreateInput:
    first_name: str = strawberry.field(description="First name (1–100 characters).")
    last_name: str = strawberry.field(description="Last name (1–100 characters).")
    email: str = strawberry.field(
        description="Login email; unique in the business across customers and additional "
        "users, ignoring case, archived people included."
    )
    mobile: str | None = strawberry.field(
        default=None,
        description="Mobile with country code; a local number is read in the business's country. "
        "Stored as E.164.",
    )
    password: str | None = strawberry.field(
        default=None,
        description="Optional. 8–128 characters with an uppercase and a lowercase letter, a "
        "number and a special character, not a common password. Without one the customer is "
        "emailed a link to set it.",
    )


@strawberry.input(description="Changes to a customer's contact details (Edit Contact).")
class CustomerUpdateInput:
    id: strawberry.ID = strawberry.field(description="The customer's id.")
    version: int = strawberry.field(
        description="The `version` the form was opened with; an edit made against a stale "
        "version is refused with STALE."
    )
    first_name: str | None = strawberry.field(
        default=None, description="New first name; null keeps it."
    )
    last_name: str | None = strawberry.field(
        default=None, description="New last name; null keeps it."
    )
    email: str | None = strawberry.field(
        default=None, description="New login email; null keeps it."
    )
    mobile: str | None = strawberry.field(
        default=None, description="New mobile; null keeps it, an empty string removes it."
    )
    password: str | None = strawberry.field(
        default=None, description="New password; null or blank keeps the old one."
    )


@strawberry.type(description="The result of a mutation on one customer.")
class CustomerPayload:
    customer: Customer | None = strawberry.field(description="The customer after the change.")
    errors: list[UserError] = strawberry.field(description="Empty on success.")


@strawberry.type(description="What an archived customer still has running.")
class ArchiveWarnings:
    upcoming_bookings: int = strawberry.field(description="Bookings for sessions yet to start.")
    active_subscriptions: int = strawberry.field(description="Subscriptions still active.")


@strawberry.type(description="The result of archiving a customer.")
class CustomerArchivePayload:
    customer: Customer | None = strawberry.field(description="The customer after the change.")
    warnings: ArchiveWarnings | None = strawberry.field(
        description="Upcoming bookings and active subscriptions archiving does not stop."
    )
    errors: list[UserError] = strawberry.field(description="Empty on success.")


@strawberry.type(description="The result of deleting a person.")
class PersonDeletePayload:
    deleted_id: strawberry.ID | None = strawberry.field(description="The id that was deleted.")
    kind: PersonKind | None = strawberry.field(description="What kind of person it was.")
    errors: list[UserError] = strawberry.field(description="Empty on success.")


@strawberry.type(description="The outcome for one person of a bulk action.")
class PersonActionResult:
    id: strawberry.ID = strawberry.field(description="The person's id, as selected.")
    ok: bool = strawberry.field(description="Whether the action was applied to this person.")
    errors: list[UserError] = strawberry.field(description="Why not, when it was not.")
    warnings: ArchiveWarnings | None = strawberry.field(
        description="For archives: what the customer still has running."
    )


@strawberry.type(
    description="One result per selected person (repeated ids counted once) for a selection of "
    "ids, or the background job that works through a filter selection."
)
class BulkActionPayload:
    results: list[PersonActionResult] = strawberry.field(
        description="For a selection of ids: one per person, in selection order."
    )
    job: Job | None = strawberry.field(
        description="For a filter selection: the job doing the work, with progress and a "
        "result per person."
    )
    errors: list[UserError] = strawberry.field(
        description="Problems with the request as a whole (e.g. an empty selection)."
    )


@strawberry.input(description="Everyone the customer list shows for a tab, category and search.")
class PeopleFilterInput:
    status: PersonStatus = strawberry.field(default=PersonStatus.ACTIVE, description="Which tab.")
    category: DirectoryCategory = strawberry.field(
        default=DirectoryCategory.EVERYONE, description="Which people."
    )
    search: str | None = strawberry.field(
        default=None, description="The search box's text, as for `people(search:)`."
    )


@strawberry.input(
    description="Who a bulk action is for: up to 100 ids, or everyone matching a filter (run "
    "as a background job; a whole tab of 50,000 works). Exactly one of the two."
)
class PeopleSelectionInput:
    ids: list[strawberry.ID] | None = strawberry.field(
        default=None, description="Up to 100 person ids; repeats are counted once."
    )
    filter: PeopleFilterInput | None = strawberry.field(
        default=None, description="Everyone the customer list shows for this filter."
    )


IdArg = Annotated[strawberry.ID, strawberry.argument(description="The person's id.")]
SelectionArg = Annotated[
    PeopleSelectionInput, strawberry.argument(description="Who the action is for.")
]


@dataclass(frozen=True)
class Selected:
    """A checked selection: distinct ids in order, or a directory filter with its search as
    typed."""

    ids: list[uuid.UUID] | None
    filter: DirectoryFilter | None
    raw_search: str | None


def parse_selection(selection: PeopleSelectionInput) -> Selected:
    """Exactly one of ids (at most 100, valid UUIDs; top-level errors otherwise) and filter."""
    if (selection.ids is None) == (selection.filter is None):
        raise ApiError(
            ErrorCode.INVALID_ARGUMENT,
            "Select people either by `ids` or by `filter`, not both.",
            "selection",
        )
    if selection.ids is not None:
        return Selected(selected_ids([str(i) for i in selection.ids], "selection.ids"), None, None)
    assert selection.filter is not None
    chosen = DirectoryFilter(
        status=selection.filter.status.name,
        category=selection.filter.category.name,
        search=parse_search(selection.filter.search),
    )
    return Selected(None, chosen, selection.filter.search)


def empty_selection(selected: Selected) -> list[UserError]:
    if selected.ids is not None and not selected.ids:
        return [user_error(ErrorCode.REQUIRED, "selection.ids", "Select at least one person.")]
    return []


def _parse(value: str, field: str) -> uuid.UUID | None:
    try:
        return uuid.UUID(str(value))
    except ValueError:
        return None


def _warnings(found: lifecycle.ArchiveWarnings | None) -> ArchiveWarnings | None:
    if found is None:
        return None
    return ArchiveWarnings(
        upcoming_bookings=found.upcoming_bookings, active_subscriptions=found.active_subscriptions
    )


async def _bulk(
    info: Info[Context, Any],
    ids: list[strawberry.ID],
    action: Any,
    *,
    single: bool = False,
) -> BulkActionPayload:
    """Apply `action` to each selected person in one transaction; with `single`, errors name the
    `id` argument rather than a list position."""
    if single:
        parsed = _parse(ids[0], "id")
        if parsed is None:
            raise ApiError(ErrorCode.INVALID_ARGUMENT, "This id is not a valid UUID.", "id")
        people = [parsed]
    else:
        people = selected_ids([str(i) for i in ids], "selection.ids")
    # Errors name each person's first position in the list as sent.
    position: dict[uuid.UUID, int] = {}
    for index, raw in enumerate(ids):
        parsed_id = _parse(raw, "ids")
        if parsed_id is not None:
            position.setdefault(parsed_id, index)
    if not people:
        return BulkActionPayload(
            results=[],
            job=None,
            errors=[user_error(ErrorCode.REQUIRED, "selection.ids", "Select at least one person.")],
        )
    viewer = info.context.viewer
    assert viewer is not None

    async def work(conn: AsyncConnection, actor: Actor) -> dict[uuid.UUID, lifecycle.PersonResult]:
        outcomes: dict[uuid.UUID, lifecycle.PersonResult] = {}
        # One savepoint per person so one refusal does not undo the others; ascending id order so
        # two overlapping bulk actions lock in the same order.
        for person_id in sorted(people):
            outcome = lifecycle.PersonResult(person_id)
            try:
                async with conn.begin_nested():
                    outcome.warnings = await action(
                        conn,
                        actor,
                        viewer.business_id,
                        person_id,
                        "id" if single else f"selection.ids.{position[person_id]}",
                    )
            except UserFacingError as refused:
                outcome.errors = refused.errors
            outcomes[person_id] = outcome
        return outcomes

    outcomes, errors = await run(info.context, work)
    results = [
        PersonActionResult(
            id=strawberry.ID(str(person_id)),
            ok=not outcome.errors,
            errors=outcome.errors,
            warnings=_warnings(outcome.warnings)
            if isinstance(outcome.warnings, lifecycle.ArchiveWarnings)
            else None,
        )
        for person_id in people
        for outcome in [(outcomes or {}).get(person_id, lifecycle.PersonResult(person_id))]
    ]
    return BulkActionPayload(results=results, job=None, errors=errors)


@strawberry.type(description="Changes to the customer subgraph.")
class CustomerMutations:
    @strawberry.mutation(
        description="Create a customer (a lead until they have history). They are emailed their "
        "portal login; without a password, with a single-use link to set one. Staff only.",
        permission_classes=[IsStaff],
    )
    async def customer_create(
        self, info: Info[Context, Any], input: CustomerCreateInput
    ) -> CustomerPayload:
        viewer = info.context.viewer
        assert viewer is not None
        new = customer_contact.NewCustomer(
            input.first_name, input.last_name, input.email, input.mobile, input.password
        )

        links = account_emails.links_for(info.context.settings)
        if not input.password and links is None:
            return CustomerPayload(
                customer=None,
                errors=[
                    user_error(
                        ErrorCode.INVALID,
                        "input.password",
                        "Password links cannot be emailed from this server: type a password "
                        "for the customer.",
                    )
                ],
            )

        async def work(conn: AsyncConnection, actor: Actor) -> uuid.UUID:
            country = await business_country(conn)
            customer_id = await customer_contact.create_customer(
                conn, actor, viewer.business_id, country, new
            )
            await account_emails.queue_welcome(
                conn,
                business_id=viewer.business_id,
                customer_id=customer_id,
                password_was_typed=bool(input.password),
                links=links,
                staff_id=viewer.subject_id,
            )
            return customer_id

        created, errors = await run(
            info.context, work, on_unique_violation=customer_contact.duplicate_email("input.email")
        )
        customer = await _customer_by_id(info, created) if created else None
        return CustomerPayload(customer=customer, errors=errors)

    @strawberry.mutation(
        description="Edit a customer's contact details. Fields left null keep their value; a "
        "blank password keeps the old one; a stale `version` is refused (STALE). Staff only.",
        permission_classes=[IsStaff],
    )
    async def customer_update(
        self, info: Info[Context, Any], input: CustomerUpdateInput
    ) -> CustomerPayload:
        viewer = info.context.viewer
        assert viewer is not None
        customer_id = _parse(input.id, "input.id")
        if customer_id is None:
            raise ApiError(ErrorCode.INVALID_ARGUMENT, "This id is not a valid UUID.", "input.id")
        change = customer_contact.ContactChange(
            customer_id,
            input.version,
            input.first_name,
            input.last_name,
            input.email,
            input.mobile,
            input.password,
        )

        async def work(conn: AsyncConnection, actor: Actor) -> uuid.UUID:
            country = await business_country(conn)
            return await customer_contact.update_contact(
                conn, actor, viewer.business_id, country, change
            )

        updated, errors = await run(
            info.context, work, on_unique_violation=customer_contact.duplicate_email("input.email")
        )
        customer = await _customer_by_id(info, updated) if updated else None
        return CustomerPayload(customer=customer, errors=errors)

    @strawberry.mutation(
        description="Archive a customer: they leave the Active tab and cannot log in; nothing "
        "else changes. The payload warns about upcoming bookings and active subscriptions. "
        "Staff only.",
        permission_classes=[IsStaff],
    )
    async def customer_archive(self, info: Info[Context, Any], id: IdArg) -> CustomerArchivePayload:
        result = await _bulk(info, [id], lifecycle.archive, single=True)
        customer, errors, warnings = await _single(info, result)
        return CustomerArchivePayload(customer=customer, warnings=warnings, errors=errors)

    @strawberry.mutation(
        description="Bring an archived (not merged) customer back to the Active tab. Staff only.",
        permission_classes=[IsStaff],
    )
    async def customer_activate(self, info: Info[Context, Any], id: IdArg) -> CustomerPayload:
        result = await _bulk(info, [id], lifecycle.activate, single=True)
        customer, errors, _ = await _single(info, result)
        return CustomerPayload(customer=customer, errors=errors)

    @strawberry.mutation(
        description="Delete a person for good: an app user or additional user always (an "
        "additional user's history moves to their customer); a lead without additional users; "
        "a participant without upcoming bookings (their history is kept, unlinked). Anyone with "
        "history is refused with HAS_HISTORY: archive them instead. Staff only.",
        permission_classes=[IsStaff],
    )
    async def person_delete(self, info: Info[Context, Any], id: IdArg) -> PersonDeletePayload:
        kinds: dict[uuid.UUID, str] = {}

        async def delete(
            conn: AsyncConnection, actor: Actor, business: uuid.UUID, person: uuid.UUID, field: str
        ) -> None:
            kinds[person] = await lifecycle.delete_person(conn, actor, business, person, "id")

        result = await _bulk(info, [id], delete, single=True)
        errors = result.errors or (result.results[0].errors if result.results else [])
        if errors:
            return PersonDeletePayload(deleted_id=None, kind=None, errors=errors)
        person_id = uuid.UUID(str(result.results[0].id))
        return PersonDeletePayload(
            deleted_id=strawberry.ID(str(person_id)), kind=PersonKind(kinds[person_id]), errors=[]
        )

    @strawberry.mutation(
        description="Archive each selected customer (same rules as customerArchive), one result "
        "per person. Staff only.",
        permission_classes=[IsStaff],
    )
    async def people_archive(
        self, info: Info[Context, Any], selection: SelectionArg
    ) -> BulkActionPayload:
        return await _selection(info, selection, "archive", lifecycle.archive)

    @strawberry.mutation(
        description="Activate each selected customer, one result per person. Staff only.",
        permission_classes=[IsStaff],
    )
    async def people_activate(
        self, info: Info[Context, Any], selection: SelectionArg
    ) -> BulkActionPayload:
        return await _selection(info, selection, "activate", lifecycle.activate)

    @strawberry.mutation(
        description="Delete each selected person (same rules as personDelete), one result per "
        "person. Staff only.",
        permission_classes=[IsStaff],
    )
    async def people_delete(
        self, info: Info[Context, Any], selection: SelectionArg
    ) -> BulkActionPayload:
        async def delete(
            conn: AsyncConnection, actor: Actor, business: uuid.UUID, person: uuid.UUID, field: str
        ) -> None:
            await lifecycle.delete_person(conn, actor, business, person, field)

        return await _selection(info, selection, "delete", delete)


class JobEnqueuer(Protocol):
    """Queues the job for a filter selection in the caller's transaction (the `enqueue_*`
    functions of server/jobs, their own options bound with `functools.partial`)."""

    def __call__(
        self,
        conn: AsyncConnection,
        *,
        business_id: uuid.UUID,
        selection: DirectoryFilter,
        raw_search: str | None,
        created_by_staff_id: uuid.UUID | None,
    ) -> Awaitable[uuid.UUID]: ...


async def selection_action(
    info: Info[Context, Any], selection: PeopleSelectionInput, apply: Any, enqueue: JobEnqueuer
) -> BulkActionPayload:
    """Ids are handled now with `apply`, one result each; a filter becomes a tracked background
    job that `enqueue` queues."""
    selected = parse_selection(selection)
    if selected.ids is not None:
        return await _bulk(info, selection.ids or [], apply)
    assert selected.filter is not None
    chosen = selected.filter
    viewer = info.context.viewer
    assert viewer is not None

    async def work(conn: AsyncConnection, actor: Actor) -> uuid.UUID:
        return await enqueue(
            conn,
            business_id=viewer.business_id,
            selection=chosen,
            raw_search=selected.raw_search,
            created_by_staff_id=viewer.subject_id if viewer.is_staff else None,
        )

    job_id, errors = await run(info.context, work)
    view = await job_by_id(info.context.reader, viewer.business_id, job_id) if job_id else None
    return BulkActionPayload(
        results=[], job=Job.from_view(view) if view is not None else None, errors=errors
    )


async def _selection(
    info: Info[Context, Any], selection: PeopleSelectionInput, action: str, apply: Any
) -> BulkActionPayload:
    """Archive, activate or delete a selection."""
    enqueue = functools.partial(people_lifecycle.enqueue_lifecycle, action=action)
    return await selection_action(info, selection, apply, enqueue)


async def _single(
    info: Info[Context, Any], result: BulkActionPayload
) -> tuple[Customer | None, list[UserError], ArchiveWarnings | None]:
    """A one-person bulk result: the customer re-read after the change, errors, warnings."""
    errors = result.errors or (result.results[0].errors if result.results else [])
    if errors:
        return None, errors, None
    outcome = result.results[0]
    return await _customer_by_id(info, uuid.UUID(str(outcome.id))), [], outcome.warnings
