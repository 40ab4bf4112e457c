"""Which SQL answers each GraphQL field, type by type: the table the SQL compiler reads.

Expressions are written over `{t}`, the alias of the row the type is built from (a customer, a
participant, one row of a tab as `loaders.history` selects it), the way each type's `from_row`
reads its row. `$1` is the request's "now" (`loaders.history.now`). A field missing here makes
its document fall back to the executor plan; the start-up log names it.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass

from loaders import history
from schema.compiled import json_sql as j
from schema.money import ZERO_DECIMAL

NOW = "$1::timestamptz"
# What Python's str.strip() removes from a full name, in ASCII.
_WHITESPACE = "E' \\t\\n\\r\\x0b\\x0c'"


@dataclass(frozen=True)
class Leaf:
    """A scalar or enum: `render` turns the SQL value `sql` into JSON text."""

    sql: str
    render: Callable[[str], str]


@dataclass(frozen=True)
class Embedded:
    """An object built from the same row (a money amount, a catalog entry joined into the
    tab row); null when `null_when` holds."""

    fields: Mapping[str, FieldSql]
    null_when: str | None = None


@dataclass(frozen=True)
class Lookup:
    """An object of `type_name` read from another row: `source` is a FROM clause (with
    WHERE/ORDER/LIMIT as needed) over `{a}`, the new row's alias, and `{t}`, the parent's."""

    type_name: str
    source: str
    # Viewers ("staff", "customer", "additional_user") who are answered null instead.
    hidden_from: frozenset[str] = frozenset()
    # A record of some customer's account: members see it only on their own account.
    account_row: bool = False


@dataclass(frozen=True)
class Children:
    """A list of `type_name` objects: rows of `source` (as in Lookup) in `order` (over `{a}`)."""

    type_name: str
    source: str
    order: str


@dataclass(frozen=True)
class Tab:
    """A profile tab's connection: a page and a capped count of `spec`'s rows of the customer;
    its nodes are `type_name` objects built from the tab's row."""

    spec: history.TabSpec
    type_name: str
    # Members get null and FORBIDDEN here (notes, account history).
    staff_only: bool = False


@dataclass(frozen=True)
class SalesChart:
    """The sales chart (`Customer.salesActivity(months:)`)."""


@dataclass(frozen=True)
class Directory:
    """The customer list's connection (`Query.people`): a page of directory rows and their
    capped count, read through the directory's own functions; each row's node is the Lookup
    of its `kind` (over `{t}`, the directory row: `person_id`, `kind`, `customer_id`)."""

    by_kind: Mapping[str, Lookup]


FieldSql = Leaf | Embedded | Lookup | Children | Tab | SalesChart | Directory


def _string(column: str) -> Leaf:
    return Leaf(f"{{t}}.{column}", j.string)


def _int(column: str) -> Leaf:
    return Leaf(f"{{t}}.{column}", j.integer)


def _bool(column: str) -> Leaf:
    return Leaf(f"{{t}}.{column}", j.boolean)


def _id(column: str) -> Leaf:
    return Leaf(f"{{t}}.{column}", j.uuid_id)


def _datetime(column: str) -> Leaf:
    return Leaf(f"{{t}}.{column}", j.datetime_)


def _date(column: str) -> Leaf:
    return Leaf(f"{{t}}.{column}", j.date_)


def _constant(json_text: str) -> Leaf:
    return Leaf(f"'{json_text}'", lambda sql: sql)


def money(amount: str, currency: str) -> Embedded:
    return Embedded(
        {
            "amount": Leaf(amount, j.integer),
            "currency": Leaf(currency, j.string),
            "decimal": Leaf(_decimal(amount, currency), j.string),
        }
    )


def _decimal(amount: str, currency: str) -> str:
    """`Money.decimal`: major units with two decimals, or the amount as it is for currencies
    without minor units."""
    zero_decimal = ", ".join(f"'{code}'" for code in sorted(ZERO_DECIMAL))
    return (
        f"CASE WHEN {currency} IN ({zero_decimal}) THEN ({amount})::text "
        f"ELSE CASE WHEN {amount} < 0 THEN '-' ELSE '' END || (abs({amount}) / 100)::text "
        f"|| '.' || lpad((abs({amount}) % 100)::text, 2, '0') END"
    )


def price(amount: str, currency: str, credits: str) -> Embedded:
    """`price_of`: money, or credits when the price is in credits."""
    return Embedded(
        {
            "money": Embedded(money(amount, currency).fields, null_when=f"{credits} IS NOT NULL"),
            "credits": Leaf(credits, j.integer),
        }
    )


def zoned(instant: str, zone: str) -> Embedded:
    """`schema.profile.zoned`: an instant with its wall-clock reading in `zone`."""
    return Embedded(
        {
            "instant": Leaf(instant, j.datetime_),
            "timeZone": Leaf(zone, j.string),
            "localDateTime": Leaf(
                j.local_stamp(instant, zone, 'YYYY-MM-DD"T"HH24:MI:SS'), j.string
            ),
            "localDate": Leaf(j.local_stamp(instant, zone, "YYYY-MM-DD"), j.string),
            "localTime": Leaf(j.local_stamp(instant, zone, "HH24:MI"), j.string),
            "utcOffset": Leaf(
                j.utc_offset(f"({instant}) AT TIME ZONE ({zone})", instant), j.string
            ),
        },
        null_when=f"({instant}) IS NULL",
    )


def _recurring(amount: str, currency: str, unit: str, count: str) -> Embedded:
    return Embedded(
        {
            "amount": money(amount, currency),
            "intervalUnit": Leaf(unit, j.string),
            "intervalCount": Leaf(count, j.integer),
        }
    )


def _full_name(first: str = "first_name", last: str = "last_name") -> Leaf:
    return Leaf(f"btrim({{t}}.{first} || ' ' || {{t}}.{last}, {_WHITESPACE})", j.string)


# People --------------------------------------------------------------------------------------

_CUSTOMER_OF_ROW = Lookup("Customer", "customers {a} WHERE {a}.id = {t}.customer_id")
_OWNER_STATUS = Leaf("(SELECT o.status FROM customers o WHERE o.id = {t}.customer_id)", j.string)

_PERSON: dict[str, FieldSql] = {
    "id": _id("id"),
    "firstName": _string("first_name"),
    "lastName": _string("last_name"),
    "fullName": _full_name(),
    "email": _string("email"),
    "mobile": _string("mobile"),
}

_HAS_SELF = (
    "EXISTS (SELECT 1 FROM participants sp WHERE sp.business_id = {t}.business_id "
    "AND sp.customer_id = {t}.id AND sp.is_self)"
)

CUSTOMER: dict[str, FieldSql] = {
    **_PERSON,
    "kind": _constant('"CUSTOMER"'),
    "categories": Leaf(
        f"'[' || to_json({{t}}.category)::text || "
        f"CASE WHEN {_HAS_SELF} THEN ',\"PARTICIPANT\"' ELSE '' END || ']'",
        lambda sql: sql,
    ),
    "status": _string("status"),
    "number": _int("number"),
    "category": _string("category"),
    "appAccessEnabled": _bool("app_access_enabled"),
    "marketingConsent": _bool("marketing_consent"),
    "version": _int("version"),
    "createdAt": _datetime("created_at"),
    "updatedAt": _datetime("updated_at"),
    "mergedInto": Lookup("Customer", "customers {a} WHERE {a}.id = {t}.merged_into_id"),
    "participants": Children(
        "Participant",
        "participants {a} WHERE {a}.customer_id = {t}.id",
        "{a}.is_self DESC, {a}.name_key, {a}.id",
    ),
    "additionalUsers": Children(
        "AdditionalUser",
        "additional_users {a} WHERE {a}.customer_id = {t}.id",
        "{a}.name_key, {a}.id",
    ),
    # Additional users never see the card.
    "paymentMethod": Lookup(
        "PaymentMethodSummary",
        "(SELECT p.brand, p.last4, p.exp_month, p.exp_year FROM payment_methods p "
        "WHERE p.customer_id = {t}.id ORDER BY p.is_default DESC, p.created_at DESC, p.id "
        "LIMIT 1) {a}",
        hidden_from=frozenset({"additional_user"}),
    ),
    "salesActivity": SalesChart(),
    "bookings": Tab(history.BOOKINGS, "Booking"),
    "appointments": Tab(history.APPOINTMENTS, "Appointment"),
    "passes": Tab(history.PASSES, "CustomerPass"),
    "videos": Tab(history.VIDEOS, "VideoPurchase"),
    "subscriptions": Tab(history.SUBSCRIPTIONS, "CustomerSubscription"),
    "questionnaires": Tab(history.QUESTIONNAIRES, "QuestionnaireResponse"),
    "notes": Tab(history.NOTES, "Note", staff_only=True),
    "accountHistory": Tab(history.ACCOUNT_HISTORY, "AccountHistoryEntry", staff_only=True),
}

# A customer's customer is itself: the same row, not a second read of it.
CUSTOMER["customer"] = Embedded(CUSTOMER)

PARTICIPANT: dict[str, FieldSql] = {
    **_PERSON,
    "kind": _constant('"PARTICIPANT"'),
    "categories": _constant('["PARTICIPANT"]'),
    "status": _OWNER_STATUS,
    "isSelf": _bool("is_self"),
    "dateOfBirth": _date("date_of_birth"),
    "createdAt": _datetime("created_at"),
    "customer": _CUSTOMER_OF_ROW,
}

ADDITIONAL_USER: dict[str, FieldSql] = {
    **_PERSON,
    "kind": _constant('"ADDITIONAL_USER"'),
    "categories": _constant('["ADDITIONAL_USER"]'),
    "status": _OWNER_STATUS,
    "number": _int("number"),
    "appAccessEnabled": _bool("app_access_enabled"),
    "marketingConsent": _bool("marketing_consent"),
    "version": _int("version"),
    "createdAt": _datetime("created_at"),
    "customer": _CUSTOMER_OF_ROW,
}

# The customer list: a directory row is a customer, a participant or an additional user.
QUERY: dict[str, FieldSql] = {
    "people": Directory(
        {
            "CUSTOMER": Lookup("Customer", "customers {a} WHERE {a}.id = {t}.person_id"),
            "PARTICIPANT": Lookup("Participant", "participants {a} WHERE {a}.id = {t}.person_id"),
            "ADDITIONAL_USER": Lookup(
                "AdditionalUser", "additional_users {a} WHERE {a}.id = {t}.person_id"
            ),
        }
    ),
}

PAYMENT_METHOD: dict[str, FieldSql] = {
    "brand": _string("brand"),
    "last4": _string("last4"),
    "expMonth": _int("exp_month"),
    "expYear": _int("exp_year"),
    "expiry": Leaf("lpad({t}.exp_month::text, 2, '0') || '/' || {t}.exp_year", j.string),
}

# Tab rows (columns as `loaders.history` names them) -----------------------------------------

_HISTORY: dict[str, FieldSql] = {
    "id": _id("id"),
    "number": _int("number"),
    "customerName": _string("customer_name"),
    "participantName": _string("participant_name"),
    "createdAt": _datetime("created_at"),
    "updatedAt": _datetime("updated_at"),
    "customer": _CUSTOMER_OF_ROW,
}

# Records a row points to, read as their own loaders read them. A payment or pass belongs to
# the account the row is on (or, a payment, to its payer's): the viewer of the row sees it
# unless it stayed with another payer, which only staff are shown.
_PAYMENT = Lookup(
    "Payment",
    f"(SELECT {history.PAYMENTS.columns} FROM {history.PAYMENTS.source} "
    "WHERE x.id = {t}.payment_id) {a}",
    account_row=True,
)
_CUSTOMER_PASS_OF_ROW = Lookup(
    "CustomerPass",
    f"(SELECT {history.PASSES.columns} FROM {history.PASSES.source} "
    "WHERE x.id = {t}.customer_pass_id) {a}",
    account_row=True,
)

_EVENT = Embedded(
    {
        "id": _id("event_id"),
        "name": _string("event_name"),
        "description": _string("event_description"),
    }
)
_SESSION_FACILITATOR = Embedded(
    {"id": _id("facilitator_id"), "name": _string("facilitator_name")},
    null_when="{t}.facilitator_id IS NULL",
)
_SESSION_STARTS = zoned("{t}.session_starts_at", "{t}.session_time_zone")

BOOKING: dict[str, FieldSql] = {
    **_HISTORY,
    "bookedAt": _datetime("booked_at"),
    "event": _EVENT,
    "session": Embedded(
        {
            "id": _id("session_id"),
            "startsAt": _SESSION_STARTS,
            "endsAt": zoned("{t}.session_ends_at", "{t}.session_time_zone"),
            "timeZone": _string("session_time_zone"),
            "capacity": _int("session_capacity"),
            "event": _EVENT,
            "facilitator": _SESSION_FACILITATOR,
        }
    ),
    "startsAt": _SESSION_STARTS,
    "price": price("{t}.price_amount", "{t}.currency", "{t}.price_credits"),
    "paidWith": _string("paid_with"),
    "state": _string("state"),
    "paidThroughStripe": Leaf("{t}.paid_with = 'STRIPE'", j.boolean),
    "refundedAmount": money("{t}.refunded_amount", "{t}.currency"),
    "cancelledAt": _datetime("cancelled_at"),
    "payment": _PAYMENT,
    "customerPass": _CUSTOMER_PASS_OF_ROW,
}

_APPOINTMENT_ENDS = "{t}.starts_at + make_interval(mins => {t}.duration_minutes)"
APPOINTMENT: dict[str, FieldSql] = {
    **_HISTORY,
    "bookedAt": _datetime("booked_at"),
    "service": Embedded(
        {
            "id": _id("service_id"),
            "name": _string("service_name"),
            "durationMinutes": _int("service_duration"),
            "price": money("{t}.service_price_amount", "{t}.service_currency"),
        }
    ),
    "facilitator": Embedded({"id": _id("facilitator_id"), "name": _string("facilitator_name")}),
    "startsAt": zoned("{t}.starts_at", "{t}.time_zone"),
    "endsAt": zoned(_APPOINTMENT_ENDS, "{t}.time_zone"),
    "durationMinutes": _int("duration_minutes"),
    "price": money("{t}.price_amount", "{t}.currency"),
    "paidWith": _string("paid_with"),
    "paidThroughStripe": Leaf("{t}.paid_with = 'STRIPE'", j.boolean),
    "state": _string("state"),
    "cancelledAt": _datetime("cancelled_at"),
    "payment": _PAYMENT,
}

CUSTOMER_PASS: dict[str, FieldSql] = {
    **_HISTORY,
    "purchasedAt": _datetime("purchased_at"),
    "passProduct": Embedded(
        {
            "id": _id("pass_product_id"),
            "name": _string("pass_product_name"),
            "uses": _int("pass_product_uses"),
            "unlimited": Leaf("{t}.pass_product_uses IS NULL", j.boolean),
            "validityDays": _int("pass_product_validity_days"),
            "price": money("{t}.pass_product_price_amount", "{t}.pass_product_currency"),
        }
    ),
    "validFrom": _date("valid_from"),
    "validUntil": _date("valid_until"),
    "usesTotal": _int("uses_total"),
    "usesRemaining": _int("uses_remaining"),
    "unlimited": Leaf("{t}.uses_total IS NULL", j.boolean),
    "price": money("{t}.price_amount", "{t}.currency"),
    "state": _string("state"),
    "paidThroughStripe": Leaf("{t}.state = 'COMPLETED'", j.boolean),
    "payment": _PAYMENT,
}

# The tab's own derivation of Expired, over the tab row and the request's "now".
_VIDEO_STATE = history.VIDEO_STATE.replace("x.", "{t}.").replace("CAST(:now AS timestamptz)", NOW)
VIDEO_PURCHASE: dict[str, FieldSql] = {
    **_HISTORY,
    "purchasedAt": _datetime("purchased_at"),
    "video": Embedded(
        {
            "id": _id("video_id"),
            "name": _string("video_name"),
            "price": price(
                "{t}.video_price_amount", "{t}.video_currency", "{t}.video_price_credits"
            ),
            "accessDays": _int("video_access_days"),
        }
    ),
    "expiresAt": _datetime("expires_at"),
    "price": price("{t}.price_amount", "{t}.currency", "{t}.price_credits"),
    "state": Leaf(_VIDEO_STATE, j.string),
    "cancelledAt": _datetime("cancelled_at"),
    "payment": _PAYMENT,
    "customerPass": _CUSTOMER_PASS_OF_ROW,
}

CUSTOMER_SUBSCRIPTION: dict[str, FieldSql] = {
    **_HISTORY,
    "plan": Embedded(
        {
            "id": _id("plan_id"),
            "name": _string("plan_name"),
            "price": _recurring(
                "{t}.plan_amount",
                "{t}.plan_currency",
                "{t}.plan_interval_unit",
                "{t}.plan_interval_count",
            ),
        }
    ),
    "state": _string("state"),
    "recurringPrice": _recurring(
        "{t}.amount", "{t}.currency", "{t}.interval_unit", "{t}.interval_count"
    ),
    "startedOn": _date("started_on"),
    "nextPaymentOn": _date("next_payment_on"),
}

QUESTIONNAIRE_RESPONSE: dict[str, FieldSql] = {
    **_HISTORY,
    "questionnaire": Embedded(
        {
            "id": _id("questionnaire_id"),
            "name": _string("questionnaire_name"),
            "questionCount": _int("questionnaire_question_count"),
        }
    ),
    "status": _string("status"),
    "answersSubmitted": _int("answers_submitted"),
    "submittedAt": _datetime("submitted_at"),
}

NOTE: dict[str, FieldSql] = {
    **_HISTORY,
    "content": _string("content"),
    "authorName": _string("author_name"),
    "authorId": _id("created_by_staff_id"),
    "updatedByName": _string("updated_by_name"),
    "updatedById": _id("updated_by_staff_id"),
}

ACCOUNT_HISTORY_ENTRY: dict[str, FieldSql] = {
    "id": _id("id"),
    "number": _int("number"),
    "createdAt": _datetime("created_at"),
    "customerName": _string("customer_name"),
    "actorKind": _string("actor_kind"),
    "actorId": _id("actor_id"),
    "actorName": _string("actor_name"),
    "action": _string("action"),
    "subjectType": _string("subject_type"),
    "subjectId": _id("subject_id"),
    "before": Leaf("{t}.before", j.jsonb),
    "after": Leaf("{t}.after", j.jsonb),
    "customer": _CUSTOMER_OF_ROW,
}

PAYMENT: dict[str, FieldSql] = {
    **_HISTORY,
    "paidAt": _datetime("paid_at"),
    "amount": money("{t}.amount", "{t}.currency"),
    "refundedAmount": money("{t}.refunded_amount", "{t}.currency"),
    "method": _string("method"),
    "paidThroughStripe": Leaf("{t}.method = 'STRIPE'", j.boolean),
    "description": _string("description"),
}

# Row types: what a Lookup, Children or Tab builds, by GraphQL type name.
TYPES: dict[str, Mapping[str, FieldSql]] = {
    "Customer": CUSTOMER,
    "Participant": PARTICIPANT,
    "AdditionalUser": ADDITIONAL_USER,
    "PaymentMethodSummary": PAYMENT_METHOD,
    "Booking": BOOKING,
    "Appointment": APPOINTMENT,
    "CustomerPass": CUSTOMER_PASS,
    "VideoPurchase": VIDEO_PURCHASE,
    "CustomerSubscription": CUSTOMER_SUBSCRIPTION,
    "QuestionnaireResponse": QUESTIONNAIRE_RESPONSE,
    "Note": NOTE,
    "Payment": PAYMENT,
    "AccountHistoryEntry": ACCOUNT_HISTORY_ENTRY,
}


# The chart's kinds of sale, as `sales_months` (migration 0012) names them.
CHART_KINDS = ("bookings", "passes", "videos")


def _window_months(kind: str) -> str:
    """The customer's `sales_months` rows of one kind inside the chart's window (`{t}`)."""
    return f"""sales_months s WHERE s.customer_id = {{t}}.customer_id AND s.kind = '{kind}'
    AND s.month >= CAST({{t}}.current_month - make_interval(months => {{t}}.months - 1) AS date)
    AND s.month <= CAST({{t}}.current_month AS date)"""


def tally_source(kind: str) -> str:
    """One kind of sale over the chart's whole window."""
    return f"""(SELECT coalesce(sum(s.sales), 0)::bigint AS n,
    coalesce(sum(s.amount), 0)::bigint AS amount, coalesce(sum(s.credits), 0)::bigint AS credits,
    {{t}}.currency AS currency
  FROM {_window_months(kind)}) {{a}}"""


_SALES_TALLY: dict[str, FieldSql] = {
    "count": _int("n"),
    "amount": money("{t}.amount", "{t}.currency"),
    "credits": _int("credits"),
}


def _monthly(kind: str) -> str:
    """One kind of sale in each month of the chart's window (`{t}`)."""
    return f"""LEFT JOIN (SELECT CAST(s.month AS timestamp) AS month, s.sales AS n, s.amount,
    s.credits FROM {_window_months(kind)}) {kind} ON {kind}.month = gs.month"""


def _month_tally(kind: str) -> Embedded:
    """A month's tally of one kind, from the month row's `<kind>_` columns."""
    return Embedded(
        {
            "count": Leaf(f"{{t}}.{kind}_n", j.integer),
            "amount": money(f"{{t}}.{kind}_amount", "{t}.currency"),
            "credits": Leaf(f"{{t}}.{kind}_credits", j.integer),
        }
    )


# The chart's months, oldest first, cut in the zone, each with its three tallies.
_MONTH_COLUMNS = ", ".join(
    f"coalesce({kind}.n, 0) AS {kind}_n, coalesce({kind}.amount, 0) AS {kind}_amount, "
    f"coalesce({kind}.credits, 0) AS {kind}_credits"
    for kind in CHART_KINDS
)
_MONTHS = f"""(SELECT gs.month, gs.month AT TIME ZONE {{t}}.tz AS starts, {{t}}.currency,
    {_MONTH_COLUMNS}
  FROM generate_series({{t}}.current_month - make_interval(months => {{t}}.months - 1),
    {{t}}.current_month, interval '1 month') AS gs(month)
  {" ".join(_monthly(kind) for kind in CHART_KINDS)}) {{a}}"""

_SALES_MONTH: dict[str, FieldSql] = {
    "month": Leaf("to_char({t}.month, 'YYYY-MM')", j.string),
    # datetime(year, month, 1, tzinfo=zone).isoformat()
    "startsAt": Leaf(
        j.quoted(
            "to_char({t}.month, 'YYYY-MM-DD\"T\"HH24:MI:SS') || "
            + j.utc_offset("{t}.month", "{t}.starts")
        ),
        lambda sql: sql,
    ),
    **{kind: _month_tally(kind) for kind in CHART_KINDS},
}

_SALES_ACTIVITY: dict[str, FieldSql] = {
    "timeZone": _string("tz"),
    "currency": _string("currency"),
    "months": Children("SalesMonth", _MONTHS, "{a}.month"),
    **{kind: Lookup("SalesTally", tally_source(kind)) for kind in CHART_KINDS},
}

TYPES.update(
    {"SalesActivity": _SALES_ACTIVITY, "SalesMonth": _SALES_MONTH, "SalesTally": _SALES_TALLY}
)


def chart_source(customer: str, months: str) -> str:
    """The chart's one row over `{a}`: the business's zone and currency, the current local
    month and the window's length (`customer` is the customer's alias, `months` the
    parameter)."""
    return f"""(SELECT biz.time_zone AS tz, biz.currency, {customer}.id AS customer_id,
    {months} AS months, cm.current_month
  FROM businesses biz
  CROSS JOIN LATERAL (SELECT date_trunc('month', {NOW} AT TIME ZONE biz.time_zone)
    AS current_month) cm) {{a}}"""
