"""`customerMerge`: merge a duplicate customer into another, or preview the merge (dry run)."""

from __future__ import annotations

import asyncio
from enum import Enum
from typing import Annotated, Any

import strawberry
from sqlalchemy.ext.asyncio import AsyncConnection
from strawberry.types import Info

from resolvers import merge
from resolvers.account_history import Actor
from resolvers.mutations import run
from schema.errors import UserError
from schema.people import Customer, _customer_by_id
from schema.permissions import IsStaff
from schema.query import parse_id
from server.context import Context


@strawberry.type(description="How many rows of each kind move from the source to the target.")
class CustomerMergeCounts:
    participants: int = strawberry.field(
        description="Participants (the source's self participant included)."
    )
    additional_users: int = strawberry.field(description="Additional users, with their logins.")
    bookings: int = strawberry.field(description="Event bookings.")
    appointments: int = strawberry.field(description="Appointments.")
    passes: int = strawberry.field(description="Passes, with their remaining credits.")
    video_purchases: int = strawberry.field(description="Video purchases.")
    subscriptions: int = strawberry.field(description="Subscriptions, in whatever state.")
    questionnaire_responses: int = strawberry.field(description="Questionnaire responses.")
    notes: int = strawberry.field(description="Staff notes.")
    payments: int = strawberry.field(description="Payments, with their refunded amounts.")
    refunds: int = strawberry.field(description="Refunds.")
    messages: int = strawberry.field(description="Messages of the communication log.")
    consent_records: int = strawberry.field(description="Marketing-consent records.")
    campaign_memberships: int = strawberry.field(
        description="Email campaign audience memberships. Not counted (and dropped): those of "
        "audiences the target is already in (one membership each), and all of them when the "
        "target has not agreed to marketing or has no email."
    )

    @classmethod
    def from_counts(cls, counts: merge.MergeCounts) -> CustomerMergeCounts:
        return cls(**counts.as_dict())


@strawberry.type(description="What stays with the source when it is merged.")
class CustomerMergeKept:
    payment_methods: int = strawberry.field(
        description="Saved cards: they cannot move between Stripe customers, so they stay with "
        "the source's Stripe customer."
    )
    has_stripe_customer: bool = strawberry.field(
        description="Whether the source has a Stripe customer (it stays the source's)."
    )
    account_history_entries: int = strawberry.field(
        description="The source's account-history entries: its audit trail stays on it; the "
        "target gets one entry summarising the merge."
    )


@strawberry.enum(description="A kind of merge conflict. None stops the merge.")
class CustomerMergeConflictKind(Enum):
    SAME_NAMED_PARTICIPANTS = strawberry.enum_value(
        "SAME_NAMED_PARTICIPANTS",
        description="Both customers have a participant of this name (case and accents "
        "ignored): both are kept.",
    )
    TWO_SELF_PARTICIPANTS = strawberry.enum_value(
        "TWO_SELF_PARTICIPANTS",
        description="Both customers attend themselves: the target's self participant stays; "
        "the source's becomes an ordinary participant of the target.",
    )
    DUPLICATE_ACTIVE_SUBSCRIPTION = strawberry.enum_value(
        "DUPLICATE_ACTIVE_SUBSCRIPTION",
        description="Both customers have an active subscription to one plan: both are kept.",
    )
    DIFFERENT_EMAIL = strawberry.enum_value(
        "DIFFERENT_EMAIL",
        description="The emails differ: the target's wins; the source keeps its own (as its "
        "login email, which can no longer log in) and it is recorded in the target's history.",
    )
    DIFFERENT_MOBILE = strawberry.enum_value(
        "DIFFERENT_MOBILE",
        description="The mobiles differ: the target's wins; the source's is recorded in the "
        "target's history.",
    )
    DIFFERENT_MARKETING_CONSENT = strawberry.enum_value(
        "DIFFERENT_MARKETING_CONSENT",
        description="Marketing consent differs: the target's choice wins.",
    )
    PAYMENT_METHODS_STAY_WITH_SOURCE = strawberry.enum_value(
        "PAYMENT_METHODS_STAY_WITH_SOURCE",
        description="The source has a Stripe customer or saved cards: they cannot move between "
        "Stripe customers and stay with the source.",
    )


@strawberry.type(description="Something about a merge that staff should know or act on.")
class CustomerMergeConflict:
    kind: CustomerMergeConflictKind = strawberry.field(description="What kind of conflict.")
    message: str = strawberry.field(description="What happens, for a person to read.")
    source_value: str | None = strawberry.field(
        description="The source's value: its email or mobile, the plan's name, `true`/`false` "
        "for consent, the number of saved cards."
    )
    target_value: str | None = strawberry.field(description="The target's value, likewise.")
    source_ids: list[strawberry.ID] = strawberry.field(
        description="The source's participants or subscriptions concerned."
    )
    target_ids: list[strawberry.ID] = strawberry.field(
        description="The target's participants or subscriptions concerned."
    )

    @classmethod
    def from_conflict(cls, conflict: merge.Conflict) -> CustomerMergeConflict:
        return cls(
            kind=CustomerMergeConflictKind(conflict.kind),
            message=conflict.message,
            source_value=conflict.source_value,
            target_value=conflict.target_value,
            source_ids=[strawberry.ID(str(i)) for i in conflict.source_ids],
            target_ids=[strawberry.ID(str(i)) for i in conflict.target_ids],
        )


@strawberry.type(
    description="The result of a merge, or of its dry run: what moves, what stays, the "
    "conflicts, and both customers as they are afterwards."
)
class CustomerMergePayload:
    dry_run: bool = strawberry.field(description="True when nothing was changed.")
    source: Customer | None = strawberry.field(
        description="The source after the merge: archived, with `mergedInto` set."
    )
    target: Customer | None = strawberry.field(
        description="The target, which now holds everything that moved."
    )
    moved: CustomerMergeCounts | None = strawberry.field(
        description="Rows per kind moved (or, in a dry run, that would move)."
    )
    kept: CustomerMergeKept | None = strawberry.field(description="What stays with the source.")
    conflicts: list[CustomerMergeConflict] = strawberry.field(
        description="What staff should look at; none of them stops the merge."
    )
    errors: list[UserError] = strawberry.field(description="Empty on success.")


# Named `source` in the schema; not in Python, where resolver extensions take `source` (the
# parent object) themselves.
SourceArg = Annotated[
    strawberry.ID,
    strawberry.argument(
        name="source", description="The duplicate to merge away (A): it ends up archived."
    ),
]
TargetArg = Annotated[
    strawberry.ID,
    strawberry.argument(name="target", description="The customer that remains (B)."),
]
DryRunArg = Annotated[
    bool,
    strawberry.argument(description="Only say what would move and the conflicts; change nothing."),
]


@strawberry.type(description="Merging duplicate customers.")
class MergeMutations:
    @strawberry.mutation(
        description="Merge customer `source` (A) into `target` (B): A's participants, additional "
        "users, bookings, appointments, passes, videos, subscriptions, questionnaire responses, "
        "notes, payments, refunds, messages, consent records and campaign audience memberships "
        "(one per audience; none when B has not agreed to marketing) move to B in one transaction; "
        "A is archived with `mergedInto: B` and cannot log in. A's saved cards, Stripe customer, "
        "login email and account history stay with A. Refused for A = B (INVALID), a target "
        "that is archived or merged or a source already merged (INVALID_STATE), another "
        "business's ids (NOT_FOUND). With `dryRun` nothing changes. Staff only.",
        permission_classes=[IsStaff],
    )
    async def customer_merge(
        self,
        info: Info[Context, Any],
        merged_away: SourceArg,
        remaining: TargetArg,
        dry_run: DryRunArg = False,
    ) -> CustomerMergePayload:
        viewer = info.context.viewer
        assert viewer is not None
        source_id, target_id = parse_id(merged_away, "source"), parse_id(remaining, "target")

        async def work(conn: AsyncConnection, actor: Actor) -> merge.MergePlan:
            return await merge.merge(
                conn, actor, viewer.business_id, source_id, target_id, dry_run=dry_run
            )

        plan, errors = await run(
            info.context, work, statement_timeout_ms=merge.MERGE_STATEMENT_TIMEOUT_MS
        )
        if plan is None:
            return CustomerMergePayload(
                dry_run=dry_run,
                source=None,
                target=None,
                moved=None,
                kept=None,
                conflicts=[],
                errors=errors,
            )
        return await _payload(info, plan)


async def _payload(info: Info[Context, Any], plan: merge.MergePlan) -> CustomerMergePayload:
    # Both through one loader batch.
    source, target = await asyncio.gather(
        _customer_by_id(info, plan.source_id), _customer_by_id(info, plan.target_id)
    )
    return CustomerMergePayload(
        dry_run=not plan.applied,
        source=source,
        target=target,
        moved=CustomerMergeCounts.from_counts(plan.moved),
        kept=CustomerMergeKept(
            payment_methods=plan.kept.payment_methods,
            has_stripe_customer=plan.kept.has_stripe_customer,
            account_history_entries=plan.kept.account_history_entries,
        ),
        conflicts=[CustomerMergeConflict.from_conflict(c) for c in plan.conflicts],
        errors=[],
    )
