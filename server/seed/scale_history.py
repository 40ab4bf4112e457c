"""The bulk seeder's history, generated inside PostgreSQL with `INSERT ... SELECT` over
`generate_series`.

Every value is a function of the row's slot `g` (no `random()`), so a run is reproducible and
rows that refer to each other can be generated separately: a Stripe booking's payment has the
id `seeded_uuid(K_PAYMENT_BOOKING, g)` whether it is computed while writing the payment or the
booking. Rows are written in slot order, and slots are spread evenly over the last 14 months, so
the heap is in time order and each customer's history is scattered through it, as it would be
after a year of use. Customers come from `seed_people` through `pg_temp.pick`, a hash of the
slot that sends one row in sixteen to the first 0.5% of customers: those heavy customers have
several pages in every tab.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta

from server.seed.catalog import CatalogSpec
from server.seed.demo_context import FUTURE_DAYS, HISTORY_DAYS
from server.seed.demo_history import MESSAGES, NOTES
from server.seed.ids import sql_function

K_STAFF, K_SESSION = 9, 10
CATALOG_KINDS = {
    "facilitators": 11,
    "events": 12,
    "services": 13,
    "pass_products": 14,
    "videos": 15,
    "plans": 16,
    "questionnaires": 17,
}
K_PAYMENT_BOOKING, K_PAYMENT_PASS, K_PAYMENT_APPOINTMENT = 20, 21, 22
K_PAYMENT_VIDEO, K_PAYMENT_SUBSCRIPTION = 23, 24
K_PASS, K_BOOKING, K_APPOINTMENT, K_VIDEO, K_SUBSCRIPTION = 30, 31, 32, 33, 34
K_RESPONSE, K_NOTE, K_MESSAGE, K_REFUND, K_ACCOUNT = 35, 36, 37, 38, 39
# Salts for pg_temp.pick, one per table, so tables do not pick the same customers in step.
_SALT = {
    "booking": 1,
    "pass": 2,
    "appointment": 3,
    "video": 4,
    "subscription": 5,
    "response": 6,
    "note": 7,
    "message": 8,
    "account": 9,
}


@dataclass(frozen=True)
class Volumes:
    """Rows per table (by slot) for `customers` customers, `primaries` of them with history,
    about `per_customer` history rows each."""

    customers: int
    primaries: int
    bookings: int
    passes: int
    appointments: int
    videos: int
    subscriptions: int
    responses: int
    notes: int
    messages: int
    account_extra: int
    sessions: int

    @classmethod
    def plan(cls, customers: int, primaries: int, per_customer: int) -> Volumes:
        total = customers * per_customer

        def share(fraction: float) -> int:
            return max(1, round(total * fraction))

        bookings = share(0.28)
        return cls(
            customers=customers,
            primaries=max(1, primaries),
            bookings=bookings,
            passes=share(0.05),
            appointments=share(0.045),
            videos=share(0.04),
            subscriptions=share(0.015),
            responses=primaries + share(0.01),
            notes=share(0.04),
            messages=share(0.08),
            account_extra=share(0.04),
            sessions=max(50, bookings // 12),
        )

    @property
    def heavy(self) -> int:
        return max(1, self.primaries // 200)


@dataclass(frozen=True)
class HistoryContext:
    business_id: uuid.UUID
    prefix: int
    currency: str
    time_zone: str
    anchor: datetime
    catalog: CatalogSpec
    owner: tuple[uuid.UUID, str]
    staff: tuple[uuid.UUID, str]
    volumes: Volumes

    @property
    def start(self) -> datetime:
        return self.anchor - timedelta(days=HISTORY_DAYS)


@dataclass(frozen=True)
class Step:
    """One statement of the load and how many rows it should write."""

    table: str
    sql: str
    rows: int


def literal(value: object) -> str:
    """A SQL literal for the constants baked into the generated statements (all of them ours:
    numbers, names from the catalog, ids)."""
    if value is None:
        return "NULL"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    return "'" + str(value).replace("'", "''") + "'"


def array(values: list[object] | tuple[object, ...], cast: str) -> str:
    return f"(ARRAY[{', '.join(literal(v) for v in values)}]::{cast}[])"


def helper_functions(ctx: HistoryContext) -> list[str]:
    """Single-expression SQL functions, inlined by the planner."""
    v = ctx.volumes
    start = ctx.start.timestamp()
    span = (ctx.anchor - timedelta(hours=1)).timestamp() - start
    local_start = ctx.start.date().isoformat()
    days = HISTORY_DAYS + FUTURE_DAYS
    return [
        sql_function(ctx.prefix),
        """CREATE OR REPLACE FUNCTION pg_temp.h(salt integer, g bigint) RETURNS bigint
           LANGUAGE sql IMMUTABLE AS $$ SELECT (hashint8(g * 64 + salt) & 2147483647)::bigint $$""",
        f"""CREATE OR REPLACE FUNCTION pg_temp.pick(salt integer, g bigint) RETURNS integer
           LANGUAGE sql IMMUTABLE AS $$ SELECT (CASE WHEN pg_temp.h(salt, g) & 15 = 0
               THEN (pg_temp.h(salt, g) >> 4) % {v.heavy}
               ELSE (pg_temp.h(salt, g) >> 4) % {v.primaries} END)::integer $$""",
        f"""CREATE OR REPLACE FUNCTION pg_temp.at(g bigint, total bigint) RETURNS timestamptz
           LANGUAGE sql STABLE AS $$
           SELECT to_timestamp({start} + (g::float8 - 0.5) / total * {span}) $$""",
        f"""CREATE OR REPLACE FUNCTION pg_temp.day_of(g bigint, total bigint) RETURNS bigint
           LANGUAGE sql IMMUTABLE AS $$
           SELECT floor((g::float8 - 0.5) / total * {span} / 86400)::bigint $$""",
        f"""CREATE OR REPLACE FUNCTION pg_temp.session_start(i bigint) RETURNS timestamptz
           LANGUAGE sql STABLE AS $$
           SELECT ((date '{local_start}' + (i * {days} / {v.sessions})::integer)
                   + make_time((7 + i % 13)::integer, 0, 0)) AT TIME ZONE {literal(ctx.time_zone)}
           $$""",
        # One of the sessions on day `day` (a day has about sessions / days of them).
        f"""CREATE OR REPLACE FUNCTION pg_temp.session_on(day bigint, g bigint) RETURNS bigint
           LANGUAGE sql IMMUTABLE AS $$
           SELECT least({v.sessions - 1}, (day * {v.sessions} + {days - 1}) / {days}
               + pg_temp.h(14, g) % greatest(1, ((day + 1) * {v.sessions} + {days - 1}) / {days}
                                               - (day * {v.sessions} + {days - 1}) / {days}))
           $$""",
    ]


def paying_number(slot: str, modulus: int, residues: tuple[int, ...], base: int) -> str:
    """Dense payment numbers for the slots whose `slot % modulus` is in `residues`."""
    rank = " ".join(f"WHEN {r} THEN {i + 1}" for i, r in enumerate(residues))
    return f"({base} + ({slot} / {modulus}) * {len(residues)} + CASE {slot} % {modulus} {rank} END)"


def paying_range(slots: int, modulus: int, residues: tuple[int, ...]) -> int:
    return (slots // modulus + 1) * len(residues)


PERSON_COLUMNS = (
    "id, business_id, number, customer_id, customer_name, participant_id, participant_name, "
    "acted_by_additional_user_id, created_by_staff_id, created_at, updated_at"
)


def helping_staff(ctx: HistoryContext, g: str) -> str:
    """Staff booked one row in five for the customer, the owner another one in five."""
    return (
        f"CASE {g} % 5 WHEN 0 THEN {literal(str(ctx.owner[0]))}::uuid "
        f"WHEN 1 THEN {literal(str(ctx.staff[0]))}::uuid END"
    )


def person(
    ctx: HistoryContext,
    g: str,
    *,
    participant: bool = True,
    acted_by: bool = True,
    staff: str | None = None,
) -> str:
    """Customer and participant snapshots, who acted (an additional user one row in four,
    when the account has one) and which staff member created the row."""
    parts = ["p.cid", "p.cname"]
    if participant:
        parts += [
            f"CASE WHEN p.p2 IS NOT NULL AND {g} % 3 = 0 THEN p.p2 ELSE p.p1 END",
            f"CASE WHEN p.p2 IS NOT NULL AND {g} % 3 = 0 THEN p.p2name ELSE p.p1name END",
        ]
    else:
        parts += ["NULL::uuid", "NULL"]
    parts.append(f"CASE WHEN {g} % 4 = 1 THEN p.au END" if acted_by else "NULL::uuid")
    parts.append(staff or helping_staff(ctx, g))
    return ", ".join(parts)


PEOPLE = "CROSS JOIN LATERAL (SELECT * FROM seed_people sp WHERE sp.idx = {idx}) p"


class HistorySql:
    """The statements that write the history, chunked so that progress can be reported."""

    def __init__(self, ctx: HistoryContext, chunk: int = 1_000_000) -> None:
        self.ctx = ctx
        self.v = ctx.volumes
        self.chunk = chunk
        self.currency = literal(ctx.currency)
        cat = ctx.catalog
        self.event_price = array([e.price for e in cat.events], "bigint")
        self.event_minutes = array([e.minutes for e in cat.events], "integer")
        self.event_name = array([e.name for e in cat.events], "text")
        self.pass_uses = array([p.uses for p in cat.passes], "integer")
        self.pass_days = array([p.validity_days for p in cat.passes], "integer")
        self.pass_price = array([p.price for p in cat.passes], "bigint")
        self.pass_name = array([p.name for p in cat.passes], "text")
        self.video_price = array([v.price for v in cat.videos], "bigint")
        self.video_credits = array([v.credits for v in cat.videos], "integer")
        self.video_days = array([v.access_days for v in cat.videos], "integer")
        self.video_name = array([v.name for v in cat.videos], "text")
        self.service_price = array([s.price for s in cat.services], "bigint")
        self.service_minutes = array([s.minutes for s in cat.services], "integer")
        self.service_name = array([s.name for s in cat.services], "text")
        self.plan_amount = array([p.amount for p in cat.plans], "bigint")
        self.plan_unit = array([p.unit for p in cat.plans], "text")
        self.plan_count = array([p.count for p in cat.plans], "integer")
        self.plan_name = array([p.name for p in cat.plans], "text")
        if not cat.videos[0].credits:
            raise ValueError("the scale catalog's first video must be sold for credits")
        # Payment numbers: each source gets a dense block after the previous one.
        self.pay_base = {}
        base = 0
        for name, slots, modulus, residues in self.payment_sources():
            self.pay_base[name] = base
            base += paying_range(slots, modulus, residues)

    def payment_sources(self) -> list[tuple[str, int, int, tuple[int, ...]]]:
        v = self.v
        return [
            ("booking", v.bookings, 20, (*range(0, 11), 17, 18)),
            ("pass", v.passes, 10, tuple(range(0, 8))),
            ("appointment", v.appointments, 10, tuple(range(0, 8))),
            (
                "video",
                v.videos,
                len(self.ctx.catalog.videos),
                tuple(range(1, len(self.ctx.catalog.videos))),
            ),
            ("subscription", v.subscriptions, 10, tuple(range(0, 7))),
        ]

    def ranges(self, total: int, first: int = 1) -> Iterator[tuple[int, int]]:
        for lo in range(first, first + total, self.chunk):
            yield lo, min(first + total - 1, lo + self.chunk - 1)

    def uuid(self, kind: int, n: str) -> str:
        return f"pg_temp.seeded_uuid({kind}, {n})"

    # The plan --------------------------------------------------------------------------------

    def steps(self) -> Iterator[Step]:
        yield from self.sessions()
        yield from self.chunked("payments", self.v.bookings, self.booking_payments, 0.65)
        yield from self.chunked("payments", self.v.passes, self.pass_payments, 0.8)
        yield from self.chunked("payments", self.v.appointments, self.appointment_payments, 0.8)
        video_share = 1 - 1 / len(self.ctx.catalog.videos)
        yield from self.chunked("payments", self.v.videos, self.video_payments, video_share)
        yield from self.chunked("payments", self.v.subscriptions, self.subscription_payments, 0.7)
        yield from self.chunked("customer_passes", self.v.passes, self.passes)
        yield from self.chunked("bookings", self.v.bookings, self.bookings)
        yield from self.chunked("refunds", self.refund_count(), self.refunds)
        yield from self.chunked("appointments", self.v.appointments, self.appointments)
        yield from self.chunked("video_purchases", self.v.videos, self.videos)
        yield from self.chunked("customer_subscriptions", self.v.subscriptions, self.subscriptions)
        yield from self.chunked("questionnaire_responses", self.v.responses, self.responses)
        yield from self.chunked("notes", self.v.notes, self.notes)
        yield from self.chunked("messages", self.v.messages, self.messages)
        yield from self.chunked("account_history", self.v.customers, self.accounts_created)
        yield from self.chunked("account_history", self.v.account_extra, self.account_entries)

    def chunked(
        self, table: str, total: int, build: Callable[[int, int], str], share: float = 1.0
    ) -> Iterator[Step]:
        for lo, hi in self.ranges(total):
            yield Step(table, build(lo, hi), round((hi - lo + 1) * share))

    def sessions(self) -> Iterator[Step]:
        v, ctx = self.v, self.ctx
        facilitators = len(ctx.catalog.facilitators)
        events = len(ctx.catalog.events)
        for lo, hi in self.ranges(v.sessions, first=0):
            yield Step(
                "sessions",
                f"""
                INSERT INTO sessions (id, business_id, event_id, facilitator_id, starts_at,
                    ends_at, time_zone, capacity, created_at)
                SELECT {self.uuid(K_SESSION, "i")}, $1,
                    {self.uuid(CATALOG_KINDS["events"], f"i % {events}")},
                    {self.uuid(CATALOG_KINDS["facilitators"], f"(i / 7) % {facilitators}")},
                    s.starts, s.starts + make_interval(
                        mins => {self.event_minutes}[i % {events} + 1]),
                    {literal(ctx.time_zone)}, 40,
                    least(s.starts - interval '30 days', {literal(ctx.anchor.isoformat())})
                FROM generate_series({lo}, {hi}) AS i
                CROSS JOIN LATERAL (SELECT pg_temp.session_start(i) AS starts) s""",
                hi - lo + 1,
            )

    # Bookings and what they pay with ---------------------------------------------------------

    def booking_core(self, lo: int, hi: int, slots: str | None = None) -> str:
        """One row per booking slot. `g % 20` decides how it was paid: 0-6 Stripe, 7-10 cash,
        11 free, 12-16 credits, 17-19 cancelled (after Stripe, cash, credits). `slots` replaces
        the plain series of slots `lo..hi` (it must name its column `g`)."""
        v = self.v
        slots = slots or f"generate_series({lo}::bigint, {hi}::bigint) AS g"
        events = len(self.ctx.catalog.events)
        return f"""(
            SELECT x.*,
                CASE WHEN x.r <= 6 THEN 'COMPLETED' WHEN x.r <= 11 THEN 'MANUAL'
                     WHEN x.r <= 16 THEN 'PACKAGE' ELSE 'CANCELLED' END AS state,
                CASE WHEN x.r <= 6 OR x.r = 17 THEN 'STRIPE' WHEN x.r <= 10 OR x.r = 18
                     THEN 'MANUAL' WHEN x.r = 11 THEN 'FREE' ELSE 'CREDITS' END AS paid_with,
                CASE WHEN x.r BETWEEN 12 AND 16 OR x.r = 19 THEN x.q END AS pass_slot,
                CASE WHEN x.r BETWEEN 12 AND 16 OR x.r = 19 THEN pg_temp.pick({_SALT["pass"]}, x.q)
                     ELSE pg_temp.pick({_SALT["booking"]}, x.g) END AS idx,
                CASE WHEN x.r = 11 OR x.r BETWEEN 12 AND 16 OR x.r = 19 THEN 0
                     ELSE {self.event_price}[x.i % {events} + 1] END AS price,
                CASE WHEN {self.event_price}[x.i % {events} + 1] >= 2000 THEN 2 ELSE 1 END
                    AS credits,
                {self.event_name}[x.i % {events} + 1] AS event_name,
                CASE WHEN x.r <= 6 AND (x.g / 20) % 5 = 2 THEN
                    CASE WHEN (x.g / 100) % 2 = 0 THEN {self.event_price}[x.i % {events} + 1]
                         ELSE {self.event_price}[x.i % {events} + 1] / 2 END
                    ELSE 0 END AS refund
            FROM (
                SELECT y.*, pg_temp.session_on(y.day, y.g) AS i
                FROM (
                    SELECT g, g % 20 AS r, pg_temp.at(g, {v.bookings}) AS booked_at,
                        greatest(1, least({v.passes}, g * {v.passes} / {v.bookings} - g % 5))
                            AS q,
                        -- the session is 1 to 14 days after the booking
                        pg_temp.day_of(g, {v.bookings}) + 1 + pg_temp.h(11, g) % 14 AS day
                    FROM {slots}
                    OFFSET 0  -- computed once, and passed on as plain values
                ) y
                OFFSET 0
            ) x
            OFFSET 0
        ) b"""

    def payment_columns(self) -> str:
        return (
            f"{PERSON_COLUMNS}, amount, currency, refunded_amount, method, "
            "stripe_payment_intent_id, description, paid_at"
        )

    def payment_select(
        self,
        kind: int,
        slot: str,
        number: str,
        amount: str,
        refunded: str,
        stripe: str,
        description: str,
        paid_at: str,
    ) -> str:
        """The SELECT list of a payment; `stripe` is a boolean expression."""
        return f"""{self.uuid(kind, slot)}, $1, {number},
            {person(self.ctx, slot, participant=False)}, {paid_at}, {paid_at},
            {amount}, {self.currency}, {refunded},
            CASE WHEN {stripe} THEN 'STRIPE' ELSE 'MANUAL' END,
            CASE WHEN {stripe} THEN 'pi_scale_{kind}_' || lpad({slot}::text, 12, '0') END,
            {description}, {paid_at}"""

    def booking_payments(self, lo: int, hi: int) -> str:
        number = paying_number("b.g", 20, (*range(0, 11), 17, 18), self.pay_base["booking"])
        select = self.payment_select(
            K_PAYMENT_BOOKING,
            "b.g",
            number,
            "b.price",
            "b.refund",
            "b.paid_with = 'STRIPE'",
            "b.event_name",
            "b.booked_at",
        )
        return f"""INSERT INTO payments ({self.payment_columns()})
            SELECT {select}
            FROM {self.booking_core(lo, hi)} {PEOPLE.format(idx="b.idx")}
            WHERE b.paid_with IN ('STRIPE', 'MANUAL')"""

    def bookings(self, lo: int, hi: int) -> str:
        cancelled = (
            f"CASE WHEN b.state = 'CANCELLED' THEN least(b.booked_at + "
            f"make_interval(hours => (1 + pg_temp.h(12, b.g) % 47)::integer), "
            f"{literal(self.ctx.anchor.isoformat())}::timestamptz) END"
        )
        return f"""INSERT INTO bookings ({PERSON_COLUMNS}, session_id, booked_at, state,
                paid_with, price_amount, currency, price_credits, customer_pass_id, payment_id,
                refunded_amount, cancelled_at)
            SELECT {self.uuid(K_BOOKING, "b.g")}, $1, b.g, {person(self.ctx, "b.g")},
                b.booked_at, coalesce(c.at, b.booked_at),
                {self.uuid(K_SESSION, "b.i")}, b.booked_at, b.state, b.paid_with, b.price,
                {self.currency}, CASE WHEN b.paid_with = 'CREDITS' THEN b.credits END,
                CASE WHEN b.pass_slot IS NOT NULL THEN {self.uuid(K_PASS, "b.pass_slot")} END,
                CASE WHEN b.paid_with IN ('STRIPE', 'MANUAL')
                     THEN {self.uuid(K_PAYMENT_BOOKING, "b.g")} END,
                b.refund, c.at
            FROM {self.booking_core(lo, hi)}
            CROSS JOIN LATERAL (SELECT {cancelled} AS at) c
            {PEOPLE.format(idx="b.idx")}"""

    def refund_count(self) -> int:
        """Refunded bookings: slots 0-6 of every fifth block of twenty, from block 2."""
        blocks = self.v.bookings // 100 + 1
        return blocks * 7

    def refunds(self, lo: int, hi: int) -> str:
        """Refund `k` (from 0) is for booking slot ((k / 7) * 5 + 2) * 20 + k % 7; only those
        slots are generated."""
        slots = (
            f"(SELECT ((k / 7) * 5 + 2) * 20 + k % 7 AS g "
            f"FROM generate_series({lo - 1}::bigint, {hi - 1}::bigint) AS k) AS slots"
        )
        number = "((b.g / 100) * 7 + b.r + 1)"
        owner = f"{literal(str(self.ctx.owner[0]))}::uuid"
        return f"""INSERT INTO refunds ({PERSON_COLUMNS}, payment_id, booking_id, amount,
                currency, status, reason, stripe_refund_id)
            SELECT {self.uuid(K_REFUND, "b.g")}, $1, {number},
                {person(self.ctx, "b.g", acted_by=False, staff=owner)}, r.at, r.at,
                {self.uuid(K_PAYMENT_BOOKING, "b.g")}, {self.uuid(K_BOOKING, "b.g")}, b.refund,
                {self.currency}, 'SUCCEEDED',
                CASE WHEN b.refund = b.price THEN 'Class cancelled by the studio'
                     ELSE 'Customer request' END,
                're_scale_' || lpad(b.g::text, 12, '0')
            FROM {self.booking_core(lo, hi, slots)}
            CROSS JOIN LATERAL (SELECT least(b.booked_at + interval '2 days',
                {literal(self.ctx.anchor.isoformat())}::timestamptz) AS at) r
            {PEOPLE.format(idx="b.idx")}
            WHERE b.refund > 0 AND b.g BETWEEN 1 AND {self.v.bookings}"""

    # Passes ----------------------------------------------------------------------------------

    def pass_core(self, lo: int, hi: int) -> str:
        v = self.v
        count = len(self.ctx.catalog.passes)
        return f"""(
            SELECT q, q % {count} + 1 AS j, pg_temp.pick({_SALT["pass"]}, q) AS idx,
                pg_temp.at(q, {v.passes}) - interval '1 day' AS bought
            FROM generate_series({lo}::bigint, {hi}::bigint) AS q
        ) c"""

    def pass_payments(self, lo: int, hi: int) -> str:
        number = paying_number("c.q", 10, tuple(range(0, 8)), self.pay_base["pass"])
        select = self.payment_select(
            K_PAYMENT_PASS,
            "c.q",
            number,
            f"{self.pass_price}[c.j]",
            "0",
            "c.q % 10 < 7",
            f"{self.pass_name}[c.j]",
            "c.bought",
        )
        return f"""INSERT INTO payments ({self.payment_columns()})
            SELECT {select} FROM {self.pass_core(lo, hi)} {PEOPLE.format(idx="c.idx")}
            WHERE c.q % 10 < 8"""

    def passes(self, lo: int, hi: int) -> str:
        tz = literal(self.ctx.time_zone)
        uses = f"{self.pass_uses}[c.j]"
        return f"""INSERT INTO customer_passes ({PERSON_COLUMNS}, pass_product_id, purchased_at,
                valid_from, valid_until, uses_total, uses_remaining, price_amount, currency,
                state, payment_id)
            SELECT {self.uuid(K_PASS, "c.q")}, $1, c.q, {person(self.ctx, "c.q")},
                c.bought, c.bought,
                {self.uuid(CATALOG_KINDS["pass_products"], "c.j - 1")}, c.bought,
                (c.bought AT TIME ZONE {tz})::date,
                (c.bought AT TIME ZONE {tz})::date + {self.pass_days}[c.j],
                {uses}, CASE WHEN {uses} IS NOT NULL
                             THEN greatest(0, {uses} - 1 - (c.q % {uses})::integer) END,
                {self.pass_price}[c.j], {self.currency},
                CASE WHEN c.q % 10 < 7 THEN 'COMPLETED' ELSE 'MANUAL' END,
                CASE WHEN c.q % 10 < 8 THEN {self.uuid(K_PAYMENT_PASS, "c.q")} END
            FROM {self.pass_core(lo, hi)} {PEOPLE.format(idx="c.idx")}"""

    # Appointments ----------------------------------------------------------------------------

    def appointment_core(self, lo: int, hi: int) -> str:
        services = len(self.ctx.catalog.services)
        return f"""(
            SELECT a, a % {services} + 1 AS j, pg_temp.pick({_SALT["appointment"]}, a) AS idx,
                pg_temp.at(a, {self.v.appointments}) AS booked,
                CASE WHEN a % 10 < 5 THEN 'STRIPE' WHEN a % 10 < 8 THEN 'MANUAL' ELSE 'FREE' END
                    AS paid_with
            FROM generate_series({lo}::bigint, {hi}::bigint) AS a
        ) c"""

    def appointment_payments(self, lo: int, hi: int) -> str:
        number = paying_number("c.a", 10, tuple(range(0, 8)), self.pay_base["appointment"])
        select = self.payment_select(
            K_PAYMENT_APPOINTMENT,
            "c.a",
            number,
            f"{self.service_price}[c.j]",
            "0",
            "c.paid_with = 'STRIPE'",
            f"{self.service_name}[c.j]",
            "c.booked",
        )
        return f"""INSERT INTO payments ({self.payment_columns()})
            SELECT {select} FROM {self.appointment_core(lo, hi)} {PEOPLE.format(idx="c.idx")}
            WHERE c.paid_with <> 'FREE'"""

    def appointments(self, lo: int, hi: int) -> str:
        facilitators = len(self.ctx.catalog.facilitators)
        starts = (
            "date_trunc('day', c.booked) + make_interval(days => "
            "(1 + pg_temp.h(13, c.a) % 14)::integer, hours => (9 + c.a % 9)::integer)"
        )
        cancelled = "CASE WHEN c.a % 7 = 0 THEN c.booked + interval '1 hour' END"
        return f"""INSERT INTO appointments ({PERSON_COLUMNS}, service_id, facilitator_id,
                booked_at, starts_at, duration_minutes, price_amount, currency, paid_with,
                payment_id, state, cancelled_at)
            SELECT {self.uuid(K_APPOINTMENT, "c.a")}, $1, c.a, {person(self.ctx, "c.a")},
                c.booked, coalesce({cancelled}, c.booked),
                {self.uuid(CATALOG_KINDS["services"], "c.j - 1")},
                {self.uuid(CATALOG_KINDS["facilitators"], f"(c.a / 3) % {facilitators}")},
                c.booked, {starts}, {self.service_minutes}[c.j],
                CASE WHEN c.paid_with = 'FREE' THEN 0 ELSE {self.service_price}[c.j] END,
                {self.currency}, c.paid_with,
                CASE WHEN c.paid_with <> 'FREE' THEN {self.uuid(K_PAYMENT_APPOINTMENT, "c.a")}
                END,
                CASE WHEN c.a % 7 = 0 THEN 'CANCELLED' ELSE 'SCHEDULED' END, {cancelled}
            FROM {self.appointment_core(lo, hi)} {PEOPLE.format(idx="c.idx")}"""

    # Videos ----------------------------------------------------------------------------------

    def video_core(self, lo: int, hi: int) -> str:
        """Video `v % n`; the first video is always bought with credits from a pass bought
        just before."""
        v = self.v
        count = len(self.ctx.catalog.videos)
        return f"""(
            SELECT x.*, CASE WHEN x.j = 1 THEN pg_temp.pick({_SALT["pass"]}, x.q)
                             ELSE pg_temp.pick({_SALT["video"]}, x.v) END AS idx
            FROM (
                SELECT v, v % {count} + 1 AS j, pg_temp.at(v, {v.videos}) AS bought,
                    greatest(1, least({v.passes}, v * {v.passes} / {v.videos} - v % 5)) AS q
                FROM generate_series({lo}::bigint, {hi}::bigint) AS v
            ) x OFFSET 0
        ) c"""

    def video_payments(self, lo: int, hi: int) -> str:
        count = len(self.ctx.catalog.videos)
        number = paying_number("c.v", count, tuple(range(1, count)), self.pay_base["video"])
        select = self.payment_select(
            K_PAYMENT_VIDEO,
            "c.v",
            number,
            f"{self.video_price}[c.j]",
            "0",
            "true",
            f"{self.video_name}[c.j]",
            "c.bought",
        )
        return f"""INSERT INTO payments ({self.payment_columns()})
            SELECT {select} FROM {self.video_core(lo, hi)} {PEOPLE.format(idx="c.idx")}
            WHERE c.j <> 1"""

    def videos(self, lo: int, hi: int) -> str:
        days = f"{self.video_days}[c.j]"
        anchor = literal(self.ctx.anchor.isoformat())
        return f"""INSERT INTO video_purchases ({PERSON_COLUMNS}, video_id, purchased_at,
                expires_at, price_amount, currency, price_credits, customer_pass_id, payment_id,
                state, cancelled_at)
            SELECT {self.uuid(K_VIDEO, "c.v")}, $1, c.v,
                {person(self.ctx, "c.v", participant=False)}, c.bought, c.bought,
                {self.uuid(CATALOG_KINDS["videos"], "c.j - 1")}, c.bought,
                CASE WHEN {days} IS NOT NULL THEN c.bought + make_interval(days => {days}) END,
                CASE WHEN c.j = 1 THEN 0 ELSE {self.video_price}[c.j] END, {self.currency},
                CASE WHEN c.j = 1 THEN {self.video_credits}[c.j] END,
                CASE WHEN c.j = 1 THEN {self.uuid(K_PASS, "c.q")} END,
                CASE WHEN c.j <> 1 THEN {self.uuid(K_PAYMENT_VIDEO, "c.v")} END,
                CASE WHEN c.v % 11 = 0 THEN 'CANCELLED' ELSE 'ACTIVE' END,
                CASE WHEN c.v % 11 = 0
                     THEN least(c.bought + interval '1 day', {anchor}::timestamptz) END
            FROM {self.video_core(lo, hi)} {PEOPLE.format(idx="c.idx")}"""

    # Subscriptions ---------------------------------------------------------------------------

    def subscription_core(self, lo: int, hi: int) -> str:
        plans = len(self.ctx.catalog.plans)
        tz = literal(self.ctx.time_zone)
        return f"""(
            SELECT x.*, (x.created AT TIME ZONE {tz})::date AS started
            FROM (
                SELECT s, s % {plans} + 1 AS j, pg_temp.pick({_SALT["subscription"]}, s) AS idx,
                    pg_temp.at(s, {self.v.subscriptions}) AS created
                FROM generate_series({lo}::bigint, {hi}::bigint) AS s
            ) x
        ) c"""

    def subscription_payments(self, lo: int, hi: int) -> str:
        number = paying_number("c.s", 10, tuple(range(0, 7)), self.pay_base["subscription"])
        select = self.payment_select(
            K_PAYMENT_SUBSCRIPTION,
            "c.s",
            number,
            f"{self.plan_amount}[c.j]",
            "0",
            "true",
            f"{self.plan_name}[c.j]",
            "c.created",
        )
        return f"""INSERT INTO payments ({self.payment_columns()})
            SELECT {select} FROM {self.subscription_core(lo, hi)} {PEOPLE.format(idx="c.idx")}
            WHERE c.s % 10 < 7"""

    def next_payment(self) -> str:
        """The first cycle date on or after the seeding day."""
        today = literal(self.ctx.anchor.date().isoformat())
        unit, count = f"{self.plan_unit}[c.j]", f"{self.plan_count}[c.j]"
        months = f"CASE {unit} WHEN 'YEAR' THEN 12 * {count} ELSE {count} END"
        elapsed = (
            f"(extract(year FROM age({today}::date, c.started)) * 12 "
            f"+ extract(month FROM age({today}::date, c.started)))::integer"
        )
        step = f"(({elapsed}) / ({months}) + 1) * ({months})"
        return f"""CASE WHEN {unit} = 'WEEK'
            THEN c.started + 7 * {count} * ceil(({today}::date - c.started)::float8
                 / (7 * {count}))::integer
            ELSE (c.started + make_interval(months => {step}))::date END"""

    def subscriptions(self, lo: int, hi: int) -> str:
        anchor = literal(self.ctx.anchor.isoformat())
        return f"""INSERT INTO customer_subscriptions ({PERSON_COLUMNS}, plan_id, state, amount,
                currency, interval_unit, interval_count, started_on, next_payment_on)
            SELECT {self.uuid(K_SUBSCRIPTION, "c.s")}, $1, c.s, {person(self.ctx, "c.s")},
                c.created, least(c.created + make_interval(days => (c.s % 30)::integer),
                                 {anchor}::timestamptz),
                {self.uuid(CATALOG_KINDS["plans"], "c.j - 1")},
                CASE WHEN c.s % 10 < 7 THEN 'ACTIVE' WHEN c.s % 10 < 9 THEN 'PAUSED'
                     ELSE 'SUSPENDED' END,
                {self.plan_amount}[c.j], {self.currency}, {self.plan_unit}[c.j],
                {self.plan_count}[c.j], c.started,
                CASE WHEN c.s % 10 < 7 THEN {self.next_payment()} END
            FROM {self.subscription_core(lo, hi)} {PEOPLE.format(idx="c.idx")}"""

    # Questionnaires, notes, messages ---------------------------------------------------------

    def responses(self, lo: int, hi: int) -> str:
        """The first `primaries` slots give every primary customer the waiver (so each has
        history whatever else they drew); the rest are feedback forms."""
        m = self.v.primaries
        waiver = self.ctx.catalog.questionnaires[0]
        keys = [q["key"] for q in waiver.questions]
        waiver_answers = (
            f"jsonb_build_object({literal(keys[0])}, r % 4 = 0, {literal(keys[2])}, "
            f"'Emergency contact ' || r, {literal(keys[3])}, "
            f"(ARRAY['Friend', 'Instagram', 'Google', 'Walked past'])[r % 4 + 1])"
        )
        feedback_answers = (
            "jsonb_build_object('rating', (r % 5 + 1)::text, 'comments', "
            "'More evening classes, please.')"
        )
        form = f"CASE WHEN r <= {m} THEN 0 ELSE 1 END"
        return f"""INSERT INTO questionnaire_responses ({PERSON_COLUMNS}, questionnaire_id,
                status, answers, answers_submitted, submitted_at)
            SELECT {self.uuid(K_RESPONSE, "r")}, $1, r, {person(self.ctx, "r")},
                c.created, c.created + CASE WHEN r % 5 <> 0 THEN interval '2 hours'
                                            ELSE interval '0' END,
                {self.uuid(CATALOG_KINDS["questionnaires"], form)},
                CASE WHEN r % 5 <> 0 THEN 'COMPLETED' ELSE 'ASSIGNED' END,
                CASE WHEN r % 5 = 0 THEN '{{}}'::jsonb WHEN r <= {m} THEN {waiver_answers}
                     ELSE {feedback_answers} END,
                CASE WHEN r % 5 = 0 THEN 0 WHEN r <= {m} THEN 3 ELSE 2 END,
                CASE WHEN r % 5 <> 0 THEN c.created + interval '2 hours' END
            FROM (SELECT r, pg_temp.at(r, {self.v.responses}) AS created,
                         CASE WHEN r <= {m} THEN (r - 1)::integer
                              ELSE pg_temp.pick({_SALT["response"]}, r) END AS idx
                  FROM generate_series({lo}::bigint, {hi}::bigint) AS r) c
            {PEOPLE.format(idx="c.idx")}"""

    def notes(self, lo: int, hi: int) -> str:
        (owner_id, owner), (staff_id, staff) = self.ctx.owner, self.ctx.staff
        texts = array(list(NOTES), "text")
        anchor = literal(self.ctx.anchor.isoformat())
        author = (
            f"CASE WHEN n % 2 = 0 THEN {literal(str(owner_id))}::uuid "
            f"ELSE {literal(str(staff_id))}::uuid END"
        )
        return f"""INSERT INTO notes ({PERSON_COLUMNS}, content, author_name,
                updated_by_staff_id, updated_by_name)
            SELECT {self.uuid(K_NOTE, "n")}, $1, n,
                {person(self.ctx, "n", participant=False, acted_by=False, staff=author)},
                c.created, CASE WHEN n % 5 = 0 THEN least(c.created + interval '1 day',
                                                          {anchor}::timestamptz)
                                ELSE c.created END,
                {texts}[n % {len(NOTES)} + 1],
                CASE WHEN n % 2 = 0 THEN {literal(owner)} ELSE {literal(staff)} END,
                CASE WHEN n % 5 = 0 THEN {literal(str(staff_id))}::uuid END,
                CASE WHEN n % 5 = 0 THEN {literal(staff)} END
            FROM (SELECT n, pg_temp.at(n, {self.v.notes}) AS created,
                         pg_temp.pick({_SALT["note"]}, n) AS idx
                  FROM generate_series({lo}::bigint, {hi}::bigint) AS n) c
            {PEOPLE.format(idx="c.idx")}"""

    def messages(self, lo: int, hi: int) -> str:
        count = len(MESSAGES)
        channel = array([m[0] for m in MESSAGES], "text")
        purpose = array([m[1] for m in MESSAGES], "text")
        subject = array([m[2] for m in MESSAGES], "text")
        body = array([m[3].replace("{first_name}", "there") for m in MESSAGES], "text")
        t = f"m % {count} + 1"
        status = (
            f"CASE WHEN {purpose}[{t}] = 'MARKETING' AND m % 3 = 0 THEN 'SKIPPED' "
            f"WHEN m % 37 = 0 THEN 'FAILED' ELSE 'SENT' END"
        )
        return f"""INSERT INTO messages ({PERSON_COLUMNS}, recipient_additional_user_id,
                channel, purpose, subject, body, status, status_reason, sent_at, read_at)
            SELECT {self.uuid(K_MESSAGE, "m")}, $1, m,
                {person(self.ctx, "m", participant=False, acted_by=False)},
                c.created, c.created, CASE WHEN m % 9 = 0 THEN p.au END,
                {channel}[{t}], {purpose}[{t}], {subject}[{t}], {body}[{t}], c.status,
                CASE c.status WHEN 'SKIPPED' THEN 'Marketing consent not given'
                              WHEN 'FAILED' THEN 'Mailbox unavailable (550)' END,
                CASE WHEN c.status = 'SENT' THEN c.created + interval '30 seconds' END,
                CASE WHEN c.status = 'SENT' AND {channel}[{t}] = 'IN_APP' AND m % 2 = 0
                     THEN c.created + interval '3 hours' END
            FROM (SELECT m, pg_temp.at(m, {self.v.messages}) AS created,
                         pg_temp.pick({_SALT["message"]}, m) AS idx, {status} AS status
                  FROM generate_series({lo}::bigint, {hi}::bigint) AS m) c
            {PEOPLE.format(idx="c.idx")}"""

    # Account history -------------------------------------------------------------------------

    def accounts_created(self, lo: int, hi: int) -> str:
        """`customer.created` for every customer, numbered like the customer."""
        (owner_id, owner), (staff_id, staff) = self.ctx.owner, self.ctx.staff
        return f"""INSERT INTO account_history (id, business_id, number, customer_id,
                customer_name, actor_kind, actor_id, actor_name, action, subject_type,
                subject_id, before, after, created_at)
            SELECT {self.uuid(K_ACCOUNT, "c.number")}, $1, c.number, c.id,
                c.first_name || ' ' || c.last_name,
                CASE c.origin WHEN 'STAFF' THEN 'STAFF' WHEN 'SERVICE' THEN 'SYSTEM'
                              ELSE 'CUSTOMER' END,
                CASE c.origin WHEN 'STAFF' THEN
                    CASE WHEN c.number % 2 = 0 THEN {literal(str(owner_id))}::uuid
                         ELSE {literal(str(staff_id))}::uuid END
                    WHEN 'PORTAL_SIGNUP' THEN c.id END,
                CASE c.origin WHEN 'STAFF' THEN
                    CASE WHEN c.number % 2 = 0 THEN {literal(owner)} ELSE {literal(staff)} END
                    WHEN 'SERVICE' THEN 'Events service'
                    ELSE c.first_name || ' ' || c.last_name END,
                'customer.created', 'Customer', c.id, NULL,
                jsonb_build_object('first_name', c.first_name, 'last_name', c.last_name,
                                   'email', c.email, 'mobile', c.mobile),
                c.created_at
            FROM customers c
            WHERE c.business_id = $1 AND c.number BETWEEN {lo} AND {hi}
            ORDER BY c.number"""

    def account_entries(self, lo: int, hi: int) -> str:
        """Later changes: contact edits, cancellations, notes, passes assigned, pauses."""
        n = self.v.customers
        (owner_id, owner), _ = self.ctx.owner, self.ctx.staff
        actions = array(
            [
                "customer.updated",
                "booking.cancelled",
                "note.created",
                "pass.assigned",
                "subscription.paused",
            ],
            "text",
        )
        before = array(
            [
                json.dumps(x)
                for x in (
                    {"mobile": "+447400000000"},
                    {"state": "MANUAL"},
                    None,
                    None,
                    {"state": "ACTIVE"},
                )
            ],
            "jsonb",
        )
        after = array(
            [
                json.dumps(x)
                for x in (
                    {"mobile": "+447400111111"},
                    {"state": "CANCELLED"},
                    None,
                    {"uses": 10},
                    {"state": "PAUSED"},
                )
            ],
            "jsonb",
        )
        t = "e % 5 + 1"
        return f"""INSERT INTO account_history (id, business_id, number, customer_id,
                customer_name, actor_kind, actor_id, actor_name, action, subject_type,
                subject_id, before, after, created_at)
            SELECT {self.uuid(K_ACCOUNT, f"{n} + e")}, $1, {n} + e, p.cid, p.cname,
                CASE WHEN e % 3 = 0 THEN 'CUSTOMER'
                     WHEN e % 7 = 1 AND p.au IS NOT NULL THEN 'ADDITIONAL_USER'
                     ELSE 'STAFF' END,
                CASE WHEN e % 3 = 0 THEN p.cid
                     WHEN e % 7 = 1 AND p.au IS NOT NULL THEN p.au
                     ELSE {literal(str(owner_id))}::uuid END,
                CASE WHEN e % 3 = 0 THEN p.cname
                     WHEN e % 7 = 1 AND p.au IS NOT NULL THEN p.auname
                     ELSE {literal(owner)} END,
                {actions}[{t}], 'Customer', p.cid, {before}[{t}], {after}[{t}], c.created
            FROM (SELECT e, pg_temp.at(e, {self.v.account_extra}) AS created,
                         pg_temp.pick({_SALT["account"]}, e) AS idx
                  FROM generate_series({lo}::bigint, {hi}::bigint) AS e) c
            {PEOPLE.format(idx="c.idx")}"""
