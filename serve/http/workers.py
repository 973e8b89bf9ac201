"""`serve --http --workers N`: N server processes on one port, sharing the store, supervised by the parent.

    run_workers(settings, host, port, count, serve_worker)   # the parent: returns the exit code

- **One port, N processes.** On Linux the parent binds one listening socket per worker with `SO_REUSEPORT`
  (the kernel spreads new connections over them evenly); elsewhere one socket that every worker accepts
  from. Each worker is a fresh interpreter (multiprocessing's "spawn", as uvicorn's own `--workers` does)
  that runs the single-process server on its socket: its drain, connection limits, access log and start-up
  checks are the single process's own (serve/http/app.py). `--workers 1` runs no parent at all.
- **The store is shared** as by replicas: SQLite in WAL mode, or PostgreSQL. Per worker (as per replica):
  circuit breakers, adaptive concurrency limits, the connection limit (`http.max_connections` each), the
  OAuth introspection cache. The parent gives every worker one `request_state_key` when none is
  configured, so that a 2026-07-28 call's rounds may land on different workers.
- **Stopping.** SIGTERM or SIGINT to the parent tells every worker to drain (calls in flight finish within
  `http.drain_seconds`, then are cut); the parent exits 0 once every worker has exited 0. A second signal
  tells them to stop waiting. A worker that dies while serving is replaced (a warning names it and its exit
  status); one that exits before it ever served (a broken configuration or store, which the next would hit
  too) stops the others, and the parent exits 1 saying so. A worker whose parent is gone (killed with
  SIGKILL) drains and exits: none is left behind.
- **Metrics** (serve/http/worker_metrics.py): a scrape of any worker shows every worker's series, labelled
  `worker="0"`, `"1"`, ...

Messages from parent to worker, on a pipe of each worker's own: `DRAIN`, `STOP`; and from worker to parent
`READY` once its server accepts connections. The pipe's end (EOF) tells a worker that its parent is gone.
"""

from __future__ import annotations

import contextlib
import logging
import multiprocessing
import os
import secrets
import shutil
import signal
import socket
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from multiprocessing.connection import Connection, wait
from multiprocessing.process import BaseProcess
from types import FrameType
from typing import Protocol

from pydantic import SecretStr

from core.config.settings import Settings
from serve.http.connections import accept_backlog

__all__ = [
    "DRAIN",
    "MAX_WORKERS",
    "READY",
    "STOP",
    "Stoppable",
    "WorkerSpec",
    "default_workers",
    "follow_parent",
    "parse_workers",
    "run_workers",
]

logger = logging.getLogger("junior_ai.http")

MAX_WORKERS = 256
DRAIN, STOP, READY = "drain", "stop", "ready"
EXIT_MARGIN_S = 10.0  # past a worker's own bound (drain + cut grace + cleanup), the parent kills what is left


def default_workers() -> int:
    """The number of cores this process may run on (its CPU affinity, where the platform has one)."""
    if hasattr(os, "sched_getaffinity"):
        return max(1, len(os.sched_getaffinity(0)))
    return max(1, os.cpu_count() or 1)


def parse_workers(text: str) -> int:
    """`--workers`' value: a whole number from 1 to `MAX_WORKERS`.

    Raises:
        ValueError: anything else, saying what is valid.
    """
    digits = text.strip()
    count = int(digits) if digits.isascii() and digits.isdigit() else 0
    if not 1 <= count <= MAX_WORKERS:
        raise ValueError(
            f"{text!r} is not a number of worker processes: give a whole number from 1 to {MAX_WORKERS} "
            f"(default: the number of cores, {default_workers()} here)"
        )
    return count


@dataclass(frozen=True)
class WorkerSpec:
    """What one worker is given: its number, its listening socket, the directory its metrics go to, and its
    end of the pipe to the parent."""

    index: int
    count: int
    listener: socket.socket
    metrics_dir: str
    control: Connection


class Stoppable(Protocol):
    """What a worker's server exposes to be stopped (uvicorn.Server's flags, as its signal handler sets them)."""

    should_exit: bool
    force_exit: bool
    stopped_by: str


def follow_parent(spec: WorkerSpec, server: Stoppable) -> Callable[[], None]:
    """In a worker: stop `server` as the parent asks (DRAIN: as a first signal would; STOP: as a second), and
    drain it when the parent is gone. Returns the function to call once the server accepts connections."""

    def listen() -> None:
        while True:
            try:
                message = spec.control.recv()
            except (EOFError, OSError):
                message = None  # the parent is gone: nobody would stop this worker otherwise
            if message == STOP:
                server.force_exit = True
            if not server.should_exit:
                server.stopped_by = "the parent's signal" if message is not None else "the parent's exit"
                server.should_exit = True
            if message is None:
                return

    threading.Thread(target=listen, name="junior-ai parent", daemon=True).start()
    return lambda: _send(spec.control, READY)


@dataclass
class _Worker:
    spec: WorkerSpec
    process: BaseProcess
    parent_end: Connection
    ready: bool = False
    reported: bool = False


def run_workers(
    settings: Settings, host: str, port: int, count: int, serve_worker: Callable[[Settings, str, int, WorkerSpec], None]
) -> int:
    """Run `count` workers, each `serve_worker(settings, host, port, spec)` in a process of its own, until a
    signal has drained them all. Returns the exit code (0: drained; 1: a worker failed, see the log)."""
    if settings.request_state_key is None:  # one key for all: a call's next round may reach another worker
        settings = settings.model_copy(update={"request_state_key": SecretStr(secrets.token_urlsafe(32))})
    try:
        listeners = _listen(host, port, count, accept_backlog(settings.http))
    except OSError as error:
        print(f"junior-ai: cannot listen on {host}:{port}: {error.strerror or error}", file=sys.stderr)
        return 1
    metrics_dir = tempfile.mkdtemp(prefix="junior-ai-metrics-")  # new, so empty: no stale worker's figures
    context = multiprocessing.get_context("spawn")

    def start(index: int) -> _Worker:
        parent_end, child_end = context.Pipe()
        spec = WorkerSpec(index, count, listeners[index], metrics_dir, child_end)
        process = context.Process(
            target=serve_worker, args=(settings, host, port, spec), name=f"junior-ai worker {index}"
        )
        process.start()
        child_end.close()  # the worker's end lives in the worker only: its EOF there means the parent is gone
        return _Worker(spec, process, parent_end)

    supervisor = _Supervisor(start, listeners, settings.http.drain_seconds)
    try:
        with _signals() as wakeup:
            supervisor.workers = [start(index) for index in range(count)]
            return supervisor.run(wakeup)
    finally:
        supervisor.kill_all()  # only if something went wrong: none is left behind
        for listener in listeners:
            listener.close()
        shutil.rmtree(metrics_dir, ignore_errors=True)


class _Supervisor:
    """The parent's loop: starts, watches, replaces and stops the workers."""

    def __init__(self, start: Callable[[int], _Worker], listeners: list[socket.socket], drain_seconds: int) -> None:
        self.start = start
        self.listeners = listeners
        self.drain_seconds = drain_seconds
        self.workers: list[_Worker] = []
        self.signals = 0
        self.failed = False
        self.deadline: float | None = None  # once stopping: when the parent kills what is left
        self.announced = False

    def run(self, wakeup: socket.socket) -> int:
        while any(worker.process.exitcode is None for worker in self.workers):
            timeout = None if self.deadline is None else max(0.0, self.deadline - time.monotonic())
            waiting = [w.parent_end for w in self.workers if not w.ready and not w.parent_end.closed]
            running = [w.process.sentinel for w in self.workers if w.process.exitcode is None]  # an exited one's
            ready = wait([wakeup, *running, *waiting], timeout)  # sentinel stays readable: not waited on again
            if not ready and self.deadline is not None and time.monotonic() >= self.deadline:
                logger.error("workers still running %.0f s past the drain: killed", EXIT_MARGIN_S)
                self.kill_all()
                return 1
            if wakeup in ready:
                self._signalled(wakeup)
            for worker in self.workers:
                if worker.parent_end in ready:
                    try:
                        worker.ready = worker.parent_end.recv() == READY or worker.ready
                    except (EOFError, OSError):  # it exited: its sentinel says so too
                        worker.parent_end.close()
                    if worker.ready and self.announced:
                        logger.info("worker %d serving again (pid %s)", worker.spec.index, worker.process.pid)
            self._announce()
            for index, worker in enumerate(self.workers):
                if worker.process.exitcode is not None:
                    self._exited(index, worker)
        return 1 if self.failed else 0

    def _announce(self) -> None:
        if not self.announced and all(worker.ready for worker in self.workers):
            self.announced = True
            pids = ", ".join(str(worker.process.pid) for worker in self.workers)
            logger.info("%d workers serving (pids %s)", len(self.workers), pids)

    def _signalled(self, wakeup: socket.socket) -> None:
        for signum in wakeup.recv(64):
            self.signals += 1
            name = signal.Signals(signum).name
            if self.signals == 1:
                logger.warning(
                    "%s received: %d workers refuse new connections; calls in flight have %d s to finish",
                    name,
                    len(self.workers),
                    self.drain_seconds,
                )
                self._stop(DRAIN)
            else:
                logger.warning("%s received again: the workers stop without waiting for the calls in flight", name)
                self._stop(STOP)

    def _stop(self, message: str) -> None:
        if self.deadline is None:
            self.deadline = time.monotonic() + self.drain_seconds + EXIT_MARGIN_S
            for listener in self.listeners:
                listener.close()  # the workers' copies close as they drain: then new connections are refused
        for worker in self.workers:
            _send(worker.parent_end, message)

    def _exited(self, index: int, worker: _Worker) -> None:
        code = worker.process.exitcode
        if self.deadline is not None:  # stopping: each worker must have drained cleanly
            if code != 0 and not worker.reported:
                worker.reported = True
                self.failed = True
                logger.error("worker %d (pid %s) exited with status %s", worker.spec.index, worker.process.pid, code)
            return
        if not worker.ready:  # a broken configuration or store: its replacement would fail the same way
            worker.reported = self.failed = True
            logger.error(
                "worker %d (pid %s) exited with status %s before it served; stopping the others",
                worker.spec.index,
                worker.process.pid,
                code,
            )
            self._stop(DRAIN)
            return
        logger.warning(
            "worker %d (pid %s) died (exit status %s) while serving; starting another in its place",
            worker.spec.index,
            worker.process.pid,
            code,
        )
        worker.parent_end.close()
        self.workers[index] = self.start(worker.spec.index)

    def kill_all(self) -> None:
        for worker in self.workers:
            if worker.process.exitcode is None:
                worker.process.kill()
                worker.process.join()


def _send(connection: Connection, message: str) -> None:
    with contextlib.suppress(OSError):  # the other end is gone: its process has exited, or is exiting
        connection.send(message)


def _listen(host: str, port: int, count: int, backlog: int) -> list[socket.socket]:
    """One listening socket per worker, all on `host:port`: with SO_REUSEPORT where the kernel balances
    connections over such sockets (Linux), else the same socket for every worker.

    Raises:
        OSError: the address cannot be bound (in use, not this machine's, ...).
    """
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    balanced = sys.platform == "linux" and hasattr(socket, "SO_REUSEPORT")
    first = socket.create_server((host.strip("[]"), port), family=family, backlog=backlog, reuse_port=balanced)
    if not balanced:
        return [first] * count
    port = first.getsockname()[1]  # port 0: the one the kernel chose, for every worker
    others = [
        socket.create_server((host.strip("[]"), port), family=family, backlog=backlog, reuse_port=True)
        for _ in range(count - 1)
    ]
    return [first, *others]


@contextlib.contextmanager
def _signals() -> Iterator[socket.socket]:
    """SIGTERM and SIGINT, as bytes on a socket the supervisor waits on (Python's wakeup fd): the handler
    itself does nothing else."""
    reader, writer = socket.socketpair()
    writer.setblocking(False)
    handled = (signal.SIGTERM, signal.SIGINT)
    previous = {signum: signal.signal(signum, _noop) for signum in handled}
    old_fd = signal.set_wakeup_fd(writer.fileno(), warn_on_full_buffer=False)
    try:
        yield reader
    finally:
        signal.set_wakeup_fd(old_fd)
        for signum, handler in previous.items():
            signal.signal(signum, handler)
        reader.close()
        writer.close()


def _noop(signum: int, frame: FrameType | None) -> None:
    """A handler that lets the signal through to the wakeup fd (the default handler would end the process)."""
