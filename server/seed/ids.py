"""Identifiers the bulk seeder can compute on both sides of the wire.

A seeded id is an RFC 9562 version-8 UUID laid out as `prefix(32) kind(16) 8000 8 n(60)`: the
same `(prefix, kind, n)` gives the same id in Python and in SQL, so history generated in the
database can point at people generated in Python without a lookup, and ids grow with `n`, so
primary-key inserts append at one edge of the index instead of landing on random pages.
"""

from __future__ import annotations

import uuid

MAX_N = 1 << 60


def seeded_uuid(prefix: int, kind: int, n: int) -> uuid.UUID:
    if not 0 <= n < MAX_N:
        raise ValueError(f"n out of range: {n}")
    return uuid.UUID(f"{prefix:08x}{kind:04x}80008{n:015x}")


def sql_function(prefix: int) -> str:
    """`pg_temp.seeded_uuid(kind, n)`, the same function in SQL. A single expression, so the
    planner inlines it rather than calling it per row."""
    return f"""
        CREATE OR REPLACE FUNCTION pg_temp.seeded_uuid(kind integer, n bigint) RETURNS uuid
        LANGUAGE sql IMMUTABLE AS $$
            SELECT ('{prefix:08x}' || lpad(to_hex(kind), 4, '0') || '80008'
                || lpad(to_hex(n), 15, '0'))::uuid
        $$
    """
