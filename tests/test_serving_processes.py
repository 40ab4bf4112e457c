"""`serve` with WEB_CONCURRENCY > 1 runs that many serving processes on one port, each with its
own app and pool, all answering; SIGTERM stops them together and exits cleanly."""

from __future__ import annotations

import sys
from pathlib import Path

from tests.database import ClonedDatabase
from tests.release.service import REPO_ROOT, Service, clean_environment, free_port

QUERY = "{ customers(first: 1) { totalCount } }"


def _children(pid: int) -> list[int]:
    children = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[1]) == pid:
            children.append(int(stat.parent.name))
    return children


def test_two_serving_processes_answer_and_stop_together(db: ClonedDatabase) -> None:
    env = clean_environment(
        DATABASE_URL=db.owner_url, PORT=str(free_port()), WEB_CONCURRENCY="2", WORKER_ENABLED="0"
    )
    with Service(
        [sys.executable, "-m", "server", "serve"], cwd=REPO_ROOT, env=env, ready_within_s=120
    ) as service:
        # uvicorn's serving processes (multiprocessing's resource tracker is a child too).
        serving = [
            pid
            for pid in _children(service.process.pid)
            if "spawn_main" in Path(f"/proc/{pid}/cmdline").read_text()
        ]
        assert len(serving) == 2
        counts = {service.graphql(QUERY)[0]["customers"]["totalCount"] for _ in range(10)}
        assert len(counts) == 1 and counts.pop() > 0  # the demo business, from either process
        assert service.terminate() == 0
    assert not any(Path(f"/proc/{pid}").exists() for pid in serving)
