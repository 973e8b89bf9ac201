"""The Gemini wire format, through google-genai: building its client, the generateContent request,
reading an answer, a stream, an error and the model list. The sync and async clients (ai.sync_client,
ai.async_client) are thin classes over these functions.

The SDK client is built with every setting given explicitly, so that no AI picks up another's settings
from the environment: google-genai would read GOOGLE_GENAI_USE_VERTEXAI (and _ENTERPRISE),
GOOGLE_CLOUD_PROJECT / _LOCATION, GOOGLE_API_KEY, GOOGLE_GEMINI_BASE_URL, GOOGLE_GENAI_API_VERSION,
GOOGLE_GENAI_CLIENT_MODE (a replay recorder) and SSL_CERT_FILE.

A chunk or answer is a `GenerateContentResponse` google-genai has type-checked; its values are still the
provider's, and each is checked here before it is used. Error answers are read by our own HTTP hook
(`gemini_hook`) before google-genai parses them.
"""

from __future__ import annotations

from collections.abc import AsyncGenerator, AsyncIterator, Callable, Mapping
from contextlib import aclosing
from types import MappingProxyType
from typing import TYPE_CHECKING, Any, cast

from ai.base import ClientBase
from ai.body_cap import body_hooks
from ai.clean import MAX_MODELS, answer_text, body_reason, model_ids, name_of, token_count, usage_of
from ai.errors import MODEL_LIST, answer_of, clean_reason, status_error, transport_error
from ai.request import Completion, Request, Usage
from ai.stream import Received, kept_at_cap
from core.errors import ContentBlocked, EmptyResponse, InvalidResponse, ProviderError
from core.redact import Redactor

if TYPE_CHECKING:
    from google.genai import Client

__all__ = [
    "API_VERSION",
    "BLOCK_REASONS",
    "MAX_MODEL_PAGES",
    "MODELS_PAGE_SIZE",
    "ErrorAnswer",
    "aclose",
    "ask",
    "ask_sync",
    "enum_name",
    "gemini_error",
    "gemini_hook",
    "gemini_usage",
    "list_models",
    "list_models_sync",
    "new_sdk",
    "read_gemini",
    "read_gemini_models",
    "read_gemini_stream",
    "request_body",
]

# google-genai's own default, given explicitly so that GOOGLE_GENAI_API_VERSION cannot change it.
API_VERSION = "v1"
# Gemini's model list comes in pages: as many per page as the API gives (1,000), and no more pages than this,
# however many next-page tokens a provider sends (ai.clean.MAX_MODELS caps the ids too).
MODELS_PAGE_SIZE = 1000
MAX_MODEL_PAGES = 10
# google-genai's settings for tests (a recorder or replayer of requests), read from the environment
# unless given: none, explicitly.
_DEBUG = MappingProxyType({"client_mode": None, "replays_directory": None, "replay_id": None})
# Gemini finish reasons that mean "a filter stopped this", as opposed to a normal or length stop.
BLOCK_REASONS = frozenset(
    {"SAFETY", "RECITATION", "BLOCKLIST", "PROHIBITED_CONTENT", "SPII", "IMAGE_SAFETY", "LANGUAGE"}
)


# -- Asking -----------------------------------------------------------------------------------------


async def ask(client: ClientBase, sdk: Client, request: Request, timeout: float, received: Received) -> Completion:
    """Send `request` once through google-genai's async client and read the answer: streamed into
    `received` when the client streams (an answer cut at the size cap is its text so far), else whole.

    Raises:
        ProviderError: the provider failed or answered with nothing usable (typed; see core.errors).
    """
    # Built outside the answer's region: if this fails, nothing was sent and the sync client may try.
    body = request_body(client, request, timeout)
    name, model, redactor = client.name, body["model"], client.redactor
    with answer_of(name, model, redactor, gemini_error):
        if not client.stream:
            return read_gemini(name, model, await sdk.aio.models.generate_content(**body), redactor)
        # google-genai reads an answer that is not an event stream (a proxy's plain JSON) as one chunk.
        stream = await sdk.aio.models.generate_content_stream(**body)
        async with aclosing(cast("AsyncGenerator[Any, None]", stream)) as chunks:  # an async generator
            return await kept_at_cap(
                read_gemini_stream(name, model, chunks, received, redactor), received, model, redactor
            )


def ask_sync(client: ClientBase, sdk: Client, request: Request, timeout: float) -> Completion:
    """`ask` through google-genai's sync client, which never streams.

    Raises:
        ProviderError: the provider failed or answered with nothing usable (typed; see core.errors).
    """
    body = request_body(client, request, timeout)
    with answer_of(client.name, body["model"], client.redactor, gemini_error):
        return read_gemini(client.name, body["model"], sdk.models.generate_content(**body), client.redactor)


async def list_models(client: ClientBase, sdk: Client, timeout: float) -> list[str]:
    """The ids of the models that can generate content, one request per page, through the async client.

    Raises:
        ProviderError: the provider failed or answered with something that is not a model list.
    """
    with answer_of(client.name, MODEL_LIST, client.redactor, gemini_error):
        pager = await sdk.aio.models.list(config=_list_config(timeout))
        models = list(pager.page)
        for _ in range(MAX_MODEL_PAGES - 1):
            if not _more_pages(pager, models):
                break
            models += await pager.next_page()
        return read_gemini_models(client.name, models, client.redactor)


def list_models_sync(client: ClientBase, sdk: Client, timeout: float) -> list[str]:
    """`list_models` through google-genai's sync client.

    Raises:
        ProviderError: the provider failed or answered with something that is not a model list.
    """
    with answer_of(client.name, MODEL_LIST, client.redactor, gemini_error):
        pager = sdk.models.list(config=_list_config(timeout))
        models = list(pager.page)
        for _ in range(MAX_MODEL_PAGES - 1):
            if not _more_pages(pager, models):
                break
            models += pager.next_page()
        return read_gemini_models(client.name, models, client.redactor)


def _more_pages(pager: Any, models: list[Any]) -> bool:
    """Whether to read the next page: the provider has one, and the ids so far are not at the cap."""
    return bool(pager.config.get("page_token")) and len(models) < MAX_MODELS


async def aclose(sdk: Client) -> None:
    """Close google-genai's client: its async HTTP client, then its sync one."""
    await sdk.aio.aclose()
    sdk.close()


# -- The SDK client and the request ------------------------------------------------------------------


def new_sdk(client: ClientBase) -> Client:
    """A new google-genai client for `client` (sync and async in one), every setting given: none from
    the environment."""
    from google import genai
    from google.genai import types

    # google-genai retries only when given retry options; we give none (one retry loop, ours).
    # Client arguments (not ready clients) keep the SDK's own async client, one pool per event loop.
    # The hooks cap every body, then read error answers before google-genai does (`ErrorAnswer`).
    http, cap = client.http_args(), client.max_answer_bytes
    options = types.HttpOptions(
        base_url=client.base_url,
        api_version=client.api_version or API_VERSION,
        timeout=int(client.timeout * 1000),
        client_args=http | {"event_hooks": body_hooks(cap, False, gemini_hook(asynchronous=False))},
        async_client_args=http | {"event_hooks": body_hooks(cap, True, gemini_hook(asynchronous=True))},
    )
    return genai.Client(
        vertexai=False,  # not GOOGLE_GENAI_USE_VERTEXAI, and so no GOOGLE_CLOUD_* or Google credentials
        enterprise=False,
        api_key=client.key(),
        http_options=options,
        debug_config=genai.client.DebugConfig(**_DEBUG),
    )


def request_body(client: ClientBase, request: Request, timeout: float) -> dict[str, Any]:
    """The generate_content arguments of `request` (`timeout`, when not the client's, overrides its own)."""
    from google.genai import types

    override = types.HttpOptions(timeout=int(timeout * 1000)) if timeout != client.timeout else None
    config = types.GenerateContentConfig(
        system_instruction=request.system,
        temperature=request.temperature,
        max_output_tokens=request.max_tokens,
        http_options=override,
    )
    *earlier, last = request.messages  # the prompt, joined with any user turn just before it
    contents: Any = last.text
    if earlier or request.images:  # Gemini calls the AI's turns "model"
        contents = [
            types.Content(role="model" if turn.role == "assistant" else "user", parts=[types.Part(text=turn.text)])
            for turn in earlier
        ]
        images = [types.Part.from_bytes(data=image.data, mime_type=image.mime) for image in request.images]
        contents.append(types.Content(role="user", parts=[types.Part(text=last.text), *images]))
    return {"model": request.model or client.model, "contents": contents, "config": config}


def _list_config(timeout: float) -> Any:
    """The config of one page of the model list: the biggest page, and our timeout for it."""
    from google.genai import types

    return types.ListModelsConfig(
        page_size=MODELS_PAGE_SIZE, http_options=types.HttpOptions(timeout=int(timeout * 1000))
    )


# -- Reading the answer -----------------------------------------------------------------------------


class ErrorAnswer(Exception):
    """An HTTP error answer from Gemini, read by us before google-genai parses it (it would raise a bare
    RecursionError, ValueError or UnicodeDecodeError for some bodies, and lose the status)."""

    def __init__(self, status: int, reason: str, headers: Mapping[str, str]) -> None:
        self.status = status
        self.reason = reason
        self.headers = headers
        super().__init__(f"HTTP {status}")


def _error_answer(response: Any) -> ErrorAnswer:
    reason = body_reason(response.content) or str(response.reason_phrase or "")
    return ErrorAnswer(response.status_code, reason, response.headers)


def gemini_hook(asynchronous: bool) -> Callable[[Any], Any]:
    """An httpx response hook for google-genai's HTTP clients that turns an error answer into `ErrorAnswer`."""

    # Not 200 is an error answer (google-genai's own test). Only those are read here (up to the cap: the
    # hook of ai.body_cap runs first): a good answer may be a stream, which google-genai reads as it arrives.
    def check(response: Any) -> None:
        if response.status_code != 200:
            response.read()
            raise _error_answer(response)

    async def acheck(response: Any) -> None:
        if response.status_code != 200:
            await response.aread()
            raise _error_answer(response)

    return acheck if asynchronous else check


def read_gemini(ai: str, model: str, response: Any, redactor: Redactor) -> Completion:
    """Text and usage from a GenerateContentResponse (google-genai has validated the types; the values
    are still the provider's: the text and names are masked with `redactor`, see ai.clean).

    Raises:
        ContentBlocked: the prompt or the answer was blocked by a safety filter.
        EmptyResponse: no candidate, or a candidate with no text.
        InvalidResponse: the answer has no candidates at all (not JSON object, or not Gemini's).
    """
    feedback = response.prompt_feedback
    if feedback is not None and feedback.block_reason:
        raise ContentBlocked(ai, model, f"the prompt was blocked ({enum_name(feedback.block_reason)})")
    candidates = response.candidates
    if candidates is None:
        raise InvalidResponse(ai, model, "the answer is not a generateContent response (no candidates)")
    if not candidates:
        raise EmptyResponse(ai, model, "the provider returned no candidates")
    if candidates[0].content is None and candidates[0].finish_reason is None:
        # What google-genai makes of a candidate that is not an object ("candidates": "x"): no answer.
        raise InvalidResponse(ai, model, "the answer is not a generateContent response (an empty candidate)")
    finish = name_of(enum_name(candidates[0].finish_reason), redactor) if candidates[0].finish_reason else None
    text = response.text
    if not isinstance(text, str) or not text.strip():
        if finish in BLOCK_REASONS:
            raise ContentBlocked(ai, model, f"the answer was blocked ({finish})")
        raise EmptyResponse(ai, model, f"the answer had no text (finish_reason={finish})")
    return Completion(
        text=answer_text(text, redactor),
        model=name_of(response.model_version, redactor) or model,
        usage=gemini_usage(response.usage_metadata),
        finish_reason=finish,
    )


def gemini_usage(usage: Any) -> Usage | None:
    """Gemini's `usage_metadata` (google-genai has checked that each count is an int): the thinking tokens,
    which Gemini counts apart from the answer's and bills as output, are added to the output."""
    answer = token_count(getattr(usage, "candidates_token_count", None))
    thoughts = token_count(getattr(usage, "thoughts_token_count", None))
    output = None if answer is None and thoughts is None else (answer or 0) + (thoughts or 0)
    return usage_of(
        getattr(usage, "prompt_token_count", None),
        output,
        cached=getattr(usage, "cached_content_token_count", None),
        reasoning=thoughts,
    )


def read_gemini_models(ai: str, models: list[Any], redactor: Redactor) -> list[str]:
    """The ids of the models a `models.list` answer names ("models/gemini-2.5-pro" → "gemini-2.5-pro"),
    cleaned; only those that can generate content, when the provider says what each supports (an
    embedding model cannot be asked)."""
    usable = (
        model
        for model in models
        if not isinstance(actions := getattr(model, "supported_actions", None), list) or "generateContent" in actions
    )
    return model_ids((getattr(model, "name", None) for model in usable), prefix="models/", redactor=redactor)


def gemini_error(ai: str, model: str, error: BaseException, redactor: Redactor) -> ProviderError | None:
    """Our error for an exception google-genai (or its HTTP client) raised, or None if not the provider's."""
    from google.genai import errors

    if isinstance(error, ErrorAnswer):
        return status_error(ai, model, error.status, clean_reason(error.reason, redactor), error.headers)
    if isinstance(error, errors.APIError):
        reason = next((v for v in (error.message, error.status) if isinstance(v, str) and v.strip()), "")
        headers = error.response.headers if getattr(error, "response", None) is not None else None
        return status_error(ai, model, error.code, clean_reason(reason, redactor), headers)
    return transport_error(ai, model, error, redactor)


def enum_name(value: Any) -> str:
    return str(getattr(value, "value", value))


async def read_gemini_stream(
    ai: str, model: str, chunks: AsyncIterator[Any], received: Received, redactor: Redactor
) -> Completion:
    """Read a `streamGenerateContent` stream to its end, into `received`: each chunk a GenerateContentResponse
    carrying the next piece of text; the usage of the last one that carries any is kept.

    Raises:
        ContentBlocked: the prompt or the answer was blocked by a safety filter.
        InvalidResponse: no chunk had a list of candidates (not Gemini's answer).
        EmptyResponse: the stream ended with no text.
    """
    answered = False  # some chunk had a candidates list: the stream is Gemini's
    candidates = False  # and some list was not empty
    async for chunk in chunks:
        feedback = chunk.prompt_feedback
        if feedback is not None and feedback.block_reason:
            raise ContentBlocked(ai, model, f"the prompt was blocked ({enum_name(feedback.block_reason)})")
        received.model = received.model or name_of(chunk.model_version, redactor)
        if chunk.usage_metadata is not None:
            received.usage = gemini_usage(chunk.usage_metadata) or received.usage
        if chunk.candidates is None:
            continue  # a usage-only chunk
        candidate = chunk.candidates[0] if chunk.candidates else None
        if candidate is not None and candidate.content is None and candidate.finish_reason is None:
            continue  # what google-genai makes of a candidate that is not an object: no answer
        answered = True
        if candidate is None:
            continue  # no candidates: an empty answer, unless a later chunk has some
        candidates = True
        if candidate.finish_reason:
            received.finish_reason = name_of(enum_name(candidate.finish_reason), redactor)
        text = chunk.text
        if isinstance(text, str):
            await received.add(text)
    if not received.text.strip():
        if not answered:
            raise InvalidResponse(ai, model, "the answer is not a generateContent stream (no candidates)")
        if not candidates:
            raise EmptyResponse(ai, model, "the provider returned no candidates")
        if received.finish_reason in BLOCK_REASONS:
            raise ContentBlocked(ai, model, f"the answer was blocked ({received.finish_reason})")
        raise EmptyResponse(ai, model, f"the answer had no text (finish_reason={received.finish_reason})")
    return received.completion(model, redactor)
