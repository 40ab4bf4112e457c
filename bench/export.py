"""`python -m bench export`: the CSV export of a whole tab of the scale business, through the
real HTTP server (`peopleExport`, then `GET /exports/people.csv`), with the service process's
memory sampled while the file streams. The last line is one JSON object.

The selection is the Active tab, everyone: every active account's bookings, appointments,
passes, videos, subscriptions and payments. The scale seeder gives about 14 such rows
per customer (its other history is questionnaires, notes, messages and account history), so
the default 75,000 customers (97% of them active) give about 1.06 million rows. A larger scale
business already in the database is reused as it is (the seeder's "reuse or seed"): the figure
then covers more rows, which the JSON says.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import threading
import time
from dataclasses import dataclass, field
from typing import Any

import asyncpg
import httpx

from bench.harness import SCALE_SLUG, RunningService, client, scale_database, service
from server.database_setup import asyncpg_url

EXPORT = """
mutation Export($selection: PeopleSelectionInput!) {
  peopleExport(selection: $selection) { link { url expiresAt } errors { code message } }
}
"""
SELECTION = {"filter": {"status": "ACTIVE", "category": "EVERYONE"}}
HISTORY_TABLES = (
    "bookings",
    "appointments",
    "customer_passes",
    "video_purchases",
    "customer_subscriptions",
    "payments",
)
# Rows the export writes for the active accounts, counted as the owner.
COUNT = " + ".join(
    f"(SELECT count(*) FROM {table} h JOIN customers c ON c.business_id = h.business_id "
    f"AND c.id = h.customer_id WHERE h.business_id = $1 AND c.status = 'ACTIVE')"
    for table in HISTORY_TABLES
)


async def prepare(admin_url: str) -> tuple[int, int]:
    """VACUUM (ANALYZE) what a fresh bulk load left unvacuumed (hint bits, statistics: a
    running service's autovacuum has done it), then the expected row count and customers."""
    conn = await asyncpg.connect(asyncpg_url(admin_url))
    try:
        tables = await conn.fetch(
            "SELECT relname FROM pg_stat_user_tables WHERE relname = ANY($1::text[]) "
            "AND last_vacuum IS NULL AND last_autovacuum IS NULL ORDER BY relname",
            [*HISTORY_TABLES, "customers", "directory_entries", "sessions"],
        )
        for table in tables:
            await conn.execute(f'VACUUM (ANALYZE) "{table["relname"]}"')
        business = await conn.fetchval("SELECT id FROM businesses WHERE slug = $1", SCALE_SLUG)
        rows = await conn.fetchval(f"SELECT {COUNT}", business)
        customers = await conn.fetchval(
            "SELECT count(*) FROM customers WHERE business_id = $1", business
        )
        return int(rows), int(customers)
    finally:
        await conn.close()


@dataclass(frozen=True)
class Process:
    """A Linux process, read through /proc."""

    pid: int

    def status(self, key: str) -> int:
        """A `kB` line of /proc/<pid>/status (VmRSS, VmHWM), in bytes."""
        with open(f"/proc/{self.pid}/status") as status:
            for line in status:
                if line.startswith(f"{key}:"):
                    return int(line.split()[1]) * 1024
        raise KeyError(key)

    @property
    def rss(self) -> int:
        return self.status("VmRSS")

    @property
    def cpu_seconds(self) -> float:
        with open(f"/proc/{self.pid}/stat") as stat:
            fields = stat.read().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def service_process() -> Process:
    """The service the harness started: our child running `python -m server serve`."""
    for entry in os.scandir("/proc"):
        if not entry.name.isdigit():
            continue
        try:
            with open(f"/proc/{entry.name}/stat") as stat:
                parent = int(stat.read().rsplit(")", 1)[1].split()[1])
            with open(f"/proc/{entry.name}/cmdline", "rb") as cmdline:
                args = cmdline.read().split(b"\0")
        except OSError:
            continue
        if parent == os.getpid() and b"server" in args and b"serve" in args:
            return Process(int(entry.name))
    raise RuntimeError("the service process was not found")


@dataclass
class MemorySampler:
    """Samples the service's RSS every few milliseconds on a thread while the file streams."""

    process: Process
    interval_s: float = 0.01
    samples: list[int] = field(default_factory=list)
    _stop: threading.Event = field(default_factory=threading.Event)

    def __enter__(self) -> MemorySampler:
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()

    def _run(self) -> None:
        while not self._stop.is_set():
            self.samples.append(self.process.rss)
            time.sleep(self.interval_s)


SERVICE_BACKENDS = (
    "SELECT pid FROM pg_stat_activity WHERE application_name = 'customer-subgraph' "
    "AND datname = current_database()"
)


async def backend_cpu(admin: asyncpg.Connection) -> dict[int, float] | None:
    """CPU seconds of each of the service's PostgreSQL backends; None when the server is not
    on this machine."""
    try:
        return {
            row["pid"]: Process(row["pid"]).cpu_seconds
            for row in await admin.fetch(SERVICE_BACKENDS)
        }
    except OSError:
        return None


async def export_once(
    running: RunningService, process: Process, expected_rows: int
) -> dict[str, Any]:
    async with client(running) as http:
        answer = (await http.post("/graphql", json={"query": EXPORT, "variables": {
            "selection": SELECTION}})).json()  # fmt: skip
        payload = answer["data"]["peopleExport"]
        if payload["errors"]:
            raise RuntimeError(f"peopleExport refused: {payload['errors']}")
        url = httpx.URL(payload["link"]["url"])
        path = url.raw_path.decode()
        before = process.rss
        cpu_before = process.cpu_seconds
        admin = await asyncpg.connect(asyncpg_url(running.admin_url))
        postgres_before = await backend_cpu(admin)
        size = lines = 0
        client_cpu = time.process_time()
        with MemorySampler(process) as sampler:
            started = time.perf_counter()
            async with http.stream("GET", path, timeout=600) as response:
                if response.status_code != 200:
                    raise RuntimeError(f"download refused: {response.status_code}")
                async for chunk in response.aiter_raw():
                    size += len(chunk)
                    lines += chunk.count(b"\n")
            seconds = time.perf_counter() - started
        client_cpu = time.process_time() - client_cpu
        cpu_after = process.cpu_seconds
        postgres_after = await backend_cpu(admin)
        await admin.close()
    rows = lines - 1  # the header
    if rows != expected_rows:
        raise RuntimeError(f"{rows} rows exported, {expected_rows} expected")
    peak = max(sampler.samples, default=before)
    postgres_cpu = (
        sum(used - postgres_before.get(pid, 0.0) for pid, used in postgres_after.items())
        if postgres_before is not None and postgres_after is not None
        else None
    )
    mib = 1024 * 1024
    return {
        "rows": rows,
        "bytes": size,
        "seconds": round(seconds, 2),
        "rows_per_second": round(rows / seconds),
        "mb_per_second": round(size / mib / seconds, 1),
        "service_rss_mb_before": round(before / mib, 1),
        "service_rss_mb_peak": round(peak / mib, 1),
        "service_rss_mb_growth": round((peak - before) / mib, 1),
        "service_rss_samples": len(sampler.samples),
        "service_cpu_seconds": round(cpu_after - cpu_before, 2),
        "client_cpu_seconds": round(client_cpu, 2),
        # What PostgreSQL spent writing the CSV: the rate one free core would sustain.
        "postgres_cpu_seconds": round(postgres_cpu, 2) if postgres_cpu else None,
        "rows_per_postgres_cpu_second": round(rows / postgres_cpu) if postgres_cpu else None,
    }


def main(argv: list[str]) -> None:
    parser = argparse.ArgumentParser(prog="python -m bench export")
    parser.add_argument("--customers", type=int, default=75_000)
    parser.add_argument("--history", type=int, default=20, help="history rows per customer")
    parser.add_argument("--runs", type=int, default=1, help="exports, one after another")
    args = parser.parse_args(argv)
    with scale_database(args.customers, args.history) as settings:
        expected, customers = asyncio.run(prepare(settings.database_url))
        print(f"{customers} customers; the Active tab exports {expected} rows", flush=True)
        with service(settings) as running:
            process = service_process()
            runs = []
            for _ in range(args.runs):
                result = asyncio.run(export_once(running, process, expected))
                print(f"export: {result}", flush=True)
                runs.append(result)
            vm_hwm = process.status("VmHWM")
    best = max(runs, key=lambda run: run["rows_per_second"])
    print(
        json.dumps(
            {
                "benchmark": "export",
                "customers": customers,
                "selection": "Active tab, everyone",
                **best,
                "peak_memory_mb": best["service_rss_mb_peak"],
                "service_vm_hwm_mb": round(vm_hwm / 1024 / 1024, 1),
                "runs": len(runs),
                "cpus": os.cpu_count(),
                "load_average_1m": round(os.getloadavg()[0], 2),
            }
        )
    )
