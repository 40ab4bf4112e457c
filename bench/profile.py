"""`python -m bench profile`: the profile page (`tests/queries/profile.graphql`, as it is) for
random customers of the scale business, through the real HTTP server, for a fixed time at each
concurrency. The last line is one JSON object.

The customers are drawn from those holding at least `--min-rows` rows in every tab, so every
tab of every request has a full first page. The scale seeder gives the heaviest 0.5% of its
primary customers a sixteenth of each table; `--history 80` gives them 10 or more rows in every
tab (questionnaire responses, the thinnest tab, average about 14 there).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import aiohttp
import asyncpg
import orjson

from bench import postgraphile_peer
from bench.harness import (
    SCALE_SLUG,
    RunningService,
    cpu_seconds,
    light_client,
    scale_database,
    service,
    summary,
)
from bench.pg_counter import counting_relay
from server.database_setup import asyncpg_url
from server.settings import REPO_ROOT, Settings

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


@dataclass(frozen=True)
class Target:
    """One way of answering the profile page: how to ask for a customer, and where."""

    name: str
    url: str
    headers: dict[str, str]
    body: Callable[[uuid.UUID], dict[str, Any]]
    # The customer object in a successful answer (None when missing).
    customer: Callable[[dict[str, Any]], Any]
    # The serving process, for its CPU time per request (None: not measured).
    pid: int | None = None


def subgraph_target(name: str, running: RunningService) -> Target:
    return Target(
        name=name,
        url=f"{running.url}/graphql",
        headers={"Authorization": f"Bearer {running.token}"},
        body=lambda customer_id: {"query": QUERY, "variables": {"id": str(customer_id)}},
        customer=lambda data: data["customer"],
        pid=running.pid,
    )


def postgraphile_target(url: str) -> Target:
    return Target(
        name="postgraphile",
        url=url,
        headers={},
        body=lambda customer_id: {
            "query": postgraphile_peer.QUERY,
            "variables": {"id": str(customer_id)},
        },
        customer=lambda data: data["customerByRowId"],
    )


async def _one(
    http: aiohttp.ClientSession, target: Target, customer_id: uuid.UUID
) -> tuple[float, int]:
    payload = orjson.dumps(target.body(customer_id))
    headers = {**target.headers, "Content-Type": "application/json"}
    started = time.perf_counter()
    async with http.post(target.url, data=payload, headers=headers) as response:
        content = await response.read()
    elapsed = (time.perf_counter() - started) * 1000
    body = orjson.loads(content)
    if response.status != 200 or body.get("errors") or not target.customer(body["data"]):
        raise RuntimeError(f"{target.name} failed: {response.status} {body.get('errors')}")
    return elapsed, int(response.headers.get("x-sql-statements", "-1"))


async def _run_at(
    http: aiohttp.ClientSession,
    target: Target,
    customers: list[uuid.UUID],
    concurrency: int,
    seconds: float,
) -> dict[str, Any]:
    samples: list[float] = []
    statements: list[int] = []
    rng = random.Random(concurrency)
    deadline = time.perf_counter() + seconds

    async def worker() -> None:
        while time.perf_counter() < deadline:
            elapsed, count = await _one(http, target, rng.choice(customers))
            samples.append(elapsed)
            statements.append(count)

    cpu_before = cpu_seconds(target.pid) if target.pid else None
    started = time.perf_counter()
    await asyncio.gather(*(worker() for _ in range(concurrency)))
    wall = time.perf_counter() - started
    result: dict[str, Any] = {**summary(samples), "rps": round(len(samples) / wall, 1)}
    if target.pid and cpu_before is not None:
        cpu = cpu_seconds(target.pid) - cpu_before
        result["server_cpu_ms_per_request"] = round(cpu * 1000 / max(1, len(samples)), 2)
    result["sql_statements_per_request"] = sorted(set(statements))
    return result


async def run(
    target: Target,
    customers: list[uuid.UUID],
    concurrencies: list[int],
    seconds: float,
    warmup: int,
) -> dict[str, Any]:
    results: dict[str, Any] = {}
    async with light_client() as http:
        for customer_id in random.Random(0).choices(customers, k=warmup):
            await _one(http, target, customer_id)  # caches, prepared statements, buffers
        for concurrency in concurrencies:
            result = await _run_at(http, target, customers, concurrency, seconds)
            results[f"concurrency_{concurrency}"] = result
            print(f"{target.name}, concurrency {concurrency}: {result}", flush=True)
    return results


def _load() -> list[float]:
    return [round(value, 2) for value in os.getloadavg()]


def compare(
    settings: Settings, customers: list[uuid.UUID], args: argparse.Namespace
) -> dict[str, Any]:
    """Plain execution, the compiled document and PostGraphile, one after the other."""
    concurrencies = [int(c) for c in args.concurrency.split(",")]
    results: dict[str, Any] = {}
    loads: dict[str, list[float]] = {}
    for name, env in (("plain", {"COMPILED_DOCUMENTS": "0"}), ("compiled", {})):
        with service(settings, extra_env=env) as running:
            target = subgraph_target(name, running)
            loads[name] = _load()
            results[name] = asyncio.run(
                run(target, customers, concurrencies, args.seconds, args.warmup)
            )
    statements = postgraphile_statements(settings.database_url, customers[:20])
    with postgraphile_peer.postgraphile(settings.database_url) as url:
        loads["postgraphile"] = _load()
        peer = asyncio.run(
            run(postgraphile_target(url), customers, concurrencies, args.seconds, args.warmup)
        )
    for result in peer.values():
        result["sql_statements_per_request"] = [statements]
    results["postgraphile"] = peer
    results["compiled_over_postgraphile_rps"] = {
        key: round(results["compiled"][key]["rps"] / peer[key]["rps"], 2) for key in peer
    }
    results["load_average_at_start"] = loads
    return results


def postgraphile_statements(database_url: str, customers: list[uuid.UUID]) -> float:
    """Statements per profile request for PostGraphile, counted on the wire by a relay (for a
    separate calibration run: the relay would slow the measured one)."""
    parts = urlsplit(database_url)
    ready = threading.Event()
    stop = threading.Event()
    found: dict[str, Any] = {}

    async def relay() -> None:
        async with counting_relay(parts.hostname or "127.0.0.1", parts.port or 5432) as (
            port,
            count,
        ):
            found["port"], found["count"] = port, count
            ready.set()
            await asyncio.to_thread(stop.wait)

    thread = threading.Thread(target=asyncio.run, args=(relay(),), daemon=True)
    thread.start()
    ready.wait(30)
    relayed = urlunsplit(parts._replace(netloc=f"{parts.username}@127.0.0.1:{found['port']}"))
    try:
        with postgraphile_peer.postgraphile(relayed) as url:
            target = postgraphile_target(url)

            async def calibrate() -> int:
                async with light_client() as http:
                    await _one(http, target, customers[0])
                    before = found["count"].executed
                    for customer_id in customers:
                        await _one(http, target, customer_id)
                    executed: int = found["count"].executed - before
                    return executed

            executed = asyncio.run(calibrate())
    finally:
        stop.set()
        thread.join(10)
    return round(executed / len(customers), 2)


def main(argv: list[str]) -> None:
    parser = argparse.ArgumentParser(prog="python -m bench profile")
    parser.add_argument("--customers", type=int, default=100_000)
    parser.add_argument("--history", type=int, default=80, help="history rows per customer")
    parser.add_argument("--min-rows", type=int, default=10, help="rows every tab must hold")
    parser.add_argument("--seconds", type=float, default=20, help="per concurrency")
    parser.add_argument("--concurrency", default="1,8", help="comma-separated")
    parser.add_argument("--warmup", type=int, default=200, help="requests before measuring")
    parser.add_argument(
        "--compare",
        action="store_true",
        help="plain execution, the compiled document and PostGraphile v5 on the same database",
    )
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
        if args.compare:
            results = compare(settings, customers, args)
        else:
            with service(settings) as running:
                target = subgraph_target("compiled", running)
                results = asyncio.run(
                    run(target, customers, concurrencies, args.seconds, args.warmup)
                )
    print(
        json.dumps(
            {
                "benchmark": "profile-compare" if args.compare else "profile",
                "customers": args.customers,
                "customers_sampled": len(customers),
                "seconds_per_concurrency": args.seconds,
                **results,
            }
        )
    )
