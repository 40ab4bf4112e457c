#!/usr/bin/env python3
"""The two quickstart commands, needing nothing but Python 3.11+:

    python3 dev.py serve   install everything, start the service on an embedded PostgreSQL with
                           demo data, and print the GraphiQL address and a token
    python3 dev.py test    install everything and run the whole test suite

Installing means: a virtual environment in .venv, the pinned `uv` inside it, and
`uv sync --frozen` from uv.lock. Any further arguments go to the command (pytest's, for test).
"""

from __future__ import annotations

import os
import subprocess
import sys
import venv
from pathlib import Path

ROOT = Path(__file__).resolve().parent
VENV = ROOT / ".venv"
UV_VERSION = "0.13.8"
BIN = VENV / ("Scripts" if os.name == "nt" else "bin")
PYTHON = BIN / ("python.exe" if os.name == "nt" else "python")


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
