"""Directory tallies: how many people each tab and category of a business's list holds.

The list shows its total without a search on every page ("page 3 of 40"): counted, that is up
to 10,001 index entries read per request, most of PostgreSQL's work for a first page over a
million people (1 to 1.5 ms of about 3.5). `directory_tallies` keeps the number per business,
status and category; statement triggers on `directory_entries` add what a statement added and
take away what it removed, in the transaction of the edit, so the total is exact at once and
a bulk change of 50,000 people updates each tally once. `directory_count` reads the tally when
there is no search; a search is still counted.

A person is in EVERYONE and in the categories `directory_entry_categories` names: the category
rules of the list's filter (0002), kept in one function beside the triggers, and checked against
the filter by a test over every kind of person.

Revision ID: 0010
Revises: 0009
Create Date: 2026-11-21 16:10:00.000000
"""

from __future__ import annotations

import importlib.util
from collections.abc import Sequence
from pathlib import Path
from types import ModuleType

from alembic import op

revision: str = "0010"
down_revision: str | None = "0009"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

TENANT = "NULLIF(current_setting('app.business_id', true), '')::uuid"


def _revision_module(filename: str) -> ModuleType:
    """0008's module: its count function is extended here and restored on downgrade."""
    path = Path(__file__).with_name(filename)
    spec = importlib.util.spec_from_file_location(f"_directory_revision_{path.stem}", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


WORDS = _revision_module("0008_search_words.py")

TABLE = """
CREATE TABLE directory_tallies (
    business_id uuid NOT NULL,
    status varchar(16) NOT NULL,
    category varchar(16) NOT NULL,
    people bigint NOT NULL,
    CONSTRAINT pk_directory_tallies PRIMARY KEY (business_id, status, category),
    CONSTRAINT fk_directory_tallies_business_id_businesses
        FOREIGN KEY (business_id) REFERENCES businesses (id) ON DELETE CASCADE
)"""

# The list's categories a directory entry is in, besides EVERYONE (0002's filter).
CATEGORIES_FUNCTION = """
CREATE FUNCTION directory_entry_categories(kind text, category text, is_participant boolean)
RETURNS text[] LANGUAGE sql IMMUTABLE PARALLEL SAFE
SET search_path = public
AS $fn$
    SELECT ARRAY['EVERYONE']
        || CASE WHEN kind = 'CUSTOMER' AND category IN ('PRIMARY', 'LEAD', 'APP_USER')
                THEN ARRAY[category] ELSE '{}' END
        || CASE WHEN is_participant THEN ARRAY['PARTICIPANT'] ELSE '{}' END
        || CASE WHEN kind = 'ADDITIONAL_USER' THEN ARRAY['ADDITIONAL_USER'] ELSE '{}' END
$fn$
"""


def _changes(rows: str, sign: str) -> str:
    return (
        f"SELECT e.business_id, e.status, c.category, {sign}1 AS change FROM {rows} e"
        " CROSS JOIN LATERAL unnest(directory_entry_categories(e.kind, e.category,"
        " e.is_participant)) AS c(category)"
    )


def _apply(changes: str) -> str:
    """Adds each (business, status, category)'s net change, in key order (two edits of one
    business take the tallies' row locks in the same order)."""
    return f"""
        INSERT INTO directory_tallies AS t (business_id, status, category, people)
        SELECT business_id, status, category, sum(change) FROM ({changes}) AS changes
        GROUP BY business_id, status, category
        HAVING sum(change) <> 0
        ORDER BY business_id, status, category
        ON CONFLICT (business_id, status, category)
        DO UPDATE SET people = t.people + EXCLUDED.people;"""


# Removals only lower existing tallies: when a business is deleted its tallies may already
# have gone with it, and nothing must be added back.
TALLY_FUNCTION = f"""
CREATE FUNCTION directory_tally() RETURNS trigger LANGUAGE plpgsql AS $fn$
BEGIN
    IF TG_OP = 'INSERT' THEN{_apply(_changes("new_entries", "+"))}
    ELSIF TG_OP = 'UPDATE' THEN{
    _apply(_changes("new_entries", "+") + " UNION ALL " + _changes("old_entries", "-"))
}
    ELSE
        UPDATE directory_tallies AS t SET people = t.people - removed.people
        FROM (SELECT business_id, status, category, count(*) AS people
              FROM ({_changes("old_entries", "")}) AS changes
              GROUP BY business_id, status, category) AS removed
        WHERE t.business_id = removed.business_id AND t.status = removed.status
          AND t.category = removed.category;
    END IF;
    RETURN NULL;
END
$fn$
"""

TRIGGERS = (
    "CREATE TRIGGER directory_tally_insert AFTER INSERT ON directory_entries"
    " REFERENCING NEW TABLE AS new_entries FOR EACH STATEMENT EXECUTE FUNCTION directory_tally()",
    "CREATE TRIGGER directory_tally_update AFTER UPDATE ON directory_entries"
    " REFERENCING OLD TABLE AS old_entries NEW TABLE AS new_entries"
    " FOR EACH STATEMENT EXECUTE FUNCTION directory_tally()",
    "CREATE TRIGGER directory_tally_delete AFTER DELETE ON directory_entries"
    " REFERENCING OLD TABLE AS old_entries FOR EACH STATEMENT EXECUTE FUNCTION directory_tally()",
)

# For bulk loads that ran with triggers off (the scale seeder), and to fill the table here.
REBUILD_FUNCTION = f"""
CREATE FUNCTION directory_tallies_rebuild(p_business uuid) RETURNS void LANGUAGE sql AS $fn$
    DELETE FROM directory_tallies WHERE business_id = p_business;
    INSERT INTO directory_tallies (business_id, status, category, people)
    SELECT business_id, status, category, count(*)
    FROM ({_changes("directory_entries", "+")}) AS entries
    WHERE business_id = p_business
    GROUP BY business_id, status, category;
$fn$
"""

# Without a search (no prefix, no fragment's words, no fragment, number or id), the tally.
_COUNTED = "\n    ELSE\n        SELECT count(*) INTO v_count FROM (\n"
_TALLIED = """
    ELSIF v_fragment IS NULL AND p_number IS NULL AND p_person_id IS NULL THEN
        SELECT least(t.people, p_cap) INTO v_count FROM directory_tallies t
        WHERE t.business_id = v_business AND t.status = p_status AND t.category = p_category;
        v_count := coalesce(v_count, 0);"""
assert WORDS.COUNT_FUNCTION.count(_COUNTED) == 1
COUNT_FUNCTION = WORDS.COUNT_FUNCTION.replace(_COUNTED, _TALLIED + _COUNTED)

NEW_FUNCTIONS = (
    "directory_tallies_rebuild(uuid)",
    "directory_tally()",
    "directory_entry_categories(text, text, boolean)",
)


def upgrade() -> None:
    op.execute(TABLE)
    op.execute("ALTER TABLE directory_tallies ENABLE ROW LEVEL SECURITY")
    op.execute(
        "CREATE POLICY tenant_isolation ON directory_tallies "
        f"USING (business_id = {TENANT}) WITH CHECK (business_id = {TENANT})"
    )
    op.execute(CATEGORIES_FUNCTION)
    op.execute(TALLY_FUNCTION)
    op.execute(REBUILD_FUNCTION)
    op.execute("REVOKE ALL ON FUNCTION directory_tallies_rebuild(uuid) FROM PUBLIC")
    op.execute("SELECT directory_tallies_rebuild(id) FROM businesses")
    for statement in TRIGGERS:
        op.execute(statement)
    op.execute(COUNT_FUNCTION)


def downgrade() -> None:
    op.execute(WORDS.COUNT_FUNCTION)
    for name in ("insert", "update", "delete"):
        op.execute(f"DROP TRIGGER directory_tally_{name} ON directory_entries")
    op.execute("DROP TABLE directory_tallies")
    for signature in NEW_FUNCTIONS:
        op.execute(f"DROP FUNCTION {signature}")
