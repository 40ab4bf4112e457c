"""Directory prefixes: a 1- or 2-character term reads the list in name order through indexes.

A short term matches the start of any word of the name. Filtering the name-ordered list for it
walks a large part of the list when matches are sparse (a 1-character term over a million people
hit the statement timeout), so each kind of word gets its own ordered access, and the page merges
them in name order (a Merge Append of ordered index scans, stopped at the page's size):

- the last name's first word: a range on `name_key` ("last first"), in the list's own indexes;
- the first name's first word: `first_prefix1` / `first_prefix2` (its first 1 and 2 characters);
- the first further word of either name ("Bhriain" in "Ní Bhriain", "Ann" in "Mary Ann"):
  `extra_prefix1` / `extra_prefix2`; these four are each indexed as (business, status, prefix,
  name_key, person_id), so equality on the prefix reads an index in name order;
- any word after that (rare: "van der Berg"): `more_prefixes`, an array of 1- and 2-character
  prefixes, looked for in name order among the few people who have such words.

The parts exclude each other, so they are combined with UNION ALL; each reads an index alone
(what the category filter needs is included), the page's other columns are read for its rows
only, and the capped count reads the same parts and stops at the cap. The whole-name prefix
indexes of 0002 are dropped, and the list's name-order index now covers what a search filters
on, so that a fragment matching much of the list is looked for in that index alone.

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-21 09:30:00.000000
"""

from __future__ import annotations

import importlib.util
from collections.abc import Sequence
from pathlib import Path
from types import ModuleType

from alembic import op

revision: str = "0006"
down_revision: str | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def _revision_module(filename: str) -> ModuleType:
    """An earlier revision's module: its function bodies are this one's downgrade, and its
    argument handling (PREPARE) is shared unchanged."""
    path = Path(__file__).with_name(filename)
    spec = importlib.util.spec_from_file_location(f"_directory_revision_{path.stem}", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


DIRECTORY = _revision_module("0002_directory.py")

# The words of a name after the first word of its last name and of its first name, folded as
# `name_key` is; split on single spaces, as `search_text` joins them.
FURTHER_WORDS_FUNCTION = r"""
CREATE FUNCTION directory_further_words(first_name text, last_name text) RETURNS text[]
LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE
SET search_path = public
AS $fn$
    SELECT coalesce(array_agg(w.word ORDER BY w.part, w.position), '{}')
    FROM (
        SELECT 1, t.word, t.position FROM unnest(
            (string_to_array(immutable_unaccent(lower(last_name)), ' '))[2:]
        ) WITH ORDINALITY AS t(word, position)
        UNION ALL
        SELECT 2, t.word, t.position FROM unnest(
            (string_to_array(immutable_unaccent(lower(first_name)), ' '))[2:]
        ) WITH ORDINALITY AS t(word, position)
    ) AS w(part, word, position)
    WHERE w.word <> ''
$fn$
"""

# The 1- and 2-character prefixes of the further words after the first one.
MORE_PREFIXES_FUNCTION = r"""
CREATE FUNCTION directory_more_prefixes(first_name text, last_name text) RETURNS text[]
LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE
SET search_path = public
AS $fn$
    SELECT coalesce(array_agg(DISTINCT left(w.word, n.n) ORDER BY left(w.word, n.n)), '{}')
    FROM unnest((directory_further_words(first_name, last_name))[2:]) AS w(word)
    CROSS JOIN (VALUES (1), (2)) AS n(n)
$fn$
"""
NEW_FUNCTIONS = {
    "directory_further_words(text, text)": FURTHER_WORDS_FUNCTION,
    "directory_more_prefixes(text, text)": MORE_PREFIXES_FUNCTION,
}

FIRST_KEY = "immutable_unaccent(lower(first_name))"
EXTRA_WORD = "coalesce((directory_further_words(first_name, last_name))[1], '')"
COLUMNS = {
    "first_prefix1": ("varchar", f"left({FIRST_KEY}, 1)"),
    "first_prefix2": ("varchar", f"left({FIRST_KEY}, 2)"),
    "extra_prefix1": ("varchar", f"left({EXTRA_WORD}, 1)"),
    "extra_prefix2": ("varchar", f"left({EXTRA_WORD}, 2)"),
    "more_prefixes": ("text[]", "directory_more_prefixes(first_name, last_name)"),
}
# What the parts filter on besides their index keys, so that they read the index alone.
CATEGORY_COLUMNS = "kind, category, is_participant"
INDEXES = {
    "ix_directory_entries_first_prefix1": (
        f"(business_id, status, first_prefix1, name_key, person_id) INCLUDE ({CATEGORY_COLUMNS})",
        "",
    ),
    "ix_directory_entries_first_prefix2": (
        f"(business_id, status, first_prefix2, name_key, person_id) INCLUDE ({CATEGORY_COLUMNS})",
        "",
    ),
    "ix_directory_entries_extra_prefix1": (
        "(business_id, status, extra_prefix1, name_key, person_id)"
        f" INCLUDE (first_prefix1, {CATEGORY_COLUMNS})",
        " WHERE extra_prefix1 <> ''",
    ),
    "ix_directory_entries_extra_prefix2": (
        "(business_id, status, extra_prefix2, name_key, person_id)"
        f" INCLUDE (first_prefix2, {CATEGORY_COLUMNS})",
        " WHERE extra_prefix2 <> ''",
    ),
    "ix_directory_entries_more_words": (
        "(business_id, status, name_key, person_id) INCLUDE (more_prefixes, first_prefix1,"
        f" first_prefix2, extra_prefix1, extra_prefix2, {CATEGORY_COLUMNS})",
        " WHERE cardinality(more_prefixes) > 0",
    ),
}

# 0002's indexes this revision replaces: the whole-name prefix indexes, which no statement reads
# any more, and the list's name order, which now covers what a search filters on (a fragment
# matching a large part of the list is looked for in name order, in the index alone).
REPLACED_INDEXES = {
    "ix_directory_entries_first_key": "(business_id, status, first_key)",
    "ix_directory_entries_last_key": "(business_id, status, last_key)",
    "ix_directory_entries_everyone": "(business_id, status, name_key, person_id)",
}
COVERING_LIST_INDEX = (
    "CREATE INDEX ix_directory_entries_everyone ON directory_entries"
    " (business_id, status, name_key, person_id)"
    f" INCLUDE (search_text, number, {CATEGORY_COLUMNS})"
)

# Business, tab and category: every directory statement starts here (0002's filter up to its
# search conditions, so that the category rules stay those of 0002).
SCOPE = DIRECTORY.FILTER[: DIRECTORY.FILTER.index("\n    AND (\n        (v_prefix IS NULL")].strip()

KEYSET = """
    AND (p_lower_key IS NULL OR (d.name_key, d.person_id) > (p_lower_key, p_lower_id))
    AND (p_upper_key IS NULL OR (d.name_key, d.person_id) < (p_upper_key, p_upper_id))"""

# The long terms and any further short ones; with custom plans an absent one folds away.
REFINE = """
    AND (v_fragment IS NULL OR d.search_text LIKE v_fragment)
    AND (cardinality(v_patterns) = 0 OR (' ' || d.search_text) LIKE ALL (v_patterns))"""

# Searches without a short term: everyone, a fragment, a number or an id.
WITHOUT_PREFIX = """
    AND ((v_fragment IS NULL AND p_number IS NULL AND p_person_id IS NULL)
         OR (v_fragment IS NOT NULL"""
WITHOUT_PREFIX += REFINE.replace("\n    AND", "\n             AND") + ")"
WITHOUT_PREFIX += """
         OR d.number = p_number
         OR d.person_id = p_person_id)"""


def _by_length(column: str) -> str:
    return (
        f"((char_length(v_prefix) = 1 AND d.{column}1 = v_prefix)"
        f" OR (char_length(v_prefix) = 2 AND d.{column}2 = v_prefix))"
    )


# The ways a short term matches a name, most common first; each part leaves out the rows of the
# parts before it, so that nobody is listed twice.
MATCHES = (
    "(d.name_key >= v_prefix AND d.name_key < v_prefix_end)",
    _by_length("first_prefix"),
    _by_length("extra_prefix"),
    "(cardinality(d.more_prefixes) > 0 AND d.more_prefixes @> ARRAY[v_prefix])",
)
PREFIX_PARTS = tuple(
    " AND ".join([match, *(f"NOT {earlier}" for earlier in MATCHES[:i])])
    for i, match in enumerate(MATCHES)
)


def _prefix_parts(columns: str, tail: str = "") -> str:
    """The parts as one UNION ALL; `tail` ends each part (its order and limit)."""
    keyset = KEYSET if tail else ""
    return "\n    UNION ALL\n    ".join(
        f"(SELECT {columns} FROM directory_entries d\n    WHERE {SCOPE}{keyset}{REFINE}"
        f"\n    AND {part}{tail})"
        for part in PREFIX_PARTS
    )


def _page_statements(direction: str) -> tuple[str, str]:
    def order(alias: str) -> str:
        return f"{alias}.name_key {direction}, {alias}.person_id {direction}"

    # Each part is ordered and limited on its own: planned alone, its conditions fix the
    # index's leading columns, so the index is read in name order, and the parts are merged
    # (Merge Append). Left to the planner as one flat UNION ALL, the parts would be sorted.
    part_tail = f"\n    ORDER BY {order('d')} LIMIT p_limit"
    with_prefix = f"""
        RETURN QUERY
        SELECT d.person_id, d.kind::text, d.customer_id, d.name_key::text
        FROM (
            SELECT u.name_key, u.person_id FROM (
    {_prefix_parts("d.name_key, d.person_id", part_tail)}
            ) AS u
            ORDER BY {order("u")}
            LIMIT p_limit
        ) AS page
        JOIN directory_entries d ON d.business_id = v_business AND d.person_id = page.person_id
        ORDER BY {order("page")};"""
    # A fragment read in name order is filtered in the covering list index, not the table.
    without_prefix = f"""
        RETURN QUERY
        SELECT d.person_id, d.kind::text, d.customer_id, d.name_key::text
        FROM (
            SELECT d.name_key, d.person_id FROM directory_entries d
            WHERE {SCOPE}{KEYSET}{WITHOUT_PREFIX}
            ORDER BY {order("d")}
            LIMIT p_limit
        ) AS page
        JOIN directory_entries d ON d.business_id = v_business AND d.person_id = page.person_id
        ORDER BY {order("page")};"""
    return with_prefix, without_prefix


_ASC = _page_statements("ASC")
_DESC = _page_statements("DESC")

PAGE_FUNCTION = f"""
CREATE OR REPLACE FUNCTION directory_page({DIRECTORY.ARGUMENTS},
    p_lower_key text, p_lower_id uuid, p_upper_key text, p_upper_id uuid,
    p_descending boolean, p_limit integer)
RETURNS TABLE (person_id uuid, kind text, customer_id uuid, name_key text)
{DIRECTORY.FUNCTION_OPTIONS}
AS $fn$
{DIRECTORY.DECLARE}
BEGIN
{DIRECTORY.PREPARE}
    IF v_prefix IS NOT NULL AND p_descending THEN{_DESC[0]}
    ELSIF v_prefix IS NOT NULL THEN{_ASC[0]}
    ELSIF p_descending THEN{_DESC[1]}
    ELSE{_ASC[1]}
    END IF;
END
$fn$
"""

COUNT_PREPARE = DIRECTORY.PREPARE.replace(
    "IF v_business IS NULL THEN RETURN; END IF;", "IF v_business IS NULL THEN RETURN 0; END IF;"
)
COUNT_FUNCTION = f"""
CREATE OR REPLACE FUNCTION directory_count({DIRECTORY.ARGUMENTS}, p_cap integer)
RETURNS bigint
{DIRECTORY.FUNCTION_OPTIONS}
AS $fn$
{DIRECTORY.DECLARE}
    v_count bigint;
BEGIN
{COUNT_PREPARE}
    IF v_prefix IS NOT NULL THEN
        SELECT count(*) INTO v_count FROM (
    {_prefix_parts("1")}
        LIMIT p_cap) AS capped;
    ELSE
        SELECT count(*) INTO v_count FROM (
            SELECT 1 FROM directory_entries d WHERE {SCOPE}{WITHOUT_PREFIX}
            LIMIT p_cap
        ) AS capped;
    END IF;
    RETURN v_count;
END
$fn$
"""


def upgrade() -> None:
    for statement in NEW_FUNCTIONS.values():
        op.execute(statement)
    # One ALTER: the table is rewritten once for all the columns.
    op.execute(
        "ALTER TABLE directory_entries "
        + ", ".join(
            f"ADD COLUMN {name} {kind} NOT NULL GENERATED ALWAYS AS ({expression}) STORED"
            for name, (kind, expression) in COLUMNS.items()
        )
    )
    for name, (columns, where) in INDEXES.items():
        op.execute(f"CREATE INDEX {name} ON directory_entries {columns}{where}")
    for name in REPLACED_INDEXES:
        op.execute(f"DROP INDEX {name}")
    op.execute(COVERING_LIST_INDEX)
    op.execute(PAGE_FUNCTION)
    op.execute(COUNT_FUNCTION)
    # Statistics for the new columns now. The rewritten table has no visibility map until it is
    # next vacuumed (VACUUM cannot run in the migration's transaction): until then the parts'
    # index-only reads also visit the table (README, "Seeding at scale").
    op.execute("ANALYZE directory_entries")


def downgrade() -> None:
    op.execute(_or_replace(DIRECTORY.PAGE_FUNCTION))
    op.execute(_or_replace(DIRECTORY.COUNT_FUNCTION))
    op.execute("DROP INDEX ix_directory_entries_everyone")
    for name, columns in REPLACED_INDEXES.items():
        op.execute(f"CREATE INDEX {name} ON directory_entries {columns}")
    for name in INDEXES:
        op.execute(f"DROP INDEX {name}")
    op.execute(
        "ALTER TABLE directory_entries " + ", ".join(f"DROP COLUMN {name}" for name in COLUMNS)
    )
    for signature in reversed(NEW_FUNCTIONS):
        op.execute(f"DROP FUNCTION {signature}")


def _or_replace(statement: str) -> str:
    return statement.replace("CREATE FUNCTION", "CREATE OR REPLACE FUNCTION", 1)
