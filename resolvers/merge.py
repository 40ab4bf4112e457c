"""Merge one customer (the source, A) into another (the target, B), as PRODUCT.md's "Merge"
section and the lifecycle table say.

Everything of A that makes up the account moves to B by re-pointing `customer_id`: participants,
additional users, every kind of history, notes, payments, refunds, messages and consent records.
A's email campaign memberships move too, except where B is already in that audience (one
membership each, never two) or B cannot be emailed marketing (no consent, no email): B's consent
wins, as for the rest of B's contact details, and those memberships of A are dropped.
Name snapshots on history rows stay as they were (they record history). The category triggers
recompute both customers and the directory triggers re-list the moved participants and additional
users under B, all in the merge's transaction.

What does not move, and why:
- A's Stripe customer and saved cards: a card cannot move between Stripe customers, so the
  `payment_methods` rows stay with A (and A's `stripe_customer_id`); the plan says so.
- A's login email: archived people keep their email in the login namespace, so it stays A's.
- A's account history: it is the audit trail of what was done to A's account (contact edits,
  archive, consent), written against A's name; it stays on A, which still resolves, and B gets
  one summary entry naming A, what moved and A's contact details.
- B's contact details and consent: B's win; A's stay on A and are copied into B's summary entry.

Both customers are locked in ascending id order (`SELECT ... FOR UPDATE`), so concurrent merges of
the same pair (either direction) queue up rather than deadlock, and the loser finds the source
already merged. The dry run runs the same checks and counts without locking or writing.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, fields
from typing import Any

from sqlalchemy import text
from sqlalchemy.engine import Row
from sqlalchemy.ext.asyncio import AsyncConnection

from resolvers import account_history
from resolvers.account_history import Actor
from schema.errors import ErrorCode, UserFacingError, user_error

# A merge touches every history table of two customers: more than the service role's 5 s.
MERGE_STATEMENT_TIMEOUT_MS = 60_000

# What moves, in the order it is moved: the field of `MergeCounts` and its table. Participants
# and additional users first, so that history rows never point at a person of another account.
MOVED_TABLES: tuple[tuple[str, str], ...] = (
    ("participants", "participants"),
    ("additional_users", "additional_users"),
    ("bookings", "bookings"),
    ("appointments", "appointments"),
    ("passes", "customer_passes"),
    ("video_purchases", "video_purchases"),
    ("subscriptions", "customer_subscriptions"),
    ("questionnaire_responses", "questionnaire_responses"),
    ("notes", "notes"),
    ("payments", "payments"),
    ("refunds", "refunds"),
    ("messages", "messages"),
    ("consent_records", "consent_records"),
)


@dataclass(frozen=True)
class MergeCounts:
    """How many rows of each kind move from A to B."""

    participants: int
    additional_users: int
    bookings: int
    appointments: int
    passes: int
    video_purchases: int
    subscriptions: int
    questionnaire_responses: int
    notes: int
    payments: int
    refunds: int
    messages: int
    consent_records: int
    # Only those that move: not A's memberships of audiences B is already in.
    campaign_memberships: int

    def as_dict(self) -> dict[str, int]:
        return {f.name: getattr(self, f.name) for f in fields(self)}


@dataclass(frozen=True)
class Kept:
    """What stays with A."""

    payment_methods: int
    has_stripe_customer: bool
    account_history_entries: int


@dataclass(frozen=True)
class Conflict:
    """Something staff should look at; the merge goes ahead regardless, as described."""

    kind: str  # a CustomerMergeConflictKind value
    message: str
    source_value: str | None = None
    target_value: str | None = None
    source_ids: tuple[uuid.UUID, ...] = ()
    target_ids: tuple[uuid.UUID, ...] = ()


@dataclass(frozen=True)
class MergePlan:
    """What a merge moves, keeps and flags; for a real merge, what it did."""

    source_id: uuid.UUID
    target_id: uuid.UUID
    moved: MergeCounts
    kept: Kept
    conflicts: tuple[Conflict, ...]
    applied: bool


async def merge(
    conn: AsyncConnection,
    actor: Actor,
    business_id: uuid.UUID,
    source_id: uuid.UUID,
    target_id: uuid.UUID,
    *,
    dry_run: bool,
) -> MergePlan:
    """Merge A (`source_id`) into B (`target_id`), or with `dry_run` only say what would happen.
    Refusals come as `UserFacingError` naming the `source` or `target` argument."""
    if source_id == target_id:
        raise UserFacingError(
            user_error(ErrorCode.INVALID, "target", "A customer cannot be merged into itself.")
        )
    source, target = await _customers(conn, source_id, target_id, lock=not dry_run)
    moved = await _counts(conn, source.id, target)
    kept = await _kept(conn, source)
    conflicts = await _conflicts(conn, source, target, kept)
    if not dry_run:
        await _move(conn, source.id, target.id, target_has_self=await _has_self(conn, target.id))
        await _move_campaign_memberships(conn, source.id, target)
        await _retire(conn, source.id, target.id)
        await _write_history(conn, actor, business_id, source, target, moved)
    return MergePlan(source.id, target.id, moved, kept, tuple(conflicts), applied=not dry_run)


async def _customers(
    conn: AsyncConnection, source_id: uuid.UUID, target_id: uuid.UUID, *, lock: bool
) -> tuple[Row[Any], Row[Any]]:
    """Both customers, locked in ascending id order for a real merge, checked against the
    lifecycle table."""
    rows = (
        await conn.execute(
            text(
                "SELECT id, number, first_name, last_name, email, mobile, status, merged_into_id,"
                " marketing_consent, stripe_customer_id"
                " FROM customers WHERE id IN (:a, :b) ORDER BY id" + (" FOR UPDATE" if lock else "")
            ),
            {"a": source_id, "b": target_id},
        )
    ).all()
    found = {row.id: row for row in rows}
    source, target = found.get(source_id), found.get(target_id)
    errors = [
        user_error(ErrorCode.NOT_FOUND, name, "No such customer in this business.")
        for name, row in (("source", source), ("target", target))
        if row is None
    ]
    if source is not None and source.merged_into_id is not None:
        errors.append(
            user_error(
                ErrorCode.INVALID_STATE, "source", "This customer was already merged into another."
            )
        )
    if target is not None and target.merged_into_id is not None:
        errors.append(
            user_error(
                ErrorCode.INVALID_STATE,
                "target",
                "This customer was merged into another: merge into that one instead.",
            )
        )
    elif target is not None and target.status == "ARCHIVED":
        errors.append(
            user_error(
                ErrorCode.INVALID_STATE,
                "target",
                "This customer is archived: activate them first, or merge the other way round.",
            )
        )
    if errors:
        raise UserFacingError(*errors)
    assert source is not None and target is not None
    return source, target


# A's memberships of audiences B is not in yet (all of them go when B cannot take marketing).
_MOVING_MEMBERSHIPS = """
    FROM campaign_audience_members m
    WHERE m.customer_id = :a AND :reachable AND NOT EXISTS (
        SELECT 1 FROM campaign_audience_members t
        WHERE t.audience_id = m.audience_id AND t.customer_id = :b)"""


def _marketing_reachable(target: Row[Any]) -> bool:
    """Whether B may be in a campaign audience (the rule adding people applies)."""
    return bool(target.marketing_consent) and target.email is not None


async def _counts(conn: AsyncConnection, source_id: uuid.UUID, target: Row[Any]) -> MergeCounts:
    """One statement: how many rows of each kind move from A."""
    columns = ", ".join(
        f"(SELECT count(*) FROM {table} WHERE customer_id = :a) AS {name}"
        for name, table in MOVED_TABLES
    )
    columns += f", (SELECT count(*) {_MOVING_MEMBERSHIPS}) AS campaign_memberships"
    row = (
        await conn.execute(
            text(f"SELECT {columns}"),
            {"a": source_id, "b": target.id, "reachable": _marketing_reachable(target)},
        )
    ).one()
    counts = {name: int(getattr(row, name)) for name, _ in MOVED_TABLES}
    return MergeCounts(**counts, campaign_memberships=int(row.campaign_memberships))


async def _kept(conn: AsyncConnection, source: Row[Any]) -> Kept:
    row = (
        await conn.execute(
            text(
                "SELECT (SELECT count(*) FROM payment_methods WHERE customer_id = :a) AS cards,"
                " (SELECT count(*) FROM account_history WHERE customer_id = :a) AS entries"
            ),
            {"a": source.id},
        )
    ).one()
    return Kept(
        payment_methods=int(row.cards),
        has_stripe_customer=source.stripe_customer_id is not None,
        account_history_entries=int(row.entries),
    )


async def _has_self(conn: AsyncConnection, customer_id: uuid.UUID) -> bool:
    found = await conn.execute(
        text("SELECT EXISTS (SELECT 1 FROM participants WHERE customer_id = :c AND is_self)"),
        {"c": customer_id},
    )
    return bool(found.scalar_one())


async def _conflicts(
    conn: AsyncConnection, source: Row[Any], target: Row[Any], kept: Kept
) -> list[Conflict]:
    return [
        *await _participant_conflicts(conn, source.id, target.id),
        *await _subscription_conflicts(conn, source.id, target.id),
        *_contact_conflicts(source, target),
        *_stripe_conflicts(kept),
    ]


async def _participant_conflicts(
    conn: AsyncConnection, source_id: uuid.UUID, target_id: uuid.UUID
) -> list[Conflict]:
    """Same-named participants (by the folded sort key: case and accents ignored), and both
    customers attending themselves. Both are kept; staff may remove one afterwards."""
    ids = {"a": source_id, "b": target_id}
    same_named = (
        await conn.execute(
            text(
                "SELECT min(s.first_name || ' ' || s.last_name) AS name,"
                " array_agg(DISTINCT s.id ORDER BY s.id) AS source_ids,"
                " array_agg(DISTINCT t.id ORDER BY t.id) AS target_ids"
                " FROM participants s JOIN participants t"
                "   ON t.customer_id = :b AND t.name_key = s.name_key"
                # Two self participants are the duplicate itself, flagged on their own below.
                "   AND NOT (s.is_self AND t.is_self)"
                " WHERE s.customer_id = :a GROUP BY s.name_key ORDER BY s.name_key"
            ),
            ids,
        )
    ).all()
    conflicts = [
        Conflict(
            "SAME_NAMED_PARTICIPANTS",
            f"Both customers have a participant named {row.name}: both are kept; remove one "
            "afterwards if they are the same person.",
            source_ids=tuple(row.source_ids),
            target_ids=tuple(row.target_ids),
        )
        for row in same_named
    ]
    selves = (
        await conn.execute(
            text(
                "SELECT (SELECT id FROM participants WHERE customer_id = :a AND is_self) AS a,"
                " (SELECT id FROM participants WHERE customer_id = :b AND is_self) AS b"
            ),
            ids,
        )
    ).one()
    if selves.a is not None and selves.b is not None:
        conflicts.append(
            Conflict(
                "TWO_SELF_PARTICIPANTS",
                "Both customers attend themselves: the target's stays the customer themselves; "
                "the source's is kept as an ordinary participant with its history.",
                source_ids=(selves.a,),
                target_ids=(selves.b,),
            )
        )
    return conflicts


async def _subscription_conflicts(
    conn: AsyncConnection, source_id: uuid.UUID, target_id: uuid.UUID
) -> list[Conflict]:
    rows = (
        await conn.execute(
            text(
                "SELECT p.name AS plan,"
                " array_agg(DISTINCT s.id ORDER BY s.id) AS source_ids,"
                " array_agg(DISTINCT t.id ORDER BY t.id) AS target_ids"
                " FROM customer_subscriptions s"
                " JOIN customer_subscriptions t"
                "   ON t.customer_id = :b AND t.plan_id = s.plan_id AND t.state = 'ACTIVE'"
                " JOIN plans p ON p.id = s.plan_id"
                " WHERE s.customer_id = :a AND s.state = 'ACTIVE'"
                " GROUP BY p.id, p.name ORDER BY p.name, p.id"
            ),
            {"a": source_id, "b": target_id},
        )
    ).all()
    return [
        Conflict(
            "DUPLICATE_ACTIVE_SUBSCRIPTION",
            f"Both customers have an active {row.plan} subscription: both are kept and both "
            "keep charging; pause or suspend one.",
            source_value=row.plan,
            target_value=row.plan,
            source_ids=tuple(row.source_ids),
            target_ids=tuple(row.target_ids),
        )
        for row in rows
    ]


def _contact_conflicts(source: Row[Any], target: Row[Any]) -> list[Conflict]:
    """Where A's contact details differ from B's: B's are kept, A's stay on A (its login email
    included) and are written into B's account history."""
    conflicts = []
    if source.email is not None and (source.email.lower() != (target.email or "").lower()):
        conflicts.append(
            Conflict(
                "DIFFERENT_EMAIL",
                "The emails differ: the target's is kept; the source's stays with the merged "
                "account (it cannot log in) and is recorded in the target's account history.",
                source_value=source.email,
                target_value=target.email,
            )
        )
    if source.mobile is not None and source.mobile != target.mobile:
        conflicts.append(
            Conflict(
                "DIFFERENT_MOBILE",
                "The mobile numbers differ: the target's is kept; the source's is recorded in "
                "the target's account history.",
                source_value=source.mobile,
                target_value=target.mobile,
            )
        )
    if source.marketing_consent != target.marketing_consent:
        conflicts.append(
            Conflict(
                "DIFFERENT_MARKETING_CONSENT",
                "Marketing consent differs: the target's choice is kept; the source's consent "
                "records move to the target as history.",
                source_value=str(source.marketing_consent).lower(),
                target_value=str(target.marketing_consent).lower(),
            )
        )
    return conflicts


def _stripe_conflicts(kept: Kept) -> list[Conflict]:
    if kept.payment_methods == 0 and not kept.has_stripe_customer:
        return []
    return [
        Conflict(
            "PAYMENT_METHODS_STAY_WITH_SOURCE",
            f"Saved cards cannot move between Stripe customers: the source's "
            f"{kept.payment_methods} saved card(s) and Stripe customer stay with the merged "
            "account; the target adds their own card to pay with.",
            source_value=str(kept.payment_methods),
        )
    ]


async def _move(
    conn: AsyncConnection, source_id: uuid.UUID, target_id: uuid.UUID, *, target_has_self: bool
) -> None:
    """Re-point every row of A at B, one statement per table (the statement-level category
    triggers then recompute both customers once per table)."""
    ids = {"a": source_id, "b": target_id}
    # One participant per customer may be the customer themselves: when B already attends, A's
    # self participant joins B as an ordinary participant.
    await conn.execute(
        text(
            "UPDATE participants SET customer_id = :b"
            + (", is_self = false" if target_has_self else "")
            + " WHERE customer_id = :a"
        ),
        ids,
    )
    for _, table in MOVED_TABLES[1:]:
        await conn.execute(text(f"UPDATE {table} SET customer_id = :b WHERE customer_id = :a"), ids)


async def _move_campaign_memberships(
    conn: AsyncConnection, source_id: uuid.UUID, target: Row[Any]
) -> None:
    """A's memberships that B can take move to B; the rest (duplicates, or all when B has not
    agreed to marketing) are dropped. B is locked, so no one adds B to an audience meanwhile
    (adding a member takes a key-share lock on the customer through its foreign key)."""
    ids = {"a": source_id, "b": target.id, "reachable": _marketing_reachable(target)}
    await conn.execute(
        text(
            "UPDATE campaign_audience_members SET customer_id = :b WHERE id IN"
            f" (SELECT m.id {_MOVING_MEMBERSHIPS})"
        ),
        ids,
    )
    await conn.execute(
        text("DELETE FROM campaign_audience_members WHERE customer_id = :a"), {"a": source_id}
    )


async def _retire(conn: AsyncConnection, source_id: uuid.UUID, target_id: uuid.UUID) -> None:
    """A: archived, merged into B, and every token it was issued stops working."""
    await conn.execute(
        text(
            "UPDATE customers SET status = 'ARCHIVED', archived_at = coalesce(archived_at, now()),"
            " merged_into_id = :b, token_version = token_version + 1, version = version + 1,"
            " updated_at = now() WHERE id = :a"
        ),
        {"a": source_id, "b": target_id},
    )


async def _write_history(
    conn: AsyncConnection,
    actor: Actor,
    business_id: uuid.UUID,
    source: Row[Any],
    target: Row[Any],
    moved: MergeCounts,
) -> None:
    link = {"from": str(source.id), "into": str(target.id)}
    await account_history.record(
        conn,
        business_id=business_id,
        actor=actor,
        action="customer.merged",
        customer_id=source.id,
        customer_name=f"{source.first_name} {source.last_name}",
        subject_type="Customer",
        subject_id=target.id,
        before={"status": source.status},
        after={"status": "ARCHIVED", **link, "moved": moved.as_dict()},
    )
    await account_history.record(
        conn,
        business_id=business_id,
        actor=actor,
        action="customer.merged",
        customer_id=target.id,
        customer_name=f"{target.first_name} {target.last_name}",
        subject_type="Customer",
        subject_id=source.id,
        before={"email": target.email, "mobile": target.mobile},
        after={
            "email": target.email,
            "mobile": target.mobile,
            **link,
            "source_number": source.number,
            "source_name": f"{source.first_name} {source.last_name}",
            "source_email": source.email,
            "source_mobile": source.mobile,
            "moved": moved.as_dict(),
        },
    )
