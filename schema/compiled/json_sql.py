"""SQL expressions that render values as JSON text exactly as plain execution prints them
(Strawberry's serializers, then orjson): compact separators, Python's `isoformat` for times and
dates, orjson's string escaping (PostgreSQL's `to_json` escapes the same characters the same
way). Every expression here yields non-null text: a SQL NULL becomes `null`.

PostgreSQL's own `json_build_object`/`json_agg` print `{"a" : 1}` and `[1, 2]`, and `jsonb`
prints `{"a": 1}`, so objects and lists are concatenated text instead.
"""

from __future__ import annotations

from collections.abc import Sequence

# A timestamptz in UTC as `datetime.isoformat()` prints what asyncpg returns (UTC, microseconds
# only when non-zero).
_UTC_STAMP = (
    "to_char(({e}) AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS') || "
    "CASE WHEN to_char(({e}) AT TIME ZONE 'UTC', 'US') = '000000' THEN '' "
    "ELSE '.' || to_char(({e}) AT TIME ZONE 'UTC', 'US') END || '+00:00'"
)


def nullable(value_sql: str, text_sql: str) -> str:
    """`text_sql` (built from `value_sql`), or `null` when the value is NULL."""
    return f"CASE WHEN ({value_sql}) IS NULL THEN 'null' ELSE {text_sql} END"


def string(e: str) -> str:
    return f"coalesce(to_json(({e})::text)::text, 'null')"


def integer(e: str) -> str:
    return f"coalesce(({e})::bigint::text, 'null')"


def boolean(e: str) -> str:
    return f"coalesce(({e})::boolean::text, 'null')"


def uuid_id(e: str) -> str:
    return f"coalesce('\"' || ({e})::text || '\"', 'null')"


def utc_stamp(e: str) -> str:
    """The text (unquoted) of a timestamptz as Python prints a UTC datetime."""
    return _UTC_STAMP.format(e=e)


def datetime_(e: str) -> str:
    return nullable(e, f"'\"' || {utc_stamp(e)} || '\"'")


def date_(e: str) -> str:
    return nullable(e, f"'\"' || to_char(({e}), 'YYYY-MM-DD') || '\"'")


def utc_offset(local: str, instant: str) -> str:
    """`+01:00` as `isoformat` prints the offset of `local` (a timestamp) at `instant`."""
    seconds = f"extract(epoch FROM ({local}) - (({instant}) AT TIME ZONE 'UTC'))::integer"
    return (
        f"CASE WHEN {seconds} < 0 THEN '-' ELSE '+' END || "
        f"lpad((abs({seconds}) / 3600)::text, 2, '0') || ':' || "
        f"lpad((abs({seconds}) % 3600 / 60)::text, 2, '0') || "
        f"CASE WHEN abs({seconds}) % 60 = 0 THEN '' "
        f"ELSE ':' || lpad((abs({seconds}) % 60)::text, 2, '0') END"
    )


def local_stamp(instant: str, zone: str, pattern: str) -> str:
    """The wall-clock text of `instant` in time zone `zone` (a SQL text expression)."""
    return f"to_char(({instant}) AT TIME ZONE ({zone}), '{pattern}')"


def quoted(text_sql: str) -> str:
    return f"'\"' || {text_sql} || '\"'"


# jsonb prints `{"a": 1, "b": [1, 2]}`; orjson prints what json.loads made of it compactly. The
# pattern consumes whole strings (so separators inside them are kept) and drops the space after
# every other comma or colon.
_JSONB_SEPARATORS = '\'("(?:[^"\\\\]|\\\\.)*")|([,:]) \''


def jsonb(e: str) -> str:
    return f"coalesce(regexp_replace(({e})::text, {_JSONB_SEPARATORS}, '\\1\\2', 'g'), 'null')"


def key(name: str) -> str:
    """A response key as JSON text (GraphQL names need no escaping)."""
    return f'"{name}":'


def obj(members: Sequence[tuple[str, str]]) -> str:
    """A JSON object from (response key, JSON text expression) pairs, in that order."""
    if not members:
        return "'{}'"
    parts = []
    for index, (name, value) in enumerate(members):
        prefix = ("{" if index == 0 else ",") + key(name)
        parts.append(f"'{prefix}' || {value}")
    return "(" + " || ".join(parts) + " || '}')"


def array_agg(element: str, order_by: str) -> str:
    """An aggregate over rows: their elements as a JSON array, in `order_by` order."""
    return f"'[' || coalesce(string_agg({element}, ',' ORDER BY {order_by}), '') || ']'"


def cursor(signature_param: str, sort_at: str, row_id: str) -> str:
    """The cursor `encode_cursor` writes: urlsafe base64 of `["sig",["<iso>","<uuid>"]]`,
    unpadded. PostgreSQL's base64 wraps lines every 76 characters and pads."""
    raw = (
        f"'[\"' || {signature_param} || '\",[\"' || {utc_stamp(sort_at)} || "
        f"'\",\"' || ({row_id})::text || '\"]]'"
    )
    encoded = f"encode(convert_to({raw}, 'UTF8'), 'base64')"
    return f"rtrim(translate({encoded}, E'+/\\n', '-_'), '=')"
