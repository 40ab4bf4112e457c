"""Demo data: two small businesses with every tab of the profile populated, to try the API in
GraphiQL and to see tenant isolation at work.

Idempotent: a business whose slug exists is left alone. Deterministic: names, ids and choices
come from random generators seeded by the slug; times are anchored to midnight UTC of the
seeding day, so sessions in the future stay in the future.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime

import asyncpg

from server.seed import catalog
from server.seed.category import COUNT_WRONG
from server.seed.connection import copy_rows, owner_connection
from server.seed.demo_context import CHRONOLOGY, TABLE_ORDER, BusinessSpec, DemoContext, anchor_now
from server.seed.demo_history import add_history
from server.seed.demo_people import add_business, add_duplicates, add_people

RIVERSIDE = BusinessSpec(
    name="Riverside Studio",
    slug="riverside-studio",
    time_zone="Europe/London",
    currency="GBP",
    country="GB",
    stripe_account_id="acct_demo_riverside",
    customers=200,
    catalog=catalog.RIVERSIDE,
    families=False,
    staff=(
        ("Hannah Whitfield", "hannah@riverside-studio.example", "OWNER"),
        ("Dev Okafor", "dev@riverside-studio.example", "STAFF"),
    ),
)
HARBOUR = BusinessSpec(
    name="Harbour Kids Club",
    slug="harbour-kids-club",
    time_zone="Europe/Dublin",
    currency="EUR",
    country="IE",
    stripe_account_id="acct_demo_harbour",
    customers=40,
    catalog=catalog.HARBOUR,
    families=True,
    staff=(
        ("Declan Ó Briain", "declan@harbour-kids.example", "OWNER"),
        ("Saoirse Nolan", "saoirse@harbour-kids.example", "STAFF"),
    ),
)
DEMO_BUSINESSES = (RIVERSIDE, HARBOUR)
# Merged customers per business: (merged away, left as a duplicate pair to try merging).
_DUPLICATES = {RIVERSIDE.slug: (2, 1), HARBOUR.slug: (1, 0)}


@dataclass(frozen=True)
class DemoBusiness:
    id: uuid.UUID
    slug: str
    name: str
    owner_staff_id: uuid.UUID
    staff_id: uuid.UUID


@dataclass(frozen=True)
class DemoSeed:
    """What the demo holds, for printing tokens, docs and tests. Customer ids are from
    Riverside Studio."""

    businesses: tuple[DemoBusiness, ...]
    showcase_customer_id: uuid.UUID  # a primary customer with more than a page in every tab
    archived_customer_id: uuid.UUID  # archived, with history
    merged_customer_ids: tuple[uuid.UUID, ...]
    merge_candidate_ids: tuple[uuid.UUID, uuid.UUID]  # same person twice, not merged yet
    lead_customer_id: uuid.UUID
    app_user_customer_id: uuid.UUID
    created: bool  # False when everything already existed

    @property
    def slugs(self) -> tuple[str, ...]:
        return tuple(b.slug for b in self.businesses)

    def business(self, slug: str) -> DemoBusiness:
        return next(b for b in self.businesses if b.slug == slug)


async def seed_demo(admin_url: str) -> DemoSeed:
    async with owner_connection(admin_url) as conn, conn.transaction():
        # Two processes starting at once (server and tests) must not both seed.
        await conn.execute("SELECT pg_advisory_xact_lock(hashtext('server.seed.demo'))")
        anchor = anchor_now()
        created = False
        for spec in DEMO_BUSINESSES:
            if await conn.fetchval("SELECT 1 FROM businesses WHERE slug = $1", spec.slug):
                continue
            ctx = build(spec, anchor)
            await insert(conn, ctx)
            await verify_categories(conn, ctx.business_id)
            created = True
        return await describe(conn, created)


def build(spec: BusinessSpec, anchor: datetime) -> DemoContext:
    ctx = DemoContext(spec, anchor)
    add_business(ctx)
    add_people(ctx)
    merged, candidates = _DUPLICATES[spec.slug]
    add_duplicates(ctx, merged, merged=True)
    add_duplicates(ctx, candidates, merged=False)
    add_history(ctx)
    return ctx


async def insert(conn: asyncpg.Connection, ctx: DemoContext) -> None:
    """Table by table, parents first. Numbered rows go in chronological order and without a
    `number`, so the trigger numbers them as the product would have."""
    for table in TABLE_ORDER:
        rows = ctx.tables[table]
        if table in CHRONOLOGY:
            rows = sorted(rows, key=lambda row: row[CHRONOLOGY[table]])
        await copy_rows(conn, table, rows)


async def verify_categories(conn: asyncpg.Connection, business_id: uuid.UUID) -> None:
    """The triggers kept `category` current while the history went in: check it against the
    rule recomputed from scratch, and that every category is represented."""
    wrong = await conn.fetchval(COUNT_WRONG, business_id)
    if wrong:
        raise RuntimeError(f"{wrong} demo customers have a category their history contradicts")
    present = {
        r["category"]
        for r in await conn.fetch(
            "SELECT DISTINCT category FROM customers WHERE business_id = $1", business_id
        )
    }
    if present != {"PRIMARY", "LEAD", "APP_USER"}:
        raise RuntimeError(f"demo categories incomplete: {sorted(present)}")


async def describe(conn: asyncpg.Connection, created: bool) -> DemoSeed:
    """Read what the demo holds, so a second call answers the same as the first."""
    businesses = []
    for spec in DEMO_BUSINESSES:
        row = await conn.fetchrow(
            """SELECT b.id,
                   (SELECT s.id FROM staff_users s WHERE s.business_id = b.id
                    AND s.role = 'OWNER' ORDER BY s.created_at, s.id LIMIT 1) AS owner,
                   (SELECT s.id FROM staff_users s WHERE s.business_id = b.id
                    AND s.role = 'STAFF' ORDER BY s.created_at, s.id LIMIT 1) AS staff
               FROM businesses b WHERE b.slug = $1""",
            spec.slug,
        )
        assert row is not None
        businesses.append(DemoBusiness(row["id"], spec.slug, spec.name, row["owner"], row["staff"]))
    river = businesses[0].id

    async def one(sql: str) -> uuid.UUID:
        value: uuid.UUID | None = await conn.fetchval(sql, river)
        if value is None:
            raise LookupError(f"demo data lacks: {sql}")
        return value

    candidates = await conn.fetchrow(
        """SELECT a.id AS a, b.id AS b FROM customers a JOIN customers b
             ON b.business_id = a.business_id AND b.name_key = a.name_key AND b.number > a.number
           WHERE a.business_id = $1 AND a.merged_into_id IS NULL AND b.merged_into_id IS NULL
             AND a.status = 'ACTIVE' AND b.status = 'ACTIVE'
           ORDER BY a.number, b.number LIMIT 1""",
        river,
    )
    merged = await conn.fetch(
        "SELECT id FROM customers WHERE business_id = $1 AND merged_into_id IS NOT NULL "
        "ORDER BY number",
        river,
    )
    assert candidates is not None
    return DemoSeed(
        businesses=tuple(businesses),
        showcase_customer_id=await one(
            "SELECT customer_id FROM bookings WHERE business_id = $1 AND customer_id IS NOT NULL "
            "GROUP BY customer_id ORDER BY count(*) DESC, customer_id LIMIT 1"
        ),
        archived_customer_id=await one(
            "SELECT id FROM customers WHERE business_id = $1 AND status = 'ARCHIVED' "
            "AND merged_into_id IS NULL AND category = 'PRIMARY' ORDER BY number LIMIT 1"
        ),
        merged_customer_ids=tuple(r["id"] for r in merged),
        merge_candidate_ids=(candidates["a"], candidates["b"]),
        lead_customer_id=await one(
            "SELECT id FROM customers WHERE business_id = $1 AND category = 'LEAD' "
            "AND status = 'ACTIVE' ORDER BY number LIMIT 1"
        ),
        app_user_customer_id=await one(
            "SELECT id FROM customers WHERE business_id = $1 AND category = 'APP_USER' "
            "AND status = 'ACTIVE' ORDER BY number LIMIT 1"
        ),
        created=created,
    )
