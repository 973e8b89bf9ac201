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

import threading
from dataclasses import dataclass, field
from typing import Any, Self

from starlette.applications import Starlette

from tests.fakes.loopback import InThread, serve_in_thread

__all__ = ["Call", "LoopbackServer", "Recorded", "Script"]


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
    _running: InThread | None = None

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
        self._running = serve_in_thread(self._app(), type(self).__name__)
        self.port = self._running.port
        return self

    def stop(self) -> None:
        if self._running:
            self._running.stop()

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()
