"""The directory's search keeps using its indexes under row-level security, also after the
function's plans have been cached on a connection (PostgreSQL switches to generic plans after
five executions unless told otherwise; CI runs this on PostgreSQL 15 and 18)."""

from __future__ import annotations

import asyncpg

from server.database_setup import asyncpg_url
from tests import factories
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
