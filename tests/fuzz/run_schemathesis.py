"""Fuzz the running service with schemathesis: a fresh migrated database with the demo data,
the service started as its own process, then one bounded run with a staff token and one with
a member token. Exits non-zero when either run finds a failure.

    .venv/bin/python -m tests.fuzz.run_schemathesis [--seconds 60] [--report-dir DIR]

Uses `DATABASE_URL` when set (a new database is created and dropped on it), otherwise an
embedded PostgreSQL in a temporary folder.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import re
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

from server.auth import Role
from server.cli import DEMO_SLUG, _tokens, _viewer_for
from server.database_setup import with_database
from server.seed.demo import seed_demo
from server.settings import REPO_ROOT, load_settings
from tests import database as testdb

HOOKS = "tests.fuzz.schemathesis_hooks"


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def _wait_until_healthy(url: str, service: subprocess.Popen[bytes], seconds: float) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if service.poll() is not None:
            raise SystemExit(f"the service exited with {service.returncode}")
        try:
            with urllib.request.urlopen(f"{url}/healthz", timeout=1) as response:
                if response.status == 200:
                    return
        except OSError:
            time.sleep(0.3)
    raise SystemExit("the service did not become healthy")


def _tokens_for(owner_url: str) -> dict[str, str]:
    tokens = _tokens(load_settings())
    return {
        role.value: tokens.sign(asyncio.run(_viewer_for(owner_url, DEMO_SLUG, role, None)))
        for role in (Role.STAFF, Role.CUSTOMER)
    }


def _fuzz(url: str, role: str, token: str, seconds: int, report_dir: Path) -> bool:
    command = [
        str(Path(sys.executable).parent / "schemathesis"),
        "run",
        f"{url}/graphql",
        "--max-time", str(seconds),
        "--header", f"Authorization: Bearer {token}",
        "--exclude-checks", "not_a_server_error,positive_data_acceptance",
        "--report", "junit",
        "--report-junit-path", str(report_dir / f"schemathesis-{role}.xml"),
        "--seed", "1",
        "--no-color",
    ]  # fmt: skip
    env = {**os.environ, "SCHEMATHESIS_HOOKS": HOOKS, "PYTHONPATH": str(REPO_ROOT)}
    print(f"\n== schemathesis as {role} ({seconds} s)", flush=True)
    run = subprocess.run(command, env=env, cwd=REPO_ROOT, capture_output=True, text=True)
    output = run.stdout + run.stderr
    summary = [
        line
        for line in output.splitlines()
        if re.search(r"generated|passed|failed|error", line, re.I)
    ]
    print("\n".join(summary[-15:]) if run.returncode == 0 else output[-6000:], flush=True)
    return run.returncode == 0


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--seconds", type=int, default=60, help="per token")
    parser.add_argument("--report-dir", type=Path, default=REPO_ROOT / ".data" / "fuzz")
    args = parser.parse_args()
    args.report_dir.mkdir(parents=True, exist_ok=True)

    server = testdb.start_server()
    name = asyncio.run(testdb.create_template(server))
    owner_url = with_database(server.admin_url, name)
    service = None
    try:
        asyncio.run(seed_demo(owner_url))
        tokens = _tokens_for(owner_url)
        port = _free_port()
        url = f"http://127.0.0.1:{port}"
        env = {**os.environ, "DATABASE_URL": owner_url, "PORT": str(port), "WORKER_ENABLED": "0"}
        env.pop("APP_DATABASE_URL", None)
        service = subprocess.Popen(
            [sys.executable, "-m", "server", "serve", "--no-demo"],
            cwd=REPO_ROOT,
            env=env,
            stdout=subprocess.DEVNULL,
        )
        _wait_until_healthy(url, service, 60)
        results = {
            role: _fuzz(url, role, token, args.seconds, args.report_dir)
            for role, token in tokens.items()
        }
    finally:
        if service is not None:
            service.terminate()
            service.wait(timeout=30)
        asyncio.run(testdb.drop(server, name))
        server.stop()
    print(f"\nschemathesis: {results}")
    if not all(results.values()):
        raise SystemExit(1)


if __name__ == "__main__":
    main()
