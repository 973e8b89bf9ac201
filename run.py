"""One entry point that sets itself up: `python3 run.py serve` or `python3 run.py test`.

On first use (or whenever pyproject.toml changes) it creates `.venv/` beside this file and installs
the project into it; then it runs the server or the test suite with that environment. Everything it
prints goes to stderr, so `serve` is safe to use as an MCP stdio command.
"""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys
import venv
from pathlib import Path

ROOT = Path(__file__).resolve().parent
VENV = ROOT / ".venv"
STAMP = VENV / ".junior-ai-installed"
USAGE = "usage: python3 run.py serve [--credentials PATH] [--check] | test [pytest args] | bench [--quick]"


def _venv_python() -> Path:
    scripts = "Scripts" if os.name == "nt" else "bin"
    return VENV / scripts / ("python.exe" if os.name == "nt" else "python")


def _wanted_stamp() -> str:
    return hashlib.sha256((ROOT / "pyproject.toml").read_bytes()).hexdigest()


def _ensure_environment() -> Path:
    python = _venv_python()
    if not python.exists():
        print(f"run.py: creating {VENV} ...", file=sys.stderr)
        venv.EnvBuilder(with_pip=True).create(VENV)
    wanted = _wanted_stamp()
    if not STAMP.exists() or STAMP.read_text() != wanted:
        print("run.py: installing the project and its test tools (first run only) ...", file=sys.stderr)
        subprocess.run(
            [str(python), "-m", "pip", "install", "--disable-pip-version-check", "-q", "-e", f"{ROOT}[test]"],
            check=True,
            stdout=sys.stderr,
        )
        STAMP.write_text(wanted)
    return python


def _run(argv: list[str]) -> int:
    if os.name == "nt":
        return subprocess.run(argv).returncode
    os.execv(argv[0], argv)


def main(args: list[str]) -> int:
    if not args or args[0] not in {"serve", "test", "bench"}:
        print(USAGE, file=sys.stderr)
        return 2
    python = str(_ensure_environment())
    command, rest = args[0], args[1:]
    os.chdir(ROOT)
    if command == "serve":
        return _run([python, str(ROOT / "server.py"), *rest])
    if command == "bench":
        return _run([python, str(ROOT / "bench" / "run.py"), *rest])
    return _run([python, "-m", "pytest", *rest])


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
