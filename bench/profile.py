"""`python -m bench profile`: the profile page (`tests/queries/profile.graphql`, as it is) for
random customers of the scale business, through the real HTTP server, for a fixed time at each
concurrency. The last line is one JSON object.

The customers are drawn from those holding at least `--min-rows` rows in every tab, so every
tab of every request has a full first page. The scale seeder gives the heaviest 0.5% of its
primary customers a sixteenth of each table; `--history 80` gives them 10 or more rows in every
tab (questionnaire responses, the thinnest tab, average about 14 there).

The client is aiohttp (keep-alive), not httpx: on this 2-core machine the client competes with
the service and PostgreSQL for the cores, and httpx spent several times aiohttp's CPU per
request. Each concurrency also reports the service process's own CPU time per request
(`server_cpu_ms_per_request`, from /proc), which a loaded machine disturbs much less than the
latencies.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import random
import time
import uuid
from typing import Any

import aiohttp
import asyncpg
import orjson

from bench.harness import (
    SCALE_SLUG,
    RunningService,
    cpu_seconds,
    light_client,
    scale_database,
    service,
    summary,
)
from server.database_setup import asyncpg_url
from server.settings import REPO_ROOT

QUERY = (REPO_ROOT / "tests" / "queries" / "profile.graphql").read_text()
TAB_TABLES = (
    "bookings", "appointments", "customer_passes", "video_purchases", "customer_subscriptions",
    "questionnaire_responses", "notes", "account_history",
)  # fmt: skip


# What the profile reads, besides the tabs.
OTHER_TABLES = (
    "customers", "participants", "additional_users", "payment_methods", "payments", "sessions",
)  # fmt: skip


async def vacuum_fresh_tables(admin_url: str) -> list[str]:
    """VACUUM (ANALYZE) the tables the profile reads that were never vacuumed. A bulk load
    leaves no visibility map, so the capped counts' index-only scans would visit every heap
    row, which a running service's autovacuumed tables do not."""
    conn = await asyncpg.connect(asyncpg_url(admin_url))
    try:
        rows = await conn.fetch(
            "SELECT relname FROM pg_stat_user_tables WHERE relname = ANY($1::text[]) "
            "AND last_vacuum IS NULL AND last_autovacuum IS NULL ORDER BY relname",
            [*TAB_TABLES, *OTHER_TABLES],
        )
        for row in rows:
            await conn.execute(f'VACUUM (ANALYZE) "{row["relname"]}"')
        return [row["relname"] for row in rows]
    finally:
        await conn.close()


async def customers_with_full_tabs(admin_url: str, min_rows: int) -> list[uuid.UUID]:
    """Customers of the scale business with at least `min_rows` rows in every tab."""
    conn = await asyncpg.connect(asyncpg_url(admin_url))
    try:
        business = await conn.fetchval("SELECT id FROM businesses WHERE slug = $1", SCALE_SLUG)
        if business is None:
            raise SystemExit(f"No business {SCALE_SLUG!r}: the seeder did not run.")
        per_table = [
            f"SELECT customer_id FROM {table} WHERE business_id = $1 AND customer_id IS NOT NULL "
            f"GROUP BY customer_id HAVING count(*) >= $2"
            for table in TAB_TABLES
        ]
        rows = await conn.fetch(" INTERSECT ".join(per_table), business, min_rows)
        return sorted(row["customer_id"] for row in rows)
    finally:
        await conn.close()


async def _one(http: aiohttp.ClientSession, customer_id: uuid.UUID) -> tuple[float, int]:
    payload = orjson.dumps({"query": QUERY, "variables": {"id": str(customer_id)}})
    started = time.perf_counter()
    async with http.post(
        "/graphql", data=payload, headers={"Content-Type": "application/json"}
    ) as response:
        content = await response.read()
    elapsed = (time.perf_counter() - started) * 1000
    body = orjson.loads(content)
    if response.status != 200 or body.get("errors") or not body["data"]["customer"]:
        raise RuntimeError(f"query failed: {response.status} {body.get('errors')}")
    return elapsed, int(response.headers.get("x-sql-statements", "-1"))


async def _run_at(
    http: aiohttp.ClientSession,
    customers: list[uuid.UUID],
    concurrency: int,
    seconds: float,
    server_pid: int,
) -> dict[str, Any]:
    samples: list[float] = []
    statements: list[int] = []
    rng = random.Random(concurrency)
    deadline = time.perf_counter() + seconds

    async def worker() -> None:
        while time.perf_counter() < deadline:
            elapsed, count = await _one(http, rng.choice(customers))
            samples.append(elapsed)
            statements.append(count)

    started, server_cpu = time.perf_counter(), cpu_seconds(server_pid)
    await asyncio.gather(*(worker() for _ in range(concurrency)))
    wall = time.perf_counter() - started
    server_cpu = cpu_seconds(server_pid) - server_cpu
    return {
        **summary(samples),
        "rps": round(len(samples) / wall, 1),
        "server_cpu_ms_per_request": round(server_cpu * 1000 / max(1, len(samples)), 2),
        "sql_statements_per_request": sorted(set(statements)),
    }


async def run(
    running: RunningService,
    customers: list[uuid.UUID],
    concurrencies: list[int],
    seconds: float,
    warmup: int,
) -> dict[str, Any]:
    results: dict[str, Any] = {}
    async with light_client(running) as http:
        for customer_id in random.Random(0).choices(customers, k=warmup):
            await _one(http, customer_id)  # caches, prepared statements, buffers
        for concurrency in concurrencies:
            result = await _run_at(http, customers, concurrency, seconds, running.pid)
            results[f"concurrency_{concurrency}"] = result
            print(f"concurrency {concurrency}: {result}", flush=True)
    return results


def main(argv: list[str]) -> None:
    parser = argparse.ArgumentParser(prog="python -m bench profile")
    parser.add_argument("--customers", type=int, default=100_000)
    parser.add_argument("--history", type=int, default=80, help="history rows per customer")
    parser.add_argument("--min-rows", type=int, default=10, help="rows every tab must hold")
    parser.add_argument("--seconds", type=float, default=20, help="per concurrency")
    parser.add_argument("--concurrency", default="1,8", help="comma-separated")
    parser.add_argument("--warmup", type=int, default=200, help="requests before measuring")
    args = parser.parse_args(argv)
    concurrencies = [int(c) for c in args.concurrency.split(",")]
    with scale_database(args.customers, args.history) as settings:
        vacuumed = asyncio.run(vacuum_fresh_tables(settings.database_url))
        if vacuumed:
            print(f"vacuumed {', '.join(vacuumed)}", flush=True)
        customers = asyncio.run(customers_with_full_tabs(settings.database_url, args.min_rows))
        if not customers:
            raise SystemExit(
                f"No customer of {SCALE_SLUG!r} has {args.min_rows} rows in every tab: "
                "seed with a larger --history."
            )
        print(f"{len(customers)} customers with {args.min_rows}+ rows in every tab", flush=True)
        with service(settings) as running:
            results = asyncio.run(run(running, customers, concurrencies, args.seconds, args.warmup))
    print(
        json.dumps(
            {
                "benchmark": "profile",
                "customers": args.customers,
                "customers_sampled": len(customers),
                "seconds_per_concurrency": args.seconds,
                **results,
            }
        )
    )
