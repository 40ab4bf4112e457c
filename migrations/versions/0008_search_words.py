"""Directory words: a fragment of 3 or more letters and digits is looked up by the words it is in.

A fragment ("smi") is found anywhere in `search_text`. Read in name order through the list's
index, a fragment matching one last name ("Smith") is only met after every name before it (a
third of a million rows over a million people); through the trigram index, every match is
collected and visited in the table before the first page can be sorted, and the capped count
visits up to ten thousand of them again. Both grow with the matches, not with the page.

A fragment made of letters and digits only lies inside one word of `search_text` (words being
its runs of letters and digits): "smi" is in "smith" and "goldsmith", and a person matches when
one of their words contains it. So:

- `directory_words` holds one row per person and distinct word that has a letter in it (about
  five per person: names, the email's parts), with the person's tab, category and name key,
  indexed as (business, status, word, name_key, person_id): the people with one word, in name
  order, read from the index alone;
- `directory_vocabulary` holds each business's distinct words (a few hundred to a few tens of
  thousands), where a fragment's words are found with LIKE and the trigram index;
- the page reads the first page of each of the fragment's words in name order (one short index
  range per word) and merges them; the count reads each word's people up to the cap and stops
  at the first word that reaches it, and only otherwise counts the distinct people of all the
  fragment's words.

Any other term (shorter, digits only, with punctuation; a phone number, a customer number, an
id) keeps the paths of 0006. Both tables are kept current by a trigger on `directory_entries`, in
the transaction of the edit; words are added to the vocabulary and never removed from it (a word
nobody has any more finds nobody). `directory_words_rebuild` fills them for bulk loads that ran
with triggers off (the scale seeder), as `directory_rebuild` does for the entries.

Revision ID: 0008
Revises: 0007
Create Date: 2026-11-21 13:00:00.000000
"""

from __future__ import annotations

import importlib.util
from collections.abc import Sequence
from pathlib import Path
from types import ModuleType

from alembic import op

revision: str = "0008"
down_revision: str | None = "0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

TENANT = "NULLIF(current_setting('app.business_id', true), '')::uuid"


def _revision_module(filename: str) -> ModuleType:
    """An earlier revision's module: 0006's statements are reused (its filter, keyset and other
    paths) and restored on downgrade."""
    path = Path(__file__).with_name(filename)
    spec = importlib.util.spec_from_file_location(f"_directory_revision_{path.stem}", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


PREFIXES = _revision_module("0006_directory_prefixes.py")
DIRECTORY = PREFIXES.DIRECTORY

# The distinct words of a search text that have a letter in them (digits alone are searched as
# phone and customer numbers, through the trigram index).
WORDS_OF_FUNCTION = r"""
CREATE FUNCTION directory_words_of(search_text text) RETURNS text[]
LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE
SET search_path = public
AS $fn$
    SELECT coalesce(array_agg(DISTINCT w.word), '{}')
    FROM regexp_split_to_table(search_text, '[^[:alnum:]]+') AS w(word)
    WHERE w.word ~ '[^[:digit:]]'
$fn$
"""

CATEGORY_COLUMNS = "kind, category, is_participant"
WORD_COLUMNS = f"business_id, person_id, word, status, name_key, {CATEGORY_COLUMNS}"


def _word_rows(entry: str, source: str = "") -> str:
    """The words rows of the entries `entry` names (NEW, or an alias defined by `source`)."""
    return (
        f"SELECT {entry}.business_id, {entry}.person_id, w.word, {entry}.status,"
        f" {entry}.name_key, {entry}.kind, {entry}.category, {entry}.is_participant"
        f" FROM {source}unnest(directory_words_of({entry}.search_text)) AS w(word)"
    )


ADD_TO_VOCABULARY = """
    INSERT INTO directory_vocabulary (business_id, word)
    SELECT DISTINCT business_id, word FROM directory_words WHERE business_id = {business}
    ON CONFLICT DO NOTHING"""

# Rewrites a directory entry's words when it is added or removed, or when what a search filters
# or sorts on changes. (No foreign key to the entries: its check would run once per word.)
SYNC_WORDS = f"""
CREATE FUNCTION directory_sync_words() RETURNS trigger LANGUAGE plpgsql AS $fn$
BEGIN
    IF TG_OP IN ('UPDATE', 'DELETE') THEN
        DELETE FROM directory_words WHERE business_id = OLD.business_id AND person_id = OLD.person_id;
    END IF;
    IF TG_OP = 'DELETE' THEN
        RETURN NULL;
    END IF;
    INSERT INTO directory_vocabulary (business_id, word)
    SELECT NEW.business_id, w.word FROM unnest(directory_words_of(NEW.search_text)) AS w(word)
    ON CONFLICT DO NOTHING;
    INSERT INTO directory_words ({WORD_COLUMNS})
    {_word_rows("NEW")};
    RETURN NULL;
END
$fn$
"""
WATCHED = ("search_text", "status", "name_key", "kind", "category", "is_participant")
TRIGGERS = (
    "CREATE TRIGGER directory_words_sync AFTER INSERT OR DELETE ON directory_entries"
    " FOR EACH ROW EXECUTE FUNCTION directory_sync_words()",
    "CREATE TRIGGER directory_words_update AFTER UPDATE ON directory_entries FOR EACH ROW WHEN ("
    + " OR ".join(f"OLD.{c} IS DISTINCT FROM NEW.{c}" for c in WATCHED)
    + ") EXECUTE FUNCTION directory_sync_words()",
)

# For bulk loads that ran with triggers off: one business's words from its directory entries.
REBUILD_WORDS = f"""
CREATE FUNCTION directory_words_rebuild(p_business uuid) RETURNS void LANGUAGE sql AS $fn$
    DELETE FROM directory_words WHERE business_id = p_business;
    INSERT INTO directory_words ({WORD_COLUMNS})
    {_word_rows("d", "directory_entries AS d CROSS JOIN LATERAL ")}
    WHERE d.business_id = p_business;
    {ADD_TO_VOCABULARY.format(business="p_business")};
$fn$
"""

TABLES = (
    """
CREATE TABLE directory_words (
    business_id uuid NOT NULL,
    person_id uuid NOT NULL,
    word text NOT NULL,
    status varchar(16) NOT NULL,
    name_key varchar NOT NULL,
    kind varchar(16) NOT NULL,
    category varchar(16),
    is_participant boolean NOT NULL
)""",
    """
CREATE TABLE directory_vocabulary (
    business_id uuid NOT NULL,
    word text NOT NULL,
    CONSTRAINT pk_directory_vocabulary PRIMARY KEY (business_id, word),
    CONSTRAINT fk_directory_vocabulary_business_id_businesses
        FOREIGN KEY (business_id) REFERENCES businesses (id) ON DELETE CASCADE
)""",
)
# Built after the existing people's words are loaded (faster than row by row).
INDEXES = (
    "ALTER TABLE directory_words ADD CONSTRAINT pk_directory_words"
    " PRIMARY KEY (business_id, person_id, word)",
    "CREATE INDEX ix_directory_words_search ON directory_words"
    f" (business_id, status, word, name_key, person_id) INCLUDE ({CATEGORY_COLUMNS})",
    "CREATE INDEX ix_directory_vocabulary_word_trgm ON directory_vocabulary"
    " USING gin (business_id, word gin_trgm_ops)",
)

# The fragment's words, when the search is one the words can answer: no short term (those take
# the prefix paths), no number or id, and a fragment of letters and digits with a letter in it.
FIND_WORDS = """
    IF v_prefix IS NULL AND p_number IS NULL AND p_person_id IS NULL
       AND v_fragment ~ '^%[[:alnum:]]+%$' AND v_fragment ~ '[^%[:digit:]]' THEN
        SELECT coalesce(array_agg(v.word), '{}') INTO v_words
        FROM directory_vocabulary v
        WHERE v.business_id = v_business AND v.word LIKE v_fragment;
    END IF;
"""
DECLARE = DIRECTORY.DECLARE + "    v_words text[];\n"
# Above this many words (a fragment of an email's or a code's unique parts: "u72" is in 598
# words of one person each), one read per word costs more than reading all their people at once
# (page 31 ms, count 92 ms): the page and the count then read the words' people together.
MANY_WORDS = 16
# Every statement here is meant to read an index in order and stop early. Left to itself the
# planner counts a whole tab (10,001 of a million rows) with a sequential scan of the table,
# most of which is not in shared buffers, rather than from a narrow index (3.3 ms and 475 pages
# read vs 1 ms and 166 pages, all cached).
FUNCTION_OPTIONS = DIRECTORY.FUNCTION_OPTIONS + "SET enable_seqscan = off\n"

# Further terms are checked on the person's entry; with none, custom plans fold this away.
REFINE_WORDS = """
    AND (cardinality(v_patterns) = 0 OR EXISTS (
        SELECT 1 FROM directory_entries e
        WHERE e.business_id = d.business_id AND e.person_id = d.person_id
          AND (' ' || e.search_text) LIKE ALL (v_patterns)))"""


def _words_page(direction: str) -> str:
    def order(alias: str) -> str:
        return f"{alias}.name_key {direction}, {alias}.person_id {direction}"

    # Each word's first page comes from one index range in name order; a person with two of
    # the words is listed once. With many words, all their people are read at once and sorted.
    each_word = f"""
            FROM unnest(v_words) AS v(word)
            CROSS JOIN LATERAL (
                SELECT d.name_key, d.person_id FROM directory_words d
                WHERE {PREFIXES.SCOPE}{PREFIXES.KEYSET}
                  AND d.word = v.word{REFINE_WORDS}
                ORDER BY {order("d")}
                LIMIT p_limit
            ) AS m"""
    all_words = f"""
            FROM directory_words m
            WHERE {PREFIXES.SCOPE.replace("d.", "m.")}{PREFIXES.KEYSET.replace("d.", "m.")}
              AND m.word = ANY (v_words){REFINE_WORDS.replace("d.", "m.")}"""
    statements = []
    for words in (each_word, all_words):
        statements.append(f"""
        RETURN QUERY
        SELECT d.person_id, d.kind::text, d.customer_id, d.name_key::text
        FROM (
            SELECT DISTINCT m.name_key, m.person_id{words}
            ORDER BY {order("m")}
            LIMIT p_limit
        ) AS page
        JOIN directory_entries d ON d.business_id = v_business AND d.person_id = page.person_id
        ORDER BY {order("page")};""")
    return f"""
        IF cardinality(v_words) <= {{MANY_WORDS}} THEN{statements[0]}
        ELSE{statements[1]}
        END IF;""".replace("{MANY_WORDS}", str(MANY_WORDS))


PAGE_FUNCTION = f"""
CREATE OR REPLACE FUNCTION directory_page({DIRECTORY.ARGUMENTS},
    p_lower_key text, p_lower_id uuid, p_upper_key text, p_upper_id uuid,
    p_descending boolean, p_limit integer)
RETURNS TABLE (person_id uuid, kind text, customer_id uuid, name_key text)
{FUNCTION_OPTIONS}
AS $fn$
{DECLARE}
BEGIN
{DIRECTORY.PREPARE}
{FIND_WORDS}
    IF v_prefix IS NOT NULL AND p_descending THEN{PREFIXES._DESC[0]}
    ELSIF v_prefix IS NOT NULL THEN{PREFIXES._ASC[0]}
    ELSIF v_words IS NOT NULL AND p_descending THEN{_words_page("DESC")}
    ELSIF v_words IS NOT NULL THEN{_words_page("ASC")}
    ELSIF p_descending THEN{PREFIXES._DESC[1]}
    ELSE{PREFIXES._ASC[1]}
    END IF;
END
$fn$
"""

# One word's people up to the cap; the first word that reaches it settles the count. Below the
# cap on every word (or with many words), the distinct people of all the words are counted
# (fewer rows than the words' counts together).
WORDS_COUNT = f"""
    ELSIF v_words IS NOT NULL THEN
        v_count := 0;
        FOREACH v_term IN ARRAY v_words LOOP
            EXIT WHEN cardinality(v_words) > {MANY_WORDS};
            SELECT count(*) INTO v_word_count FROM (
                SELECT 1 FROM directory_words d
                WHERE {PREFIXES.SCOPE} AND d.word = v_term{REFINE_WORDS}
                LIMIT p_cap
            ) AS capped;
            IF v_word_count >= p_cap THEN
                RETURN p_cap;
            END IF;
            v_count := v_count + v_word_count;
        END LOOP;
        IF cardinality(v_words) > {MANY_WORDS} OR (cardinality(v_words) > 1 AND v_count > 0) THEN
            SELECT count(*) INTO v_count FROM (
                SELECT DISTINCT d.person_id FROM directory_words d
                WHERE {PREFIXES.SCOPE} AND d.word = ANY (v_words){REFINE_WORDS}
            ) AS people;
        END IF;
        v_count := least(v_count, p_cap);"""

COUNT_FUNCTION = f"""
CREATE OR REPLACE FUNCTION directory_count({DIRECTORY.ARGUMENTS}, p_cap integer)
RETURNS bigint
{FUNCTION_OPTIONS}
AS $fn$
{DECLARE}
    v_count bigint;
    v_word_count bigint;
BEGIN
{PREFIXES.COUNT_PREPARE}
{FIND_WORDS}
    IF v_prefix IS NOT NULL THEN
        SELECT count(*) INTO v_count FROM (
    {PREFIXES._prefix_parts("1")}
        LIMIT p_cap) AS capped;{WORDS_COUNT}
    ELSE
        SELECT count(*) INTO v_count FROM (
            SELECT 1 FROM directory_entries d WHERE {PREFIXES.SCOPE}{PREFIXES.WITHOUT_PREFIX}
            LIMIT p_cap
        ) AS capped;
    END IF;
    RETURN v_count;
END
$fn$
"""

NEW_FUNCTIONS = (
    "directory_words_rebuild(uuid)",
    "directory_sync_words()",
    "directory_words_of(text)",
)


def upgrade() -> None:
    op.execute(WORDS_OF_FUNCTION)
    for statement in TABLES:
        op.execute(statement)
    for table in ("directory_words", "directory_vocabulary"):
        op.execute(f"ALTER TABLE {table} ENABLE ROW LEVEL SECURITY")
        op.execute(
            f"CREATE POLICY tenant_isolation ON {table} "
            f"USING (business_id = {TENANT}) WITH CHECK (business_id = {TENANT})"
        )
    op.execute(REBUILD_WORDS)
    op.execute("REVOKE ALL ON FUNCTION directory_words_rebuild(uuid) FROM PUBLIC")
    op.execute("SELECT directory_words_rebuild(id) FROM businesses")
    for statement in INDEXES:
        op.execute(statement)
    op.execute(SYNC_WORDS)
    for statement in TRIGGERS:
        op.execute(statement)
    op.execute(PAGE_FUNCTION)
    op.execute(COUNT_FUNCTION)
    op.execute("ANALYZE directory_words")
    op.execute("ANALYZE directory_vocabulary")


def downgrade() -> None:
    op.execute(PREFIXES.PAGE_FUNCTION)
    op.execute(PREFIXES.COUNT_FUNCTION)
    op.execute("DROP TRIGGER directory_words_update ON directory_entries")
    op.execute("DROP TRIGGER directory_words_sync ON directory_entries")
    op.execute("DROP TABLE directory_words")
    op.execute("DROP TABLE directory_vocabulary")
    for signature in NEW_FUNCTIONS:
        op.execute(f"DROP FUNCTION {signature}")
