"""The directory's search keeps using its indexes under row-level security, also after the
function's plans have been cached on a connection (PostgreSQL switches to generic plans after
five executions unless told otherwise; CI runs this on PostgreSQL 15 and 18), and so does the
compiled customer list, whose one statement calls the same functions."""

from __future__ import annotations

import json

import asyncpg

from schema.build import schema as app_schema
from schema.compiled.registry import TrustedDocuments
from server.auth import Role, Viewer
from server.database_setup import asyncpg_url
from tests import factories
from tests.compiled_support import QUERIES
from tests.database import ClonedDatabase

PEOPLE = 20_000

FILL = """
INSERT INTO customers (business_id, first_name, last_name, email, origin, category)
SELECT $1,
       (ARRAY['Ana', 'Ben', 'Chloé', 'Dmitri', 'Émile', 'Fatima', 'George', 'Hana', 'Iñigo',
              'Jon'])[1 + i % 10] || i::text,
       (ARRAY['Smith', 'Goldsmith', 'Núñez', 'Brown', 'Okafor', 'Lee', 'Walsh', 'Kowalski',
              'Martin', 'Singh'])[1 + (i / 10) % 10],
       'person' || i || '@example.com', 'STAFF', 'LEAD'
FROM generate_series(1, $2) AS i
"""

SEARCH = (
    "SELECT person_id FROM directory_page('ACTIVE', 'EVERYONE', $1, NULL, NULL, NULL,"
    " NULL, NULL, NULL, NULL, false, 21)"
)
PHONE = (
    "SELECT person_id FROM directory_page('ACTIVE', 'EVERYONE', NULL, $1, NULL, NULL,"
    " NULL, NULL, NULL, NULL, false, 21)"
)
COUNT = "SELECT directory_count('ACTIVE', 'EVERYONE', $1, NULL, NULL, NULL, 10001)"

INDEX_SCANS = """
SELECT indexrelname, idx_scan FROM pg_stat_user_indexes
WHERE relname IN ('directory_entries', 'directory_words')
"""


async def _scans(conn: asyncpg.Connection) -> dict[str, int]:
    return {r["indexrelname"]: r["idx_scan"] for r in await conn.fetch(INDEX_SCANS)}


async def test_fragment_and_prefix_searches_use_indexes_after_plans_are_cached(
    db: ClonedDatabase,
    owner: factories.Owner,
    two_businesses: tuple[factories.BusinessFixture, ...],
) -> None:
    mine, other = two_businesses
    await owner.c.execute(FILL, mine.id, PEOPLE)
    await owner.c.execute(FILL, other.id, 2_000)
    await owner.c.execute("ANALYZE directory_entries")

    service = await asyncpg.connect(asyncpg_url(db.service_url))
    observer = await asyncpg.connect(asyncpg_url(db.owner_url))
    try:
        before = await _scans(observer)
        async with service.transaction():
            await service.execute("SELECT set_config('app.business_id', $1, true)", str(mine.id))
            for _ in range(12):
                rare = await service.fetch(SEARCH, ["jon29"])  # a rare fragment: its words
                common = await service.fetch(SEARCH, ["smi"])  # a common one: its words
                counted = await service.fetchval(COUNT, ["smi"])
                digits = await service.fetch(PHONE, "2909")  # digits: the trigram index
                prefix = await service.fetch(SEARCH, ["zz"])  # a prefix with no match
                initial = await service.fetch(SEARCH, ["j"])  # one letter: Jon… by first name
        await service.execute("SELECT pg_stat_force_next_flush()")
        after = await _scans(observer)
    finally:
        await service.close()
        await observer.close()

    # Jon29, Jon299 and Jon2909 … Jon2999; Smith and Goldsmith are a fifth of everyone;
    # person2909@ and person12909@.
    assert len(rare) == 12 and len(common) == 21 and prefix == [] and len(initial) == 21
    assert counted == PEOPLE // 5 and len(digits) == 2
    used = {name: after[name] - before.get(name, 0) for name in after}
    # Page and count read each of the fragment's words in name order (Smith and Goldsmith:
    # two reads per page, at least one per count).
    assert used["ix_directory_words_search"] >= 12 * 5, used
    assert used["ix_directory_entries_search_trgm"] >= 12, used
    assert used["ix_directory_entries_everyone"] >= 12, used
    # Each word of a name has its own name-ordered index for 1- and 2-character terms.
    for index in ("first_prefix1", "first_prefix2", "extra_prefix2", "more_words"):
        assert used[f"ix_directory_entries_{index}"] >= 12, used


LIST_INDEXES = ("everyone", "primary", "lead", "app_user", "participant", "additional_user")
# Every tab and category both ways, pages after a cursor, and searches: the requests the
# compiled customer list answers in one statement.
LIST_REQUESTS = [
    *(
        {"status": status, "category": category.upper(), "order": order}
        for status in ("ACTIVE", "ARCHIVED")
        for category in LIST_INDEXES
        for order in ("ASC", "DESC")
    ),
    {"search": "smi"},
    {"search": "j"},
    {"search": "2909"},
]
MIXED_PEOPLE = """
WITH listed AS (
    UPDATE customers SET category = (ARRAY['PRIMARY', 'LEAD', 'APP_USER'])[1 + number % 3],
                         status = CASE WHEN number % 7 = 0 THEN 'ARCHIVED' ELSE 'ACTIVE' END
    WHERE business_id = $1 RETURNING id, number, last_name
), kids AS (
    INSERT INTO participants (business_id, customer_id, first_name, last_name)
    SELECT $1, id, 'Kid' || number, last_name FROM listed WHERE number % 4 = 0
)
INSERT INTO additional_users (business_id, customer_id, first_name, last_name, email)
SELECT $1, id, 'Helper' || number, last_name, 'helper' || number || '@example.com'
FROM listed WHERE number % 5 = 0
"""


async def test_the_compiled_customer_list_reads_the_directory_indexes(
    db: ClonedDatabase,
    owner: factories.Owner,
    two_businesses: tuple[factories.BusinessFixture, ...],
) -> None:
    """The one statement calls the directory's functions, whose plans keep their indexes."""
    mine, _ = two_businesses
    await owner.c.execute(FILL, mine.id, PEOPLE)
    await owner.c.execute(MIXED_PEOPLE, mine.id)
    await owner.c.execute("ANALYZE directory_entries")
    registry = TrustedDocuments.load(app_schema._schema, (QUERIES,), trusted_only=False)
    listing = next(d for d in registry.by_hash.values() if d.name == "customer_list.graphql")
    plan = listing.sql_plan_for("CustomerList")
    assert plan is not None
    staff = Viewer(mine.id, Role.STAFF, mine.staff_id, 1)

    service = await asyncpg.connect(asyncpg_url(db.service_url))
    observer = await asyncpg.connect(asyncpg_url(db.owner_url))
    try:
        before = await _scans(observer)
        async with service.transaction():
            await service.execute("SELECT set_config('app.business_id', $1, true)", str(mine.id))
            for variables in LIST_REQUESTS:
                bound = plan.bind(variables, staff)
                assert bound is not None
                pages = [await service.fetchval(bound.sql, *bound.params) for _ in range(12)]
                page = json.loads(pages[-1])["people"]
                assert page["edges"] and page["totalCount"] > 0, variables
                # The next page, from the statement's own cursor.
                after = {**variables, "after": page["pageInfo"]["endCursor"]}
                bound = plan.bind(after, staff)
                assert bound is not None
                assert json.loads(await service.fetchval(bound.sql, *bound.params))["people"]
        await service.execute("SELECT pg_stat_force_next_flush()")
        after_scans = await _scans(observer)
    finally:
        await service.close()
        await observer.close()

    used = {name: after_scans[name] - before.get(name, 0) for name in after_scans}
    # Each tab and category is read from its name-ordered index, page and count alike.
    for index in LIST_INDEXES:
        assert used[f"ix_directory_entries_{index}"] >= 2 * 2 * 13, (index, used)
    assert used["ix_directory_words_search"] >= 12, used
    assert used["ix_directory_entries_first_prefix1"] >= 12, used
    assert used["ix_directory_entries_search_trgm"] >= 12, used
