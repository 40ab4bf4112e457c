"""The CSV export of registration and payment history for a selection of people.

`peopleExport` answers with a signed, expiring link; `GET /exports/people.csv?token=...`
(server/exports.py) streams the file. PostgreSQL writes the CSV itself (`COPY (SELECT ...) TO
STDOUT`), so the service only passes chunks along: its memory does not depend on the row count.

What the link carries: the business, the staff member who asked (with their token version, so a
revoked or removed staff member's links die with their tokens) and the selection — the accounts
behind up to 100 selected people (resolved when the link is made, 16 bytes each), or the filter
(tab, category, raw search text; applied when the file is downloaded). No table is needed and
nothing is left behind when a link expires.

One row per booking, appointment, pass, video, subscription and payment of the selected accounts
(a selected participant or additional user stands for their customer's account, where their
history lives). Refunds are not lines of their own: payment and booking lines show their refunded
total, and a payment's state says whether it was partly or fully refunded.

Order: for up to 1,000 selected people, account by account (in selection or list order), each
account's rows by date; a larger filter selection is read in one pass over the business's history
and comes grouped by kind, unsorted within (a sort would cost more than the export itself). That
pass is two COPYs at once, over the two halves of every history table, in one exported snapshot
(`_Halves` merges them kind by kind): PostgreSQL's CPU is what limits an export.

Formats: moments are ISO 8601 in the business's time zone, to the second, with their UTC offset
(`2026-06-10 14:30:00+01`; the Excel-friendly file gives the local wall-clock time, which
spreadsheets read as a date-time); local dates (pass validity, subscription dates) are
`YYYY-MM-DD`; money is a decimal number in major units (`12.50`) beside its currency. Text cells
that a spreadsheet would run as a formula get a leading apostrophe, in SQL, so the COPY still
streams; numeric cells are never touched.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import functools
import secrets
import uuid
from collections import deque
from collections.abc import Callable, Coroutine, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Final

import asyncpg
from asyncpg.transaction import Transaction
from sqlalchemy import text
from sqlalchemy.pool import QueuePool

from integrations.email import SignedLinks
from resolvers.directory import CATEGORIES, parse_search
from schema.errors import ErrorCode, UserError, user_error
from schema.money import ZERO_DECIMAL
from server.auth import Viewer
from server.db import Database, ReadTransaction
from server.settings import Settings

STATUSES: Final = ("ACTIVE", "ARCHIVED")
# Where the CSV goes, a piece at a time (it may wait: backpressure).
Sink = Callable[[bytes], Coroutine[Any, Any, None]]
STAFF_ROLES: Final = ("owner", "staff")
# A whole export is one statement; it may run as long as the download does.
EXPORT_STATEMENT_TIMEOUT_MS: Final = 30 * 60 * 1000


@dataclass(frozen=True)
class ExportFilter:
    """Everyone a customer-list filter shows, as the staff member typed it."""

    status: str
    category: str
    search: str | None


@dataclass(frozen=True)
class ExportRequest:
    """What a download link stands for."""

    business_id: uuid.UUID
    staff_id: uuid.UUID
    staff_role: str
    staff_token_version: int
    customer_ids: tuple[uuid.UUID, ...] | None
    filter: ExportFilter | None
    excel: bool

    def to_claims(self) -> dict[str, Any]:
        """The selection and options for the signed token (the business, the staff member and
        their token version travel in the token's own claims)."""
        claims: dict[str, Any] = {"r": self.staff_role, "x": self.excel}
        if self.customer_ids is not None:
            claims["i"] = _pack_ids(self.customer_ids)
        if self.filter is not None:
            claims["f"] = [self.filter.status, self.filter.category, self.filter.search]
        return claims

    @classmethod
    def from_claims(
        cls, business_id: uuid.UUID, staff_id: uuid.UUID, version: int, claims: Any
    ) -> ExportRequest | None:
        """The request a verified token describes; None when its data is not one."""
        try:
            role, excel = claims["r"], claims["x"]
            ids = _unpack_ids(claims["i"]) if "i" in claims else None
            chosen = _filter(claims["f"]) if "f" in claims else None
        except (KeyError, TypeError, ValueError):
            return None
        if role not in STAFF_ROLES or not isinstance(excel, bool):
            return None
        if (ids is None) == (chosen is None):
            return None
        return cls(business_id, staff_id, role, version, ids, chosen, excel)


def _filter(raw: Any) -> ExportFilter:
    status, category, search = raw
    if status not in STATUSES or category not in CATEGORIES:
        raise ValueError("not a list filter")
    if search is not None and not isinstance(search, str):
        raise ValueError("not a search")
    return ExportFilter(status, category, search)


def _pack_ids(ids: Sequence[uuid.UUID]) -> str:
    return base64.urlsafe_b64encode(b"".join(i.bytes for i in ids)).decode().rstrip("=")


def _unpack_ids(packed: Any) -> tuple[uuid.UUID, ...]:
    if not isinstance(packed, str):
        raise ValueError("not a list of ids")
    raw = base64.urlsafe_b64decode(packed + "=" * (-len(packed) % 4))
    if len(raw) % 16:
        raise ValueError("not a list of ids")
    return tuple(uuid.UUID(bytes=raw[i : i + 16]) for i in range(0, len(raw), 16))


@dataclass(frozen=True)
class ExportLink:
    """A download link and when it stops working."""

    url: str
    expires_at: datetime


_ACCOUNTS = text("SELECT person_id, customer_id FROM directory_entries WHERE person_id = ANY(:ids)")


async def accounts_of(
    reader: ReadTransaction, people: Sequence[uuid.UUID], field: str
) -> tuple[tuple[uuid.UUID, ...], list[UserError]]:
    """The accounts (customer ids, in first-selected order) of the selected people, and
    NOT_FOUND for each id that is no person of the viewer's business."""
    rows = (await reader.execute(_ACCOUNTS, {"ids": list(people)})).all()
    account = {row.person_id: row.customer_id for row in rows}
    errors = [
        user_error(ErrorCode.NOT_FOUND, f"{field}.{index}", "No such person in this business.")
        for index, person in enumerate(people)
        if person not in account
    ]
    return tuple(dict.fromkeys(account[p] for p in people if p in account)), errors


# --- the statement ------------------------------------------------------------------------

# A spreadsheet runs a cell starting with one of these as a formula (OWASP's list): = + - @ tab
# and carriage return, by code point; `ascii()` reads the first one without copying the text.
_FORMULA_STARTS: Final = "(61, 43, 45, 64, 9, 13)"


def _text(expression: str) -> str:
    """A text cell, neutralised against formula injection."""
    return (
        f"CASE WHEN ascii({expression}) IN {_FORMULA_STARTS} "
        f"THEN '''' || {expression} ELSE {expression} END"
    )


def _money(amount: str, currency: str, sign: str = "") -> str:
    """Minor units as a decimal number in major units (numeric, so COPY writes `12.50`)."""
    zero = ", ".join(f"'{code}'" for code in sorted(ZERO_DECIMAL))
    return (
        f"CASE WHEN {currency} IN ({zero}) THEN ({sign}{amount})::numeric "
        f"ELSE ({sign}{amount}) * 0.01 END"
    )


def _moment(expression: str, excel: bool) -> str:
    """A timestamp in the transaction's time zone (the business's), to the second: with its
    UTC offset, or for spreadsheets as the local wall-clock time."""
    if excel:
        return f"date_trunc('second', {expression})::timestamp"
    return f"date_trunc('second', {expression})"


# Each kind: its FROM clause (`h` is the history row) and its cells; cells not named are empty.
# `at` is when it was booked, bought, created or paid.
_KINDS: Final[tuple[tuple[str, str, dict[str, str]], ...]] = (
    (
        "BOOKING",
        """bookings h
           JOIN sessions s ON s.business_id = h.business_id AND s.id = h.session_id
           JOIN events e ON e.business_id = s.business_id AND e.id = s.event_id""",
        {
            "item": "e.name",
            "at": "h.booked_at",
            "starts_at": "s.starts_at",
            "state": "h.state",
            "payment_method": "h.paid_with",
            "amount": _money("h.price_amount", "h.currency"),
            "currency": "h.currency",
            "credits": "h.price_credits",
            "refunded_amount": _money("h.refunded_amount", "h.currency"),
        },
    ),
    (
        "APPOINTMENT",
        """appointments h
           JOIN services v ON v.business_id = h.business_id AND v.id = h.service_id""",
        {
            "item": "v.name",
            "at": "h.booked_at",
            "starts_at": "h.starts_at",
            "state": "h.state",
            "payment_method": "h.paid_with",
            "amount": _money("h.price_amount", "h.currency"),
            "currency": "h.currency",
        },
    ),
    (
        "PASS",
        """customer_passes h
           JOIN pass_products pp ON pp.business_id = h.business_id AND pp.id = h.pass_product_id""",
        {
            "item": "pp.name",
            "at": "h.purchased_at",
            "valid_from": "h.valid_from",
            "valid_until": "h.valid_until",
            "state": "h.state",
            "amount": _money("h.price_amount", "h.currency"),
            "currency": "h.currency",
            "uses_remaining": "h.uses_remaining",
        },
    ),
    (
        "VIDEO",
        """video_purchases h
           JOIN videos vd ON vd.business_id = h.business_id AND vd.id = h.video_id""",
        {
            "item": "vd.name",
            "at": "h.purchased_at",
            "expires_at": "h.expires_at",
            # Expired is derived from the expiry, as on the profile's Videos tab.
            "state": "CASE WHEN h.state = 'ACTIVE' AND h.expires_at <= now() THEN 'EXPIRED' "
            "ELSE h.state END",
            "amount": _money("h.price_amount", "h.currency"),
            "currency": "h.currency",
            "credits": "h.price_credits",
        },
    ),
    (
        "SUBSCRIPTION",
        """customer_subscriptions h
           JOIN plans pl ON pl.business_id = h.business_id AND pl.id = h.plan_id""",
        {
            "item": "pl.name",
            "at": "h.created_at",
            "valid_from": "h.started_on",
            "next_payment_on": "h.next_payment_on",
            "billing_interval": "h.interval_count || ' ' || h.interval_unit",
            "state": "h.state",
            "amount": _money("h.amount", "h.currency"),
            "currency": "h.currency",
        },
    ),
    (
        "PAYMENT",
        "payments h",
        {
            "item": "h.description",
            "at": "h.paid_at",
            "state": "CASE WHEN h.refunded_amount = 0 THEN 'PAID' "
            "WHEN h.refunded_amount < h.amount THEN 'PARTLY_REFUNDED' ELSE 'REFUNDED' END",
            "payment_method": "h.method",
            "amount": _money("h.amount", "h.currency"),
            "currency": "h.currency",
            "refunded_amount": _money("h.refunded_amount", "h.currency"),
        },
    ),
)
# Typed empties, so that the branches of the UNION agree.
_CELLS: Final = {
    "item": "NULL::text",
    "starts_at": "NULL::timestamptz",
    "valid_from": "NULL::date",
    "valid_until": "NULL::date",
    "expires_at": "NULL::timestamptz",
    "next_payment_on": "NULL::date",
    "billing_interval": "NULL::text",
    "state": "NULL::text",
    "payment_method": "NULL::text",
    "amount": "NULL::numeric",
    "currency": "NULL::text",
    "credits": "NULL::integer",
    "uses_remaining": "NULL::integer",
    "refunded_amount": "NULL::numeric",
}


# The tables of the kinds, in `_KINDS` order (the one-pass export splits each one's blocks).
KIND_TABLES: Final = tuple(source.split()[0] for _, source, _ in _KINDS)


def _history(business: str, condition: Callable[[int], str], marker: str | None = None) -> str:
    """The business's rows of every kind as one UNION ALL with the same columns, restricted by
    `condition(position of the kind in _KINDS)` (to one account, or to half of the table). With
    a `marker` (an expression), each kind's rows are followed by one row whose kind is the
    marker and whose other cells are empty."""
    branches = []
    for order, (kind, source, values) in enumerate(_KINDS):
        cells = ", ".join(f"{values.get(name, empty)} AS {name}" for name, empty in _CELLS.items())
        branches.append(f"""
            SELECT {order} AS kind_order, '{kind}'::text AS kind, h.number, h.customer_id,
                   h.customer_name, h.participant_name, {values["at"]} AS at, {cells}
            FROM {source}
            WHERE h.business_id = {business} AND {condition(order)}""")
        if marker is not None:
            empty_cells = ", ".join(["NULL"] * (len(_CELLS) + 5))
            branches.append(f"SELECT -1, {marker}, {empty_cells}")
    return " UNION ALL ".join(branches)


def _output(excel: bool, email: str | None = None) -> str:
    """The file's columns; `email` is the customer's email cell when the accounts' own
    statement has already neutralised it (once per account instead of once per row)."""
    return f"""
        h.kind, h.number, c.number AS customer_number,
        {_text("h.customer_name")} AS customer_name,
        {email or _text("c.email")} AS customer_email,
        {_text("h.participant_name")} AS participant_name,
        {_text("h.item")} AS item,
        {_moment("h.at", excel)} AS date,
        {_moment("h.starts_at", excel)} AS starts_at,
        h.valid_from, h.valid_until,
        {_moment("h.expires_at", excel)} AS expires_at,
        h.next_payment_on, h.billing_interval, h.state, h.payment_method,
        h.amount, h.currency, h.credits, h.uses_remaining, h.refunded_amount"""


# The selected accounts as `p(customer_id, position)`, by ids ($1, business $2) or by a list
# filter ($1..$6 as `directory_page` takes them, with no page limit; business $7).
_IDS_SOURCE: Final = "unnest($1::uuid[]) WITH ORDINALITY AS p(customer_id, position)"
_FILTER_SOURCE: Final = """(
    SELECT f.customer_id, min(f.position) AS position
    FROM directory_page($1, $2, $3, $4, $5, $6, NULL, NULL, NULL, NULL, false, NULL)
         WITH ORDINALITY AS f(person_id, kind, customer_id, name_key, position)
    GROUP BY f.customer_id) p"""
# Up to this many selected people, an export reads each account's rows through its tab indexes
# and sorts them; beyond, it reads the business's history in one pass.
PER_ACCOUNT_LIMIT = 1000


def _of_account(table: int) -> str:
    return "h.customer_id = p.customer_id"


@functools.cache
def per_account_statement(source: str, business: str, excel: bool) -> str:
    """Each selected account's rows through its tab indexes: accounts in selection (list)
    order, each one's rows by date."""
    return f"""
        SELECT {_output(excel)}
        FROM {source}
        JOIN customers c ON c.business_id = {business} AND c.id = p.customer_id
        CROSS JOIN LATERAL ({_history(business, _of_account)}) h
        ORDER BY p.position, h.at, h.kind_order, h.number"""


# The one-pass export's halves: each reads the blocks of every history table below a split
# ($9..$14, one `tid` per table in `KIND_TABLES` order) or from there on, and ends each kind
# with a marker row whose kind is $8 (a random value per export, which no cell can forge).
HALVES: Final = ("<", ">=")
# For the halves' transactions: the selected accounts are hashed (for a function's unknown row
# count the planner picks a nested loop, 75,000 index lookups per half) in memory, not spilled
# (their hash is 7 MB for 75,000 accounts).
ONE_PASS_SETTINGS: Final = ("SET LOCAL enable_nestloop = off", "SET LOCAL work_mem = '32MB'")


@functools.cache
def one_pass_statement(excel: bool, half: int) -> str:
    """A large filter selection: one half of the business's history in one pass, hash-joined
    to the selected accounts. Rows come grouped by kind and are not sorted further: sorting a
    million rows would cost more than the rest of the export, and a spreadsheet sorts them at
    once. Markers pass the join (a left join, kept when they are markers)."""

    def within(table: int) -> str:
        return f"h.ctid {HALVES[half]} ${9 + table}::tid"

    return f"""
        WITH c AS MATERIALIZED (
            SELECT c.id, c.number, {_text("c.email")} AS email FROM customers c
            WHERE c.business_id = $7 AND c.id IN (SELECT p.customer_id FROM {_FILTER_SOURCE}))
        SELECT {_output(excel, "c.email")}
        FROM ({_history("$7", within, "$8::text")}) h
        LEFT JOIN c ON c.id = h.customer_id
        WHERE c.id IS NOT NULL OR h.kind_order < 0"""


_COUNT: Final = "SELECT directory_count($1, $2, $3, $4, $5, $6, $7)"


@dataclass(frozen=True)
class _Plan:
    """What to COPY: one statement, or the one-pass export's two halves (each with its
    arguments), and the marker that ends each kind in the halves."""

    statements: tuple[tuple[str, list[Any]], ...]
    marker: bytes | None = None
    settings: tuple[str, ...] = ()


_BLOCKS: Final = """
    SELECT pg_relation_size(t::regclass) / current_setting('block_size')::integer
    FROM unnest($1::text[]) WITH ORDINALITY AS x(t, position) ORDER BY position"""


async def _plan_for(
    driver: asyncpg.Connection, request: ExportRequest, *, second_connection: bool
) -> _Plan:
    """The one statement, or (a filter of many people, with a second connection to be had)
    the two halves."""
    if request.customer_ids is not None:
        statement = per_account_statement(_IDS_SOURCE, "$2", request.excel)
        return _Plan(((statement, [list(request.customer_ids), request.business_id]),))
    assert request.filter is not None
    search = parse_search(request.filter.search)
    arguments: list[Any] = [
        request.filter.status,
        request.filter.category,
        list(search.terms),
        search.digits,
        search.number,
        search.person_id,
    ]
    people = await driver.fetchval(_COUNT, *arguments, PER_ACCOUNT_LIMIT + 1)
    if people <= PER_ACCOUNT_LIMIT or not second_connection:
        statement = per_account_statement(_FILTER_SOURCE, "$7", request.excel)
        return _Plan(((statement, [*arguments, request.business_id]),))
    # Each table is split at half its current size (rows added later are in the second
    # half's range, but not in this snapshot).
    blocks = [row[0] for row in await driver.fetch(_BLOCKS, list(KIND_TABLES))]
    splits = [(count // 2, 0) for count in blocks]
    marker = secrets.token_hex(16)
    shared = [*arguments, request.business_id, marker, *splits]
    return _Plan(
        tuple((one_pass_statement(request.excel, half), shared) for half in range(2)),
        marker.encode(),
        ONE_PASS_SETTINGS,
    )


_SET_TENANT: Final = "SELECT set_config('app.business_id', $1, true)"
# Timestamps and local dates are written in the business's time zone.
_SET_TIME_ZONE: Final = "SELECT set_config('TimeZone', time_zone, true) FROM businesses"


async def _begin(
    driver: asyncpg.Connection, business_id: uuid.UUID, snapshot: str | None
) -> Transaction:
    """The export's read-only snapshot of the business (or the first connection's, imported)."""
    # Not `async with`: after an abandoned COPY the connection is mid-protocol and a ROLLBACK
    # would fail; it is closed instead, which ends the transaction too.
    transaction = driver.transaction(isolation="repeatable_read", readonly=True)
    await transaction.start()
    if snapshot is not None:
        await driver.execute(f"SET TRANSACTION SNAPSHOT '{snapshot}'")
    await driver.execute(_SET_TENANT, str(business_id))
    await driver.execute(f"SET LOCAL statement_timeout = {EXPORT_STATEMENT_TIMEOUT_MS}")
    await driver.execute(_SET_TIME_ZONE)
    return transaction


def _driver(raw: Any) -> asyncpg.Connection:
    driver = raw.driver_connection
    assert isinstance(driver, asyncpg.Connection)
    return driver


async def copy_export(database: Database, request: ExportRequest, sink: Sink) -> None:
    """COPY the export to `sink`, chunk by chunk, in one read-only snapshot of the business
    on the service role (row-level security applies). `sink` may wait: asyncpg stops reading
    from PostgreSQL meanwhile, which holds PostgreSQL back (backpressure).

    A large filter selection is written by two COPYs at once, each over half of every history
    table, on two connections sharing one exported snapshot (so the file is as consistent as
    one statement's): PostgreSQL's CPU is what limits an export, and this uses two cores."""
    async with contextlib.AsyncExitStack() as connections:
        first = await connections.enter_async_context(database.engine.connect())
        opened = [first]
        completed = False
        try:
            driver = _driver(await first.get_raw_connection())
            transactions = [await _begin(driver, request.business_id, None)]
            # A pool of one connection (DB_POOL_SIZE=1) cannot lend the second half one.
            pool = database.engine.pool
            roomy = not isinstance(pool, QueuePool) or pool.size() >= 2
            plan = await _plan_for(driver, request, second_connection=roomy)
            for setting in plan.settings:
                await driver.execute(setting)
            if plan.marker is None:
                ((statement, arguments),) = plan.statements
                await driver.copy_from_query(
                    statement, *arguments, output=sink, format="csv", header=True
                )
            else:
                snapshot = await driver.fetchval("SELECT pg_export_snapshot()")
                second = await connections.enter_async_context(database.engine.connect())
                opened.append(second)
                other = _driver(await second.get_raw_connection())
                transactions.append(await _begin(other, request.business_id, snapshot))
                for setting in plan.settings:
                    await other.execute(setting)
                await _Halves(plan.marker).copy((driver, other), plan.statements, sink)
            for transaction in transactions:
                await transaction.commit()
            completed = True
        finally:
            if not completed:
                # A COPY abandoned halfway (a client gone, a timeout) may leave a connection
                # mid-protocol: it is closed rather than handed back to the pool.
                for conn in opened:
                    await conn.invalidate()


class _Halves:
    """Two COPYs merged into one file, kind by kind: the pieces of both halves of a kind go
    out as they come (each piece is whole rows: asyncpg hands over whole CopyData messages,
    one row each), and a half that reaches its marker waits until the other half reaches its
    own. The header row comes from the first half, before anything else."""

    def __init__(self, marker: bytes) -> None:
        self.marker = marker
        self.ready: tuple[deque[bytes], deque[bytes]] = (deque(), deque())
        self.arrived = asyncio.Event()
        self.taken = (asyncio.Event(), asyncio.Event())
        self.held = [0, 0]

    def _receiver(self, half: int) -> Sink:
        async def receive(piece: bytes) -> None:
            # One piece waiting per half at most (a piece is what asyncpg read at once, up to
            # 256 kB): the slack is PostgreSQL's socket buffer, not the service's memory.
            while self.ready[half]:
                self.taken[half].clear()
                await self.taken[half].wait()
            self.ready[half].append(piece)
            self.held[half] += len(piece)
            self.arrived.set()

        return receive

    async def copy(
        self,
        drivers: tuple[asyncpg.Connection, asyncpg.Connection],
        statements: tuple[tuple[str, list[Any]], ...],
        sink: Sink,
    ) -> None:
        async def produce(half: int) -> None:
            statement, arguments = statements[half]
            try:
                await drivers[half].copy_from_query(
                    statement,
                    *arguments,
                    output=self._receiver(half),
                    format="csv",
                    header=half == 0,
                )
            finally:
                self.arrived.set()

        producers = [asyncio.create_task(produce(half)) for half in range(2)]
        try:
            await self._merge(producers, sink)
            await asyncio.gather(*producers)
            if any(self.ready):
                raise RuntimeError("an export half went on after its last marker")
        finally:
            for task in producers:
                task.cancel()
            await asyncio.wait(producers)

    async def _merge(self, producers: list[asyncio.Task[None]], sink: Sink) -> None:
        header_sent = False
        for _ in _KINDS:
            open_halves = {0, 1}
            while open_halves:
                # The first piece is the first half's (the header); then whichever half has
                # more waiting, so that neither is held back.
                candidates = [h for h in open_halves if self.ready[h] and (header_sent or h == 0)]
                if not candidates:
                    for half in open_halves:
                        if not self.ready[half] and producers[half].done():
                            producers[half].result()  # raises what the COPY raised
                            raise RuntimeError("an export half ended before its marker")
                    self.arrived.clear()
                    await self.arrived.wait()
                    continue
                half = max(candidates, key=lambda h: self.held[h])
                piece = self.ready[half].popleft()
                self.held[half] -= len(piece)
                self.taken[half].set()
                header_sent = True
                at = piece.find(self.marker)
                if at < 0:
                    await sink(piece)
                    continue
                end = piece.index(b"\n", at) + 1
                if at:
                    await sink(piece[:at])
                if end < len(piece):
                    self.ready[half].appendleft(piece[end:])
                    self.held[half] += len(piece) - end
                open_halves.discard(half)


async def export_link(
    reader: ReadTransaction,
    settings: Settings,
    viewer: Viewer,
    people: Sequence[uuid.UUID] | None,
    chosen: ExportFilter | None,
    excel: bool,
) -> tuple[ExportLink | None, list[UserError]]:
    """A download link for the viewer (staff) for the selected people or filter. Selected ids
    must all be people of the viewer's business."""
    if not settings.link_signing_secret:
        message = "Download links cannot be signed on this server (LINK_SIGNING_SECRET)."
        return None, [user_error(ErrorCode.INVALID, None, message)]
    accounts = None
    if people is not None:
        if not people:
            return None, [
                user_error(ErrorCode.REQUIRED, "selection.ids", "Select at least one person.")
            ]
        accounts, errors = await accounts_of(reader, people, "selection.ids")
        if errors:
            return None, errors
    request = ExportRequest(
        business_id=viewer.business_id,
        staff_id=viewer.subject_id,
        staff_role=viewer.role.value,
        staff_token_version=viewer.token_version,
        customer_ids=accounts,
        filter=chosen,
        excel=excel,
    )
    links = SignedLinks(settings.public_base_url, settings.link_signing_secret)
    url, expires_at = links.export_url(
        viewer.business_id, viewer.subject_id, viewer.token_version, request.to_claims()
    )
    return ExportLink(url, expires_at), []
