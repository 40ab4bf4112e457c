"""The demo's business rows, staff, sessions and people (customers, participants, additional
users and their shared login-email namespace)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta

from server.seed.connection import Row
from server.seed.demo_context import (
    FUTURE_DAYS,
    HISTORY_DAYS,
    AdditionalUser,
    DemoContext,
    Participant,
    Person,
    StaffMember,
)
from server.seed.people import (
    CHILD_NAMES,
    CONSENT_WORDING,
    EMAIL_DOMAINS,
    FIRST_NAMES,
    LAST_NAMES,
    demo_password_hash,
    email_local_part,
    mobile,
)

_ORIGINS = ("STAFF", "SERVICE", "PORTAL_SIGNUP")
_ORIGIN_WEIGHTS = (55, 10, 35)


@dataclass(frozen=True)
class CustomerPlan:
    """What a customer should become before their row is drawn."""

    first_name: str
    last_name: str
    origin: str
    primary: bool
    archived: bool = False
    showcase: bool = False
    merged_into: Person | None = None
    email_hint: str | None = None


def add_business(ctx: DemoContext) -> None:
    spec = ctx.spec
    ctx.add(
        "businesses",
        id=ctx.business_id,
        name=spec.name,
        slug=spec.slug,
        time_zone=spec.time_zone,
        currency=spec.currency,
        country=spec.country,
        stripe_account_id=spec.stripe_account_id,
        created_at=ctx.days_ago(HISTORY_DAYS + 240),
    )
    for name, email, role in spec.staff:
        row = ctx.add(
            "staff_users",
            email=email,
            display_name=name,
            role=role,
            created_at=ctx.days_ago(HISTORY_DAYS + 230),
        )
        ctx.staff.append(StaffMember(row["id"], name, email, role))
    ctx.add_catalog()
    add_sessions(ctx)


def add_sessions(ctx: DemoContext) -> None:
    """Each event weekly at its slot, from 14 months ago to 8 weeks ahead."""
    first = ctx.days_ago(HISTORY_DAYS).date()
    last = (ctx.anchor + timedelta(days=FUTURE_DAYS)).date()
    facilitators = ctx.catalog.ids("facilitators")
    for index, (event, spec) in enumerate(
        zip(ctx.catalog.tables["events"], ctx.spec.catalog.events, strict=True)
    ):
        day = first + timedelta(days=(spec.weekday - first.weekday()) % 7)
        while day <= last:
            starts = ctx.local(day, spec.hour)
            ctx.add(
                "sessions",
                event_id=event["id"],
                facilitator_id=facilitators[(index + day.isocalendar().week) % len(facilitators)],
                starts_at=starts,
                ends_at=starts + timedelta(minutes=spec.minutes),
                time_zone=ctx.spec.time_zone,
                capacity=spec.capacity,
                created_at=min(starts - timedelta(days=30), ctx.anchor),
            )
            day += timedelta(days=7)


def add_people(ctx: DemoContext) -> None:
    for plan in customer_plans(ctx):
        person = add_customer(ctx, plan)
        add_participants(ctx, person, plan)
        if plan.showcase or ctx.chance(0.08):
            add_additional_user(ctx, person)
        ctx.people.append(person)


def customer_plans(ctx: DemoContext) -> list[CustomerPlan]:
    """A showcase customer first, then a random crowd; merged duplicates are added by
    `add_merged_duplicates` once their targets exist."""
    rng = ctx.rng
    plans: list[CustomerPlan] = []
    showcase = ("Siobhán", "Ní Bhriain") if not ctx.spec.families else ("Łukasz", "Wiśniewski")
    plans.append(CustomerPlan(*showcase, origin="STAFF", primary=True, showcase=True))
    while len(plans) < ctx.spec.customers:
        origin = rng.choices(_ORIGINS, _ORIGIN_WEIGHTS)[0]
        plans.append(
            CustomerPlan(
                rng.choice(FIRST_NAMES),
                rng.choice(LAST_NAMES),
                origin=origin,
                primary=ctx.chance(0.68),
                archived=ctx.chance(0.05),
            )
        )
    return plans


def add_customer(ctx: DemoContext, plan: CustomerPlan) -> Person:
    rng = ctx.rng
    has_email = plan.origin == "PORTAL_SIGNUP" or plan.primary or ctx.chance(0.9)
    email = unique_email(ctx, plan.first_name, plan.last_name, plan.email_hint)
    if plan.primary:
        created = ctx.between(ctx.days_ago(HISTORY_DAYS + 200), ctx.days_ago(30))
    else:
        created = ctx.between(ctx.days_ago(HISTORY_DAYS + 200), ctx.days_ago(1))
    if plan.showcase:
        created = ctx.days_ago(HISTORY_DAYS + 10)
    archived_at = (
        ctx.between(created + timedelta(days=20), ctx.days_ago(2))
        if (plan.archived or plan.merged_into)
        else None
    )
    consent = ctx.chance(0.45)
    row = ctx.add(
        "customers",
        first_name=plan.first_name,
        last_name=plan.last_name,
        email=email if has_email else None,
        mobile=mobile(rng, ctx.spec.country) if ctx.chance(0.85) or plan.showcase else None,
        password_hash=demo_password_hash()
        if plan.origin == "PORTAL_SIGNUP" or (plan.origin == "STAFF" and ctx.chance(0.5))
        else None,
        status="ARCHIVED" if archived_at else "ACTIVE",
        archived_at=archived_at,
        merged_into_id=plan.merged_into.id if plan.merged_into else None,
        origin=plan.origin,
        # Provisional: the history triggers turn it into PRIMARY when history arrives.
        category="APP_USER" if plan.origin == "PORTAL_SIGNUP" else "LEAD",
        app_access_enabled=not ctx.chance(0.03),
        marketing_consent=consent,
        stripe_customer_id=None,  # set later for those who pay by card
        created_at=created,
        updated_at=ctx.between(created, archived_at or ctx.anchor),
    )
    if has_email:
        ctx.add(
            "login_emails", email_key=email.lower(), customer_id=row["id"], additional_user_id=None
        )
    add_consent(ctx, row, consent, customer=True)
    return Person(row, primary=plan.primary and plan.merged_into is None, showcase=plan.showcase)


def unique_email(ctx: DemoContext, first: str, last: str, hint: str | None = None) -> str:
    """Unique per business, case-insensitively, across customers and additional users."""
    local = hint or email_local_part(first, last)
    domain = ctx.rng.choice(EMAIL_DOMAINS)
    email, n = f"{local}@{domain}", 1
    while email.lower() in ctx.emails:
        n += 1
        email = f"{local}{n}@{domain}"
    ctx.emails.add(email.lower())
    return email


def add_consent(ctx: DemoContext, row: Row, granted: bool, *, customer: bool) -> None:
    """Consent history: a grant when those who agree sign up; some who no longer agree granted
    once and unsubscribed later."""
    owner = (
        {"customer_id": row["id"], "additional_user_id": None}
        if customer
        else {"customer_id": None, "additional_user_id": row["id"]}
    )
    source = "MEMBER_PORTAL"
    if customer:
        source = {"PORTAL_SIGNUP": "SIGN_UP", "SERVICE": "IMPORT"}.get(row["origin"], "STAFF")
    created: datetime = row["created_at"]
    once_granted = granted or ctx.chance(0.25)
    if once_granted:
        ctx.add(
            "consent_records",
            **owner,
            granted=True,
            source=source,
            wording=CONSENT_WORDING,
            created_at=created,
        )
    if once_granted and not granted:
        ctx.add(
            "consent_records",
            **owner,
            granted=False,
            source=ctx.rng.choice(("UNSUBSCRIBE_LINK", "MEMBER_PORTAL")),
            wording=CONSENT_WORDING,
            created_at=ctx.between(created, ctx.anchor),
        )


def add_participants(ctx: DemoContext, person: Person, plan: CustomerPlan) -> None:
    """Adults mostly attend themselves; in a family business parents book for 1-3 children.
    Anyone who will have history gets at least one participant."""
    rng = ctx.rng
    if ctx.spec.families:
        children = rng.choice((1, 1, 2, 2, 3)) if ctx.chance(0.9) else 0
        is_self = ctx.chance(0.15)
    else:
        children = rng.choice((1, 2)) if ctx.chance(0.15) else 0
        is_self = ctx.chance(0.75)
    if plan.showcase:
        children, is_self = (3, False) if ctx.spec.families else (1, True)
    is_self = is_self or (person.primary and children == 0)
    if is_self:
        add_participant(ctx, person, person.row["first_name"], None, is_self=True)
    for _ in range(children):
        add_participant(ctx, person, rng.choice(CHILD_NAMES), child_birthday(ctx))


def add_participant(
    ctx: DemoContext, person: Person, first: str, born: date | None, *, is_self: bool = False
) -> None:
    row = person.row
    created = ctx.between(row["created_at"], row["created_at"] + timedelta(days=3))
    added = ctx.add(
        "participants",
        customer_id=row["id"],
        is_self=is_self,
        first_name=first,
        last_name=row["last_name"],
        date_of_birth=born,
        email=row["email"] if is_self else None,
        mobile=row["mobile"] if is_self else None,
        created_at=created,
        updated_at=created,
    )
    person.participants.append(Participant(added["id"], f"{first} {row['last_name']}", is_self))


def child_birthday(ctx: DemoContext) -> date:
    age_days = ctx.rng.randrange(3 * 365, 15 * 365)
    return (ctx.anchor - timedelta(days=age_days)).date()


def add_additional_user(ctx: DemoContext, person: Person) -> None:
    first = ctx.rng.choice(FIRST_NAMES)
    last = person.row["last_name"] if ctx.chance(0.7) else ctx.rng.choice(LAST_NAMES)
    created = ctx.between(person.created_at, person.created_at + timedelta(days=60))
    email = unique_email(ctx, first, last)
    consent = ctx.chance(0.4)
    row = ctx.add(
        "additional_users",
        customer_id=person.id,
        first_name=first,
        last_name=last,
        email=email,
        mobile=mobile(ctx.rng, ctx.spec.country),
        password_hash=demo_password_hash(),
        app_access_enabled=True,
        marketing_consent=consent,
        created_at=created,
        updated_at=created,
    )
    ctx.add("login_emails", email_key=email.lower(), customer_id=None, additional_user_id=row["id"])
    add_consent(ctx, row, consent, customer=False)
    person.additional_users.append(AdditionalUser(row["id"], f"{first} {last}"))


def add_duplicates(ctx: DemoContext, count: int, *, merged: bool) -> list[Person]:
    """Second records of existing primary customers (same name, another e-mail). Merged ones
    are archived with `merged_into_id` set and own no history (it moved to the target);
    unmerged ones are left for trying a merge."""
    targets = [
        p
        for p in ctx.people[1:]
        if p.primary
        and p.row["status"] == "ACTIVE"
        and not any(p.id == q.row["merged_into_id"] for q in ctx.people)
    ]
    added: list[Person] = []
    for target in ctx.rng.sample(targets, count):
        first, last = target.row["first_name"], target.row["last_name"]
        plan = CustomerPlan(
            first,
            last,
            origin="STAFF",
            primary=False,
            merged_into=target if merged else None,
            email_hint=email_local_part(first, last) + (".old" if merged else ".work"),
        )
        person = add_customer(ctx, plan)
        add_participants(ctx, person, plan)
        ctx.people.append(person)
        added.append(person)
    return added
