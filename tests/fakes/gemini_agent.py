"""A loopback stand-in for the Gemini API whose "model" follows a script: Gemini CLI, pointed at it with
`GOOGLE_GEMINI_BASE_URL` (loopback may be plain http) and `GEMINI_API_KEY`, runs its agent loop against it without
a login and without anything leaving the machine.

    POST /v1beta/models/<model>:streamGenerateContent?alt=sse   a scripted turn, as server-sent events
    POST /v1beta/models/<model>:generateContent                 the same turn, as one JSON answer
    POST /v1beta/models/<model>:countTokens                     a token count
    anything else                                               404, recorded

A turn of the agent loop is a request that offers function declarations: it gets the script's next call (a
`functionCall` part) or its answer. A request that asks for JSON (`generationConfig.responseMimeType`) is one of
the CLI's own side questions (which model, who speaks next): it gets a JSON object saying the user speaks next.
Any other request gets the answer's text. A request whose `x-goog-api-key` is not `key` gets the API's 400
"API key not valid" (what Google answers to a wrong key).
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response, StreamingResponse
from starlette.routing import Route

from tests.fakes.scripted import LoopbackServer, Recorded, Script

__all__ = ["KEY", "GeminiModel", "content_texts"]

KEY = "AIza-fake-gemini-not-a-real-key"  # the key the stand-in accepts
SIDE_ANSWER = {"reasoning": "scripted", "next_speaker": "user", "model_choice": "flash"}


@dataclass
class GeminiModel(LoopbackServer):
    """The stand-in; `with GeminiModel(script=Script(...)) as model:` serves it at `model.base_url`."""

    script: Script = field(default_factory=Script)
    key: str = KEY

    def _app(self) -> Starlette:
        return Starlette(
            routes=[
                Route("/{version}/models/{model}:streamGenerateContent", self._stream, methods=["POST"]),
                Route("/{version}/models/{model}:generateContent", self._generate, methods=["POST"]),
                Route("/{version}/models/{model}:countTokens", self._count, methods=["POST"]),
                Route("/{path:path}", self._elsewhere, methods=["GET", "POST", "HEAD", "PUT", "DELETE"]),
            ]
        )

    def turns(self) -> list[dict[str, Any]]:
        """The bodies of the agent loop's requests (those that offer tools), in order."""
        return [r.body for r in self.recorded() if "GenerateContent" in r.path and _declared(r.body)]

    async def _read(self, request: Request) -> tuple[dict[str, Any], Response | None]:
        body = await request.json()
        self.record(Recorded(f"{request.url.path}?{request.url.query}", dict(request.headers), body))
        if request.headers.get("x-goog-api-key") != self.key:
            message = "API key not valid. Please pass a valid API key."
            error = {"code": 400, "message": message, "status": "INVALID_ARGUMENT"}
            return body, JSONResponse({"error": error}, status_code=400)
        return body, None

    async def _stream(self, request: Request) -> Response:
        body, refused = await self._read(request)
        if refused is not None:
            return refused
        answer = self._answer(body, request.path_params["model"])
        return StreamingResponse(_events(answer), media_type="text/event-stream")

    async def _generate(self, request: Request) -> Response:
        body, refused = await self._read(request)
        return refused or JSONResponse(self._answer(body, request.path_params["model"]))

    async def _count(self, request: Request) -> Response:
        _body, refused = await self._read(request)
        return refused or JSONResponse({"totalTokens": self.script.input_tokens})

    async def _elsewhere(self, request: Request) -> Response:
        self.record(Recorded(f"{request.url.path}?{request.url.query}", dict(request.headers), {}))
        return JSONResponse({"error": {"code": 404, "message": "not here", "status": "NOT_FOUND"}}, status_code=404)

    def _answer(self, body: dict[str, Any], model: str) -> dict[str, Any]:
        """The GenerateContentResponse for this request (see the module's docstring)."""
        declared = _declared(body)
        part: dict[str, Any]
        if (body.get("generationConfig") or {}).get("responseMimeType") == "application/json":
            part = {"text": json.dumps(SIDE_ANSWER)}
        elif not declared:
            part = {"text": self.script.answer}
        else:
            parts = [p for content in body.get("contents") or [] for p in content.get("parts") or []]
            results = sum(1 for p in parts if "functionResponse" in p)
            call = self.script.step(results)
            if call is None:
                part = {"text": self.script.answer}
            elif call.name not in declared and not call.forced:
                part = {"text": f"the tool {call.name} is not offered: {sorted(declared)}"}
            else:
                part = {"functionCall": {"name": call.name, "args": call.args}}
        usage = {
            "promptTokenCount": self.script.input_tokens,
            "candidatesTokenCount": self.script.output_tokens,
            "totalTokenCount": self.script.input_tokens + self.script.output_tokens,
        }
        candidate = {"content": {"role": "model", "parts": [part]}, "finishReason": "STOP", "index": 0}
        return {"candidates": [candidate], "usageMetadata": usage, "modelVersion": model}


def content_texts(body: dict[str, Any], role: str) -> list[str]:
    """The texts of a Gemini request's `contents` of this role ("user", "model"), in order."""
    return [
        str(part["text"])
        for content in body.get("contents") or []
        if content.get("role") == role
        for part in content.get("parts") or []
        if isinstance(part.get("text"), str)
    ]


def _declared(body: dict[str, Any]) -> set[str]:
    """The function names a request declares."""
    return {
        str(declaration.get("name"))
        for tool in body.get("tools") or []
        for declaration in tool.get("functionDeclarations") or []
    }


async def _events(answer: dict[str, Any]) -> AsyncIterator[bytes]:
    """The answer as `:streamGenerateContent?alt=sse` sends it: one `data:` event (the whole turn)."""
    yield f"data: {json.dumps(answer)}\r\n\r\n".encode()
