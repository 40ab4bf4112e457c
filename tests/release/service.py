"""The service as a person runs it: a command in a terminal whose output is read for the GraphiQL
address and the owner token it prints, ready once /readyz answers, stopped with SIGTERM.

Used by the release checks (`python -m tests.release.<check>` from the repository root), which
print what they do and end with `CheckFailed` and the reason when something is wrong.
"""

from __future__ import annotations

import os
import re
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Mapping
from pathlib import Path
from types import TracebackType
from typing import Any

import httpx

REPO_ROOT = Path(__file__).resolve().parents[2]
GRAPHIQL_LINE = re.compile(r"^GraphiQL: (http://\S+)/graphql$")
TOKEN_LINE = re.compile(r"^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+$")
# Variables of the caller's shell that would point the service at another database or venv.
FOREIGN_VARIABLES = ("DATABASE_URL", "APP_DATABASE_URL", "DATA_DIR", "VIRTUAL_ENV", "PORT")


class CheckFailed(Exception):
    """A release check found something wrong; the message says what."""


STARTED = time.monotonic()


def say(message: str) -> None:
    print(f"-- [{time.monotonic() - STARTED:5.1f} s] {message}", flush=True)


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def clean_environment(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in FOREIGN_VARIABLES}
    return {**env, **extra}


class Service:
    """`with Service(command, cwd, env) as service:` starts the command, echoes its output
    (prefixed), and returns once it printed its address and token and /readyz answered 200."""

    def __init__(
        self,
        command: list[str],
        *,
        cwd: Path,
        env: Mapping[str, str],
        name: str = "service",
        ready_within_s: float = 240,
    ) -> None:
        self.command = command
        self.cwd = cwd
        self.env = dict(env)
        self.name = name
        self.ready_within_s = ready_within_s
        self.lines: list[str] = []
        self.base_url = ""
        self.token = ""
        self._process: subprocess.Popen[str] | None = None
        self._reader: threading.Thread | None = None

    @property
    def process(self) -> subprocess.Popen[str]:
        assert self._process is not None, "the service was not started"
        return self._process

    def __enter__(self) -> Service:
        say(f"starting `{' '.join(self.command)}` in {self.cwd}")
        self._process = subprocess.Popen(
            self.command,
            cwd=self.cwd,
            env=self.env,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            bufsize=1,
            # Its own process group: SIGTERM goes to it alone, the group is killed on failure.
            start_new_session=True,
        )
        self._reader = threading.Thread(target=self._read_output, daemon=True)
        self._reader.start()
        try:
            self._wait_until_ready()
        except BaseException:
            self._kill()
            raise
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if self.process.poll() is None:
            try:
                self.terminate()
            except CheckFailed:
                if exc is None:
                    raise

    def _read_output(self) -> None:
        assert self.process.stdout is not None
        for raw in self.process.stdout:
            line = raw.rstrip("\n")
            self.lines.append(line)
            print(f"   [{time.monotonic() - STARTED:5.1f} s] {self.name} | {line}", flush=True)

    def _wait_until_ready(self) -> None:
        deadline = time.monotonic() + self.ready_within_s
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise CheckFailed(
                    f"`{' '.join(self.command)}` exited with {self.process.returncode} "
                    "before it was ready (its output is above)."
                )
            self._parse_banner()
            if self.base_url and self.token and self._ready():
                say(f"{self.name} is ready at {self.base_url} (GET /readyz answered 200)")
                return
            time.sleep(0.5)
        raise CheckFailed(
            f"`{' '.join(self.command)}` was not ready within {self.ready_within_s:.0f} s: "
            f"address {self.base_url or 'not printed'}, token "
            f"{'printed' if self.token else 'not printed'}, /readyz not answering 200."
        )

    def _parse_banner(self) -> None:
        for index, line in enumerate(list(self.lines)):
            match = GRAPHIQL_LINE.match(line.strip())
            if match:
                self.base_url = match.group(1)
            if line.startswith("Owner token for") and index + 1 < len(self.lines):
                candidate = self.lines[index + 1].strip()
                if TOKEN_LINE.match(candidate):
                    self.token = candidate

    def _ready(self) -> bool:
        try:
            return httpx.get(f"{self.base_url}/readyz", timeout=5).status_code == 200
        except httpx.HTTPError:
            return False

    def graphql(
        self,
        query: str,
        variables: dict[str, Any] | None = None,
        *,
        token: str | None = None,
    ) -> tuple[dict[str, Any], httpx.Response]:
        """POST a document with the given token (the printed one by default); the body must be
        free of errors."""
        response = httpx.post(
            f"{self.base_url}/graphql",
            json={"query": query, "variables": variables or {}},
            headers={"Authorization": f"Bearer {token or self.token}"},
            timeout=60,
        )
        if response.status_code != 200:
            raise CheckFailed(f"POST /graphql answered {response.status_code}: {response.text}")
        body: dict[str, Any] = response.json()
        if body.get("errors"):
            raise CheckFailed(f"POST /graphql answered errors: {body['errors']}")
        return body["data"], response

    def terminate(self, within_s: float = 60) -> int:
        """SIGTERM to the process (as `kill PID` or a supervisor would), then wait for it."""
        say(f"sending SIGTERM to {self.name} (pid {self.process.pid})")
        self.process.send_signal(signal.SIGTERM)
        try:
            code = self.process.wait(timeout=within_s)
        except subprocess.TimeoutExpired:
            self._kill()
            raise CheckFailed(
                f"{self.name} was still running {within_s:.0f} s after SIGTERM"
            ) from None
        if self._reader is not None:
            self._reader.join(timeout=10)
        if self.process.stdout is not None:
            self.process.stdout.close()
        say(f"{self.name} exited with {code}")
        return code

    def _kill(self) -> None:
        if self._process is not None and self._process.poll() is None:
            os.killpg(self._process.pid, signal.SIGKILL)
            self._process.wait()


def run_check(check_name: str, check: Callable[[], None]) -> None:
    """Run `check()`, print the outcome, exit 1 with the reason when it fails."""
    started = time.monotonic()
    # A SIGTERM (CI's `timeout`) unwinds normally, so the service and its PostgreSQL are stopped.
    signal.signal(signal.SIGTERM, lambda signum, frame: sys.exit(128 + signum))
    try:
        check()
    except CheckFailed as failure:
        print(f"\nFAILED {check_name}: {failure}", file=sys.stderr, flush=True)
        sys.exit(1)
    print(f"\nPASSED {check_name} in {time.monotonic() - started:.0f} s", flush=True)
