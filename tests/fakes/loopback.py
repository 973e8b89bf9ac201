"""One ASGI app on a free 127.0.0.1 port, served by uvicorn in a daemon thread: what every fake here runs on."""

from __future__ import annotations

import socket
import threading
import time
from dataclasses import dataclass
from typing import Any

import uvicorn

__all__ = ["START_TIMEOUT_S", "InThread", "serve_in_thread"]

START_TIMEOUT_S = 10.0


@dataclass
class InThread:
    """A server running in its thread, on `port`."""

    port: int
    server: uvicorn.Server
    thread: threading.Thread

    def stop(self, *, force: bool = False) -> None:
        """Stop serving and wait for the thread (at most 5 s); `force`: without waiting for open connections."""
        self.server.should_exit = True
        self.server.force_exit = force
        self.thread.join(timeout=5)


def serve_in_thread(app: Any, what: str, *, nodelay: bool = False, **config: Any) -> InThread:
    """Serve `app` (`what` names it in the error) on a free loopback port until `stop`; `config` goes to
    uvicorn's Config (log level "critical" and no lifespan unless given).

    Raises:
        RuntimeError: The server did not start within START_TIMEOUT_S.
    """
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    if nodelay:
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)  # inherited by accepted connections
    sock.bind(("127.0.0.1", 0))
    server = uvicorn.Server(uvicorn.Config(app, **{"log_level": "critical", "lifespan": "off", **config}))
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    deadline = time.monotonic() + START_TIMEOUT_S
    while not server.started:
        if time.monotonic() > deadline or not thread.is_alive():
            raise RuntimeError(f"{what} did not start")
        time.sleep(0.005)  # polling the start of a server thread: there is no event to wait on
    return InThread(sock.getsockname()[1], server, thread)
