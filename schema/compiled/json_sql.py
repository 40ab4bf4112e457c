"""SQL expressions that render values as JSON text exactly as plain execution prints them
(Strawberry's serializers, then orjson): compact separators, Python's `isoformat` for times and
dates, orjson's string escaping (PostgreSQL's `to_json` escapes the same characters the same
way).

PostgreSQL's own `json_build_object`/`json_agg` print `{"a" : 1}` and `[1, 2]`, and `jsonb`
prints `{"a": 1}`, so objects and lists are concatenated text instead.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

# A timestamptz in UTC as `datetime.isoformat()` prints what asyncpg returns (UTC, microseconds
# only when non-zero: ".000000" can only be the fraction, the date part has no dot).
_UTC_STAMP = "replace(to_char({e} AT TIME ZONE 'UTC','YYYY-MM-DD\"T\"HH24:MI:SS.US'),'.000000','')"


def _p(e: str) -> str:
    """`e` parenthesised unless it is a plain column reference."""
    return e if re.fullmatch(r"[\w.$]+", e) else f"({e})"


def or_null(text_sql: str) -> str:
    """For a nullable field: `null` where the value (and so its text) is NULL."""
    return f"coalesce({text_sql},'null')"


# Each renderer yields NULL for a NULL value; a non-null field left NULL makes the whole
# response NULL, which the caller answers through today's path (as an error, as it does).
def string(e: str) -> str:
    return f"to_json({e})::text"


def integer(e: str) -> str:
    return f"{_p(e)}::text"


boolean = integer


def uuid_id(e: str) -> str:
    return f"'\"'||{_p(e)}||'\"'"


def utc_stamp(e: str) -> str:
    """The text (unquoted) of a timestamptz as Python prints a UTC datetime."""
    return _UTC_STAMP.format(e=_p(e)) + "||'+00:00'"


def datetime_(e: str) -> str:
    return f"'\"'||{utc_stamp(e)}||'\"'"


def date_(e: str) -> str:
    return f"'\"'||to_char({e},'YYYY-MM-DD')||'\"'"


def utc_offset(local: str, instant: str) -> str:
    """`+01:00` as `isoformat` prints the offset of `local` (a timestamp) at `instant` (whole
    minutes: seconds in an offset are for local mean times before 1900)."""
    offset = f"({local})-({_p(instant)} AT TIME ZONE 'UTC')"
    return (
        f"CASE WHEN {offset}<'0' THEN '-'||to_char(-({offset}),'HH24:MI') "
        f"ELSE '+'||to_char({offset},'HH24:MI') END"
    )


def local_stamp(instant: str, zone: str, pattern: str) -> str:
    """The wall-clock text of `instant` in time zone `zone` (a SQL text expression)."""
    return f"to_char({_p(instant)} AT TIME ZONE {_p(zone)},'{pattern}')"


def quoted(text_sql: str) -> str:
    return f"'\"'||{text_sql}||'\"'"


# jsonb prints `{"a": 1, "b": [1, 2]}`; orjson prints what json.loads made of it compactly. The
# pattern consumes whole strings (so separators inside them are kept) and drops the space after
# every other comma or colon.
_JSONB_SEPARATORS = '\'("(?:[^"\\\\]|\\\\.)*")|([,:]) \''


def jsonb(e: str) -> str:
    return f"regexp_replace({_p(e)}::text,{_JSONB_SEPARATORS},'\\1\\2','g')"


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
        parts.append(f"'{prefix}'||{value}")
    return "(" + "||".join(parts) + "||'}')"


def array_agg(element: str, order_by: str) -> str:
    """An aggregate over rows: their elements as a JSON array, in `order_by` order."""
    return f"'['||coalesce(string_agg({element},',' ORDER BY {order_by}),'')||']'"


def cursor(signature_param: str, sort_at: str, row_id: str) -> str:
    """The cursor of a row sorted by an instant: `["sig",["<iso>","<uuid>"]]`."""
    return keys_cursor(signature_param, f"'[\"'||{utc_stamp(sort_at)}||'\",\"'||{row_id}||'\"]'")


def keys_cursor(signature_param: str, keys: str) -> str:
    """The cursor `encode_cursor` writes for the JSON text `keys` (a list): urlsafe base64 of
    `["sig",<keys>]`, unpadded. PostgreSQL's base64 wraps lines every 76 characters and pads."""
    raw = f"'[\"'||{signature_param}||'\",'||{keys}||']'"
    encoded = f"encode(convert_to({raw},'UTF8'),'base64')"
    return f"rtrim(translate({encoded},E'+/\\n','-_'),'=')"
