"""Provider answers are data, never a crash: hostile answers through the real SDKs over real HTTP.

For both APIs (an OpenAI-compatible AI and Gemini), every kind of hostile answer — HTML, an event
stream, a JSON list, missing fields, invalid UTF-8, nesting 3,000 deep, a 5,000-digit number, lone
surrogates, absurd usage figures — ends as a typed error for that AI or a cleaned value: never an
internal error, never a lost answer of another AI, never a poisoned metric, never sent twice.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import anyio
import pytest

from ai.caller import AIResult, call_multiple_ais
from ai.errors import MAX_REASON_CHARS, clean_reason
from callers import Junior
from callers.seed import default_app
from core import ai_clients
from core.config.settings import Settings, load_settings
from core.redact import Redactor
from tests.fakes import Behaviour, FakeProvider
from tests.fakes.answers import DEPTH, DIGITS, encoded, nested, raw, with_usage
from tests.helpers import FAST_RETRIES, credentials_for, key_for, write_credentials

pytestmark = pytest.mark.anyio

AIS = {"openai": "grok", "gemini": "gemini"}  # one AI per API: grok speaks OpenAI's
MODELS = {"grok": "grok-3-mini", "gemini": "gemini-2.5-flash"}


@dataclass(frozen=True)
class Case:
    """A hostile answer, and what each API must make of it: "ok" (a cleaned answer) or an error kind."""

    behaviour: Callable[[str], Behaviour]
    openai: str
    gemini: str


INVALID = "invalid_response"
# The answer is read, and what was wrong in it is cleaned away: the text stays as given.
ANSWERS: dict[str, Case] = {
    "html": Case(lambda api: raw("<html><body>502 Bad Gateway</body></html>", headers=()), INVALID, INVALID),
    "html-labelled-json": Case(lambda api: raw("<html><body>oops</body></html>"), INVALID, INVALID),
    # Asked for a stream, the async clients read one: OpenAI's takes a whole message as a chunk; Gemini's
    # [DONE] is not JSON.
    "event-stream": Case(
        lambda api: raw(f"data: {encoded(api)}\n\ndata: [DONE]\n\n", headers=(("content-type", "text/event-stream"),)),
        "ok",
        INVALID,
    ),
    "json-list": Case(lambda api: raw("[1, 2, 3]"), INVALID, INVALID),
    "json-string": Case(lambda api: raw('"hello"'), INVALID, INVALID),
    "json-null": Case(lambda api: raw("null"), INVALID, INVALID),
    "empty-body": Case(lambda api: raw(""), INVALID, INVALID),
    "missing-fields": Case(lambda api: raw('{"id": "x", "object": "chat.completion"}'), INVALID, INVALID),
    "choices-of-wrong-type": Case(lambda api: raw('{"choices": {"a": 1}, "candidates": "x"}'), INVALID, INVALID),
    "text-of-wrong-type": Case(lambda api: raw(encoded(api, text=["a", {"b": 1}])), INVALID, INVALID),
    # openai's reader decodes strictly; google-genai decodes with U+FFFD for what is not UTF-8.
    "invalid-utf8": Case(
        lambda api: raw(encoded(api, text="caf\u00e9").encode().replace(b"\\u00e9", b"\xff\xfe")), INVALID, "ok"
    ),
    "nested-3000-deep": Case(lambda api: raw("[" * DEPTH + "]" * DEPTH), INVALID, INVALID),
    "answer-with-a-field-3000-deep": Case(lambda api: raw(nested(api)), INVALID, INVALID),
    "5000-digit-number": Case(lambda api: raw(DIGITS), INVALID, INVALID),
    "answer-with-5000-digit-usage": Case(lambda api: raw(with_usage(api, DIGITS)), INVALID, INVALID),
    "lone-surrogate-in-text": Case(lambda api: raw(encoded(api, text="a\ud800b")), "ok", "ok"),
    "lone-surrogate-in-model": Case(lambda api: raw(encoded(api, model="m\ud800")), "ok", "ok"),
    "model-10000-chars": Case(lambda api: raw(encoded(api, model="m" * 10_000)), "ok", "ok"),
    "model-with-control-chars": Case(lambda api: raw(encoded(api, model="m\x1b[31m\n")), "ok", "ok"),
    "model-not-a-string": Case(lambda api: raw(encoded(api, model={"a": [1]})), "ok", INVALID),
    "finish-reason-not-a-string": Case(lambda api: raw(encoded(api, finish={"a": 1})), "ok", INVALID),
    # google-genai validates usage as ints (a 1.5 or a NaN fails the whole answer); openai keeps anything.
    "usage-negative": Case(lambda api: raw(with_usage(api, "-5")), "ok", "ok"),
    "usage-fractional": Case(lambda api: raw(with_usage(api, "1.5")), "ok", INVALID),
    "usage-nan": Case(lambda api: raw(with_usage(api, "NaN")), "ok", INVALID),
    "usage-infinite": Case(lambda api: raw(with_usage(api, "Infinity")), "ok", INVALID),
    "usage-1e400": Case(lambda api: raw(with_usage(api, "1e400")), "ok", INVALID),
    "usage-huge": Case(lambda api: raw(with_usage(api, "1" + "0" * 30)), "ok", "ok"),
    "usage-not-a-number": Case(lambda api: raw(with_usage(api, "[1]")), "ok", INVALID),
}


@pytest.fixture
async def hostile(fake: FakeProvider, tmp_path: Path) -> Junior:
    """grok, gemini and two healthy AIs; short retries (invalid answers are retried), a patient breaker."""
    body = credentials_for(fake, ("grok", "gemini", "deepseek", "ollama")) | FAST_RETRIES | {"breaker_threshold": 100}
    settings = load_settings(write_credentials(tmp_path / "credentials.json", body), env={})
    await ai_clients.initialize_all_clients_async(settings)
    yield default_app()  # type: ignore[misc]
    await ai_clients.cleanup_async_ai_clients()


async def ask(ai: str) -> AIResult:
    with anyio.fail_after(10):
        [result] = await call_multiple_ais("hello", [ai])
    return result


def assert_clean_metrics(ai: str) -> None:
    metrics = default_app().guards[ai].snapshot()
    for tokens in (metrics.input_tokens, metrics.output_tokens):
        assert type(tokens) is int and 0 <= tokens <= 10**9, tokens
    assert "internal" not in metrics.failures


def attempts_for(kind: str) -> int:
    """Requests the fake must see for one call: 3 when the kind is retried, else 1; never more."""
    return 3 if kind in (INVALID, "server_error") else 1


@pytest.mark.parametrize("api", list(AIS))
@pytest.mark.parametrize("case", list(ANSWERS))
async def test_a_hostile_answer_is_a_typed_error_or_a_cleaned_value(
    fake: FakeProvider, hostile: Settings, api: str, case: str
) -> None:
    ai, expected = AIS[api], getattr(ANSWERS[case], api)
    fake.behave(ai, ANSWERS[case].behaviour(api))
    result = await ask(ai)
    if expected == "ok":
        assert result.ok and isinstance(result.text, str) and result.text, result
        assert result.model in ("m-1", MODELS[ai]), "a model name is a short plain str, or the configured one"
        for tokens in (result.input_tokens, result.output_tokens):
            assert tokens is None or (type(tokens) is int and 0 <= tokens <= 10**9), tokens
    else:
        assert (result.ok, result.error_kind) == (False, expected), result
        assert result.error and result.error.isprintable() and len(result.error) < 400, result.error
    assert len(fake.requests_for(ai)) == attempts_for(expected), "an answer that arrived is never sent again"
    assert all(r.headers["user-agent"].startswith("AsyncOpenAI") for r in fake.requests_for(ai) if api == "openai")
    assert_clean_metrics(ai)


async def test_cleaned_values_are_what_the_provider_meant_or_nothing(fake: FakeProvider, hostile: Settings) -> None:
    fake.behave("grok", raw(encoded("openai", text="a\ud800b", model="m\ud800", usage=(-5, 1.5))))
    fake.behave("gemini", raw(encoded("gemini", text="a\ud800b", model="x" * 201, usage=(10**30, 12.0))))
    grok, gemini = await ask("grok"), await ask("gemini")
    assert (grok.text, grok.model, grok.input_tokens, grok.output_tokens) == ("a\ufffdb", "grok-3-mini", None, None)
    assert (gemini.text, gemini.model, gemini.input_tokens, gemini.output_tokens) == (
        "a\ufffdb",
        "gemini-2.5-flash",
        None,
        12,
    ), "a lone surrogate becomes U+FFFD where it enters: it could not be sent on, or written out"
    metrics = default_app().guards["gemini"].snapshot()
    assert (metrics.input_tokens, metrics.output_tokens) == (0, 12)


STATUS_KINDS = {400: "bad_request", 503: "server_error"}
ERROR_BODIES: dict[str, Callable[[str], bytes]] = {
    "html": lambda key: b"<html><body><h1>503 Service Unavailable</h1>\n\t<p>try later</p></body></html>",
    "json-list": lambda key: b'[{"error": {"message": "in a list"}}, 2]',
    "nested-3000-deep": lambda key: b'{"error": ' * DEPTH + b"1" + b"}" * DEPTH,
    "5000-digit-number": lambda key: b'{"error": {"code": ' + DIGITS.encode() + b', "message": "big"}}',
    "invalid-utf8": lambda key: b'{"error": {"message": "bad \xff\xfe bytes"}}',
    "lone-surrogate": lambda key: b'{"error": {"message": "bad \\ud800 surrogate"}}',
    "message-not-a-string": lambda key: b'{"error": {"message": {"nested": [1, 2]}, "status": 7}}',
    "control-characters-and-the-key": lambda key: f'{{"error": {{"message": "\\u001b[2J key {key}\\u0000"}}}}'.encode(),
    "10-megabytes": lambda key: b'{"error": {"message": "' + b"x" * 10_000_000 + b'"}}',
}


@pytest.mark.parametrize("api", list(AIS))
@pytest.mark.parametrize("status", list(STATUS_KINDS))
@pytest.mark.parametrize("body", list(ERROR_BODIES))
async def test_an_error_answer_with_a_hostile_body_is_the_usual_status_error(
    fake: FakeProvider, hostile: Settings, api: str, status: int, body: str
) -> None:
    ai = AIS[api]
    fake.behave(ai, raw(ERROR_BODIES[body](key_for(ai)), status=status, headers=(("content-type", "text/html"),)))
    result = await ask(ai)
    assert (result.ok, result.error_kind) == (False, STATUS_KINDS[status]), result
    error = result.error or ""
    assert error.endswith(f"(HTTP {status})") and error.isprintable() and len(error) <= 320, error
    if body == "10-megabytes":
        assert " … [cut: " in error and " more characters] (HTTP" in error, "cut, with a note"
    assert key_for(ai) not in error
    assert len(fake.requests_for(ai)) == attempts_for(STATUS_KINDS[status])
    assert_clean_metrics(ai)


@pytest.mark.parametrize("api", list(AIS))
@pytest.mark.parametrize("case", ["nested-3000-deep", "5000-digit-number", "invalid-utf8", "html", "usage-nan"])
async def test_one_hostile_ai_never_loses_the_others_answers(
    fake: FakeProvider, hostile: Settings, api: str, case: str
) -> None:
    ai = AIS[api]
    fake.behave(ai, ANSWERS[case].behaviour(api))
    with anyio.fail_after(10):
        results = await call_multiple_ais("hello", [ai, "deepseek", "ollama"])
    by_ai = {r.ai: r for r in results}
    assert by_ai["deepseek"].text == "[deepseek:deepseek-chat] hello"
    assert by_ai["ollama"].text == "[ollama:llama3.2] hello"
    assert by_ai[ai].ok or by_ai[ai].error_kind == INVALID, by_ai[ai]
    for name in (ai, "deepseek", "ollama"):
        assert_clean_metrics(name)
    assert default_app().guards["deepseek"].metrics.input_tokens > 0


@pytest.mark.parametrize("api", list(AIS))
@pytest.mark.parametrize("case", ["nested-3000-deep", "5000-digit-number", "invalid-utf8"])
async def test_an_answer_that_broke_the_sdk_is_not_sent_again_by_the_sync_fallback(
    fake: FakeProvider, tmp_path: Path, api: str, case: str
) -> None:
    # These answers made the SDKs raise bare RecursionError / ValueError / UnicodeDecodeError, which
    # used to send the same request again through the sync client: one attempt, so exactly one request.
    ai = AIS[api]
    body = credentials_for(fake, (ai,)) | {"attempts": 1}
    await ai_clients.initialize_all_clients_async(load_settings(write_credentials(tmp_path / "c.json", body), env={}))
    try:
        fake.behave(ai, ANSWERS[case].behaviour(api))
        result = await ask(ai)
    finally:
        await ai_clients.cleanup_async_ai_clients()
    assert result.error_kind == (INVALID if getattr(ANSWERS[case], api) == INVALID else None), result
    assert len(fake.requests_for(ai)) == 1


KEY = "sk-" + "0123456789abcdef" * 20  # longer than the room for a reason: cut first, a part would show
OTHER = "sk-other-" + "9876543210fedcba" * 2  # another AI's key, which a proxy in front of both may echo
WORDS = " ".join(f"word{n}" for n in range(100))  # 689 characters


@pytest.mark.parametrize(
    ("message", "shown"),
    [
        pytest.param("quota exceeded", "quota exceeded", id="short: as it was"),
        pytest.param(" bad\x00\x1b[2J  input\n\tnow ", "bad [2J input now", id="one printable line"),
        pytest.param(f"key {KEY} is wrong", "key [key …cdef] is wrong", id="the key hidden"),
        pytest.param(f"upstream saw {OTHER[:30]}", "upstream saw [key …dcba]", id="part of another AI's key hidden"),
        pytest.param(
            KEY + " is wrong" * 20, "[key …cdef]" + " is wrong" * 20, id="hidden before cutting: nothing to cut"
        ),
        pytest.param("", "no reason given", id="empty"),
        pytest.param(
            WORDS,
            " ".join(f"word{n}" for n in range(40)) + " … [cut: 420 more characters]",
            id="long: cut after a whole word, the note counting what is left out",
        ),
        pytest.param(
            "x" * 10_000_000,
            "x" * 264 + " … [cut: 9,999,736 more characters]",
            id="one word longer than the room: cut inside it",
        ),
        pytest.param(
            "w " * 148 + KEY + " tail",
            "w " * 135 + "w … [cut: 41 more characters]",
            id="a key past the cut: hidden first, then counted as its hint",
        ),
        pytest.param(
            "w " * 1500 + KEY,
            "w " * 134 + "w … [cut: 3,054 more characters]",
            id="a key far past the cut: never read, counted as it is",
        ),
    ],
)
def test_a_provider_message_is_cleaned_and_a_long_one_cut_at_a_word_with_a_note(message: str, shown: str) -> None:
    cleaned = clean_reason(message, Redactor([KEY, OTHER]))
    assert cleaned == shown
    assert len(cleaned) <= MAX_REASON_CHARS and KEY[3:15] not in cleaned and OTHER[9:21] not in cleaned
