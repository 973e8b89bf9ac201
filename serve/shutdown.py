"""Stopping the stdio server: SIGTERM or SIGINT stops it, everything in flight is answered, and the
process is gone within `SHUTDOWN_TIMEOUT_S` of the signal whatever still holds it (a provider call
abandoned in a worker thread, a client that will not close)."""

from __future__ import annotations

import logging
import os
import signal
import sys
import threading
import time

import anyio
from mcp.server.mcpserver import MCPServer

from serve.stdio import serve_stdio

__all__ = ["SHUTDOWN_TIMEOUT_S", "THREAD_GRACE_S", "exit_without_waiting_for_abandoned_threads", "serve_until_stopped"]

SHUTDOWN_TIMEOUT_S = 1.8  # the whole shutdown, within 2 s of a signal
THREAD_GRACE_S = 0.3  # how long an exit waits for worker threads still busy

logger = logging.getLogger("junior_ai")


async def serve_until_stopped(server: MCPServer) -> None:
    """Serve stdio until stdin or stdout closes, or SIGTERM / SIGINT arrives; then answer what is in flight."""
    stopped = anyio.Event()
    async with anyio.create_task_group() as group:
        if sys.platform != "win32":
            group.start_soon(_stop_on_signal, stopped)
        await serve_stdio(server, stopped)
        group.cancel_scope.cancel()


async def _stop_on_signal(stopped: anyio.Event) -> None:
    with anyio.open_signal_receiver(signal.SIGTERM, signal.SIGINT) as signals:
        async for signum in signals:
            if stopped.is_set():  # already shutting down: a second signal changes nothing
                logger.warning("%s received again: still shutting down", signal.Signals(signum).name)
                continue
            logger.warning("%s received: shutting down", signal.Signals(signum).name)
            # Shutdown is bounded: whatever still holds the process then (a provider call abandoned in a
            # worker thread, a client that will not close) must not keep it alive past the promise.
            threading.Thread(target=_exit_after, args=(SHUTDOWN_TIMEOUT_S,), daemon=True).start()
            stopped.set()


def _exit_after(seconds: float) -> None:
    time.sleep(seconds)
    logger.warning("shutdown took longer than %.1f s; exiting now", seconds)
    logging.shutdown()
    sys.stderr.flush()
    os._exit(0)


def exit_without_waiting_for_abandoned_threads() -> None:
    """A sync-fallback call abandoned at shutdown may still block a worker thread on the network;
    Python would wait for it at exit. Everything is closed by now, so give threads a moment, then go."""
    ends = time.monotonic() + THREAD_GRACE_S
    for thread in threading.enumerate():
        if thread is not threading.main_thread() and not thread.daemon:
            thread.join(max(0.0, ends - time.monotonic()))
    if any(t.is_alive() and not t.daemon for t in threading.enumerate() if t is not threading.main_thread()):
        logger.warning("exiting without waiting for a provider call abandoned at shutdown")
        logging.shutdown()
        sys.stderr.flush()
        os._exit(0)
