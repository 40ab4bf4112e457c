"""The seeders: the demo is consistent and seeds once; the bulk seeder writes what it promises,
numbers and categorises like the product would, and leaves the schema as it found it."""

from __future__ import annotations

import dataclasses
from typing import Any

import phonenumbers

from server.seed.category import COUNT_WRONG
from server.seed.demo import seed_demo
from server.seed.scale import HISTORY_DERIVED_TABLES, NUMBERED_TABLES, seed_scale
from tests import factories
from tests.database import ClonedDatabase

TABS = (
    "bookings",
    "appointments",
    "customer_passes",
    "video_purchases",
    "customer_subscriptions",
    "questionnaire_responses",
    "notes",
    "account_history",
)


async def schema(owner: factories.Owner) -> dict[str, Any]:
    """What a bulk load switches off and must switch back on. Indexes are compared by what
    they are (a recreated partial index may spell its predicate differently)."""
    indexes = await owner.c.fetch(
        """SELECT i.relname AS name, t.relname AS tbl, a.amname, x.indisunique,
                  x.indkey::text AS columns, pg_get_expr(x.indexprs, x.indrelid) AS exprs,
                  x.indpred IS NOT NULL AS partial
           FROM pg_index x JOIN pg_class i ON i.oid = x.indexrelid
           JOIN pg_class t ON t.oid = x.indrelid JOIN pg_am a ON a.oid = i.relam
           WHERE t.relnamespace = 'public'::regnamespace ORDER BY 1"""
    )
    constraints = await owner.c.fetch(
        """SELECT conname, pg_get_constraintdef(oid) AS def, convalidated FROM pg_constraint
           WHERE connamespace = 'public'::regnamespace ORDER BY conname, def"""
    )
    triggers = await owner.c.fetch(
        """SELECT tgrelid::regclass::text AS tbl, tgname, tgenabled FROM pg_trigger
           WHERE NOT tgisinternal ORDER BY 1, 2"""
    )
    return {
        "indexes": [tuple(r) for r in indexes],
        "constraints": [tuple(r) for r in constraints],
        "triggers": [tuple(r) for r in triggers],
    }


async def assert_numbers_continue(owner: factories.Owner, business_id: Any) -> None:
    for table in NUMBERED_TABLES:
        highest = await owner.c.fetchval(
            f"SELECT coalesce(max(number), 0) FROM {table} WHERE business_id = $1", business_id
        )
        counter = await owner.c.fetchval(
            "SELECT coalesce(max(last_value), 0) FROM number_counters "
            "WHERE business_id = $1 AND kind = $2",
            business_id,
            table,
        )
        assert counter == highest, table


async def test_demo_is_consistent_and_seeds_once(
    db: ClonedDatabase, owner: factories.Owner
) -> None:
    first = await seed_demo(db.owner_url)
    again = await seed_demo(db.owner_url)
    assert first.created and not again.created
    assert dataclasses.replace(first, created=False) == again
    assert first.slugs == ("riverside-studio", "harbour-kids-club")

    for business in first.businesses:
        assert await owner.c.fetchval(COUNT_WRONG, business.id) == 0
        await assert_numbers_continue(owner, business.id)
        categories = await owner.c.fetch(
            "SELECT DISTINCT category FROM customers WHERE business_id = $1", business.id
        )
        assert {r["category"] for r in categories} == {"PRIMARY", "LEAD", "APP_USER"}

    for tab in TABS:
        rows = await owner.c.fetchval(
            f"SELECT count(*) FROM {tab} WHERE customer_id = $1", first.showcase_customer_id
        )
        assert rows > 10, tab

    merged = await owner.c.fetch(
        """SELECT m.status, t.business_id = m.business_id AS same_business
           FROM customers m JOIN customers t ON t.id = m.merged_into_id
           WHERE m.id = ANY($1::uuid[])""",
        list(first.merged_customer_ids),
    )
    assert len(merged) >= 2
    assert all(r["status"] == "ARCHIVED" and r["same_business"] for r in merged)

    people = await owner.c.fetch(
        """SELECT c.business_id, c.email, c.mobile, b.country, l.email_key
           FROM customers c JOIN businesses b ON b.id = c.business_id
           LEFT JOIN login_emails l ON l.business_id = c.business_id AND l.customer_id = c.id"""
    )
    for person in people:
        assert person["email_key"] == (person["email"].lower() if person["email"] else None)
        if person["mobile"]:
            number = phonenumbers.parse(person["mobile"])
            assert phonenumbers.is_valid_number(number), person["mobile"]
            assert phonenumbers.region_code_for_number(number) == person["country"]


async def test_scale_writes_what_it_promises_and_restores_the_schema(
    db: ClonedDatabase, owner: factories.Owner
) -> None:
    before = await schema(owner)
    seed = await seed_scale(db.owner_url, customers=2000, history_per_customer=20, progress=False)
    assert seed.created and seed.customers == 2000
    assert await schema(owner) == before

    counts = {
        table: await owner.c.fetchval(
            f"SELECT count(*) FROM {table} WHERE business_id = $1", seed.business_id
        )
        for table in (*NUMBERED_TABLES, "participants", "login_emails")
    }
    assert counts["customers"] == 2000
    history = sum(v for k, v in counts.items() if k not in ("customers", "additional_users"))
    history -= counts["participants"] + counts["login_emails"]
    assert 18 * 2000 <= history <= 22 * 2000
    assert 1.1 * 2000 <= counts["participants"] <= 1.5 * 2000
    assert await owner.c.fetchval(COUNT_WRONG, seed.business_id) == 0
    await assert_numbers_continue(owner, seed.business_id)
    listed = await owner.c.fetchval(
        "SELECT count(*) FROM directory_entries WHERE business_id = $1", seed.business_id
    )
    children = await owner.c.fetchval(
        "SELECT count(*) FROM participants WHERE business_id = $1 AND NOT is_self",
        seed.business_id,
    )
    assert listed == 2000 + children + counts["additional_users"]
    # The directory's words were rebuilt too, as its trigger would have written them.
    words = await owner.c.fetchval(
        "SELECT count(*) FROM directory_words WHERE business_id = $1", seed.business_id
    )
    expected_words = await owner.c.fetchval(
        "SELECT count(*) FROM directory_entries d"
        " CROSS JOIN LATERAL unnest(directory_words_of(d.search_text))"
        " WHERE d.business_id = $1",
        seed.business_id,
    )
    assert words == expected_words > listed
    # The history's tallies and sales months were rebuilt after the load, as their triggers
    # would have written them.
    for table, rebuild in HISTORY_DERIVED_TABLES.items():
        seeded = await owner.c.fetch(
            f"SELECT * FROM {table} WHERE business_id = $1 ORDER BY 2, 3, 4", seed.business_id
        )
        assert len(seeded) > 2000, table
        await owner.c.execute(f"SELECT {rebuild}($1)", seed.business_id)
        rebuilt = await owner.c.fetch(
            f"SELECT * FROM {table} WHERE business_id = $1 ORDER BY 2, 3, 4", seed.business_id
        )
        assert seeded == rebuilt, table

    # The product's own numbering carries on after the seeded numbers.
    added = await factories.customer(owner, seed.business_id, "Nadia", "Nowak")
    assert added["number"] == 2001

    reused = await seed_scale(db.owner_url, customers=1000, progress=False)
    assert not reused.created and reused.business_id == seed.business_id
