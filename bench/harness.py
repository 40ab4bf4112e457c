"""What every benchmark needs: a database with the scale business in it, the real service
running as its own process on a free port, a token, percentile arithmetic, and the service's
CPU time (so that a figure taken on a busy machine can be told apart from a slower service)."""

from __future__ import annotations

import asyncio
import contextlib
import os
import socket
import subprocess
import sys
import time
from collections.abc import AsyncIterator, Callable, Iterator
from dataclasses import dataclass

import aiohttp
import httpx

from server.auth import Role
from server.cli import _tokens, _viewer_for, database
from server.migrate import upgrade
from server.settings import REPO_ROOT, Settings, load_settings

SCALE_SLUG = "scale-gym"


@dataclass(frozen=True)
class RunningService:
    url: str
    token: str
    admin_url: str
    pid: int


def percentile(samples: list[float], fraction: float) -> float:
    ordered = sorted(samples)
    if not ordered:
        return float("nan")
    index = min(len(ordered) - 1, max(0, round(fraction * (len(ordered) - 1))))
    return ordered[index]


def summary(samples_ms: list[float]) -> dict[str, float]:
    return {
        "p50_ms": round(percentile(samples_ms, 0.50), 2),
        "p99_ms": round(percentile(samples_ms, 0.99), 2),
        "n": len(samples_ms),
    }


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


@contextlib.contextmanager
def scale_database(customers: int, history: int) -> Iterator[Settings]:
    """The configured database (embedded by default), migrated, with the scale business."""
    with database(load_settings()) as settings:
        asyncio.run(upgrade(settings.database_url))
        from server.seed.scale import seed_scale

        asyncio.run(
            seed_scale(settings.database_url, customers=customers, history_per_customer=history)
        )
        yield settings


@contextlib.contextmanager
def service(
    settings: Settings, *, extra_env: dict[str, str] | None = None
) -> Iterator[RunningService]:
    """The service as its own process (uvicorn, one worker), like production."""
    port = free_port()
    env = {
        **os.environ,
        "DATABASE_URL": settings.database_url,
        "PORT": str(port),
        "STATEMENT_COUNT_HEADER": "1",
        "WORKER_ENABLED": "0",
        # One serving process per core, as a deployment on this machine would run.
        "WEB_CONCURRENCY": os.environ.get("WEB_CONCURRENCY", str(os.cpu_count() or 1)),
        **(extra_env or {}),
    }
    process = subprocess.Popen(
        [sys.executable, "-m", "server", "serve", "--no-demo"],
        cwd=REPO_ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        _wait_ready(url, process)
        viewer = asyncio.run(_viewer_for(settings.database_url, SCALE_SLUG, Role.OWNER, None))
        yield RunningService(
            url=url,
            token=_tokens(settings).sign(viewer),
            admin_url=settings.database_url,
            pid=process.pid,
        )
    finally:
        process.terminate()
        process.wait(timeout=30)


def _wait_ready(url: str, process: subprocess.Popen[bytes]) -> None:
    def ready() -> bool:
        return httpx.get(f"{url}/readyz", timeout=2).status_code == 200

    wait_until(ready, process, "the service", seconds=120)


def wait_until(
    ready: Callable[[], bool], process: subprocess.Popen[bytes], what: str, seconds: float
) -> None:
    """Polls `ready` (HTTP errors count as not yet) until it holds or the process exits."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"{what} exited before it was ready")
        with contextlib.suppress(httpx.HTTPError, ValueError):
            if ready():
                return
        time.sleep(0.2)
    raise RuntimeError(f"{what} was not ready in {seconds:.0f} s")


@contextlib.asynccontextmanager
async def client(running: RunningService | None = None) -> AsyncIterator[httpx.AsyncClient]:
    """A pooled HTTP client; with `running`, pointed at it and signed in as its token."""
    async with httpx.AsyncClient(
        base_url=running.url if running else "",
        headers={"Authorization": f"Bearer {running.token}"} if running else {},
        timeout=30,
        limits=httpx.Limits(max_connections=32, max_keepalive_connections=32),
    ) as http:
        yield http


@contextlib.asynccontextmanager
async def light_client(
    running: RunningService | None = None,
) -> AsyncIterator[aiohttp.ClientSession]:
    """An aiohttp session with keep-alive: on a 2-core machine the client shares the cores with
    the service and PostgreSQL, and aiohttp costs the client a fraction of what httpx does.
    With `running`, relative paths go to it, signed in as its token."""
    async with aiohttp.ClientSession(
        base_url=running.url if running else None,
        headers={"Authorization": f"Bearer {running.token}"} if running else {},
        timeout=aiohttp.ClientTimeout(total=30),
        connector=aiohttp.TCPConnector(limit=32),
    ) as http:
        yield http


def cpu_seconds(pid: int) -> float:
    """User plus system CPU time so far of a process and its living descendants (the serving
    processes of a multi-process service) from Linux /proc; NaN elsewhere."""
    stats: dict[int, tuple[int, float]] = {}
    for entry in os.listdir("/proc") if os.path.isdir("/proc") else []:
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat") as stat:
                fields = stat.read().rsplit(")", 1)[1].split()
        except OSError:
            continue
        ticks = int(fields[11]) + int(fields[12])
        stats[int(entry)] = (int(fields[1]), ticks / os.sysconf("SC_CLK_TCK"))
    if pid not in stats:
        return float("nan")
    tree, total = {pid}, 0.0
    for _ in range(4):  # the service, its serving processes and anything they start
        tree |= {child for child, (parent, _) in stats.items() if parent in tree}
    for member in tree:
        total += stats[member][1]
    return total
