"""A loopback stand-in for OpenAI's Responses API whose "model" follows a script: Codex's CLI, pointed at it by a
model provider of its config (`-c model_providers.<id>.base_url=<base_url>/v1`, `wire_api="responses"`, `env_key`),
runs its agent loop against it without a login and without anything leaving the machine.

    POST /v1/responses     a scripted turn, streamed as server-sent events (or one JSON response without `stream`)
    anything else          404, recorded

The stream is the Responses API's: `response.created`, per output item `response.output_item.added`, its text
deltas (`response.output_text.delta`) and `response.output_item.done`, then `response.completed` with the usage.
A scripted `Call` is a `function_call` item when the request offers the tool as a function (with its `namespace` for
a tool of a namespace, named "<namespace>.<tool>"), a `custom_tool_call` when it offers it as a custom (free-form)
tool, whose input is then `args["input"]`. A request whose key
(`authorization: Bearer ...`) is not `key` gets the API's 401.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response, StreamingResponse
from starlette.routing import Route

from tests.fakes.scripted import Call, LoopbackServer, Recorded, Script

__all__ = ["KEY", "ResponsesModel", "input_texts"]

KEY = "sk-fake-responses-not-a-real-key"  # the key the stand-in accepts
TOOL_RESULTS = ("function_call_output", "custom_tool_call_output")


@dataclass
class ResponsesModel(LoopbackServer):
    """The stand-in; `with ResponsesModel(Script(...)) as model:` serves it at `model.base_url` + "/v1"."""

    script: Script = field(default_factory=Script)
    key: str = KEY

    def _app(self) -> Starlette:
        return Starlette(
            routes=[
                Route("/v1/responses", self._responses, methods=["POST"]),
                Route("/{path:path}", self._elsewhere, methods=["GET", "POST", "HEAD", "PUT", "DELETE"]),
            ]
        )

    def turns(self) -> list[dict[str, Any]]:
        """The bodies of the Responses requests, in order."""
        return [r.body for r in self.recorded() if r.path.startswith("/v1/responses")]

    async def _responses(self, request: Request) -> Response:
        body = await request.json()
        self.record(Recorded(str(request.url.path), dict(request.headers), body))
        if request.headers.get("authorization") != f"Bearer {self.key}":
            error = {"message": "Incorrect API key provided.", "type": "invalid_request_error", "param": None}
            return JSONResponse({"error": {**error, "code": "invalid_api_key"}}, status_code=401)
        results = sum(1 for item in body.get("input") or [] if item.get("type") in TOOL_RESULTS)
        item = _item(self.script.step(results), self.script.answer, _offered(body))
        usage = {
            "input_tokens": self.script.input_tokens,
            "input_tokens_details": {"cached_tokens": 0},
            "output_tokens": self.script.output_tokens,
            "output_tokens_details": {"reasoning_tokens": 0},
            "total_tokens": self.script.input_tokens + self.script.output_tokens,
        }
        response = {
            "id": f"resp_{uuid.uuid4().hex}",
            "object": "response",
            "model": body.get("model", "gpt-scripted"),
            "status": "completed",
            "output": [item],
            "usage": usage,
        }
        if not body.get("stream"):
            return JSONResponse(response)
        return StreamingResponse(_events(response), media_type="text/event-stream")

    async def _elsewhere(self, request: Request) -> Response:
        self.record(Recorded(str(request.url.path), dict(request.headers), {}))
        return JSONResponse({"error": {"message": "not here", "type": "invalid_request_error"}}, status_code=404)


def input_texts(body: dict[str, Any], role: str) -> list[str]:
    """The texts of a Responses request's `input` messages of this role ("user", "assistant"), in order."""
    texts: list[str] = []
    for item in body.get("input") or []:
        if item.get("type", "message") == "message" and item.get("role") == role:
            content = item.get("content")
            if isinstance(content, str):
                texts.append(content)
            for part in content if isinstance(content, list) else []:
                if isinstance(part, dict) and isinstance(part.get("text"), str):
                    texts.append(part["text"])
    return texts


def _offered(body: dict[str, Any]) -> dict[str, str]:
    """The tools a request offers, name → "function", "custom" or "namespace" (a tool of a namespace, such as an
    MCP server's, is named "<namespace>.<tool>": `mcp__writer.write_note`)."""
    offered: dict[str, str] = {}
    for tool in body.get("tools") or []:
        if tool.get("type") == "namespace":
            offered |= {f"{tool.get('name')}.{inner.get('name')}": "namespace" for inner in tool.get("tools") or []}
        elif tool.get("name"):
            offered[str(tool["name"])] = str(tool.get("type"))
    return offered


def _item(call: Call | None, answer: str, offered: dict[str, str]) -> dict[str, Any]:
    """The output item of a turn: the scripted tool call (as the request offers that tool), else the answer."""
    if call is None or (call.name not in offered and not call.forced):
        text = answer if call is None else f"the tool {call.name} is not offered: {sorted(offered)}"
        content = [{"type": "output_text", "text": text, "annotations": []}]
        message = {"type": "message", "id": f"msg_{uuid.uuid4().hex}", "status": "completed", "role": "assistant"}
        return {**message, "content": content}
    call_id = f"call_{uuid.uuid4().hex[:24]}"
    if offered.get(call.name) == "custom":
        return {"type": "custom_tool_call", "id": f"ctc_{uuid.uuid4().hex}", "status": "completed", "call_id": call_id,
                "name": call.name, "input": str(call.args.get("input", ""))}  # fmt: skip
    namespace, _, name = call.name.rpartition(".") if offered.get(call.name) == "namespace" else ("", "", call.name)
    item = {"type": "function_call", "id": f"fc_{uuid.uuid4().hex}", "status": "completed", "call_id": call_id,
            "name": name, "arguments": json.dumps(call.args)}  # fmt: skip
    return {**item, "namespace": namespace} if namespace else item


async def _events(response: dict[str, Any]) -> AsyncIterator[bytes]:
    """The response as the Responses API streams it."""
    sequence = 0

    def event(kind: str, data: dict[str, Any]) -> bytes:
        nonlocal sequence
        sequence += 1
        return f"event: {kind}\ndata: {json.dumps({'type': kind, 'sequence_number': sequence, **data})}\n\n".encode()

    yield event("response.created", {"response": {**response, "status": "in_progress", "output": [], "usage": None}})
    for index, item in enumerate(response["output"]):
        if item["type"] == "message":
            yield event("response.output_item.added", {"output_index": index, "item": {**item, "content": []}})
            text = item["content"][0]["text"]
            ids = {"item_id": item["id"], "output_index": index, "content_index": 0}
            yield event("response.output_text.delta", {**ids, "delta": text})
            yield event("response.output_text.done", {**ids, "text": text})
        else:
            yield event("response.output_item.added", {"output_index": index, "item": item})
        yield event("response.output_item.done", {"output_index": index, "item": item})
    yield event("response.completed", {"response": response})
