"""A real nginx for the tests: Debian's binary, run in the foreground (`daemon off`) as a child process
with a generated configuration in a temporary directory (its pid file, logs and temporary files there
too), listening on a loopback port, balancing round-robin over the given upstream ports with the proxy
settings Streamable HTTP needs (the same as deploy/nginx.conf). `.ci/run` installs the package; without
nginx on PATH, `binary()` is None and the tests that need it skip, saying so (in CI: fail).

As root, nginx's workers run as `nobody`: the directory is made readable to them (it holds no secret).
"""

from __future__ import annotations

import contextlib
import os
import shutil
import socket
import subprocess
import tempfile
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

__all__ = ["NO_NGINX", "NginxServer", "binary", "config_text", "running_nginx"]

NO_NGINX = (
    "nginx was not found on PATH: install Debian's nginx package (apt-get install nginx; .ci/run does), and "
    "put its directory on PATH (Debian's is /usr/sbin, which a non-root user's PATH may lack), to run the "
    "two-replica tests"
)
START_TIMEOUT_S = 20.0
STOP_TIMEOUT_S = 10.0
POLL_S = 0.02  # how often readiness is checked (a connect attempt on loopback)


@dataclass(frozen=True)
class NginxServer:
    """A running nginx: its address, and its directory (access.log: method, path, status, upstream)."""

    host: str
    port: int
    root: Path

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}"

    def upstreams_used(self) -> list[str]:
        """The upstreams that answered each request so far, in order (the last one tried, after a retry)."""
        lines = (self.root / "access.log").read_text(errors="replace").splitlines()
        return [line.split()[-1] for line in lines if line.strip()]


def binary() -> Path | None:
    """nginx on PATH, as `.ci/run` looks for it; None when there is none. PATH only: an nginx hidden from
    PATH is missing, wherever it is installed."""
    found = shutil.which("nginx")
    return Path(found) if found else None


def config_text(root: Path, port: int, upstreams: Sequence[int], host: str = "127.0.0.1") -> str:
    """The configuration: everything nginx writes under `root`; `host:port` round-robin over `upstreams`."""
    servers = "\n".join(f"        server {host}:{upstream} max_fails=1 fail_timeout=10s;" for upstream in upstreams)
    temp = "\n".join(
        f"    {kind}_temp_path {root / kind};" for kind in ("client_body", "proxy", "fastcgi", "uwsgi", "scgi")
    )
    return f"""\
worker_processes 1;
pid {root / "nginx.pid"};
error_log {root / "error.log"} warn;
events {{
    worker_connections 512;
}}
http {{
    log_format upstreams '$request_method $uri $status $upstream_addr';
    access_log {root / "access.log"} upstreams;
{temp}
    upstream junior_ai {{
{servers}
        keepalive 16;
    }}
    server {{
        listen {host}:{port};
        client_max_body_size 5m;
        location / {{
            proxy_pass http://junior_ai;
            proxy_http_version 1.1;
            proxy_set_header Connection "";
            proxy_set_header Host $http_host;
            proxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for;
            proxy_set_header X-Forwarded-Proto $scheme;
            proxy_buffering off;
            proxy_request_buffering off;
            proxy_cache off;
            proxy_read_timeout 1h;
            proxy_send_timeout 1h;
            proxy_next_upstream error timeout;
        }}
    }}
}}
"""


@contextlib.contextmanager
def running_nginx(nginx: Path, port: int, upstreams: Sequence[int]) -> Iterator[NginxServer]:
    """Start nginx on 127.0.0.1:`port` in front of `upstreams`; stop it and delete its files on exit.

    Raises:
        RuntimeError: nginx refused its configuration or did not listen in time; the message holds its output.
    """
    root = Path(tempfile.mkdtemp(prefix="junior-nginx-"))
    if os.geteuid() == 0:
        root.chmod(0o755)  # the workers (nobody) open the temporary directories below it
    conf = root / "nginx.conf"
    conf.write_text(config_text(root, port, upstreams))
    command = [str(nginx), "-p", str(root), "-c", str(conf), "-e", str(root / "error.log"), "-g", "daemon off;"]
    process = subprocess.Popen(
        command, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True
    )
    try:
        _wait_listening(process, "127.0.0.1", port, root)
        yield NginxServer("127.0.0.1", port, root)
    finally:
        process.terminate()  # SIGTERM: nginx's fast shutdown
        try:
            process.wait(STOP_TIMEOUT_S)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(STOP_TIMEOUT_S)
        if process.stdout is not None:
            process.stdout.close()
        shutil.rmtree(root, ignore_errors=True)


def _wait_listening(process: subprocess.Popen[str], host: str, port: int, root: Path) -> None:
    """Return once `host:port` accepts a connection; raise if nginx exits or the deadline passes first."""
    deadline = time.monotonic() + START_TIMEOUT_S
    while time.monotonic() < deadline:
        if process.poll() is not None:
            output = process.stdout.read() if process.stdout is not None else ""
            raise RuntimeError(f"nginx exited ({process.returncode}) at start:\n{output}{_error_log(root)}")
        with contextlib.suppress(OSError), socket.create_connection((host, port), timeout=POLL_S * 10):
            return
        time.sleep(POLL_S)
    raise RuntimeError(f"nginx did not listen on {host}:{port} within {START_TIMEOUT_S:g} s:\n{_error_log(root)}")


def _error_log(root: Path) -> str:
    path = root / "error.log"
    return path.read_text(errors="replace")[-2000:] if path.exists() else ""
