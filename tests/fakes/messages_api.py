"""A loopback stand-in for Anthropic's Messages API whose "model" follows a script: Claude Code's CLI,
pointed at it with `ANTHROPIC_BASE_URL` and any API key, runs the agent loop against it without a login and
without anything leaving the machine.

    POST /v1/messages                 a scripted turn (a stream of server-sent events, or one JSON message)
    POST /v1/messages/count_tokens    a token count
    anything else                     404, recorded

The script is a list of steps, each one tool call: a `ToolUse(name, input)`, or a function of the
conversation so far (`Conversation`: the user's text, the tool results) that returns one: to pass on a
`job_id` the previous call returned, or to act on what a slash command's message asked; a function that
returns None ends the script there (a poll once the job is done). A request whose `tools`
offer the step's tool (by its short name: Claude Code names an MCP tool `mcp__<server>__<tool>`) gets the
next step, chosen by how many tool results its conversation already holds; once the script is done, the
model answers `DONE` and stops. Any other request (a title, a summary, a quota probe) gets a short text.
Every request is recorded (`requests`: path and JSON body).
"""

from __future__ import annotations

import json
import threading
import uuid
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from typing import Any

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response, StreamingResponse
from starlette.routing import Route

from tests.fakes.loopback import InThread, serve_in_thread

__all__ = ["FINAL_TEXT", "Conversation", "ScriptedModel", "Step", "ToolUse"]

FINAL_TEXT = "DONE"  # what the model says once its script is done
OTHER_TEXT = "ok"  # its answer to any request outside the script


@dataclass(frozen=True)
class ToolUse:
    """One tool call by the scripted model: the tool's short name (`ask_ai`) and its arguments."""

    name: str
    input: dict[str, Any]


@dataclass(frozen=True)
class Conversation:
    """What the model has been sent so far: the user's text (a slash command's message, expanded), and the
    tool results' texts, in order."""

    user_text: str
    results: list[str]


# A step: a tool call, or a function of the conversation so far that makes one (None: the script ends here).
Step = ToolUse | Callable[[Conversation], ToolUse | None]


@dataclass
class ScriptedModel:
    """The stand-in server; `with ScriptedModel([ToolUse("ask_ai", {...})]) as model:` runs it on a free
    loopback port (`model.base_url`)."""

    steps: list[Step] = field(default_factory=list)
    # The answer to a request outside the script (one that offers no scripted tool), from the user's text.
    reply: Callable[[str], str] = lambda _text: OTHER_TEXT
    requests: list[tuple[str, dict[str, Any]]] = field(default_factory=list)
    port: int = 0
    _lock: threading.Lock = field(default_factory=threading.Lock)
    _running: InThread | None = None

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> ScriptedModel:
        app = Starlette(
            routes=[
                Route("/v1/messages", self._messages, methods=["POST"]),
                Route("/v1/messages/count_tokens", self._count_tokens, methods=["POST"]),
                Route("/{path:path}", self._elsewhere, methods=["GET", "POST", "HEAD", "PUT", "DELETE"]),
            ]
        )
        self._running = serve_in_thread(app, "the Messages API stand-in")
        self.port = self._running.port
        return self

    def stop(self) -> None:
        if self._running:
            self._running.stop()

    def __enter__(self) -> ScriptedModel:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def scripted_requests(self) -> list[dict[str, Any]]:
        """The bodies of the requests that offered a scripted tool (the agent loop's turns)."""
        with self._lock:
            return [body for path, body in self.requests if path == "/v1/messages" and _offered(body)]

    # -- the HTTP side ---------------------------------------------------------------------------
    async def _messages(self, request: Request) -> Response:
        body = await request.json()
        with self._lock:
            self.requests.append(("/v1/messages", body))
        content = self._turn(body)
        message = {
            "id": f"msg_{uuid.uuid4().hex[:24]}",
            "type": "message",
            "role": "assistant",
            "model": body.get("model", "claude-scripted"),
            "content": content,
            "stop_reason": "tool_use" if content[-1]["type"] == "tool_use" else "end_turn",
            "stop_sequence": None,
            "usage": {"input_tokens": 10, "output_tokens": 5},
        }
        if not body.get("stream"):
            return JSONResponse(message)
        return StreamingResponse(_events(message), media_type="text/event-stream")

    async def _count_tokens(self, request: Request) -> Response:
        with self._lock:
            self.requests.append(("/v1/messages/count_tokens", await request.json()))
        return JSONResponse({"input_tokens": 10})

    async def _elsewhere(self, request: Request) -> Response:
        with self._lock:
            self.requests.append((request.url.path, {}))
        return JSONResponse({"type": "error", "error": {"type": "not_found_error", "message": "no"}}, status_code=404)

    def _turn(self, body: dict[str, Any]) -> list[dict[str, Any]]:
        """The model's content blocks for this request: the script's next tool call, or text."""
        results = _tool_results(body.get("messages", []))
        offered = _offered(body)
        if not offered:
            return [{"type": "text", "text": self.reply(_user_text(body.get("messages", [])))}]
        if len(results) >= len(self.steps):
            return [{"type": "text", "text": FINAL_TEXT}]
        step = self.steps[len(results)]
        call = step if isinstance(step, ToolUse) else step(Conversation(_user_text(body["messages"]), results))
        if call is None:
            return [{"type": "text", "text": FINAL_TEXT}]
        name = offered.get(call.name)
        if name is None:
            return [{"type": "text", "text": f"the tool {call.name} is not offered: {sorted(offered)}"}]
        return [{"type": "tool_use", "id": f"toolu_{uuid.uuid4().hex[:24]}", "name": name, "input": call.input}]


def _offered(body: dict[str, Any]) -> dict[str, str]:
    """The MCP tools a request offers, short name → the name the client gave it (`mcp__server__tool`)."""
    names = [tool.get("name", "") for tool in body.get("tools") or [] if isinstance(tool, dict)]
    return {name.rpartition("__")[2]: name for name in names if name.startswith("mcp__")}


def _tool_results(messages: list[dict[str, Any]]) -> list[str]:
    """The texts of the tool results in a conversation, in order."""
    texts: list[str] = []
    for message in messages:
        content = message.get("content")
        for block in content if isinstance(content, list) else []:
            if isinstance(block, dict) and block.get("type") == "tool_result":
                inner = block.get("content")
                if isinstance(inner, list):
                    inner = "\n".join(part.get("text", "") for part in inner if isinstance(part, dict))
                texts.append(str(inner or ""))
    return texts


def _user_text(messages: list[dict[str, Any]]) -> str:
    """The text the user sent (every text block of the user's messages, tool results aside)."""
    texts: list[str] = []
    for message in messages:
        content = message.get("content")
        if message.get("role") != "user":
            continue
        if isinstance(content, str):
            texts.append(content)
        for block in content if isinstance(content, list) else []:
            if isinstance(block, dict) and block.get("type") == "text":
                texts.append(str(block.get("text", "")))
    return "\n".join(texts)


async def _events(message: dict[str, Any]) -> AsyncIterator[bytes]:
    """The message as the Messages API streams it: message_start, each block's start, delta and stop,
    message_delta (the stop reason), message_stop."""

    def event(kind: str, data: dict[str, Any]) -> bytes:
        return f"event: {kind}\ndata: {json.dumps({'type': kind, **data})}\n\n".encode()

    yield event("message_start", {"message": {**message, "content": [], "stop_reason": None}})
    for index, block in enumerate(message["content"]):
        if block["type"] == "text":
            yield event("content_block_start", {"index": index, "content_block": {"type": "text", "text": ""}})
            delta = {"type": "text_delta", "text": block["text"]}
        else:
            yield event("content_block_start", {"index": index, "content_block": {**block, "input": {}}})
            delta = {"type": "input_json_delta", "partial_json": json.dumps(block["input"])}
        yield event("content_block_delta", {"index": index, "delta": delta})
        yield event("content_block_stop", {"index": index})
    stop = {"stop_reason": message["stop_reason"], "stop_sequence": None}
    yield event("message_delta", {"delta": stop, "usage": {"output_tokens": 5}})
    yield event("message_stop", {})
