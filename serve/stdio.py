"""The stdio transport `serve` runs: MCP's JSON-RPC lines on stdin and stdout, and nothing else on stdout.

It replaces the SDK's `stdio_server` because the wire needs four guarantees that one does not give:

- **The writer never dies.** A message that cannot be encoded (a provider answer with a lone surrogate,
  say) is made encodable by `core.redact.encodable_data` (results were cleared of keys before, at the
  tool boundary) and sent; a request whose answer still cannot be written gets a JSON-RPC error
  instead. One bad message never silences the session.
- **Shutdown answers everyone.** When `stop()` is called (SIGTERM, SIGINT), every request still in flight
  gets an error response ("server shutting down"), written and flushed before `serve_stdio` returns;
  except a request the client cancelled (`notifications/cancelled`), which the spec says gets no response.
- **A closed stdout ends the session quietly**, as a closed stdin does: no traceback.
- **The reader never holds the exit.** stdin is read by a daemon thread, so a signal-driven exit does not
  wait for one more line.

While serving, fd 0 reads the null device and fd 1 points at stderr, so a stray `print` in any library
cannot corrupt the protocol: the wire uses private duplicates of the original descriptors.
"""

from __future__ import annotations

import json
import logging
import os
import threading
from typing import Any

import anyio
import anyio.from_thread
import anyio.lowlevel
import mcp_types
from anyio.streams.memory import MemoryObjectReceiveStream, MemoryObjectSendStream
from mcp.server.mcpserver import MCPServer
from mcp.shared.dispatcher import coerce_request_id
from mcp.shared.jsonrpc_dispatcher import cancelled_request_id_from_params
from mcp.shared.message import SessionMessage
from pydantic_core import PydanticSerializationError

from core.redact import encodable_data

__all__ = ["SHUTTING_DOWN", "StdioWire", "serve_stdio"]

logger = logging.getLogger("junior_ai.stdio")

SHUTTING_DOWN = "server shutting down"
WRITE_CHUNK = 1 << 16


class StdioWire:
    """The two ends of the stdio transport and the requests still waiting for an answer."""

    def __init__(self, fd_in: int, fd_out: int) -> None:
        self._fd_in = fd_in
        self._fd_out = fd_out
        self._pending: set[str | int] = set()  # request ids read and not yet answered
        self._cancelled: set[str | int] = set()  # request ids the client cancelled: never answered
        self._lock = threading.Lock()  # the reader thread adds ids, the writer removes them
        self.stopping = False
        self.broken = anyio.Event()  # the client closed our stdout

    # -- reading, in a daemon thread ----------------------------------------------------------------
    def read_lines(self, send: MemoryObjectSendStream[SessionMessage | Exception], token: Any) -> None:
        """Parse each stdin line and hand it to the event loop; at EOF close the stream."""
        try:
            with os.fdopen(self._fd_in, "rb", closefd=False) as stdin:
                for raw in stdin:
                    line = raw.decode("utf-8", errors="replace")
                    item: SessionMessage | Exception
                    try:
                        message = mcp_types.jsonrpc_message_adapter.validate_json(line, by_name=False)
                    except Exception as error:  # the dispatcher reports it and reads on
                        item = error
                    else:
                        self._note(message)
                        item = SessionMessage(message)
                    anyio.from_thread.run(send.send, item, token=token)
            anyio.from_thread.run(send.aclose, token=token)
        except (RuntimeError, anyio.BrokenResourceError, anyio.ClosedResourceError):
            pass  # the event loop or the session ended first: nobody is left to read for
        except OSError as error:
            logger.warning("stdin failed: %s", error)
            anyio.from_thread.run_sync(send.close, token=token)

    def _note(self, message: mcp_types.JSONRPCMessage) -> None:
        """Keep track of what is owed an answer: a request is, until the client cancels it."""
        if isinstance(message, mcp_types.JSONRPCRequest):
            with self._lock:
                self._pending.add(message.id)
                self._cancelled.discard(message.id)  # an id used again is a new request
        elif isinstance(message, mcp_types.JSONRPCNotification) and message.method == "notifications/cancelled":
            cancelled = cancelled_request_id_from_params(message.params)
            if cancelled is None:
                return
            key = coerce_request_id(cancelled)  # as the SDK matches it: "7" cancels request 7
            with self._lock:
                found = {pending for pending in self._pending if coerce_request_id(pending) == key}
                self._pending -= found
                self._cancelled |= found

    # -- writing ------------------------------------------------------------------------------------
    async def write_all(self, outgoing: MemoryObjectReceiveStream[SessionMessage]) -> None:
        """Write every outgoing message, in order, until the stream closes or stdout does."""
        async with outgoing:
            async for message in outgoing:
                if self.broken.is_set():
                    continue  # drain, so that no sender blocks on a wire nobody reads
                line = self._encode(message.message)
                if not line:
                    continue  # nothing is owed: an answer to a request the client cancelled
                try:
                    await anyio.to_thread.run_sync(self._write, line)
                except OSError as error:  # EPIPE: the client went away; end like EOF, quietly
                    logger.info("stdout closed by the client (%s); stopping", type(error).__name__)
                    self.broken.set()

    def _write(self, data: bytes) -> None:
        view = memoryview(data)
        while view:
            view = view[os.write(self._fd_out, view[:WRITE_CHUNK]) :]

    def _encode(self, message: mcp_types.JSONRPCMessage) -> bytes:
        """The message as one line of UTF-8 JSON; cleaned when it cannot be encoded as it is."""
        answers = message.id if isinstance(message, mcp_types.JSONRPCResponse | mcp_types.JSONRPCError) else None
        if answers is not None:
            with self._lock:
                self._pending.discard(answers)
                cancelled = answers in self._cancelled
                self._cancelled.discard(answers)
            if cancelled:  # the SDK may not have read the cancellation yet when shutdown cut its handler
                return b""
            if self.stopping and isinstance(message, mcp_types.JSONRPCError):
                if message.error.code == mcp_types.CONNECTION_CLOSED:  # the SDK's word for our shutdown
                    message = _refusal(answers)
        try:
            text = message.model_dump_json(by_alias=True, exclude_unset=True)
        except (PydanticSerializationError, ValueError):
            data = encodable_data(message.model_dump(by_alias=True, exclude_unset=True, mode="python"))
            try:
                text = json.dumps(data, ensure_ascii=False, allow_nan=False, default=str)
            except ValueError:  # NaN and the like: answer the request all the same, with an error
                logger.exception("could not encode an outgoing message")
                if answers is None:
                    return b""
                text = _unencodable(answers).model_dump_json(by_alias=True, exclude_unset=True)
        return (text + "\n").encode("utf-8")

    def unanswered(self) -> list[str | int]:
        """The requests read and not yet answered."""
        with self._lock:
            return sorted(self._pending, key=str)


def _refusal(request_id: str | int) -> mcp_types.JSONRPCError:
    error = mcp_types.ErrorData(code=mcp_types.CONNECTION_CLOSED, message=SHUTTING_DOWN)
    return mcp_types.JSONRPCError(jsonrpc="2.0", id=request_id, error=error)


def _unencodable(request_id: str | int) -> mcp_types.JSONRPCError:
    error = mcp_types.ErrorData(code=mcp_types.INTERNAL_ERROR, message="the answer could not be encoded as JSON")
    return mcp_types.JSONRPCError(jsonrpc="2.0", id=request_id, error=error)


def _claim_standard_streams() -> tuple[int, int]:
    """Private duplicates of stdin and stdout for the wire; fd 0 then reads /dev/null, fd 1 writes stderr."""
    fd_in, fd_out = os.dup(0), os.dup(1)
    null = os.open(os.devnull, os.O_RDONLY)
    os.dup2(null, 0)
    os.close(null)
    os.dup2(2, 1)
    return fd_in, fd_out


async def serve_stdio(server: MCPServer, stopped: anyio.Event) -> None:
    """Serve `server` on stdin/stdout until stdin closes, stdout breaks, or `stopped` is set.

    On `stopped`, every request in flight is cancelled and answered with "server shutting down"; the
    answers are written before this returns.
    """
    wire = StdioWire(*_claim_standard_streams())
    incoming_send, incoming = anyio.create_memory_object_stream[SessionMessage | Exception](0)
    outgoing_send, outgoing = anyio.create_memory_object_stream[SessionMessage](0)
    reader = threading.Thread(
        target=wire.read_lines,
        args=(incoming_send, anyio.lowlevel.current_token()),
        name="junior-ai-stdin",
        daemon=True,
    )
    async with anyio.create_task_group() as group:
        group.start_soon(wire.write_all, outgoing)
        reader.start()
        with anyio.CancelScope() as serving:
            group.start_soon(_stop_when, serving, stopped, wire)
            # The lowlevel server is private in the SDK; its own in-memory client reaches it the same way.
            lowlevel = server._lowlevel_server
            await lowlevel.run(incoming, outgoing_send.clone(), lowlevel.create_initialization_options())
        # Whatever the server could not answer itself (a handler past its shutdown write, say).
        with anyio.CancelScope(shield=True):
            for request_id in wire.unanswered():
                await outgoing_send.send(SessionMessage(_refusal(request_id)))
            await outgoing_send.aclose()
        stopped.set()  # ends the watcher when the session ended on its own


async def _stop_when(scope: anyio.CancelScope, stopped: anyio.Event, wire: StdioWire) -> None:
    async with anyio.create_task_group() as group:

        async def on(event: anyio.Event) -> None:
            await event.wait()
            group.cancel_scope.cancel()

        group.start_soon(on, stopped)
        group.start_soon(on, wire.broken)
    wire.stopping = True
    scope.cancel()
