"""Quickstart smoke test: does the README's first command work on a fresh clone?

From a fresh clone of HEAD: run the first command of the README's Quickstart section as the
README shows it (only `PORT` is set, to a free one), wait for /readyz, load GraphiQL's files,
send the README's first query and the profile document (tests/queries/profile.graphql) with the
token it printed, stop it with SIGTERM, and check that the embedded PostgreSQL stopped too.
Reading the command and the query from the README means a README edit that breaks them fails.

    .venv/bin/python -m tests.release.quickstart
"""

from __future__ import annotations

import os
import re
import shlex
import shutil
import subprocess
import tempfile
import time
from pathlib import Path

import httpx

from server import graphiql
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

FENCE = re.compile(r"^```(\w*)\n(.*?)^```", re.MULTILINE | re.DOTALL)
IDS_QUERY = "{ customers(first: 5) { edges { node { id fullName } } } }"


def quickstart_section(readme: str) -> str:
    match = re.search(r"^## Quickstart\n(.*?)(?=^## )", readme, re.MULTILINE | re.DOTALL)
    if match is None:
        raise CheckFailed("README.md has no '## Quickstart' section.")
    return match.group(1)


def first_block(text: str, languages: set[str], what: str) -> str:
    for language, body in FENCE.findall(text):
        if language in languages:
            return str(body)
    raise CheckFailed(
        f"README.md's Quickstart has no ```{'/'.join(sorted(languages))} block ({what})."
    )


def first_command(readme: str) -> list[str]:
    block = first_block(quickstart_section(readme), {"sh", "bash", "shell"}, "the first command")
    lines = [line for line in block.splitlines() if line.strip() and not line.startswith("#")]
    return shlex.split(lines[0].removeprefix("$ "))


def first_query(readme: str) -> str:
    return first_block(quickstart_section(readme), {"graphql"}, "the first query")


def fresh_clone(into: Path) -> Path:
    clone = into / "clone"
    subprocess.run(
        ["git", "clone", "--quiet", "--no-hardlinks", str(REPO_ROOT), str(clone)], check=True
    )
    commit = subprocess.run(
        ["git", "rev-parse", "--short", "HEAD"],
        cwd=clone,
        check=True,
        capture_output=True,
        text=True,
    ).stdout.strip()
    say(f"cloned {REPO_ROOT} at {commit} into {clone} (committed files only)")
    return clone


def postmaster_pid(pgdata: Path) -> int:
    pid_file = pgdata / "postmaster.pid"
    if not pid_file.exists():
        raise CheckFailed(f"No embedded PostgreSQL is running: {pid_file} does not exist.")
    return int(pid_file.read_text().splitlines()[0])


def is_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True


def check_graphiql_files(service: Service) -> None:
    page = httpx.get(f"{service.base_url}/graphql", headers={"Accept": "text/html"}, timeout=30)
    if page.status_code != 200:
        raise CheckFailed(f"GET /graphql (GraphiQL) answered {page.status_code}: {page.text}")
    for name in graphiql.ASSETS:
        asset = httpx.get(f"{service.base_url}/graphiql/{name}", timeout=30)
        if asset.status_code != 200 or not asset.content:
            raise CheckFailed(f"GET /graphiql/{name} answered {asset.status_code}: {asset.text}")
    say(f"GraphiQL page and its {len(graphiql.ASSETS)} files answer 200")


def check_readme_query(service: Service, query: str) -> None:
    data, _ = service.graphql(query)
    page = data["customers"]
    nodes = [edge["node"] for edge in page["edges"]]
    if page["totalCount"] < 1 or not nodes:
        raise CheckFailed(f"The README's first query found no customers: {page}")
    for node in nodes:
        if not (isinstance(node["number"], int) and node["fullName"] and node["categories"]):
            raise CheckFailed(f"A customer from the README's first query lacks fields: {node}")
    say(
        f"README query: {page['totalCount']} customers, first page {[n['fullName'] for n in nodes]}"
    )


def check_profile(service: Service, clone: Path) -> None:
    data, _ = service.graphql(IDS_QUERY)
    first = data["customers"]["edges"][0]["node"]
    profile_document = (clone / "tests" / "queries" / "profile.graphql").read_text()
    profile, _ = service.graphql(profile_document, {"id": first["id"]})
    customer = profile["customer"]
    if (
        customer is None
        or customer["id"] != first["id"]
        or customer["fullName"] != first["fullName"]
    ):
        raise CheckFailed(f"The profile of {first} came back as {customer}")
    months = len(customer["salesActivity"]["months"])
    if months != 12:
        raise CheckFailed(f"The profile's sales chart has {months} months, not 12.")
    say(
        f"profile document for {first['fullName']} ({first['id']}): "
        f"{customer['bookings']['totalCount']} bookings, {months} chart months, no errors"
    )


def check_stopped_with_postgres(service: Service, pgdata: Path) -> None:
    pid = postmaster_pid(pgdata)
    say(f"the embedded PostgreSQL runs as pid {pid} ({pgdata})")
    code = service.terminate()
    if code not in (0, 128 + 15, -15):
        raise CheckFailed(f"After SIGTERM the service exited with {code} (output above).")
    for _ in range(20):  # the postmaster may take a moment to leave the process table
        if not is_alive(pid):
            break
        time.sleep(0.25)
    else:
        raise CheckFailed(f"The service exited but the embedded PostgreSQL (pid {pid}) still runs.")
    if (pgdata / "postmaster.pid").exists():
        raise CheckFailed(f"{pgdata}/postmaster.pid is still there after the service stopped.")
    say(f"the embedded PostgreSQL (pid {pid}) stopped with the service")


def quickstart() -> None:
    with tempfile.TemporaryDirectory(prefix="quickstart-") as scratch:
        clone = fresh_clone(Path(scratch))
        readme = (clone / "README.md").read_text()
        command, query = first_command(readme), first_query(readme)
        say(f"README's first Quickstart command: {shlex.join(command)}")
        pgdata = clone / ".data" / "pg"
        port = free_port()
        say(f"PORT={port} (a free port; everything else is the README's defaults)")
        try:
            with Service(command, cwd=clone, env=clean_environment(PORT=str(port))) as service:
                if service.base_url != f"http://127.0.0.1:{port}":
                    raise CheckFailed(f"It printed the address {service.base_url}.")
                check_graphiql_files(service)
                check_readme_query(service, query)
                check_profile(service, clone)
                check_stopped_with_postgres(service, pgdata)
        finally:
            # Whatever happened, leave no PostgreSQL behind (a no-op when it stopped).
            if (pgdata / "PG_VERSION").exists():
                LocalPostgres(pgdata).stop()
            shutil.rmtree(clone, ignore_errors=True)


if __name__ == "__main__":
    run_check("quickstart smoke test", quickstart)
