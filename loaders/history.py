"""Loaders for a customer's history: the eight profile tabs, the account summary (sales chart
and payment-method summary) and every history and catalog record by id.

A tab loader answers one page and one capped count per customer, for every customer of a batch,
in a single statement: the customers are `unnest`ed and each one is joined LATERAL to its page
(`ORDER BY sort_at DESC, id DESC LIMIT n + 1`, served by the tab's `(business_id, customer_id,
sort_at, id)` index) and to a count that stops at COUNT_CAP + 1. Catalog names are joined into
the page rather than loaded separately, so a row arrives ready to display. Keys carry the page
arguments; keys with identical arguments share one statement.
"""

from __future__ import annotations

import uuid
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import lru_cache
from typing import Any

from sqlalchemy import Row, column, text
from sqlalchemy.sql.selectable import TextualSelect

from loaders.base import ByIdLoader, RowLoader
from schema.pagination import COUNT_CAP
from server.db import ReadTransaction


def select_names(select_list: str) -> list[str]:
    """The result names of a select list: each item's alias, or its column name."""
    items, depth, start = [], 0, 0
    for i, ch in enumerate(select_list):
        depth += ch == "("
        depth -= ch == ")"
        if ch == "," and depth == 0:
            items.append(select_list[start:i])
            start = i + 1
    items.append(select_list[start:])
    return [item.rsplit(" AS ", 1)[-1].rsplit(".", 1)[-1].strip() for item in items]


def statement(sql: str, names: list[str]) -> TextualSelect:
    """`sql` with its result columns named in order, so that SQLAlchemy matches them by
    position and caches the result metadata with the compiled statement instead of rebuilding
    it from the cursor description on every execution."""
    return text(sql).columns(*(column(name) for name in names))


def now() -> datetime:
    """The request's idea of "now" (the chart's current month, a video's expiry). One place, so
    tests can pin it."""
    return datetime.now(UTC)


# Columns every history row shares (notes, payments, refunds and messages included).
HISTORY_COLUMNS = (
    "x.id, x.number, x.customer_id, x.customer_name, x.participant_id, x.participant_name, "
    "x.acted_by_additional_user_id, x.created_by_staff_id, x.created_at, x.updated_at"
)

EVENT_COLUMNS = "e.id AS event_id, e.name AS event_name, e.description AS event_description"
FACILITATOR_COLUMNS = "f.id AS facilitator_id, f.name AS facilitator_name"
SESSION_COLUMNS = (
    "s.id AS session_id, s.starts_at AS session_starts_at, s.ends_at AS session_ends_at, "
    "s.time_zone AS session_time_zone, s.capacity AS session_capacity, "
    f"{EVENT_COLUMNS}, {FACILITATOR_COLUMNS}"
)
SESSION_JOINS = (
    "JOIN events e ON e.business_id = s.business_id AND e.id = s.event_id "
    "LEFT JOIN facilitators f ON f.business_id = s.business_id AND f.id = s.facilitator_id"
)
SERVICE_COLUMNS = (
    "sv.id AS service_id, sv.name AS service_name, sv.duration_minutes AS service_duration, "
    "sv.price_amount AS service_price_amount, sv.currency AS service_currency"
)
PASS_PRODUCT_COLUMNS = (
    "pp.id AS pass_product_id, pp.name AS pass_product_name, pp.uses AS pass_product_uses, "
    "pp.validity_days AS pass_product_validity_days, "
    "pp.price_amount AS pass_product_price_amount, pp.currency AS pass_product_currency"
)
VIDEO_COLUMNS = (
    "v.id AS video_id, v.name AS video_name, v.price_amount AS video_price_amount, "
    "v.currency AS video_currency, v.price_credits AS video_price_credits, "
    "v.access_days AS video_access_days"
)
PLAN_COLUMNS = (
    "pl.id AS plan_id, pl.name AS plan_name, pl.amount AS plan_amount, "
    "pl.currency AS plan_currency, pl.interval_unit AS plan_interval_unit, "
    "pl.interval_count AS plan_interval_count"
)
QUESTIONNAIRE_COLUMNS = (
    "q.id AS questionnaire_id, q.name AS questionnaire_name, "
    "jsonb_array_length(q.questions) AS questionnaire_question_count"
)


@dataclass(frozen=True)
class RecordSpec:
    """How to select one kind of record, catalog names joined: `columns` over `table x` (or
    the catalog alias) plus `joins`; `id_column` names the key in the result."""

    name: str
    source: str
    columns: str
    id_expression: str = "x.id"
    id_column: str = "id"

    def by_id(self) -> TextualSelect:
        return _by_id(self)


@lru_cache(maxsize=64)
def _by_id(spec: RecordSpec) -> TextualSelect:
    # Built once per kind of record: loaders are built per request, statements need not be.
    return statement(
        f"SELECT {spec.columns} FROM {spec.source} "
        f"WHERE {spec.id_expression} = ANY(CAST(:ids AS uuid[]))",
        select_names(spec.columns),
    )


@dataclass(frozen=True)
class TabSpec(RecordSpec):
    """A profile tab: a record kind with its newest-first order, what its search box matches
    and the expression its state filter compares."""

    table: str = ""
    order_column: str = "created_at"
    search_text: str = "x.number::text"
    state_expression: str | None = None
    # Whether the search text needs the catalog joins (the count then joins them too).
    search_needs_joins: bool = True

    def limited_source(self, condition: str, order: str, limit: str) -> str:
        """`source` with the tab's own rows chosen first: those matching `condition` (on `x`
        alone), in `order`, `limit` of them, read in index order; the catalog is joined to
        that page only. Otherwise the planner may join every row of a long history before
        sorting it (2 ms for 378 bookings against 0.1 ms)."""
        own = f"{self.table} x"
        assert self.source.startswith(own), self.source
        joins = self.source[len(own) :]
        return f"(SELECT x.* FROM {own} WHERE {condition} ORDER BY {order} LIMIT {limit}) x{joins}"


def _from(table: str, joins: str = "") -> str:
    return f"{table} x {joins}".strip()


BOOKING_JOINS = (
    "JOIN sessions s ON s.business_id = x.business_id AND s.id = x.session_id " + SESSION_JOINS
)
BOOKINGS = TabSpec(
    name="bookings",
    table="bookings",
    source=_from("bookings", BOOKING_JOINS),
    columns=(
        f"{HISTORY_COLUMNS}, x.booked_at AS sort_at, x.booked_at, x.state, x.paid_with, "
        "x.price_amount, x.currency, x.price_credits, x.refunded_amount, x.cancelled_at, "
        f"x.payment_id, x.customer_pass_id, {SESSION_COLUMNS}"
    ),
    order_column="booked_at",
    search_text="concat_ws(' ', x.number, e.name, f.name)",
    state_expression="x.state",
)

APPOINTMENT_JOINS = (
    "JOIN services sv ON sv.business_id = x.business_id AND sv.id = x.service_id "
    "JOIN facilitators f ON f.business_id = x.business_id AND f.id = x.facilitator_id "
    "JOIN businesses biz ON biz.id = x.business_id"
)
APPOINTMENTS = TabSpec(
    name="appointments",
    table="appointments",
    source=_from("appointments", APPOINTMENT_JOINS),
    columns=(
        f"{HISTORY_COLUMNS}, x.booked_at AS sort_at, x.booked_at, x.starts_at, "
        "x.duration_minutes, x.price_amount, x.currency, x.paid_with, x.payment_id, x.state, "
        f"x.cancelled_at, biz.time_zone, {SERVICE_COLUMNS}, {FACILITATOR_COLUMNS}"
    ),
    order_column="booked_at",
    search_text="concat_ws(' ', x.number, sv.name, f.name)",
    state_expression="x.state",
)

PASSES = TabSpec(
    name="passes",
    table="customer_passes",
    source=_from(
        "customer_passes",
        "JOIN pass_products pp ON pp.business_id = x.business_id AND pp.id = x.pass_product_id",
    ),
    columns=(
        f"{HISTORY_COLUMNS}, x.purchased_at AS sort_at, x.purchased_at, x.valid_from, "
        "x.valid_until, x.uses_total, x.uses_remaining, x.price_amount, x.currency, x.state, "
        f"x.payment_id, {PASS_PRODUCT_COLUMNS}"
    ),
    order_column="purchased_at",
    search_text="concat_ws(' ', x.number, pp.name)",
    state_expression="x.state",
)

# Expired is derived from the expiry: an active purchase whose access has run out.
VIDEO_STATE = (
    "CASE WHEN x.state = 'CANCELLED' THEN 'CANCELLED' "
    "WHEN x.expires_at <= CAST(:now AS timestamptz) THEN 'EXPIRED' ELSE 'ACTIVE' END"
)
VIDEOS = TabSpec(
    name="videos",
    table="video_purchases",
    source=_from(
        "video_purchases", "JOIN videos v ON v.business_id = x.business_id AND v.id = x.video_id"
    ),
    columns=(
        f"{HISTORY_COLUMNS}, x.purchased_at AS sort_at, x.purchased_at, x.expires_at, "
        "x.price_amount, x.currency, x.price_credits, x.state, x.cancelled_at, x.payment_id, "
        f"x.customer_pass_id, {VIDEO_COLUMNS}"
    ),
    order_column="purchased_at",
    search_text="concat_ws(' ', x.number, v.name)",
    state_expression=VIDEO_STATE,
)

SUBSCRIPTIONS = TabSpec(
    name="subscriptions",
    table="customer_subscriptions",
    source=_from(
        "customer_subscriptions",
        "JOIN plans pl ON pl.business_id = x.business_id AND pl.id = x.plan_id",
    ),
    columns=(
        f"{HISTORY_COLUMNS}, x.created_at AS sort_at, x.state, x.amount, x.currency, "
        "x.interval_unit, x.interval_count, x.started_on, x.next_payment_on, "
        f"{PLAN_COLUMNS}"
    ),
    search_text="concat_ws(' ', x.number, pl.name)",
    state_expression="x.state",
)

QUESTIONNAIRES = TabSpec(
    name="questionnaires",
    table="questionnaire_responses",
    source=_from(
        "questionnaire_responses",
        "JOIN questionnaires q ON q.business_id = x.business_id AND q.id = x.questionnaire_id",
    ),
    columns=(
        f"{HISTORY_COLUMNS}, x.created_at AS sort_at, x.status, x.answers_submitted, "
        f"x.submitted_at, {QUESTIONNAIRE_COLUMNS}"
    ),
    search_text="concat_ws(' ', x.number, q.name)",
    state_expression="x.status",
)

NOTES = TabSpec(
    name="notes",
    table="notes",
    source=_from("notes"),
    columns=(
        f"{HISTORY_COLUMNS}, x.created_at AS sort_at, x.content, x.author_name, "
        "x.updated_by_staff_id, x.updated_by_name"
    ),
    search_text="concat_ws(' ', x.number, x.author_name, x.content)",
    search_needs_joins=False,
)

ACCOUNT_HISTORY = TabSpec(
    name="account_history",
    table="account_history",
    source=_from("account_history"),
    columns=(
        "x.id, x.number, x.customer_id, x.customer_name, x.created_at, x.created_at AS sort_at, "
        "x.actor_kind, x.actor_id, x.actor_name, x.action, x.subject_type, x.subject_id, "
        "x.before, x.after"
    ),
    search_text="concat_ws(' ', x.number, x.action, x.actor_name, x.subject_type)",
    state_expression="x.actor_kind",
    search_needs_joins=False,
)

PAYMENTS = RecordSpec(
    name="payments",
    source="payments x",
    columns=(
        f"{HISTORY_COLUMNS}, x.paid_at, x.amount, x.currency, x.refunded_amount, x.method, "
        "x.description"
    ),
)
REFUNDS = RecordSpec(
    name="refunds",
    source="refunds x",
    columns=(
        f"{HISTORY_COLUMNS}, x.payment_id, x.booking_id, x.amount, x.currency, x.status, "
        "x.reason, x.failure_reason"
    ),
)
MESSAGES = RecordSpec(
    name="messages",
    source="messages x",
    columns=(
        f"{HISTORY_COLUMNS}, x.recipient_additional_user_id, x.channel, x.purpose, x.subject, "
        "x.body, x.status, x.status_reason, x.sent_at, x.read_at"
    ),
)

EVENTS = RecordSpec(
    name="events",
    source="events e",
    columns=EVENT_COLUMNS,
    id_expression="e.id",
    id_column="event_id",
)
SESSIONS = RecordSpec(
    name="sessions",
    source=f"sessions s {SESSION_JOINS}",
    columns=SESSION_COLUMNS,
    id_expression="s.id",
    id_column="session_id",
)
SERVICES = RecordSpec(
    name="services",
    source="services sv",
    columns=SERVICE_COLUMNS,
    id_expression="sv.id",
    id_column="service_id",
)
FACILITATORS = RecordSpec(
    name="facilitators",
    source="facilitators f",
    columns=FACILITATOR_COLUMNS,
    id_expression="f.id",
    id_column="facilitator_id",
)
PASS_PRODUCTS = RecordSpec(
    name="pass_products",
    source="pass_products pp",
    columns=PASS_PRODUCT_COLUMNS,
    id_expression="pp.id",
    id_column="pass_product_id",
)
VIDEO_PRODUCTS = RecordSpec(
    name="videos",
    source="videos v",
    columns=VIDEO_COLUMNS,
    id_expression="v.id",
    id_column="video_id",
)
PLANS = RecordSpec(
    name="plans",
    source="plans pl",
    columns=PLAN_COLUMNS,
    id_expression="pl.id",
    id_column="plan_id",
)
QUESTIONNAIRE_FORMS = RecordSpec(
    name="questionnaires",
    source="questionnaires q",
    columns=QUESTIONNAIRE_COLUMNS,
    id_expression="q.id",
    id_column="questionnaire_id",
)


class RecordByIdLoader(ByIdLoader):
    """One record per id, in the shape its tab shows it (None when there is none in the
    viewer's business)."""

    def __init__(self, reader: ReadTransaction, spec: RecordSpec) -> None:
        super().__init__(reader)
        self.query = spec.by_id()
        self.key = spec.id_column


# Tabs ----------------------------------------------------------------------------------------


@dataclass(frozen=True)
class TabArgs:
    """A tab's validated arguments: search terms (folded in SQL), states, page size and
    bounds. Hashable, so that customers asking the same page batch together."""

    terms: tuple[str, ...] = ()
    states: tuple[str, ...] | None = None
    size: int = 20
    backward: bool = False
    after: tuple[datetime, uuid.UUID] | None = None
    before: tuple[datetime, uuid.UUID] | None = None


@dataclass(frozen=True)
class TabKey:
    customer_id: uuid.UUID
    args: TabArgs


@dataclass(frozen=True)
class TabPage:
    """Up to `size + 1` rows in fetch direction, and the count capped at COUNT_CAP + 1."""

    rows: list[Row[Any]]
    total: int


def counted_total(source: str, condition: str) -> str:
    """A tab's total as a select of one row (`total`): its rows matching `condition`, counted up
    to COUNT_CAP + 1."""
    return (
        f"SELECT count(*) AS total FROM (SELECT 1 FROM {source} WHERE {condition}"
        f" LIMIT {COUNT_CAP + 1}) capped"
    )


def tallied_total(table: str, customer: str) -> str:
    """A tab's total without a search or state filter as a select of one row (`total`): the
    customer's tally (migration 0011), capped as a count would be."""
    return (
        f"SELECT coalesce((SELECT least(t.rows, {COUNT_CAP + 1}) FROM history_tallies t"
        f" WHERE t.customer_id = {customer} AND t.tab = '{table}'), 0) AS total"
    )


@lru_cache(maxsize=512)
def tab_statement(
    spec: TabSpec, terms: int, states: bool, after: bool, before: bool, backward: bool
) -> TextualSelect:
    """The page-and-count statement for one shape of arguments (the values are bound)."""
    filters = ["x.customer_id = k.customer_id"]
    filters += [
        f"strpos(immutable_unaccent(lower({spec.search_text})), "
        f"immutable_unaccent(lower(CAST(:term{i} AS text)))) > 0"
        for i in range(terms)
    ]
    if states and spec.state_expression is not None:
        filters.append(f"{spec.state_expression} = ANY(CAST(:states AS text[]))")
    page = list(filters)
    keys = f"(x.{spec.order_column}, x.id)"
    if after:
        page.append(f"{keys} < (CAST(:after_at AS timestamptz), CAST(:after_id AS uuid))")
    if before:
        page.append(f"{keys} > (CAST(:before_at AS timestamptz), CAST(:before_id AS uuid))")
    # Newest first; a backward page is fetched oldest first from its bound and reversed.
    direction = "ASC" if backward else "DESC"
    order = f"x.{spec.order_column} {direction}, x.id {direction}"
    counted = spec.source if terms and spec.search_needs_joins else f"{spec.table} x"
    total = (
        counted_total(counted, " AND ".join(filters))
        if terms or states
        else tallied_total(spec.table, "k.customer_id")
    )
    # Without search terms every condition is on the tab's own table: its page is chosen
    # before the catalog is joined.
    paged = spec.source if terms else spec.limited_source(" AND ".join(page), order, ":limit")
    # The ids go through a scalar subquery so that the planner cannot see how many there are:
    # with the array as a constant every custom plan looks cheaper than the generic one and the
    # statement is planned afresh on each execution (~0.5 ms); hidden, PostgreSQL settles on
    # the cached generic plan, which also runs faster.
    return statement(
        f"""SELECT k.ord AS tab_ord, c.total AS tab_total, t.*
FROM unnest((SELECT CAST(:ids AS uuid[]))) WITH ORDINALITY AS k(customer_id, ord)
CROSS JOIN LATERAL ({total}) c
LEFT JOIN LATERAL (
    SELECT {spec.columns} FROM {paged}
    WHERE {" AND ".join(page)}
    ORDER BY {order}
    LIMIT :limit
) t ON true
ORDER BY k.ord, t.sort_at {direction}, t.id {direction}""",
        ["tab_ord", "tab_total", *select_names(spec.columns)],
    )


class TabLoader(RowLoader[TabKey, TabPage]):
    """One profile tab: a page and a capped count per customer, one statement per distinct
    set of arguments in the batch."""

    def __init__(self, reader: ReadTransaction, spec: TabSpec) -> None:
        super().__init__(reader)
        self.spec = spec

    async def batch_load_fn(self, keys: list[TabKey]) -> list[TabPage]:
        # Keys are unique within a batch (the loader caches by key); ordered per group.
        groups: dict[TabArgs, list[uuid.UUID]] = defaultdict(list)
        for key in keys:
            groups[key.args].append(key.customer_id)
        pages: dict[tuple[TabArgs, uuid.UUID], TabPage] = {}
        for args, customer_ids in groups.items():
            for customer_id, page in zip(
                customer_ids, await self._pages(args, customer_ids), strict=True
            ):
                pages[args, customer_id] = page
        return [pages[key.args, key.customer_id] for key in keys]

    async def _pages(self, args: TabArgs, customer_ids: list[uuid.UUID]) -> list[TabPage]:
        query = tab_statement(
            self.spec,
            len(args.terms),
            args.states is not None,
            args.after is not None,
            args.before is not None,
            args.backward,
        )
        params: dict[str, Any] = {"ids": customer_ids, "limit": args.size + 1, "now": now()}
        for i, term in enumerate(args.terms):
            params[f"term{i}"] = term
        if args.states is not None:
            params["states"] = list(args.states)
        if args.after is not None:
            params["after_at"], params["after_id"] = args.after
        if args.before is not None:
            params["before_at"], params["before_id"] = args.before
        rows: list[list[Row[Any]]] = [[] for _ in customer_ids]
        totals = [0] * len(customer_ids)
        for row in await self.fetch_text(query, params):
            index = row.tab_ord - 1
            totals[index] = row.tab_total
            if row.id is not None:
                rows[index].append(row)
        return [TabPage(rows=r, total=t) for r, t in zip(rows, totals, strict=True)]


# Account summary: the sales chart and the payment-method summary ----------------------------


@dataclass(frozen=True)
class SummaryKey:
    """`months` = 0 asks for the payment-method summary alone."""

    customer_id: uuid.UUID
    months: int


@dataclass(frozen=True)
class MonthSales:
    """One kind of item sold in one month: items, money net of refunds, credits spent."""

    count: int
    amount: int
    credits: int


@dataclass(frozen=True)
class AccountSummary:
    as_of: datetime  # the "now" the months were cut at
    time_zone: str
    currency: str
    # (local year, local month) -> kind ("bookings", "passes", "videos") -> sales
    sales: dict[tuple[int, int], dict[str, MonthSales]]
    payment_method: Row[Any] | None


# The months come from `sales_months` (migration 0012, which states the chart's rules): each
# customer's sales per kind and local month, kept by triggers, so the chart reads at most three
# rows a month whatever the history's size. The arrays go through scalar subqueries for the
# reason `tab_statement` gives.
SUMMARY = statement(
    """WITH k AS MATERIALIZED (
    SELECT k.customer_id, k.months, k.ord, biz.time_zone AS tz, biz.currency,
        date_trunc('month', CAST(:now AS timestamptz) AT TIME ZONE biz.time_zone) AS current_month,
        pm.brand, pm.last4, pm.exp_month, pm.exp_year
    FROM unnest((SELECT CAST(:ids AS uuid[])), (SELECT CAST(:months AS integer[])))
        WITH ORDINALITY AS k(customer_id, months, ord)
    CROSS JOIN businesses biz
    LEFT JOIN LATERAL (
        SELECT p.brand, p.last4, p.exp_month, p.exp_year FROM payment_methods p
        WHERE p.customer_id = k.customer_id
        ORDER BY p.is_default DESC, p.created_at DESC, p.id
        LIMIT 1
    ) pm ON true
),
sold AS (
    SELECT k.customer_id, k.months, s.month, s.kind, s.sales AS n, s.amount, s.credits
    FROM k JOIN sales_months s ON s.customer_id = k.customer_id
        AND s.month >= CAST(k.current_month - make_interval(months => k.months - 1) AS date)
        AND s.month <= CAST(k.current_month AS date)
    WHERE k.months > 0 AND (s.sales <> 0 OR s.amount <> 0 OR s.credits <> 0)
)
SELECT k.ord, k.tz, k.currency, k.brand, k.last4, k.exp_month, k.exp_year,
    sold.month, sold.kind, sold.n, sold.amount, sold.credits
FROM k
LEFT JOIN sold ON sold.customer_id = k.customer_id AND sold.months = k.months
ORDER BY k.ord""",
    select_names(
        "ord, tz, currency, brand, last4, exp_month, exp_year, month, kind, n, amount, credits"
    ),
)


class AccountSummaryLoader(RowLoader[SummaryKey, AccountSummary]):
    """A customer's sales by month (bookings, passes and videos, in the business's time zone)
    and their default card, in one statement per batch: the profile's account panel."""

    async def batch_load_fn(self, keys: list[SummaryKey]) -> list[AccountSummary]:
        as_of = now()
        rows = await self.fetch_text(
            SUMMARY,
            {
                "ids": [key.customer_id for key in keys],
                "months": [key.months for key in keys],
                "now": as_of,
            },
        )
        summaries: list[AccountSummary | None] = [None] * len(keys)
        for row in rows:
            index = row.ord - 1
            summary = summaries[index]
            if summary is None:
                summary = AccountSummary(
                    as_of=as_of,
                    time_zone=row.tz,
                    currency=row.currency,
                    sales={},
                    payment_method=row if row.brand is not None else None,
                )
                summaries[index] = summary
            if row.month is not None:
                month = summary.sales.setdefault((row.month.year, row.month.month), {})
                month[row.kind] = MonthSales(int(row.n), int(row.amount), int(row.credits))
        missing = [key for key, summary in zip(keys, summaries, strict=True) if summary is None]
        if missing:
            raise RuntimeError("the viewer's business was not visible to the summary statement")
        return [s for s in summaries if s is not None]


# Questionnaire answers, on demand -----------------------------------------------------------

ANSWERS = statement(
    """SELECT x.id, x.answers, q.questions
FROM questionnaire_responses x
JOIN questionnaires q ON q.business_id = x.business_id AND q.id = x.questionnaire_id
WHERE x.id = ANY(CAST(:ids AS uuid[]))""",
    ["id", "answers", "questions"],
)


class AnswersByResponseLoader(RowLoader[uuid.UUID, Row[Any] | None]):
    """A questionnaire response's answers with the questionnaire's questions."""

    async def batch_load_fn(self, keys: list[uuid.UUID]) -> list[Row[Any] | None]:
        by_id = {row.id: row for row in await self.fetch_text(ANSWERS, {"ids": keys})}
        return [by_id.get(key) for key in keys]


TABS: Sequence[TabSpec] = (
    BOOKINGS,
    APPOINTMENTS,
    PASSES,
    VIDEOS,
    SUBSCRIPTIONS,
    QUESTIONNAIRES,
    NOTES,
    ACCOUNT_HISTORY,
)
