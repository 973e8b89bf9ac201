"""The OpenAI-compatible wire format (OpenAI, Grok, DeepSeek, OpenRouter, Ollama and any endpoint that
speaks it), through the openai SDK: building its client, the chat-completion body, reading an answer, a
stream, an error and the model list. The sync and async clients (ai.sync_client, ai.async_client) are
thin classes over these functions.

The SDK client is built with every setting given explicitly, so that no AI picks up another's settings
from the environment: the openai SDK would read OPENAI_API_KEY, OPENAI_ORG_ID, OPENAI_PROJECT_ID,
OPENAI_BASE_URL, OPENAI_ADMIN_KEY, OPENAI_WEBHOOK_SECRET and OPENAI_CUSTOM_HEADERS for Grok and Ollama too.

Everything the SDK builds from an answer is untrusted: it builds a ChatCompletion from any JSON without
validation, and a streamed chunk is raw JSON (any value at all); each field is checked here before it is
used, and anything unusable ends as a typed error, never a crash.
"""

from __future__ import annotations

import base64
import json
import os
from collections.abc import AsyncIterator, Mapping
from typing import TYPE_CHECKING, Any

from ai.base import ClientBase
from ai.body_cap import body_hooks
from ai.clean import answer_text, message_of, model_ids, name_of, usage_of
from ai.errors import MODEL_LIST, answer_of, clean_reason, status_error, transport_error
from ai.request import Completion, Request, Usage
from ai.stream import Received, kept_at_cap
from core.errors import (
    ContentBlocked,
    EmptyResponse,
    InvalidResponse,
    ProviderError,
    ProviderServerError,
    ProviderTimeout,
    ProviderUnreachable,
)
from core.redact import Redactor

if TYPE_CHECKING:
    from openai import AsyncOpenAI, OpenAI

__all__ = [
    "CHAT_PATH",
    "ask",
    "ask_sync",
    "chat_post",
    "is_event_stream",
    "list_models",
    "list_models_sync",
    "new_sdk",
    "new_sdk_sync",
    "openai_error",
    "openai_json",
    "openai_usage",
    "read_openai",
    "read_openai_models",
    "read_openai_stream",
    "request_body",
]

CHAT_PATH = "/chat/completions"


# -- Asking -----------------------------------------------------------------------------------------


async def ask(client: ClientBase, sdk: AsyncOpenAI, request: Request, timeout: float, received: Received) -> Completion:
    """Send `request` once through the async SDK client and read the answer: streamed into `received` when
    the client streams (an answer cut at the size cap is its text so far), else whole.

    Raises:
        ProviderError: the provider failed or answered with nothing usable (typed; see core.errors).
    """
    # Built outside the answer's region: if this fails, nothing was sent and the sync client may try.
    body = request_body(client, request, timeout)
    name, model, redactor = client.name, body["model"], client.redactor
    with answer_of(name, model, redactor, openai_error):
        if not client.stream:
            return read_openai(name, model, await sdk.post(**chat_post(body)), redactor)
        async with await sdk.post(**chat_post(body, stream=True)) as chunks:
            if not is_event_stream(chunks.response.headers):  # a proxy that does not stream: one answer
                return read_openai(name, model, openai_json(await chunks.response.aread()), redactor)
            return await kept_at_cap(
                read_openai_stream(name, model, chunks, received, redactor), received, model, redactor
            )


def ask_sync(client: ClientBase, sdk: OpenAI, request: Request, timeout: float) -> Completion:
    """`ask` through the sync SDK client, which never streams.

    Raises:
        ProviderError: the provider failed or answered with nothing usable (typed; see core.errors).
    """
    body = request_body(client, request, timeout)
    with answer_of(client.name, body["model"], client.redactor, openai_error):
        return read_openai(client.name, body["model"], sdk.post(**chat_post(body)), client.redactor)


async def list_models(client: ClientBase, sdk: AsyncOpenAI, timeout: float) -> list[str]:
    """The model ids of `/models` (one request), through the async SDK client.

    Raises:
        ProviderError: the provider failed or answered with something that is not a model list.
    """
    with answer_of(client.name, MODEL_LIST, client.redactor, openai_error):
        return read_openai_models(client.name, await sdk.models.list(timeout=timeout), client.redactor)


def list_models_sync(client: ClientBase, sdk: OpenAI, timeout: float) -> list[str]:
    """`list_models` through the sync SDK client.

    Raises:
        ProviderError: the provider failed or answered with something that is not a model list.
    """
    with answer_of(client.name, MODEL_LIST, client.redactor, openai_error):
        return read_openai_models(client.name, sdk.models.list(timeout=timeout), client.redactor)


# -- The SDK client and the request ------------------------------------------------------------------


def new_sdk(client: ClientBase) -> AsyncOpenAI:
    """A new `AsyncOpenAI` for `client`, every setting given: none from the environment."""
    import openai

    return openai.AsyncOpenAI(**_sdk_args(client, asynchronous=True))


def new_sdk_sync(client: ClientBase) -> OpenAI:
    """A new `OpenAI` (sync) for `client`, every setting given: none from the environment."""
    import openai

    return openai.OpenAI(**_sdk_args(client, asynchronous=False))


def _sdk_args(client: ClientBase, asynchronous: bool) -> dict[str, Any]:
    import httpx2
    import openai

    timeout = openai.Timeout(client.timeout, connect=min(client.connect_timeout, client.timeout))
    http_client = httpx2.AsyncClient if asynchronous else httpx2.Client
    key = client.key()
    headers: dict[str, Any] = {name: openai.Omit() for name in _ambient_headers()}
    # Given here, an Authorization header also makes the SDK drop one from OPENAI_CUSTOM_HEADERS.
    headers["Authorization"] = f"Bearer {key}"
    # None would make the SDK read OPENAI_ORG_ID / OPENAI_PROJECT_ID; Omit sends no header at all.
    headers["OpenAI-Organization"] = client.organization or openai.Omit()
    headers["OpenAI-Project"] = client.project or openai.Omit()
    hooks = body_hooks(client.max_answer_bytes, asynchronous)
    return {
        "api_key": key,
        "organization": client.organization or "",
        "project": client.project or "",
        "admin_api_key": "",  # never sent on chat completions; "" keeps OPENAI_ADMIN_KEY unread
        "webhook_secret": "",  # never used here; "" keeps OPENAI_WEBHOOK_SECRET unread
        "base_url": client.base_url,
        "timeout": timeout,
        "max_retries": 0,  # one retry loop in the whole server, ours
        "default_headers": headers,
        "http_client": http_client(timeout=timeout, event_hooks=hooks, **client.http_args()),
    }


def _ambient_headers() -> list[str]:
    """The header names OPENAI_CUSTOM_HEADERS adds to every request of every openai SDK client (parsed
    as the SDK parses it), so that they can be omitted explicitly."""
    names = []
    for line in os.environ.get("OPENAI_CUSTOM_HEADERS", "").split("\n"):
        name, colon, _ = line.partition(":")
        if colon and name.strip() and name.strip().lower() != "authorization":
            names.append(name.strip())
    return names


def request_body(client: ClientBase, request: Request, timeout: float) -> dict[str, Any]:
    """The chat-completion body of `request` (its `timeout` key, when not the client's, is the SDK's option)."""
    messages: list[dict[str, Any]] = [{"role": "system", "content": request.system}] if request.system else []
    *earlier, last = request.messages  # the prompt, joined with any user turn just before it
    messages.extend({"role": turn.role, "content": turn.text} for turn in earlier)
    messages.append({"role": "user", "content": _content(last.text, request)})
    body: dict[str, Any] = {"model": request.model or client.model, "messages": messages}
    if request.temperature is not None:
        body["temperature"] = request.temperature
    if request.max_tokens is not None:
        body[client.max_tokens_param] = request.max_tokens
    if timeout != client.timeout:
        body["timeout"] = timeout
    return body


def _content(text: str, request: Request) -> str | list[dict[str, Any]]:
    """The last user turn's content: its text, or with images a list of parts, each image as a data URL."""
    if not request.images:
        return text
    parts: list[dict[str, Any]] = [{"type": "text", "text": text}]
    for image in request.images:
        url = f"data:{image.mime};base64,{base64.b64encode(image.data).decode('ascii')}"
        parts.append({"type": "image_url", "image_url": {"url": url}})
    return parts


def chat_post(body: dict[str, Any], stream: bool = False) -> dict[str, Any]:
    """The arguments of the SDK's `post` for a chat completion whose body we built ourselves:
    `chat.completions.create` first walks every message through the SDK's type transform, which for
    plain-string messages changes nothing and costs about 0.15 ms a message (8 ms for a 50-turn
    thread). Same request on the wire: the body as given, the key as bearer auth, the call's timeout.

    With `stream`, the answer is asked for as a stream with the usage in its last chunk, and `post`
    returns an `AsyncStream` of raw JSON chunks (`object`: the SDK builds no model of them; they are
    checked field by field in ai.stream).
    """
    from openai import AsyncStream
    from openai.types.chat import ChatCompletion

    body = dict(body)
    options: dict[str, Any] = {"security": {"bearer_auth": True}}
    if "timeout" in body:
        options["timeout"] = body.pop("timeout")
    post = {"path": CHAT_PATH, "cast_to": ChatCompletion, "body": body, "options": options}
    if stream:
        body["stream"] = True
        body["stream_options"] = {"include_usage": True}
        post |= {"stream": True, "stream_cls": AsyncStream[object]}
    return post


# -- Reading the answer -----------------------------------------------------------------------------


def read_openai(ai: str, model: str, response: Any, redactor: Redactor) -> Completion:
    """Text and usage from a ChatCompletion, each field checked: the openai SDK builds it from any JSON
    without validation (a list, a str for an HTML page, fields of any type). The text and names are
    masked with `redactor` (see ai.clean).

    Raises:
        ContentBlocked: the provider's content filter stopped the answer.
        EmptyResponse: no choice, or a choice with no text.
        InvalidResponse: the answer does not have a ChatCompletion's shape.
    """
    choices = getattr(response, "choices", None)
    if not isinstance(choices, list):
        raise InvalidResponse(ai, model, f"the answer is not a chat completion ({_shape(response, choices)})")
    if not choices:
        raise EmptyResponse(ai, model, "the provider returned no choices")
    finish = name_of(getattr(choices[0], "finish_reason", None), redactor)
    message = getattr(choices[0], "message", None)
    text = getattr(message, "content", None)
    if finish == "content_filter":
        raise ContentBlocked(ai, model, "the provider's content filter stopped the answer")
    if text is not None and not isinstance(text, str):
        raise InvalidResponse(ai, model, f"the answer's text is a {type(text).__name__}, not a string")
    if not text or not text.strip():
        raise EmptyResponse(ai, model, f"the answer had no text (finish_reason={finish})")
    return Completion(
        text=answer_text(text, redactor),
        model=name_of(getattr(response, "model", None), redactor) or model,
        usage=openai_usage(getattr(response, "usage", None)),
        finish_reason=finish,
    )


def openai_usage(usage: Any) -> Usage | None:
    """An OpenAI-compatible `usage`, whatever its shape: the SDK keeps fields it does not know (OpenRouter's
    `cost`) and builds the known ones without checking them (a details object may be a str or a list)."""
    return usage_of(
        _field(usage, "prompt_tokens"),
        _field(usage, "completion_tokens"),
        cached=_field(_field(usage, "prompt_tokens_details"), "cached_tokens"),
        reasoning=_field(_field(usage, "completion_tokens_details"), "reasoning_tokens"),
        cost=_field(usage, "cost"),
    )


def read_openai_models(ai: str, page: Any, redactor: Redactor) -> list[str]:
    """The model ids of a `/models` answer (`{"object": "list", "data": [{"id": ...}, ...]}`), cleaned: the
    SDK builds the page from any JSON without validation, so each entry may be anything.

    Raises:
        InvalidResponse: the answer is not a model list.
    """
    data = getattr(page, "data", None)
    if not isinstance(data, list):
        raise InvalidResponse(ai, MODEL_LIST, f"the answer is not a model list ({_shape_of(page, 'data', data)})")
    return model_ids((_field(item, "id") for item in data), redactor=redactor)


def openai_error(ai: str, model: str, error: BaseException, redactor: Redactor) -> ProviderError | None:
    """Our error for an exception the openai SDK raised, or None when it is not the provider's doing."""
    import openai

    if isinstance(error, openai.APIStatusError):
        # The SDK keeps the body as it came: a dict, a list, an HTML page's text, nested to any depth.
        body = error.body
        reason = message_of(body) or (body if isinstance(body, str) else None) or error.message
        return status_error(ai, model, error.status_code, clean_reason(reason, redactor), error.response.headers)
    if isinstance(error, openai.APITimeoutError):
        return ProviderTimeout(ai, model, "the request timed out")
    if isinstance(error, openai.APIConnectionError):
        cause = error.__cause__
        detail = f" ({type(cause).__name__})" if cause else ""
        return ProviderUnreachable(ai, model, f"connection failed{detail}")
    if isinstance(error, openai.APIResponseValidationError):
        return InvalidResponse(ai, model, clean_reason(f"unreadable answer: {error}", redactor))
    if isinstance(error, openai.APIError):  # an {"error": ...} event in a stream: the provider gave up mid-answer
        reason = message_of({"error": error.body}) or "no reason given"
        return ProviderServerError(
            ai, model, clean_reason(f"the provider stopped the stream: {reason}", redactor), None
        )
    # Reading a body the SDK did not (a stream request's JSON), or a body that is not JSON.
    return transport_error(ai, model, error, redactor)


def is_event_stream(headers: Mapping[str, str]) -> bool:
    """Whether an answer is a server-sent event stream (what `stream: true` asks for), by its content type."""
    return headers.get("content-type", "").split(";", 1)[0].strip().lower() == "text/event-stream"


def openai_json(body: bytes) -> Any:
    """An answer that came as one JSON document where a stream was asked for (a proxy that does not stream),
    built as the SDK builds a ChatCompletion (without validation: `read_openai` checks it).

    Raises:
        ValueError: (json.JSONDecodeError, UnicodeDecodeError) the body is not JSON.
        RecursionError: the JSON is nested past the stack.
    """
    from openai.types.chat import ChatCompletion

    data = json.loads(body)
    return ChatCompletion.construct(**data) if isinstance(data, dict) else data


async def read_openai_stream(
    ai: str, model: str, chunks: AsyncIterator[Any], received: Received, redactor: Redactor
) -> Completion:
    """Read a chat-completion stream (`stream: true`) to its end, into `received`. Each chunk is raw JSON:
    `{"choices": [{"delta": {"content": "..."}, "finish_reason": null}], "model": ...}`; the last may carry
    only `usage` (`stream_options.include_usage`). A chunk without choices is skipped.

    Raises:
        InvalidResponse: a chunk does not have a chat-completion chunk's shape.
        ContentBlocked: the provider's content filter stopped the answer.
        EmptyResponse: the stream ended with no text.
    """
    async for chunk in chunks:
        if not isinstance(chunk, dict):
            raise InvalidResponse(ai, model, f"a stream chunk is a {type(chunk).__name__}, not a JSON object")
        received.model = received.model or name_of(chunk.get("model"), redactor)
        if chunk.get("usage") is not None:
            received.usage = openai_usage(chunk["usage"]) or received.usage
        choices = chunk.get("choices")
        if choices is None or choices == []:
            continue  # a usage chunk, or a provider's keep-alive
        if not isinstance(choices, list) or not isinstance(choices[0], dict):
            raise InvalidResponse(ai, model, "a stream chunk's choices are not a list of objects")
        choice = choices[0]
        received.finish_reason = name_of(choice.get("finish_reason"), redactor) or received.finish_reason
        delta = choice.get("delta", choice.get("message"))  # a whole message: a proxy's one-chunk stream
        text = delta.get("content") if isinstance(delta, dict) else None
        if text is not None and not isinstance(text, str):
            raise InvalidResponse(ai, model, f"a stream chunk's text is a {type(text).__name__}, not a string")
        if text:
            await received.add(text)
    if received.finish_reason == "content_filter":
        raise ContentBlocked(ai, model, "the provider's content filter stopped the answer")
    if not received.text.strip():
        raise EmptyResponse(ai, model, f"the answer had no text (finish_reason={received.finish_reason})")
    return received.completion(model, redactor)


def _shape(response: Any, choices: Any) -> str:
    if choices is None:
        return f"a {type(response).__name__} without choices"
    return f"choices is a {type(choices).__name__}"


def _field(item: Any, name: str) -> Any:
    """`item[name]` of a dict, else the attribute (None when there is neither)."""
    return item.get(name) if isinstance(item, dict) else getattr(item, name, None)


def _shape_of(response: Any, name: str, value: Any) -> str:
    if value is None:
        return f"a {type(response).__name__} without {name}"
    return f"{name} is a {type(value).__name__}"
