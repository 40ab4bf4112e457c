"""The demo's history: every tab of the profile, kept consistent with itself (a Stripe booking
has its payment, a refund is reflected on both the booking and the payment, package bookings
spend credits of a pass that was valid at the time, and so on)."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

from server.seed.connection import Row
from server.seed.demo_context import FUTURE_DAYS, HISTORY_DAYS, DemoContext, Participant, Person

_HOUR = timedelta(hours=1)
_DAY = timedelta(days=1)


@dataclass(frozen=True)
class Amounts:
    """How many rows of each kind a primary customer gets."""

    passes: int
    bookings: int
    appointments: int
    videos: int
    subscriptions: int
    questionnaires: int
    notes: int
    messages: int


# More than a page (`first: 10`) in every tab.
SHOWCASE = Amounts(
    passes=11,
    bookings=26,
    appointments=12,
    videos=11,
    subscriptions=11,
    questionnaires=11,
    notes=12,
    messages=14,
)


def random_amounts(ctx: DemoContext) -> Amounts:
    r = ctx.rng.randint
    return Amounts(
        passes=r(0, 2),
        bookings=r(0, 8),
        appointments=r(0, 2),
        videos=r(0, 2),
        subscriptions=int(ctx.chance(0.3)),
        questionnaires=r(0, 2),
        notes=r(0, 2),
        messages=r(1, 4),
    )


def add_history(ctx: DemoContext) -> None:
    for person in ctx.people:
        add_account_created(ctx, person)
        if person.primary:
            add_primary_history(ctx, person, SHOWCASE if person.showcase else random_amounts(ctx))
        elif person.row["merged_into_id"] is None:
            add_lead_history(ctx, person)
        if person.row["status"] == "ARCHIVED":
            add_archive_entries(ctx, person)
        add_payment_methods(ctx, person)


def add_primary_history(ctx: DemoContext, person: Person, amounts: Amounts) -> None:
    for _ in range(amounts.passes):
        add_pass(ctx, person)
    states = ("COMPLETED", "MANUAL", "PACKAGE", "CANCELLED")
    for i in range(amounts.bookings):
        add_booking(ctx, person, states[i % 4] if person.showcase else ctx.rng.choice(states))
    for _ in range(amounts.appointments):
        add_appointment(ctx, person)
    for _ in range(amounts.videos):
        add_video(ctx, person)
    sub_states = ("ACTIVE", "PAUSED", "SUSPENDED")
    for i in range(amounts.subscriptions):
        add_subscription(
            ctx,
            person,
            sub_states[i % 3] if person.showcase else ctx.rng.choices(sub_states, (70, 15, 15))[0],
        )
    for i in range(amounts.questionnaires):
        done = i % 3 != 2 if person.showcase else ctx.chance(0.7)
        add_questionnaire_response(ctx, person, completed=done)
    if person.id not in ctx.with_history:
        # Nothing above came out (all counts zero): a waiver keeps them primary, as planned.
        add_questionnaire_response(ctx, person, completed=True)
    for _ in range(amounts.notes):
        add_note(ctx, person)
    for _ in range(amounts.messages):
        add_message(ctx, person)
    if person.showcase:
        add_contact_update(ctx, person)


def add_lead_history(ctx: DemoContext, person: Person) -> None:
    """Leads and app users have no category-making history, but they do get messages, notes
    and edits."""
    if ctx.chance(0.4):
        add_message(ctx, person)
    if person.row["origin"] != "PORTAL_SIGNUP" and ctx.chance(0.25):
        add_note(ctx, person)
    if ctx.chance(0.2):
        add_contact_update(ctx, person)


# Shared columns ------------------------------------------------------------------------------


def window(ctx: DemoContext, person: Person) -> tuple[datetime, datetime]:
    """When this person's history may happen: from sign-up (or 14 months ago) to now, or to
    their archiving."""
    start = max(person.created_at, ctx.days_ago(HISTORY_DAYS)) + _HOUR
    end: datetime = person.row["archived_at"] or ctx.anchor
    return start, end


def who(
    ctx: DemoContext,
    person: Person,
    participant: Participant | None = None,
    *,
    staff_share: float = 0.35,
) -> Row:
    """The snapshot and actor columns every history row carries. Staff act for the customer
    some of the time; an additional user acts for the account some of the time."""
    acted_by = None
    if person.additional_users and ctx.chance(0.35):
        acted_by = ctx.rng.choice(person.additional_users).id
    staff = ctx.staff_member().id if acted_by is None and ctx.chance(staff_share) else None
    return {
        "customer_id": person.id,
        "customer_name": person.name,
        "participant_id": participant.id if participant else None,
        "participant_name": participant.name if participant else None,
        "acted_by_additional_user_id": acted_by,
        "created_by_staff_id": staff,
    }


def stamps(at: datetime) -> Row:
    return {"created_at": at, "updated_at": at}


def add_payment(
    ctx: DemoContext,
    person: Person,
    amount: int,
    at: datetime,
    description: str,
    *,
    stripe: bool,
    actors: Row | None = None,
) -> Row:
    base = dict(actors or who(ctx, person))
    base.update(participant_id=None, participant_name=None)
    intent = f"pi_demo_{ctx.rng.getrandbits(96):024x}" if stripe else None
    person.paid_by_card = person.paid_by_card or stripe
    return ctx.add(
        "payments",
        **base,
        amount=amount,
        currency=ctx.spec.currency,
        refunded_amount=0,
        method="STRIPE" if stripe else "MANUAL",
        stripe_payment_intent_id=intent,
        description=description,
        paid_at=at,
        **stamps(at),
    )


def participant_of(ctx: DemoContext, person: Person) -> Participant:
    return ctx.rng.choice(person.participants)


# Passes, bookings, refunds -------------------------------------------------------------------


def add_pass(ctx: DemoContext, person: Person) -> None:
    start, end = window(ctx, person)
    index = ctx.rng.randrange(len(ctx.spec.catalog.passes))
    spec = ctx.spec.catalog.passes[index]
    product = ctx.catalog.tables["pass_products"][index]
    bought = ctx.between(start, end - _DAY)
    actors = who(ctx, person, participant_of(ctx, person) if ctx.spec.families else None)
    state = "COMPLETED" if ctx.chance(0.7) else "MANUAL"
    payment = None
    if state == "COMPLETED" or ctx.chance(0.5):
        payment = add_payment(
            ctx, person, spec.price, bought, spec.name, stripe=state == "COMPLETED", actors=actors
        )
    valid_from = bought.astimezone(ctx.zone).date()
    row = ctx.add(
        "customer_passes",
        **actors,
        pass_product_id=product["id"],
        purchased_at=bought,
        valid_from=valid_from,
        valid_until=valid_from + timedelta(days=spec.validity_days) if spec.validity_days else None,
        uses_total=spec.uses,
        uses_remaining=spec.uses,
        price_amount=spec.price,
        currency=ctx.spec.currency,
        state=state,
        payment_id=payment["id"] if payment else None,
        **stamps(bought),
    )
    person.passes.append(row)
    if state == "MANUAL":
        add_entry(
            ctx,
            person,
            "pass.assigned",
            bought,
            staff=True,
            subject=("CustomerPass", row),
            after={"pass": spec.name, "uses": spec.uses},
        )


def usable_pass(ctx: DemoContext, person: Person, credits: int) -> Row | None:
    choices = [
        p for p in person.passes if p["uses_remaining"] is None or p["uses_remaining"] >= credits
    ]
    return ctx.rng.choice(choices) if choices else None


def pass_window(ctx: DemoContext, pass_row: Row) -> tuple[datetime, datetime]:
    start = ctx.local(pass_row["valid_from"], 0)
    until: date | None = pass_row["valid_until"]
    end = ctx.local(until + _DAY, 0) if until else ctx.anchor + timedelta(days=FUTURE_DAYS)
    return max(start, pass_row["purchased_at"] + _HOUR), end


def pick_session(
    ctx: DemoContext, participant: Participant, start: datetime, end: datetime
) -> Row | None:
    """A session in the window with a free seat that this participant has not booked yet."""
    sessions = [
        s
        for s in ctx.tables["sessions"]
        if start + _DAY <= s["starts_at"] <= end
        and ctx.seats.get(s["id"], 0) < s["capacity"]
        and (s["id"], participant.id) not in ctx.booked
    ]
    return ctx.rng.choice(sessions) if sessions else None


def booking_time(
    ctx: DemoContext, starts: datetime, earliest: datetime, lead: timedelta
) -> datetime:
    """Up to `lead` before the start, never before `earliest` and never after now."""
    latest = min(starts - _HOUR, ctx.anchor)
    return ctx.between(min(max(starts - lead, earliest), latest), latest)


def event_price(ctx: DemoContext, session: Row) -> tuple[str, int, int]:
    """(event name, seat price, credits a seat costs)."""
    for row, spec in zip(ctx.catalog.tables["events"], ctx.spec.catalog.events, strict=True):
        if row["id"] == session["event_id"]:
            return spec.name, spec.price, 2 if spec.price >= 2000 else 1
    raise LookupError(session["event_id"])


def add_booking(ctx: DemoContext, person: Person, state: str) -> None:
    participant = participant_of(ctx, person)
    start, end = window(ctx, person)
    if person.row["status"] == "ACTIVE":
        end = ctx.anchor + timedelta(days=FUTURE_DAYS)
    credits_from = None
    if state == "PACKAGE" or (state == "CANCELLED" and ctx.chance(0.4)):
        credits_from = usable_pass(ctx, person, 2)
        if credits_from is None:
            state = "MANUAL" if state == "PACKAGE" else state
        else:
            valid_from, valid_until = pass_window(ctx, credits_from)
            start, end = max(start, valid_from), min(end, valid_until)
    session = pick_session(ctx, participant, start, end)
    if session is None:
        return
    name, price, credits = event_price(ctx, session)
    booked = booking_time(ctx, session["starts_at"], start, timedelta(days=21))
    actors = who(ctx, person, participant)
    paid_with = {"COMPLETED": "STRIPE", "PACKAGE": "CREDITS"}.get(state, "MANUAL")
    if state == "CANCELLED":
        paid_with = "CREDITS" if credits_from else ctx.rng.choice(("STRIPE", "MANUAL"))
    if paid_with == "MANUAL" and ctx.chance(0.25):
        paid_with, price = "FREE", 0
    if paid_with == "CREDITS":
        price = 0
    payment = None
    if paid_with in ("STRIPE", "MANUAL"):
        payment = add_payment(
            ctx, person, price, booked, name, stripe=paid_with == "STRIPE", actors=actors
        )
    cancelled = (
        ctx.between(booked, min(session["starts_at"], ctx.anchor))
        if (state == "CANCELLED")
        else None
    )
    row = ctx.add(
        "bookings",
        **actors,
        session_id=session["id"],
        booked_at=booked,
        state=state,
        paid_with=paid_with,
        price_amount=price,
        currency=ctx.spec.currency,
        price_credits=credits if paid_with == "CREDITS" else None,
        customer_pass_id=credits_from["id"] if paid_with == "CREDITS" and credits_from else None,
        payment_id=payment["id"] if payment else None,
        refunded_amount=0,
        cancelled_at=cancelled,
        **stamps(cancelled or booked),
    )
    ctx.booked.add((session["id"], participant.id))
    if state == "CANCELLED":
        was = {"CREDITS": "PACKAGE", "STRIPE": "COMPLETED"}.get(paid_with, "MANUAL")
        add_entry(
            ctx,
            person,
            "booking.cancelled",
            cancelled or booked,
            staff=ctx.chance(0.5),
            subject=("Booking", row),
            before={"state": was},
            after={"state": "CANCELLED"},
        )
        return
    ctx.seats[session["id"]] = ctx.seats.get(session["id"], 0) + 1
    if credits_from and credits_from["uses_remaining"] is not None:
        credits_from["uses_remaining"] -= credits
    if (
        payment
        and state == "COMPLETED"
        and booked < ctx.days_ago(2)
        and (person.showcase or ctx.chance(0.15))
    ):
        add_refund(ctx, person, row, payment)


def add_refund(ctx: DemoContext, person: Person, booking: Row, payment: Row) -> None:
    """Full or partial; the booking stays Completed and keeps its seat."""
    price: int = booking["price_amount"]
    amount = price if ctx.chance(0.5) else max(100, price // 2 // 50 * 50)
    at = ctx.between(booking["booked_at"] + _HOUR, ctx.anchor - _HOUR)
    staff = ctx.staff_member()
    actors = who(ctx, person, None)
    actors.update(
        acted_by_additional_user_id=None,
        created_by_staff_id=staff.id,
        participant_id=booking["participant_id"],
        participant_name=booking["participant_name"],
    )
    refund = ctx.add(
        "refunds",
        **actors,
        payment_id=payment["id"],
        booking_id=booking["id"],
        amount=amount,
        currency=ctx.spec.currency,
        status="SUCCEEDED",
        reason=ctx.rng.choice(
            ("Customer request", "Class moved by the studio", "Injury - goodwill refund")
        ),
        stripe_refund_id=f"re_demo_{ctx.rng.getrandbits(96):024x}",
        failure_reason=None,
        **stamps(at),
    )
    booking["refunded_amount"] += amount
    payment["refunded_amount"] += amount
    add_entry(
        ctx,
        person,
        "booking.refunded",
        at,
        staff=True,
        subject=("Refund", refund),
        before={"refunded_amount": booking["refunded_amount"] - amount},
        after={"refunded_amount": booking["refunded_amount"]},
        actor=staff.id,
    )


# Appointments, videos, subscriptions, questionnaires -----------------------------------------


def add_appointment(ctx: DemoContext, person: Person) -> None:
    start, end = window(ctx, person)
    if person.row["status"] == "ACTIVE":
        end = ctx.anchor + timedelta(days=FUTURE_DAYS)
    index = ctx.rng.randrange(len(ctx.spec.catalog.services))
    spec = ctx.spec.catalog.services[index]
    day = ctx.between(start + 2 * _DAY, end).astimezone(ctx.zone).date()
    starts = ctx.local(day, ctx.rng.randint(9, 18), ctx.rng.choice((0, 30)))
    booked = booking_time(ctx, starts, start, timedelta(days=14))
    actors = who(ctx, person, participant_of(ctx, person))
    paid_with = ctx.rng.choices(("STRIPE", "MANUAL", "FREE"), (50, 35, 15))[0]
    price = 0 if paid_with == "FREE" else spec.price
    payment = (
        None
        if paid_with == "FREE"
        else add_payment(
            ctx, person, price, booked, spec.name, stripe=paid_with == "STRIPE", actors=actors
        )
    )
    cancelled = ctx.between(booked, min(starts, ctx.anchor)) if ctx.chance(0.15) else None
    ctx.add(
        "appointments",
        **actors,
        service_id=ctx.catalog.tables["services"][index]["id"],
        facilitator_id=ctx.rng.choice(ctx.catalog.ids("facilitators")),
        booked_at=booked,
        starts_at=starts,
        duration_minutes=spec.minutes,
        price_amount=price,
        currency=ctx.spec.currency,
        paid_with=paid_with,
        payment_id=payment["id"] if payment else None,
        state="CANCELLED" if cancelled else "SCHEDULED",
        cancelled_at=cancelled,
        **stamps(cancelled or booked),
    )


def add_video(ctx: DemoContext, person: Person) -> None:
    start, end = window(ctx, person)
    index = ctx.rng.randrange(len(ctx.spec.catalog.videos))
    spec = ctx.spec.catalog.videos[index]
    bought = ctx.between(start, end - _HOUR)
    actors = who(ctx, person, None)
    credits_from = (
        usable_pass(ctx, person, spec.credits) if spec.credits and ctx.chance(0.5) else None
    )
    if credits_from and credits_from["purchased_at"] > bought:
        bought = ctx.between(credits_from["purchased_at"], end)
    payment = None
    if credits_from is None:
        payment = add_payment(
            ctx, person, spec.price, bought, spec.name, stripe=True, actors=actors
        )
    elif credits_from["uses_remaining"] is not None and spec.credits:
        credits_from["uses_remaining"] -= spec.credits
    cancelled = ctx.between(bought, ctx.anchor) if ctx.chance(0.1) else None
    ctx.add(
        "video_purchases",
        **actors,
        video_id=ctx.catalog.tables["videos"][index]["id"],
        purchased_at=bought,
        expires_at=bought + timedelta(days=spec.access_days) if spec.access_days else None,
        price_amount=0 if credits_from else spec.price,
        currency=ctx.spec.currency,
        price_credits=spec.credits if credits_from else None,
        customer_pass_id=credits_from["id"] if credits_from else None,
        payment_id=payment["id"] if payment else None,
        state="CANCELLED" if cancelled else "ACTIVE",
        cancelled_at=cancelled,
        **stamps(cancelled or bought),
    )


def add_subscription(ctx: DemoContext, person: Person, state: str) -> None:
    start, end = window(ctx, person)
    index = ctx.rng.randrange(len(ctx.spec.catalog.plans))
    plan = ctx.spec.catalog.plans[index]
    created = ctx.between(start, end - 7 * _DAY)
    started = created.astimezone(ctx.zone).date()
    actors = who(ctx, person, participant_of(ctx, person) if ctx.spec.families else None)
    cycles = cycle_dates(started, plan.unit, plan.count, end.date())
    for day in cycles[-3:]:
        paid = ctx.local(day, 6)
        add_payment(
            ctx, person, plan.amount, paid, f"{plan.name} ({day:%B %Y})", stripe=True, actors=actors
        )
    row = ctx.add(
        "customer_subscriptions",
        **actors,
        plan_id=ctx.catalog.tables["plans"][index]["id"],
        state=state,
        amount=plan.amount,
        currency=ctx.spec.currency,
        interval_unit=plan.unit,
        interval_count=plan.count,
        started_on=started,
        next_payment_on=next_cycle(started, plan.unit, plan.count, ctx.anchor.date())
        if state == "ACTIVE"
        else None,
        created_at=created,
        updated_at=ctx.between(created, end),
    )
    if state != "ACTIVE":
        add_entry(
            ctx,
            person,
            f"subscription.{state.lower()}",
            row["updated_at"],
            staff=ctx.chance(0.6),
            subject=("CustomerSubscription", row),
            before={"state": "ACTIVE"},
            after={"state": state},
        )


def add_months(day: date, months: int) -> date:
    month = day.month - 1 + months
    year, month = day.year + month // 12, month % 12 + 1
    for last in (31, 30, 29, 28):
        try:
            return date(year, month, min(day.day, last))
        except ValueError:
            continue
    raise ValueError(day)


def cycle_date(started: date, unit: str, count: int, n: int) -> date:
    if unit == "WEEK":
        return started + timedelta(weeks=count * n)
    return add_months(started, count * n * (12 if unit == "YEAR" else 1))


def cycle_dates(started: date, unit: str, count: int, until: date) -> list[date]:
    days, n = [], 0
    while (day := cycle_date(started, unit, count, n)) <= until:
        days.append(day)
        n += 1
    return days


def next_cycle(started: date, unit: str, count: int, today: date) -> date:
    n = 0
    while (day := cycle_date(started, unit, count, n)) < today:
        n += 1
    return day


def add_questionnaire_response(ctx: DemoContext, person: Person, *, completed: bool) -> None:
    start, end = window(ctx, person)
    index = ctx.rng.randrange(len(ctx.spec.catalog.questionnaires))
    spec = ctx.spec.catalog.questionnaires[index]
    assigned = ctx.between(start, end - _HOUR)
    submitted = ctx.between(assigned, end) if completed else None
    answers = {q["key"]: answer(ctx, q) for q in spec.questions} if completed else {}
    participant = participant_of(ctx, person) if ctx.spec.families else None
    ctx.add(
        "questionnaire_responses",
        **who(ctx, person, participant, staff_share=0.6),
        questionnaire_id=ctx.catalog.tables["questionnaires"][index]["id"],
        status="COMPLETED" if completed else "ASSIGNED",
        answers=answers,
        answers_submitted=len(answers),
        submitted_at=submitted,
        created_at=assigned,
        updated_at=submitted or assigned,
    )


def answer(ctx: DemoContext, q: dict[str, Any]) -> Any:
    if q["type"] == "boolean":
        return ctx.chance(0.3)
    if q["type"] == "select":
        return ctx.rng.choice(q["options"])
    texts = {
        "emergency_contact": "Mary Doyle, +44 7400 123456",
        "allergies": ctx.rng.choice(("None", "Peanuts", "Hay fever")),
        "injury_details": "Old knee injury (2021), fully recovered.",
    }
    return texts.get(q["key"], ctx.rng.choice(("All good, thanks!", "More evening classes.")))


# Notes, messages, account history ------------------------------------------------------------


NOTES = (
    "Prefers the front row; mild hearing loss in the left ear.",
    "Asked about corporate discounts for her team. Follow up in January.",
    "Paid the remaining balance in cash at reception.",
    "Recovering from a shoulder injury; avoid overhead work for now.",
    "Lovely feedback about Marco's class — consider for the testimonial page.",
    "Card declined twice; customer will update details in the member portal.",
    "Brings their own mat. Allergic to lavender oil (sound bath!).",
    "Requested invoices addressed to their company (Zoë's Café Ltd).",
)
MESSAGES = (
    ("EMAIL", "SERVICE", "Your booking is confirmed", "See you in class, {first_name}!"),
    ("EMAIL", "MARKETING", "Spring timetable is here", "New classes, new teachers, same café."),
    ("IN_APP", "SERVICE", "Class moved", "Thursday's class moves to Studio 2 this week."),
    ("SMS", "SERVICE", None, "Reminder: your class starts at 18:00 tomorrow."),
    ("SMS", "MARKETING", None, "Bring a friend free this weekend! Reply STOP to opt out."),
    ("IN_APP", "MARKETING", "Members' summer party", "Drinks on the terrace, Friday from 7pm."),
)


def add_note(ctx: DemoContext, person: Person) -> None:
    start, end = window(ctx, person)
    at = ctx.between(start, end)
    author = ctx.staff_member()
    actors = who(ctx, person)
    actors.update(acted_by_additional_user_id=None, created_by_staff_id=author.id)
    edited = ctx.staff_member() if ctx.chance(0.2) else None
    row = ctx.add(
        "notes",
        **actors,
        content=ctx.rng.choice(NOTES),
        author_name=author.name,
        updated_by_staff_id=edited.id if edited else None,
        updated_by_name=edited.name if edited else None,
        created_at=at,
        updated_at=ctx.between(at, end) if edited else at,
    )
    add_entry(ctx, person, "note.created", at, staff=True, subject=("Note", row), actor=author.id)


def add_message(ctx: DemoContext, person: Person) -> None:
    start, end = window(ctx, person)
    channel, purpose, subject, body = ctx.rng.choice(MESSAGES)
    at = ctx.between(start, end)
    recipient = (
        ctx.rng.choice(person.additional_users)
        if (person.additional_users and ctx.chance(0.2))
        else None
    )
    consent = person.row["marketing_consent"]
    status, reason = "SENT", None
    if purpose == "MARKETING" and not consent:
        status, reason = "SKIPPED", "Marketing consent not given"
    elif channel == "SMS" and not person.row["mobile"]:
        status, reason = "SKIPPED", "No mobile number"
    elif channel == "EMAIL" and not person.row["email"]:
        status, reason = "SKIPPED", "No email address"
    elif ctx.chance(0.05):
        status, reason = "FAILED", "Mailbox unavailable (550)"
    actors = who(ctx, person, staff_share=0.8)
    actors.update(acted_by_additional_user_id=None)
    sent = at + timedelta(seconds=ctx.rng.randint(2, 90)) if status == "SENT" else None
    ctx.add(
        "messages",
        **actors,
        recipient_additional_user_id=recipient.id if recipient else None,
        channel=channel,
        purpose=purpose,
        subject=subject,
        body=body.replace("{first_name}", person.row["first_name"]),
        status=status,
        status_reason=reason,
        sent_at=sent,
        read_at=ctx.between(sent, ctx.anchor)
        if sent and channel == "IN_APP" and ctx.chance(0.6)
        else None,
        **stamps(at),
    )


def add_entry(
    ctx: DemoContext,
    person: Person,
    action: str,
    at: datetime,
    *,
    staff: bool,
    subject: tuple[str, Row] | None = None,
    before: Row | None = None,
    after: Row | None = None,
    actor: uuid.UUID | None = None,
) -> None:
    """An account-history entry: staff, the customer or one of their additional users."""
    if staff:
        member = next((s for s in ctx.staff if s.id == actor), None) or ctx.staff_member()
        kind, actor_id, actor_name = "STAFF", member.id, member.name
    elif person.additional_users and ctx.chance(0.3):
        user = ctx.rng.choice(person.additional_users)
        kind, actor_id, actor_name = "ADDITIONAL_USER", user.id, user.name
    else:
        kind, actor_id, actor_name = "CUSTOMER", person.id, person.name
    ctx.add(
        "account_history",
        customer_id=person.id,
        customer_name=person.name,
        actor_kind=kind,
        actor_id=actor_id,
        actor_name=actor_name,
        action=action,
        subject_type=subject[0] if subject else None,
        subject_id=subject[1]["id"] if subject else None,
        before=before,
        after=after,
        created_at=at,
    )


def add_account_created(ctx: DemoContext, person: Person) -> None:
    row = person.row
    after = {k: row[k] for k in ("first_name", "last_name", "email", "mobile")}
    origin = row["origin"]
    if origin == "SERVICE":
        ctx.add(
            "account_history",
            customer_id=person.id,
            customer_name=person.name,
            actor_kind="SYSTEM",
            actor_id=None,
            actor_name="Events service",
            action="customer.created",
            subject_type="Customer",
            subject_id=person.id,
            before=None,
            after=after,
            created_at=row["created_at"],
        )
        return
    add_entry(
        ctx,
        person,
        "customer.created",
        row["created_at"],
        staff=origin == "STAFF",
        subject=("Customer", row),
        after=after,
    )


def add_contact_update(ctx: DemoContext, person: Person) -> None:
    start, end = window(ctx, person)
    current = person.row["mobile"]
    previous = current[:-3] + f"{ctx.rng.randrange(1000):03d}" if current else None
    add_entry(
        ctx,
        person,
        "customer.updated",
        ctx.between(start, end),
        staff=ctx.chance(0.5),
        subject=("Customer", person.row),
        before={"mobile": previous},
        after={"mobile": current},
    )


def add_archive_entries(ctx: DemoContext, person: Person) -> None:
    at: datetime = person.row["archived_at"]
    target_id = person.row["merged_into_id"]
    if target_id is None:
        add_entry(
            ctx,
            person,
            "customer.archived",
            at,
            staff=True,
            subject=("Customer", person.row),
            before={"status": "ACTIVE"},
            after={"status": "ARCHIVED"},
        )
        return
    target = next(p for p in ctx.people if p.id == target_id)
    staff = ctx.staff_member("OWNER")
    moved = {"from": str(person.id), "into": str(target.id)}
    add_entry(
        ctx,
        person,
        "customer.merged",
        at,
        staff=True,
        subject=("Customer", target.row),
        before={"status": "ACTIVE"},
        after={"status": "ARCHIVED", **moved},
        actor=staff.id,
    )
    add_entry(
        ctx,
        target,
        "customer.merged",
        at,
        staff=True,
        subject=("Customer", person.row),
        before={"email": target.row["email"]},
        after={"email": target.row["email"], **moved},
        actor=staff.id,
    )


def add_payment_methods(ctx: DemoContext, person: Person) -> None:
    """Cards at Stripe for some customers who paid through Stripe."""
    if not person.paid_by_card or not (person.showcase or ctx.chance(0.5)):
        return
    person.row["stripe_customer_id"] = f"cus_demo_{ctx.rng.getrandbits(56):014x}"
    for i in range(2 if person.showcase else ctx.rng.choice((1, 1, 2))):
        added = ctx.between(person.created_at, ctx.anchor)
        ctx.add(
            "payment_methods",
            customer_id=person.id,
            stripe_payment_method_id=f"pm_demo_{ctx.rng.getrandbits(96):024x}",
            brand=ctx.rng.choice(("visa", "mastercard", "amex")),
            last4=f"{ctx.rng.randrange(10000):04d}",
            exp_month=ctx.rng.randint(1, 12),
            exp_year=ctx.anchor.year + ctx.rng.randint(1, 4),
            is_default=i == 0,
            created_at=added,
        )
