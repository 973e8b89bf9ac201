"""A real PostgreSQL server for the tests: `initdb` and `pg_ctl` into a temporary directory, on a free
loopback port, with trust authentication and fsync off (the tests' data is thrown away). Debian's
`postgresql` package provides the binaries (`.ci/run` installs it); without them, `binaries()` is None and
the tests that need the server skip, saying so (in CI: fail, `tests.helpers.missing`).

initdb refuses to run as root: as root, the server runs as the `postgres` user if there is one, else
`nobody`, in a directory that user owns.
"""

from __future__ import annotations

import contextlib
import os
import pwd
import shutil
import socket
import subprocess
import tempfile
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

__all__ = ["NO_POSTGRES", "PostgresServer", "binaries", "free_port", "running_postgres"]

NO_POSTGRES = (
    "PostgreSQL's initdb and pg_ctl were not found (on PATH or in /usr/lib/postgresql/*/bin): "
    "install Debian's postgresql package (apt-get install postgresql; .ci/run does) to run these tests"
)
USER = "junior"
START_TIMEOUT_S = 60


@dataclass(frozen=True)
class PostgresServer:
    """A running server: where to reach it as the superuser `junior`, and its binaries."""

    host: str
    port: int
    bin_dir: Path

    def create_database(self) -> str:
        """A new, empty database; returns its name."""
        name = f"t_{uuid.uuid4().hex[:16]}"
        _run([], [str(self.bin_dir / "createdb"), "-h", self.host, "-p", str(self.port), "-U", USER, name])
        return name

    def url(self, database: str = "postgres", driver: str = "postgresql+asyncpg") -> str:
        return f"{driver}://{USER}@{self.host}:{self.port}/{database}"


def binaries() -> Path | None:
    """The directory holding initdb and pg_ctl: PATH's, else Debian's newest; None when there is none."""
    found = shutil.which("initdb")
    if found and shutil.which("pg_ctl"):
        return Path(found).resolve().parent
    versions = sorted(
        Path("/usr/lib/postgresql").glob("*/bin"), key=lambda p: int(p.parent.name) if p.parent.name.isdigit() else 0
    )
    for directory in reversed(versions):
        if (directory / "initdb").exists() and (directory / "pg_ctl").exists():
            return directory
    return None


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


def _run_as() -> list[str]:
    """The command prefix that runs a command as a user initdb accepts (none needed unless root)."""
    if os.geteuid() != 0:
        return []
    for name in ("postgres", "nobody"):
        with contextlib.suppress(KeyError):
            pwd.getpwnam(name)
            return ["runuser", "-u", name, "--"]
    raise RuntimeError("running as root, and neither a postgres nor a nobody user exists to run PostgreSQL as")


@contextlib.contextmanager
def running_postgres(bin_dir: Path) -> Iterator[PostgresServer]:
    """Start a throwaway server; stop it and delete its files on exit.

    Raises:
        RuntimeError: initdb or pg_ctl failed; the message holds their output and the server's log.
    """
    prefix = _run_as()
    root = Path(tempfile.mkdtemp(prefix="junior-pg-"))
    if prefix:
        owner = pwd.getpwnam(prefix[2])
        os.chown(root, owner.pw_uid, owner.pw_gid)
    data, log = root / "data", root / "server.log"
    port = free_port()
    options = f"-h 127.0.0.1 -p {port} -k {root} -F -c fsync=off -c full_page_writes=off -c synchronous_commit=off"
    try:
        _run(prefix, [str(bin_dir / "initdb"), "-D", str(data), "-U", USER, "-A", "trust", "-E", "UTF8", "--no-sync"])
        _run(prefix, [str(bin_dir / "pg_ctl"), "-D", str(data), "-o", options, "-l", str(log), "-w", "start"], log)
        try:
            yield PostgresServer("127.0.0.1", port, bin_dir)
        finally:
            _run(prefix, [str(bin_dir / "pg_ctl"), "-D", str(data), "-m", "immediate", "-w", "stop"], log)
    finally:
        shutil.rmtree(root, ignore_errors=True)


def _run(prefix: list[str], command: list[str], log: Path | None = None) -> None:
    done = subprocess.run(
        [*prefix, *command], capture_output=True, text=True, timeout=START_TIMEOUT_S, stdin=subprocess.DEVNULL
    )
    if done.returncode != 0:
        server_log = log.read_text(errors="replace")[-2000:] if log is not None and log.exists() else ""
        raise RuntimeError(f"{' '.join(command)} failed ({done.returncode}):\n{done.stdout}{done.stderr}{server_log}")
