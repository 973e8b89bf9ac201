"""Partial answers: a time limit that cuts a streaming AI off after some text returns that text, marked
partial, instead of a bare timeout (through the resilient call, ask_ai and ask_all_ais over the MCP
client); and progress notifications carry the tokens each AI has streamed so far."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator

import anyio
import pytest
from mcp import Client

from ai.request import Request
from callers import Junior, ask
from callers.progress import TokenProgress, is_due, tokens_line
from core.config.settings import Settings
from core.errors import DeadlineReached
from serve.main import build_server
from tests.fakes import Behaviour, FakeProvider
from tests.helpers import key_for

pytestmark = pytest.mark.anyio
WORDS = " ".join(f"w{n}" for n in range(200))
SLOW = Behaviour(text=WORDS, chunk_delay=0.05)  # 200 chunks, 10 s in all: any deadline here cuts it


@pytest.fixture
async def client(fake: FakeProvider, settings: Settings) -> AsyncIterator[Client]:
    async with Client(build_server(settings)) as client:
        with anyio.fail_after(30):  # both SDKs imported before any deadline runs (a second on a busy machine)
            await client.call_tool("ask_all_ais", {"prompt": "warm up", "ais": ["grok", "gemini"], "deadline_s": 30})
        fake.reset()
        yield client


async def warm(fake: FakeProvider, app: Junior, ai: str) -> None:
    """One answer first, so that importing the SDK (a second on a busy machine) is not part of a deadline."""
    with anyio.fail_after(30):
        await ask(app, ai, Request("warm up", deadline=30))
    fake.reset()


@pytest.mark.parametrize("ai", ["grok", "gemini"])
async def test_a_deadline_that_cuts_a_stream_returns_its_text_so_far_as_partial(
    fake: FakeProvider, app: Junior, ai: str
) -> None:
    await warm(fake, app, ai)
    fake.behave(ai, SLOW)
    with anyio.fail_after(10):
        completion = await ask(app, ai, Request("hi", deadline=1))
    assert completion.partial and completion.cut_off == "the call's deadline_s of 1 s"
    text, note = completion.text.split("\n\n[cut off by ")
    assert text.startswith("w0 w1 ") and WORDS.startswith(text), "the answer's start, exactly as it came"
    assert note == "the call's deadline_s of 1 s: the answer above is what had arrived by then]"
    assert len(fake.requests_for(ai)) == 1, "a partial answer is not asked for again"
    assert await anyio.to_thread.run_sync(fake.wait_for_idle, ai, 5.0), "the cut stream is closed upstream"


async def test_a_key_echoed_in_a_stream_cut_short_is_masked_in_the_text_so_far(fake: FakeProvider, app: Junior) -> None:
    await warm(fake, app, "grok")
    fake.behave("grok", Behaviour(text=f"gemini's key: {key_for('gemini')} {WORDS}", chunk_delay=0.05))
    with anyio.fail_after(10):
        completion = await ask(app, "grok", Request("hi", deadline=1))
    assert completion.partial and completion.text.startswith("gemini's key: [key …6789] w0 ")
    assert key_for("gemini")[:12] not in completion.text


async def test_an_ais_own_timeout_that_cuts_a_stream_returns_its_text_so_far_too(
    fake: FakeProvider, app: Junior
) -> None:
    await warm(fake, app, "grok")
    fake.behave("grok", SLOW)
    with anyio.fail_after(10):
        completion = await ask(app, "grok", Request("hi", timeout=1, deadline=30))
    assert completion.cut_off == "grok's timeout of 1 s" and completion.text.startswith("w0 w1 ")
    assert len(fake.requests_for("grok")) == 1


async def test_a_deadline_before_any_text_is_still_a_timeout(fake: FakeProvider, app: Junior) -> None:
    fake.behave("grok", latency=10)
    with anyio.fail_after(10), pytest.raises(DeadlineReached, match=r"no answer within 0\.5 s"):
        await ask(app, "grok", Request("hi", deadline=0.5))


async def test_ask_ai_returns_the_text_so_far_with_partial_true(fake: FakeProvider, client: Client) -> None:
    fake.behave("grok", SLOW)
    with anyio.fail_after(10):
        result = await client.call_tool("ask_ai", {"ai": "grok", "prompt": "hi", "deadline_s": 1})
    text = result.content[0].text  # type: ignore[union-attr]
    structured = result.structured_content or {}
    assert not result.is_error and structured["ok"] and structured["partial"] is True
    assert text.startswith("w0 w1 ") and "[cut off by the call's deadline_s of 1 s: " in text
    assert structured["text"].startswith("w0 w1 ") and structured["error"] is None


async def test_ask_all_ais_returns_a_cut_off_ais_text_as_partial_beside_the_others(
    fake: FakeProvider, client: Client
) -> None:
    fake.behave("gemini", SLOW)
    with anyio.fail_after(10):
        result = await client.call_tool("ask_all_ais", {"prompt": "hi", "ais": ["gemini", "grok"], "deadline_s": 1})
    gemini, grok = (result.structured_content or {})["results"]
    assert (gemini["ok"], gemini["partial"], grok["ok"], grok["partial"]) == (True, True, True, False)
    assert gemini["text"].startswith("w0 w1 ") and "[cut off by the call's deadline_s of 1 s" in gemini["text"]
    assert "## gemini (gemini-2.5-flash, 1.0 s, partial)\nw0 w1 " in result.content[0].text  # type: ignore[union-attr]


async def test_progress_notifications_carry_the_tokens_each_ai_has_streamed(fake: FakeProvider, client: Client) -> None:
    fake.behave("grok", SLOW)
    fake.behave("gemini", Behaviour(text=WORDS, chunk_delay=0.02, chunk_words=4))  # 50 chunks, 1 s
    notes: list[tuple[float, str]] = []

    async def on_progress(progress: float, total: float | None, message: str | None) -> None:
        notes.append((progress, message or ""))

    arguments = {"prompt": "hi", "ais": ["grok", "gemini", "deepseek"], "deadline_s": 2.5}
    with anyio.fail_after(10):
        await client.call_tool("ask_all_ais", arguments, progress_callback=on_progress)
    progress = [value for value, _ in notes]
    assert progress == sorted(progress) and len(set(progress)) == len(progress), "every notification moves on"
    steps = [message for value, message in notes if value == int(value)]
    assert len(steps) == 3 and any("grok was cut off" in step for step in steps), steps
    tokens = [message for value, message in notes if value != int(value)]
    assert tokens and all(re.fullmatch(r"(\w+: \d+ tokens)(, \w+: \d+ tokens)*", m) for m in tokens), tokens
    assert any("grok: " in m for m in tokens) and any("gemini: " in m for m in tokens), tokens
    assert len(tokens) <= 2.5 / 0.5 + 1, "at most one every 0.5 s"
    counts = [int(m.split("grok: ")[1].split()[0]) for m in tokens if "grok: " in m]
    assert counts == sorted(counts) and counts[-1] > 0


async def test_ask_ai_tells_its_tokens_as_they_stream(fake: FakeProvider, client: Client) -> None:
    fake.behave("grok", SLOW)
    messages: list[str] = []

    async def on_progress(progress: float, total: float | None, message: str | None) -> None:
        messages.append(message or "")

    with anyio.fail_after(10):
        arguments = {"ai": "grok", "prompt": "hi", "deadline_s": 1.5}
        await client.call_tool("ask_ai", arguments, progress_callback=on_progress)
    assert messages and all(re.fullmatch(r"grok: \d+ tokens", m) for m in messages), messages


# -- the policy -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("counts", "line"),
    [
        ({"grok": 320}, "grok: 320 tokens"),
        ({"grok": 320, "gemini": 1024}, "grok: 320 tokens, gemini: 1,024 tokens"),
        ({}, ""),
    ],
)
def test_the_progress_line_names_each_streaming_ai_and_its_tokens(counts: dict[str, int], line: str) -> None:
    assert tokens_line(counts) == line


@pytest.mark.parametrize(("last", "now", "due"), [(0.0, 0.49, False), (0.0, 0.5, True), (10.0, 11.0, True)])
def test_a_progress_line_is_due_every_half_second(last: float, now: float, due: bool) -> None:
    assert is_due(last, now) is due


async def test_token_progress_tells_at_most_one_line_per_interval_and_forgets_finished_ais() -> None:
    now = [100.0]
    lines: list[str] = []

    async def report(line: str) -> None:
        lines.append(line)

    tokens = TokenProgress(report, clock=lambda: now[0])
    grok, gemini = tokens.counter("grok"), tokens.counter("gemini")
    await grok(10)  # the call has just begun: not yet
    now[0] += 0.5
    await gemini(4)
    await grok(20)  # within the same half second: kept, not told
    now[0] += 0.6
    tokens.finished("gemini")
    await grok(30)
    assert lines == ["grok: 10 tokens, gemini: 4 tokens", "grok: 30 tokens"]
