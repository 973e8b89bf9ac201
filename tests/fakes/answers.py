"""Provider answers for the fakes to send: well-formed ones of either API's shape, with any field
replaced by something hostile, and the raw bytes around them."""

from __future__ import annotations

import json
from typing import Any

from tests.fakes.provider import Behaviour

__all__ = ["DEPTH", "DIGITS", "JSON", "answer", "encoded", "nested", "raw", "with_usage"]

JSON = (("content-type", "application/json"),)
DEPTH = 3_000  # past Python's recursion limit, so the SDKs' json.loads raises RecursionError
DIGITS = "9" * 5_000  # past int's 4,300-digit limit, so json.loads raises ValueError


def answer(
    api: str, text: Any = "fine", *, model: Any = "m-1", finish: Any = None, usage: Any = (3, 4)
) -> dict[str, Any]:
    """A well-formed answer of `api`'s shape, with any field replaced by something hostile."""
    if api == "openai":
        return {
            "id": "chatcmpl-1",
            "object": "chat.completion",
            "created": 1,
            "model": model,
            "choices": [
                {"index": 0, "message": {"role": "assistant", "content": text}, "finish_reason": finish or "stop"}
            ],
            "usage": {"prompt_tokens": usage[0], "completion_tokens": usage[1], "total_tokens": 7},
        }
    return {
        "candidates": [{"content": {"role": "model", "parts": [{"text": text}]}, "finishReason": finish or "STOP"}],
        "usageMetadata": {"promptTokenCount": usage[0], "candidatesTokenCount": usage[1], "totalTokenCount": 7},
        "modelVersion": model,
    }


def raw(body: bytes | str, status: int = 200, headers: tuple[tuple[str, str], ...] = JSON) -> Behaviour:
    return Behaviour(status=status, headers=headers, raw=body.encode() if isinstance(body, str) else body)


def encoded(api: str, **fields: Any) -> str:
    return json.dumps(answer(api, **fields))  # ensure_ascii: a lone surrogate becomes the escape "\ud800"


def nested(api: str) -> str:
    """A good answer with one more field, nested DEPTH deep."""
    return encoded(api)[:-1] + ', "extra": ' + "[" * DEPTH + "]" * DEPTH + "}"


def with_usage(api: str, figure: str) -> str:
    """A good answer whose token counts are `figure`, written into the JSON as it is (NaN, 1e400...)."""
    return encoded(api, usage=(11111, 22222)).replace("11111", figure).replace("22222", figure)
