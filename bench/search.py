"""`python -m bench search`: search as you type and the first sorted page of each tab, through
the GraphQL HTTP endpoint over a million customers. The last line is one JSON object.

Beside each case's latencies: the CPU time per request of the service process and of its
PostgreSQL backends (user + system, from /proc; null for a server on another machine), which a
busy machine inflates far less than it inflates latencies, and the load average when the case
ended."""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import time
from typing import Any

import aiohttp
import asyncpg

from bench.export import backend_cpu
from bench.harness import (
    RunningService,
    cpu_seconds,
    light_client,
    scale_database,
    service,
    summary,
)
from server.database_setup import asyncpg_url
from server.settings import REPO_ROOT

QUERY = (REPO_ROOT / "tests" / "queries" / "customer_list.graphql").read_text()

# Realistic terms people type: beginnings of common names, fragments, longer fragments.
TERMS = {
    "search_1_char": ["m", "s", "j", "a", "k", "l", "b", "e"],
    "search_2_chars": ["ma", "sm", "jo", "an", "ke", "li", "br", "el"],
    "search_3_chars": ["mar", "smi", "joh", "ann", "ken", "son", "bro", "ell"],
    "search_5_chars": ["maria", "smith", "johns", "garci", "kowal", "nunez", "brown", "patel"],
}
TABS: dict[str, dict[str, Any]] = {
    "page_active_everyone": {},
    "page_active_everyone_desc": {"order": "DESC"},
    "page_archived_everyone": {"status": "ARCHIVED"},
    "page_primary": {"category": "PRIMARY"},
    "page_lead": {"category": "LEAD"},
    "page_app_user": {"category": "APP_USER"},
    "page_participant": {"category": "PARTICIPANT"},
    "page_additional_user": {"category": "ADDITIONAL_USER"},
}


async def _timed(http: aiohttp.ClientSession, variables: dict[str, Any]) -> tuple[float, int]:
    started = time.perf_counter()
    async with http.post("/graphql", json={"query": QUERY, "variables": variables}) as response:
        body = await response.json()
        elapsed = (time.perf_counter() - started) * 1000
        if response.status != 200 or body.get("errors"):
            raise RuntimeError(f"query failed: {response.status} {body.get('errors')}")
        return elapsed, int(response.headers.get("x-sql-statements", "-1"))


def _per_request_ms(before: dict[int, float] | None, after: dict[int, float] | None, n: int) -> Any:
    """CPU milliseconds per request of the backends seen after the case (new ones from zero)."""
    if before is None or after is None:
        return None
    spent = sum(seconds - before.get(pid, 0.0) for pid, seconds in after.items())
    return round(spent * 1000 / n, 2)


async def _case(
    http: aiohttp.ClientSession,
    running: RunningService,
    admin: asyncpg.Connection,
    variants: list[dict[str, Any]],
    rounds: int,
) -> dict[str, Any]:
    for variables in variants:  # warm the caches, as a running service would be
        await _timed(http, variables)
    samples: list[float] = []
    statements: set[int] = set()
    service_before, backends_before = cpu_seconds(running.pid), await backend_cpu(admin)
    for i in range(rounds):
        elapsed, count = await _timed(http, variants[i % len(variants)])
        samples.append(elapsed)
        statements.add(count)
    service_ms = (cpu_seconds(running.pid) - service_before) * 1000 / rounds
    return {
        **summary(samples),
        "service_cpu_ms_per_request": round(service_ms, 2),
        "postgres_cpu_ms_per_request": _per_request_ms(
            backends_before, await backend_cpu(admin), rounds
        ),
        "load_average": round(os.getloadavg()[0], 2),
        "sql_statements": sorted(statements),
    }


async def run(running: RunningService, rounds: int) -> dict[str, Any]:
    results: dict[str, Any] = {}
    # aiohttp: on 2 cores the client competes with the service and PostgreSQL (bench/harness.py).
    admin = await asyncpg.connect(asyncpg_url(running.admin_url))
    try:
        async with light_client(running) as http:
            for name, terms in TERMS.items():
                variants = [{"search": t} for t in terms]
                results[name] = await _case(http, running, admin, variants, rounds)
                print(name, results[name], flush=True)
            for name, variables in TABS.items():
                results[name] = await _case(http, running, admin, [variables], rounds)
                print(name, results[name], flush=True)
    finally:
        await admin.close()
    return results


def main(argv: list[str]) -> None:
    parser = argparse.ArgumentParser(prog="python -m bench search")
    parser.add_argument("--customers", type=int, default=1_000_000)
    parser.add_argument("--history", type=int, default=20)
    # A p99 read off 200 requests is their second slowest: one stall of the machine decides it.
    # Off 1,000 it is the tenth slowest, an estimate of the distribution rather than of a stall.
    parser.add_argument("--rounds", type=int, default=1000, help="requests per case")
    args = parser.parse_args(argv)
    with scale_database(args.customers, args.history) as settings, service(settings) as running:
        results = asyncio.run(run(running, args.rounds))
    print(json.dumps({"benchmark": "search", "customers": args.customers, **results}))
