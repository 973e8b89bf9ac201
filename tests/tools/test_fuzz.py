"""Fuzzing: hypothesis drives every tool's arguments — valid and invalid shapes, unicode, huge and empty
strings — through mcp.Client in memory against the fake provider.

Every call must come back as a result (an answer or a tool error) within its time; after every call the
server must still answer server_status. A crash or a hang fails the test by its own design: the call
raises, or `fail_after` fires.
"""

from __future__ import annotations

from collections.abc import Iterator
from functools import partial
from typing import Any

import anyio
import pytest
from anyio.from_thread import BlockingPortal, start_blocking_portal
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from mcp import Client
from mcp.types import CallToolResult

from collab.modes import MODES
from core.config.settings import Settings
from serve.main import build_server
from tests.fakes import FakeProvider
from tests.helpers import ALL_AIS

EXAMPLES = 40  # per tool: 240 in all

JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=30),
    lambda children: st.lists(children, max_size=3) | st.dictionaries(st.text(max_size=8), children, max_size=3),
    max_leaves=8,
)
TEXT = st.one_of(
    st.text(max_size=200),
    st.just(""),
    st.text(alphabet=st.characters(codec="utf-8"), max_size=50),
    st.integers(0, 250_000).map(lambda n: "\u00e9\U0001f600" * (n // 2)),
)


def either(valid: st.SearchStrategy[Any]) -> st.SearchStrategy[Any]:
    """Mostly a well-typed value, sometimes anything at all."""
    return st.one_of(valid, valid, JSON)


AIS = st.sampled_from([*ALL_AIS, "nope", "", "GROK", " gemini "])
AI_LISTS = st.lists(AIS, max_size=8) | st.none()
DEADLINE = st.floats(min_value=-1, max_value=8) | st.none()
ARGUMENTS: dict[str, dict[str, st.SearchStrategy[Any]]] = {
    "ask_ai": {
        "ai": AIS,
        "prompt": TEXT,
        "context": TEXT | st.none(),
        "mode": st.sampled_from([*MODES, "poetry"]),
        "temperature": st.floats(-1, 3) | st.none(),
        "max_tokens": st.integers(-5, 300_000) | st.none(),
        "deadline_s": DEADLINE,
    },
    "ask_all_ais": {
        "prompt": TEXT,
        "ais": AI_LISTS,
        "context": TEXT | st.none(),
        "deadline_s": DEADLINE,
        "min_answers": st.integers(-1, 9) | st.none(),
    },
    "ai_debate": {"topic": TEXT, "ais": AI_LISTS, "rounds": st.integers(-1, 7), "deadline_s": DEADLINE},
    "collaborative_solve": {
        "problem": TEXT,
        "context": TEXT | st.none(),
        "ais": AI_LISTS,
        "approach": st.sampled_from(["parallel", "sequential", "random"]),
        "deadline_s": DEADLINE,
    },
    "ai_consensus": {
        "question": TEXT,
        "options": st.lists(st.text(max_size=20), max_size=12) | st.none(),
        "ais": AI_LISTS,
        "deadline_s": DEADLINE,
    },
    "server_status": {},
}


def arguments_for(tool: str) -> st.SearchStrategy[Any]:
    known = st.fixed_dictionaries({}, optional={key: either(value) for key, value in ARGUMENTS[tool].items()})
    extra = st.dictionaries(st.text(max_size=8), JSON, max_size=2)
    # Arguments that are not an object at all never leave the mcp client; test_security sends them raw.
    return st.one_of(st.builds(lambda a, b: {**b, **a}, known, extra), known)


@pytest.fixture
def portal() -> Iterator[BlockingPortal]:
    with start_blocking_portal(backend="asyncio") as portal:
        yield portal


@pytest.fixture
def client(portal: BlockingPortal, fake: FakeProvider, settings: Settings) -> Iterator[Client]:
    with portal.wrap_async_context_manager(Client(build_server(settings))) as client:
        yield client


async def call(client: Client, tool: str, arguments: Any) -> CallToolResult:
    with anyio.fail_after(30):
        result = await client.call_tool(tool, arguments)
    with anyio.fail_after(5):
        alive = await client.call_tool("server_status", {})
    assert not alive.is_error, "the server still answers"
    return result


@pytest.mark.parametrize("tool", list(ARGUMENTS))
def test_every_call_returns_a_result_or_a_tool_error(tool: str, portal: BlockingPortal, client: Client) -> None:
    @settings(
        max_examples=EXAMPLES,
        deadline=None,
        suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow, HealthCheck.data_too_large],
    )
    @given(arguments=arguments_for(tool))
    def check(arguments: Any) -> None:
        result = portal.call(partial(call, client, tool, arguments))
        assert isinstance(result, CallToolResult) and result.content
        if result.is_error:
            text = result.content[0].text  # type: ignore[union-attr]
            assert "internal error" not in text, f"a bug, not a clear error: {text}"

    check()
