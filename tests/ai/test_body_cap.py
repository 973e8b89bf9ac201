"""A provider's answer is read up to `max_answer_bytes`, however large it is: through the real openai and
google-genai SDKs over real HTTP to the loopback fake, which sends 32 MiB answers a piece at a time and sees
the client hang up early. A streamed answer comes back cut, with a note; a whole one is an error naming the
cap; an error answer keeps its status; a gzip body is capped at its decoded size."""

from __future__ import annotations

import gzip
from pathlib import Path
from typing import Any

import anyio
import anyio.to_thread
import pytest

from ai.async_client import create_async_ai_client
from ai.body_cap import size_text
from ai.caller import call_multiple_ais
from ai.request import Completion, Request
from ai.sync_client import create_ai_client
from core import ai_clients
from core.config.settings import load_settings
from core.errors import AnswerTooLarge, ProviderError, ProviderServerError
from core.resilience.retry import should_retry
from tests.fakes import Behaviour, FakeProvider
from tests.fakes.answers import encoded, raw
from tests.fakes.huge import EVENT_TEXT
from tests.fakes.streams import gemini_events, openai_events
from tests.helpers import api_of, credentials_for, write_credentials

pytestmark = pytest.mark.anyio
KEY = "sk-body-cap-test-key-0123456789"
AIS = ("grok", "gemini")  # one AI per API
CAP = 1024 * 1024  # the tests' max_answer_bytes
HUGE = 32 * CAP  # read whole, it would take the fake's and the client's time, and the test would see it
NOTE = "the answer size limit of 1 MiB (max_answer_bytes)"
# How the answer is asked for: streamed (the async client's default), whole by the async client (the
# AI's `stream` setting off), whole by the sync client; "plain-json" is a stream asked for and a whole
# answer given (a proxy that does not stream).
MODES = ("stream", "whole", "sync", "plain-json")


async def ask(fake: FakeProvider, ai: str, mode: str) -> Completion | ProviderError:
    """The answer to one request with the cap at `CAP`, or the typed error it ended in."""
    options: dict[str, Any] = {"base_url": fake.base_url(ai, api_of(ai)), "max_answer_bytes": CAP}
    if mode == "sync":

        def send() -> Completion | ProviderError:
            with create_ai_client(ai, KEY, f"{ai}-model", **options) as client:
                try:
                    return client.ask(Request("hello"), 20)
                except ProviderError as error:
                    return error

        with anyio.fail_after(30):
            return await anyio.to_thread.run_sync(send)
    async with await create_async_ai_client(ai, KEY, f"{ai}-model", stream=mode != "whole", **options) as client:
        with anyio.fail_after(30):
            try:
                return await client.ask(Request("hello"), 20)
            except ProviderError as error:
                return error


async def assert_hung_up_early(fake: FakeProvider, ai: str) -> None:
    """The fake saw the client close the connection before the end of the huge body."""
    hung_up = await anyio.to_thread.run_sync(fake.wait_for_disconnects, 1, 10.0)
    assert hung_up, "the client read the whole body"
    [(who, sent)] = fake.cut_bodies
    assert who == ai and sent < HUGE // 2, sent


@pytest.mark.parametrize("ai", AIS)
async def test_a_huge_streamed_answer_comes_back_cut_at_the_cap_with_a_note(fake: FakeProvider, ai: str) -> None:
    fake.behave(ai, Behaviour(huge=HUGE))
    completion = await ask(fake, ai, "stream")
    assert isinstance(completion, Completion), completion
    assert completion.partial and completion.cut_off == NOTE
    assert completion.text.startswith("lorem ipsum dolor")
    assert CAP - 2 * EVENT_TEXT <= len(completion.text) <= CAP, "the text of every event that arrived whole"
    await assert_hung_up_early(fake, ai)


@pytest.mark.parametrize("ai", AIS)
@pytest.mark.parametrize("mode", ["whole", "sync", "plain-json"])
async def test_a_huge_whole_answer_is_an_error_that_names_the_cap(fake: FakeProvider, ai: str, mode: str) -> None:
    fake.behave(ai, Behaviour(huge=HUGE, not_streamed=mode == "plain-json"))
    error = await ask(fake, ai, mode)
    assert isinstance(error, AnswerTooLarge) and error.kind == "answer_too_large", error
    assert "longer than 1 MiB (max_answer_bytes)" in str(error) and "raise max_answer_bytes" in str(error)
    assert not should_retry(error), "the same question would bring as long an answer"
    await assert_hung_up_early(fake, ai)


@pytest.mark.parametrize("ai", AIS)
@pytest.mark.parametrize("mode", ["stream", "whole", "sync"])
async def test_a_huge_error_body_is_read_up_to_the_cap_and_keeps_its_status(
    fake: FakeProvider, ai: str, mode: str
) -> None:
    fake.behave(ai, Behaviour(status=503, huge=HUGE))
    error = await ask(fake, ai, mode)
    assert isinstance(error, ProviderServerError) and error.status_code == 503, error
    assert " … [cut: " in error.reason and len(error.reason) <= 300, error.reason
    await assert_hung_up_early(fake, ai)


def gzipped(body: bytes, content_type: str) -> Behaviour:
    """`body` sent gzip-compressed (8 MiB of text in about 16 KiB: far below the cap on the wire)."""
    return raw(gzip.compress(body), headers=(("content-type", content_type), ("content-encoding", "gzip")))


@pytest.mark.parametrize("ai", AIS)
@pytest.mark.parametrize("mode", ["stream", "whole", "sync"])
async def test_a_compressed_answer_is_capped_at_its_decoded_size(fake: FakeProvider, ai: str, mode: str) -> None:
    texts = ["lorem ipsum " * 341] * 2048  # 8 MiB of text, 4 KiB to an event when streamed
    if mode == "stream":
        events = openai_events("m", texts, "stop", None) if ai == "grok" else gemini_events("m", texts, {})
        fake.behave(ai, gzipped(b"".join(b"data: " + event + b"\n\n" for event in events), "text/event-stream"))
    else:
        fake.behave(ai, gzipped(encoded(api_of(ai), text="".join(texts)).encode(), "application/json"))
    outcome = await ask(fake, ai, mode)
    if mode == "stream":
        assert isinstance(outcome, Completion) and outcome.cut_off == NOTE, outcome
        assert CAP // 2 <= len(outcome.text) <= CAP
    else:
        assert isinstance(outcome, AnswerTooLarge), outcome


async def test_max_answer_bytes_is_a_setting_and_the_answer_cut_there_says_so(
    fake: FakeProvider, tmp_path: Path
) -> None:
    # grok streams (its answer is cut, with a note); gemini is set not to (its answer is an error, not retried).
    body = credentials_for(fake, AIS, gemini={"stream": False}) | {"max_answer_bytes": CAP, "retry_base_s": 0.01}
    settings = load_settings(write_credentials(tmp_path / "credentials.json", body), env={})
    await ai_clients.initialize_all_clients_async(settings)
    try:
        fake.behave("grok", Behaviour(huge=HUGE))
        fake.behave("gemini", Behaviour(huge=HUGE))
        with anyio.fail_after(30):
            results = {result.ai: result for result in await call_multiple_ais("hello", ["grok", "gemini"])}
    finally:
        await ai_clients.cleanup_async_ai_clients()
    grok, gemini = results["grok"], results["gemini"]
    assert grok.ok and grok.partial, grok
    assert (grok.text or "").endswith(f"\n\n[cut off by {NOTE}: the answer above is what had arrived by then]")
    assert "[answer truncated: " in (grok.text or ""), "then cut to max_answer_chars, as any answer"
    assert (gemini.ok, gemini.error_kind) == (False, "answer_too_large"), gemini
    assert len(fake.requests_for("gemini")) == 1, "not asked again"


@pytest.mark.parametrize(
    ("size", "text"),
    [(100, "100 bytes"), (64 * 1024, "64 KiB"), (CAP, "1 MiB"), (3 * CAP // 2, "1.5 MiB"), (16 * CAP, "16 MiB")],
)
def test_a_size_reads_as_people_write_it(size: int, text: str) -> None:
    assert size_text(size) == text
