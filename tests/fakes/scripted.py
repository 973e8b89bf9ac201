"""What the scripted stand-ins of the CLI agents' providers share: the script (tool calls, then an answer), the
record of what was asked, and a loopback server on a free port.

    with ResponsesModel(Script([Call("shell", {...})], answer="four")) as model:   # tests/fakes/responses_api.py
        ... run the CLI against model.base_url ...
    model.requests          # (path, headers, JSON body) of every request, in order

A turn's step is chosen by how many tool results its conversation already holds: the first turn gets the first
call, the turn that carries its result the second, and so on; once the calls are done the model answers
`Script.answer`. The fakes bind 127.0.0.1 only.
"""

from __future__ import annotations

import socket
import threading
import time
from dataclasses import dataclass, field
from typing import Any, Self

import uvicorn
from starlette.applications import Starlette

__all__ = ["Call", "LoopbackServer", "Recorded", "Script"]

START_TIMEOUT_S = 10.0


@dataclass(frozen=True)
class Call:
    """One tool call by the scripted model: the tool's name as the CLI offers it, and its arguments; `forced`:
    made even when the request does not offer that tool (a model that calls what it was not given)."""

    name: str
    args: dict[str, Any]
    forced: bool = False


@dataclass(frozen=True)
class Script:
    """The model's turns: these tool calls one after the other, then `answer` (with this usage)."""

    calls: tuple[Call, ...] = ()
    answer: str = "DONE"
    input_tokens: int = 21
    output_tokens: int = 8

    def step(self, results: int) -> Call | None:
        """The tool call for a turn whose conversation holds `results` tool results; None: answer."""
        return self.calls[results] if results < len(self.calls) else None


@dataclass(frozen=True)
class Recorded:
    """One request: its path (with the query), headers (lower-case names) and JSON body ({} when none)."""

    path: str
    headers: dict[str, str]
    body: dict[str, Any]


@dataclass
class LoopbackServer:
    """A Starlette app on a free 127.0.0.1 port, in a thread; subclasses build the app (`_app`)."""

    port: int = 0
    requests: list[Recorded] = field(default_factory=list)
    _lock: threading.Lock = field(default_factory=threading.Lock)
    _server: uvicorn.Server | None = None
    _thread: threading.Thread | None = None

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def record(self, recorded: Recorded) -> None:
        with self._lock:
            self.requests.append(recorded)

    def recorded(self) -> list[Recorded]:
        with self._lock:
            return list(self.requests)

    def _app(self) -> Starlette:
        raise NotImplementedError

    def start(self) -> Self:
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        sock.bind(("127.0.0.1", 0))
        self.port = sock.getsockname()[1]
        self._server = uvicorn.Server(uvicorn.Config(self._app(), log_level="critical", lifespan="off"))
        self._thread = threading.Thread(target=self._server.run, kwargs={"sockets": [sock]}, daemon=True)
        self._thread.start()
        deadline = time.monotonic() + START_TIMEOUT_S
        while not self._server.started:
            if time.monotonic() > deadline or not self._thread.is_alive():
                raise RuntimeError(f"{type(self).__name__} did not start")
            time.sleep(0.005)
        return self

    def stop(self) -> None:
        if self._server and self._thread:
            self._server.should_exit = True
            self._thread.join(timeout=5)

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()
