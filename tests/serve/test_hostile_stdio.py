"""Hypothesis plays a hostile provider against one real stdio server: any status, headers and body bytes.

One server process for the whole run, spoken to in raw JSON-RPC lines. After every answer, whatever it
was: the tool call got exactly one response, never "internal error"; the provider saw exactly one
request (nothing sent again); the healthy AI beside it still answered; tools/list still works. At the
end: every request was answered exactly once, no configured key appeared anywhere, the server exits 0.
"""

from __future__ import annotations

import json
import sys
from collections import Counter
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager
from functools import partial
from pathlib import Path
from typing import Any

import anyio
import pytest
from anyio.abc import Process
from anyio.from_thread import BlockingPortal, start_blocking_portal
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.fakes import Behaviour, FakeProvider
from tests.fakes.answers import DIGITS, answer
from tests.helpers import FAST_RETRIES, SERVER, credentials_for, key_for, write_credentials

AIS = ("grok", "gemini", "deepseek")  # deepseek stays healthy
EXAMPLES = 100

SURROGATES = st.sampled_from(["\ud800", "a\udfffb", "\ud83d", "ok \udc00\ud800 ok"])
STRINGS = st.text(max_size=40) | SURROGATES | st.text(max_size=3).map(lambda s: s * 3000)
NUMBERS = (
    st.integers()
    | st.integers(-(10**40), 10**40)
    | st.floats()  # NaN and infinities too: json.dumps writes them as NaN / Infinity
    | st.integers(4_000, 4_300).map(lambda n: int("9" * n))  # the most int() reads; DIGITS has more
)
JSON_VALUES = st.recursive(
    st.none() | st.booleans() | NUMBERS | STRINGS,
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(STRINGS, inner, max_size=3),
    max_leaves=8,
)
# A field is as often plausible as hostile, so that many answers get through with hostile neighbours.
FIELDS = st.one_of(st.sampled_from(["m-1", "stop", "STOP", "MAX_TOKENS", "SAFETY"]), st.integers(0, 99), JSON_VALUES)
TEXTS = st.text(min_size=1, max_size=40) | SURROGATES | JSON_VALUES


def dumped(value: Any) -> bytes:
    return json.dumps(value).encode()  # ensure_ascii: lone surrogates travel as "\ud800" escapes


SHAPED = st.builds(
    lambda api, text, model, finish, usage: dumped(answer(api, text, model=model, finish=finish, usage=usage)),
    st.sampled_from(["openai", "gemini"]),
    TEXTS,
    FIELDS,
    FIELDS,
    st.tuples(FIELDS, FIELDS) | st.tuples(st.integers(0, 99), st.integers(0, 99)),
)
ERRORS = st.builds(
    lambda message, status: dumped({"error": {"message": message, "status": status, "code": status}}),
    JSON_VALUES,
    JSON_VALUES,
)
BODIES = st.one_of(
    SHAPED,  # three times: answers of the right shape with hostile values are the likeliest trouble
    SHAPED,
    SHAPED,
    SHAPED.flatmap(lambda body: st.integers(0, len(body)).map(lambda at: body[:at] + b"\xff\xfe" + body[at:])),
    ERRORS,
    JSON_VALUES.map(dumped),
    st.binary(max_size=300),
    st.integers(500, 4_000).map(lambda n: b"[" * n + b"]" * n),
    st.integers(500, 4_000).map(lambda n: b'{"error": ' * n + b"1" + b"}" * n),
    st.just(DIGITS.encode()),
    st.just(b"<html><body><h1>502 Bad Gateway</h1></body></html>"),
    SHAPED.map(lambda body: b"data: " + body + b"\n\ndata: [DONE]\n\n"),
)
HEADERS = st.lists(
    st.sampled_from(
        [
            ("content-type", "application/json"),
            ("content-type", "application/json; charset=utf-8"),
            ("content-type", "text/html"),
            ("content-type", "text/event-stream"),
            ("content-type", "text/plain; charset=latin-1"),
            ("retry-after", "1e309"),
            ("retry-after", "-5"),
            ("retry-after", "nan"),
            ("retry-after", "Wed, 21 Oct 2015 07:28:00 GMT"),
            ("retry-after-ms", "99999999999999999999"),
            ("content-encoding", "gzip"),
            ("x-request-id", "x" * 2_000),
        ]
    ),
    max_size=3,
)
STATUSES = (
    st.just(200) | st.sampled_from([200, 201, 204, 301, 304, 400, 401, 404, 408, 429, 500, 503]) | st.integers(200, 599)
)
RESPONSES = st.builds(
    lambda status, headers, body: Behaviour(status=status, headers=tuple(headers), raw=body), STATUSES, HEADERS, BODIES
)


class RawSession:
    """A server process spoken to in raw JSON-RPC lines; every frame it writes is kept."""

    def __init__(self, process: Process) -> None:
        self.process = process
        self.frames: list[dict[str, Any]] = []
        self.errors = bytearray()
        self._buffer = b""
        self._next_id = 0

    async def send(self, message: dict[str, Any]) -> None:
        assert self.process.stdin is not None
        await self.process.stdin.send(json.dumps(message).encode() + b"\n")

    async def request(self, method: str, params: dict[str, Any] | None = None) -> dict[str, Any]:
        self._next_id += 1
        await self.send({"jsonrpc": "2.0", "id": self._next_id, "method": method, "params": params or {}})
        with anyio.fail_after(20):
            while not any(frame.get("id") == self._next_id for frame in self.frames):
                try:
                    await self._read()
                except anyio.EndOfStream:
                    raise AssertionError(
                        f"the server stopped: {self.errors.decode(errors='replace')[-2000:]}"
                    ) from None
        return next(frame for frame in self.frames if frame.get("id") == self._next_id)

    async def _read(self) -> None:
        assert self.process.stdout is not None
        self._buffer += await self.process.stdout.receive()
        *lines, self._buffer = self._buffer.split(b"\n")
        self.frames += [json.loads(line) for line in lines]  # anything that is not JSON fails here

    async def finish(self) -> int:
        assert self.process.stdin is not None and self.process.stdout is not None
        await self.process.stdin.aclose()
        with anyio.fail_after(10):
            rest = b"".join([chunk async for chunk in self.process.stdout])
            code = await self.process.wait()
        self.frames += [json.loads(line) for line in (self._buffer + rest).split(b"\n") if line]
        return code


@asynccontextmanager
async def raw_session(credentials: Path, home: Path) -> AsyncIterator[RawSession]:
    env = {"HOME": str(home), "PATH": "/usr/bin:/bin", "JUNIOR_AI_LOG_LEVEL": "DEBUG"}
    process = await anyio.open_process([sys.executable, SERVER, "--credentials", str(credentials)], env=env)
    session = RawSession(process)

    async def drain_stderr() -> None:
        assert process.stderr is not None
        async for chunk in process.stderr:
            session.errors.extend(chunk)

    async with process, anyio.create_task_group() as group:
        group.start_soon(drain_stderr)
        await session.request(
            "initialize",
            {"protocolVersion": "2025-11-25", "capabilities": {}, "clientInfo": {"name": "hostile", "version": "0"}},
        )
        await session.send({"jsonrpc": "2.0", "method": "notifications/initialized"})
        yield session


@pytest.fixture
def portal() -> Iterator[BlockingPortal]:
    with start_blocking_portal(backend="asyncio") as portal:
        yield portal


async def one_hostile_answer(session: RawSession, fake: FakeProvider, ai: str, fan_out: bool) -> None:
    sent_before = len(fake.requests_for(ai))
    if fan_out:
        reply = await session.request(
            "tools/call", {"name": "ask_all_ais", "arguments": {"prompt": "x", "ais": [ai, "deepseek"]}}
        )
    else:
        reply = await session.request("tools/call", {"name": "ask_ai", "arguments": {"ai": ai, "prompt": "x"}})
    result = reply["result"]
    text = result["content"][0]["text"]
    assert "internal error" not in text, text
    results = (result.get("structuredContent") or {}).get("results", [result.get("structuredContent") or {}])
    assert all(r.get("error_kind") != "internal" for r in results), results
    if fan_out:
        assert {r["ai"]: r["ok"] for r in results}["deepseek"], "the healthy AI's answer is kept"
    assert len(fake.requests_for(ai)) == sent_before + 1, "one attempt, one request: nothing sent again"
    tools = await session.request("tools/list")
    assert len(tools["result"]["tools"]) == 8, "the session still answers"


def test_a_hostile_provider_never_breaks_the_stdio_session(
    portal: BlockingPortal, fake: FakeProvider, tmp_path: Path
) -> None:
    body = credentials_for(fake, AIS) | FAST_RETRIES | {"attempts": 1, "breaker_threshold": 1_000}
    credentials = write_credentials(tmp_path / "credentials.json", body)
    with portal.wrap_async_context_manager(raw_session(credentials, tmp_path)) as session:

        @settings(
            max_examples=EXAMPLES,
            deadline=None,
            derandomize=True,
            database=None,
            suppress_health_check=[
                HealthCheck.function_scoped_fixture,
                HealthCheck.too_slow,
                HealthCheck.data_too_large,
            ],
        )
        @given(response=RESPONSES, ai=st.sampled_from(["grok", "gemini"]), fan_out=st.booleans())
        def check(response: Behaviour, ai: str, fan_out: bool) -> None:
            fake.behave(ai, response)
            portal.call(partial(one_hostile_answer, session, fake, ai, fan_out))

        check()
        code = portal.call(session.finish)
    answered = Counter(frame["id"] for frame in session.frames if "id" in frame)
    assert set(answered.values()) == {1}, "every request answered exactly once"
    assert len(answered) == 1 + 2 * EXAMPLES, "initialize, then a tool call and tools/list per example"
    assert code == 0
    everything = json.dumps(session.frames) + session.errors.decode(errors="replace")
    for name in AIS:
        assert key_for(name) not in everything and key_for(name)[:-4] not in everything, f"{name}'s key leaked"
