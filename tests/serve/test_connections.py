"""`serve --http`'s connections over real sockets: a flood of half-sent requests neither exhausts the file
descriptors nor keeps out a whole request, and each is closed once the header timeout has passed."""

from __future__ import annotations

import os
import selectors
import socket
import threading
import time
from pathlib import Path
from typing import Any

import anyio
import httpx2
import pytest

from core.config.http import token_hash
from core.config.settings import settings_or_problems
from tests.fakes import FakeProvider
from tests.helpers import credentials_for, write_credentials
from tests.serve.test_http import CANARY, HttpServer, server_env

pytestmark = pytest.mark.anyio

OPEN_FILES = 400  # the server's descriptor limit: the flood below is larger
FLOOD = 500
MAX_CONNECTIONS = 64
HEADER_TIMEOUT_S = 2.0


def half_sent(port: int, count: int) -> list[socket.socket]:
    """`count` connections, each with a request whose headers never end (no token either)."""
    opened = []
    for _ in range(count):
        sock = socket.create_connection(("127.0.0.1", port), timeout=10)
        sock.sendall(f"POST /mcp HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nContent-Type: appl".encode())
        opened.append(sock)
    return opened


def wait_until_closed(socks: list[socket.socket], timeout: float) -> list[socket.socket]:
    """Read each socket until the server closes it, for up to `timeout` seconds; the ones still open."""
    with selectors.DefaultSelector() as selector:
        for sock in socks:
            sock.setblocking(False)
            selector.register(sock, selectors.EVENT_READ)
        open_ = set(socks)
        ends = time.monotonic() + timeout
        while open_ and time.monotonic() < ends:
            for key, _ in selector.select(timeout=max(0.0, ends - time.monotonic())):
                sock = key.fileobj
                assert isinstance(sock, socket.socket)
                try:
                    if sock.recv(4096):
                        continue  # a 503 before the close
                except ConnectionResetError:
                    pass
                selector.unregister(sock)
                open_.discard(sock)
    return list(open_)


def descriptors(pid: int) -> int:
    return len(os.listdir(f"/proc/{pid}/fd"))


class PeakDescriptors:
    """The most descriptors process `pid` held at once, sampled in a thread until `stop`."""

    def __init__(self, pid: int) -> None:
        self.pid = pid
        self.peak = descriptors(pid)
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._sample, daemon=True)
        self._thread.start()

    def _sample(self) -> None:
        while not self._stop.wait(0.002):
            self.peak = max(self.peak, descriptors(self.pid))

    def stop(self) -> int:
        self._stop.set()
        self._thread.join(5)
        return self.peak


def serving(fake: FakeProvider, tmp_path: Path, http: dict[str, Any]) -> HttpServer:
    body = {**credentials_for(fake, ("grok",)), "http": http}
    env = server_env(tmp_path, write_credentials(tmp_path / "credentials.json", body))
    server = HttpServer(env | {"JUNIOR_AI_TOKENS": f"alice:{token_hash(CANARY)}"}, open_files=OPEN_FILES)
    server.wait_ready()
    return server


async def test_a_flood_of_half_sent_requests_keeps_out_no_whole_request_and_is_closed_after_the_header_timeout(
    fake: FakeProvider, tmp_path: Path
) -> None:
    server = serving(fake, tmp_path, {"max_connections": MAX_CONNECTIONS, "header_timeout_seconds": HEADER_TIMEOUT_S})
    socks: list[socket.socket] = []
    try:
        before = descriptors(server.process.pid)
        sampled = PeakDescriptors(server.process.pid)
        socks = await anyio.to_thread.run_sync(half_sent, server.port, FLOOD)
        with anyio.fail_after(20):
            async with httpx2.AsyncClient(timeout=10) as http:
                health = await http.get(f"{server.url}/healthz")
            during, peak = descriptors(server.process.pid), sampled.stop()
            flooded = time.monotonic()
            still_open = await anyio.to_thread.run_sync(wait_until_closed, socks, HEADER_TIMEOUT_S + 8)
        closed_within = time.monotonic() - flooded
        async with httpx2.AsyncClient(timeout=10) as http:
            after = await http.get(f"{server.url}/healthz")
    finally:
        for sock in socks:
            sock.close()
        log = server.stop()
    assert health.status_code == 200, "a whole request is served in the middle of the flood"
    assert during - before <= MAX_CONNECTIONS + 8, (before, during)  # + the health check's and the store's
    # asyncio accepts up to a backlog's worth (here 64) before any reaches the protocol: a few batches at most.
    assert peak - before <= MAX_CONNECTIONS + 3 * MAX_CONNECTIONS, (before, peak)
    print(f"\nflood of {FLOOD}: {before} descriptors before, {peak} at most, {during} after the health check")
    assert not still_open, f"{len(still_open)} half-sent requests still open {closed_within:.1f} s later"
    assert after.status_code == 200
    assert "Traceback" not in log and "Too many open files" not in log, log
    assert log.count("sent no whole request headers in 2 s (http.header_timeout_seconds)") == 1, "once a minute"
    assert log.count("closed the oldest not serving a request") == 1, log


@pytest.mark.parametrize(
    ("http", "problem"),
    [
        ({"max_connections": 0}, "http.max_connections: Input should be greater than or equal to 1"),
        ({"header_timeout_seconds": 0}, "http.header_timeout_seconds: Input should be greater than 0"),
        ({"header_timeout_seconds": "soon"}, "http.header_timeout_seconds: Input should be a valid number"),
    ],
)
def test_a_bad_connection_setting_is_a_problem_saying_what_is_valid(
    tmp_path: Path, http: dict[str, Any], problem: str
) -> None:
    settings = settings_or_problems(write_credentials(tmp_path / "c.json", {"http": http}), env={})
    [said] = settings.problems
    assert problem in said
    assert (settings.http.max_connections, settings.http.header_timeout_seconds) == (256, 10.0), "the defaults"
