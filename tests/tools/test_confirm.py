"""Spend asked before it happens (`confirm_over_usd`), through the mcp SDK's client on both protocol eras:
the user confirms and the fake provider gets the call; declines and it gets nothing; a client that cannot ask
gets the estimate and `max_cost_usd`, and a `max_cost_usd` at or above the worst case runs."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import anyio
import httpx2
import pytest
from mcp import Client
from mcp.client.session import ClientRequestContext
from mcp.client.streamable_http import streamable_http_client
from mcp.types import CallToolResult, ElicitRequestParams, ElicitResult

from callers import Junior
from core.config.http import token_hash
from core.config.settings import Settings, load_settings
from serve.main import build_server
from tests.fakes import FakeProvider
from tests.helpers import FAST_RETRIES, credentials_for, write_credentials
from tests.serve.test_http import CANARY, HttpServer, server_env
from tools.confirm import Estimate, worst_case

pytestmark = pytest.mark.anyio
DEADLINE_S = 30
# grok and ollama, priced by the configuration: nothing per input token, $10 per million output tokens, so
# a call without max_tokens may cost 4,096 output tokens: $0.041; with max_tokens 100, $0.001.
TEN_PER_MILLION = {"*": {"input_per_mtok": 0, "output_per_mtok": 10}}
ERAS = [pytest.param("legacy", id="2025-11-25"), pytest.param("2026-07-28", id="2026-07-28")]


def text_of(result: CallToolResult) -> str:
    return "\n".join(getattr(part, "text", "") for part in result.content)


def settings_with(tmp_path: Path, fake: FakeProvider, **server: Any) -> Settings:
    priced = {"prices": TEN_PER_MILLION}
    body = credentials_for(fake, ("grok", "ollama"), grok=priced, ollama=priced) | FAST_RETRIES | server
    return load_settings(write_credentials(tmp_path / "credentials.json", body), env={})


class User:
    """The person behind the client's elicitation: answers `action` (and `go_ahead`), and keeps the questions."""

    def __init__(self, action: str, go_ahead: bool = True) -> None:
        self.action = action
        self.go_ahead = go_ahead
        self.questions: list[str] = []

    async def __call__(self, context: ClientRequestContext, params: ElicitRequestParams) -> ElicitResult:
        self.questions.append(params.message)
        content = {"go_ahead": self.go_ahead} if self.action == "accept" else None
        return ElicitResult(action=self.action, content=content)  # type: ignore[arg-type]


@pytest.mark.parametrize("mode", ERAS)
async def test_a_confirmed_spend_over_confirm_over_usd_is_sent(fake: FakeProvider, tmp_path: Path, mode: str) -> None:
    user = User("accept")
    server = build_server(settings_with(tmp_path, fake, confirm_over_usd=0.01))
    async with Client(server, mode=mode, elicitation_callback=user) as client:
        with anyio.fail_after(DEADLINE_S):
            result = await client.call_tool("ask_ai", {"ai": "ollama", "prompt": "hi"})
    assert not result.is_error, text_of(result)
    assert len(fake.requests_for("ollama")) == 1
    assert len(user.questions) == 1 and "ask_ai: 1 AI call, $0.041 at most" in user.questions[0]
    assert "confirm_over_usd ($0.01)" in user.questions[0]


@pytest.mark.parametrize("mode", ERAS)
@pytest.mark.parametrize(("action", "go_ahead"), [("decline", True), ("accept", False), ("cancel", True)])
async def test_a_declined_spend_is_not_run_and_nothing_is_sent(
    fake: FakeProvider, tmp_path: Path, mode: str, action: str, go_ahead: bool
) -> None:
    user = User(action, go_ahead)
    server = build_server(settings_with(tmp_path, fake, confirm_over_usd=0.01))
    async with Client(server, mode=mode, elicitation_callback=user) as client:
        with anyio.fail_after(DEADLINE_S):
            result = await client.call_tool("ask_all_ais", {"prompt": "hi"})
    said = "not run: cancelled" if action == "cancel" else "not run: declined"
    assert text_of(result) == said and len(user.questions) == 1
    assert "ask_all_ais: 2 AI calls, $0.082 at most" in user.questions[0]
    assert fake.requests_for("ollama") == [] and fake.requests_for("grok") == []


@pytest.mark.parametrize("mode", ERAS)
async def test_a_client_that_cannot_ask_gets_the_estimate_and_max_cost_usd_runs_it(
    fake: FakeProvider, tmp_path: Path, mode: str
) -> None:
    server = build_server(settings_with(tmp_path, fake, confirm_over_usd=0.01))
    async with Client(server, mode=mode) as client:
        with anyio.fail_after(DEADLINE_S):
            refused = await client.call_tool("ask_ai", {"ai": "ollama", "prompt": "hi"})
            under = await client.call_tool("ask_ai", {"ai": "ollama", "prompt": "hi", "max_cost_usd": 0.04})
            assert fake.requests_for("ollama") == []
            enough = await client.call_tool("ask_ai", {"ai": "ollama", "prompt": "hi", "max_cost_usd": 0.041})
    assert refused.is_error and under.is_error
    assert text_of(refused) == (
        "not run: 1 AI call, $0.041 at most, more than confirm_over_usd ($0.01), and this client cannot ask the "
        "user. To go ahead, call again with max_cost_usd: 0.041 (or more) if the user agrees."
    )
    assert (refused.structured_content or {})["worst_case_usd"] == pytest.approx(0.04096)
    assert not enough.is_error, text_of(enough)
    assert len(fake.requests_for("ollama")) == 1


@pytest.mark.parametrize(
    ("tool", "arguments"),
    [
        ("ai_debate", {"topic": "tabs or spaces", "rounds": 2}),
        ("collaborative_solve", {"problem": "a cache"}),
        ("ai_consensus", {"question": "which", "method": "council"}),
        ("ask_ollama", {"prompt": "hi"}),  # the full profile's per-AI tools
    ],
)
async def test_every_ai_asking_tool_asks_first(
    fake: FakeProvider, tmp_path: Path, tool: str, arguments: dict[str, Any]
) -> None:
    user = User("decline")
    server = build_server(settings_with(tmp_path, fake, confirm_over_usd=0.01, tool_profile="full"))
    async with Client(server, elicitation_callback=user) as client:
        with anyio.fail_after(DEADLINE_S):
            result = await client.call_tool(tool, arguments)
    assert text_of(result) == "not run: declined" and len(user.questions) == 1
    assert user.questions[0].startswith(f"{tool}: ")
    assert fake.requests_for("ollama") == [] and fake.requests_for("grok") == []


async def test_a_call_within_confirm_over_usd_is_not_asked(fake: FakeProvider, tmp_path: Path) -> None:
    user = User("decline")
    server = build_server(settings_with(tmp_path, fake, confirm_over_usd=0.01))
    async with Client(server, elicitation_callback=user) as client:
        with anyio.fail_after(DEADLINE_S):
            result = await client.call_tool("ask_ai", {"ai": "ollama", "prompt": "hi", "max_tokens": 100})
    assert not result.is_error and user.questions == []
    assert len(fake.requests_for("ollama")) == 1


async def test_without_confirm_over_usd_nothing_is_asked(fake: FakeProvider, tmp_path: Path) -> None:
    user = User("decline")
    async with Client(build_server(settings_with(tmp_path, fake)), elicitation_callback=user) as client:
        with anyio.fail_after(DEADLINE_S):
            result = await client.call_tool("ask_all_ais", {"prompt": "hi"})
    assert not result.is_error and user.questions == []


@pytest.mark.parametrize(
    ("tool", "arguments", "calls"),
    [
        ("ask_all_ais", {}, 2),
        ("ai_debate", {"rounds": 3}, 7),  # three rounds each, and the summary
        ("collaborative_solve", {"approach": "parallel"}, 3),  # proposals, then one combines them
        ("collaborative_solve", {"approach": "sequential"}, 2),
        ("ai_consensus", {"method": "vote"}, 2),
        ("ai_consensus", {"method": "council"}, 5),  # answers, reviews, the chairman
    ],
)
async def test_the_worst_case_counts_every_call_a_tool_makes(
    fake: FakeProvider, tmp_path: Path, tool: str, arguments: dict[str, Any], calls: int
) -> None:
    async with Junior.build(settings_with(tmp_path, fake)) as app:
        estimate = await worst_case(app, tool, {"prompt": "hi", **arguments})
    assert isinstance(estimate, Estimate) and estimate.calls == calls


async def test_over_stateless_http_2026_07_28_asks_inside_the_result_and_the_older_era_gets_the_estimate(
    fake: FakeProvider, tmp_path: Path
) -> None:
    """`serve --http` is stateless: on 2026-07-28 the question rides the result (any replica could take the
    answer); on 2025-11-25 the server cannot send a request mid-call, so that client is told the estimate."""
    priced = {"prices": TEN_PER_MILLION}
    body = credentials_for(fake, ("ollama",), ollama=priced) | FAST_RETRIES | {"confirm_over_usd": 0.01}
    credentials = write_credentials(tmp_path / "credentials.json", body)
    server = HttpServer(server_env(tmp_path, credentials, JUNIOR_AI_TOKENS=f"alice:{token_hash(CANARY)}"))
    accept, decline = User("accept"), User("decline")
    try:
        server.wait_ready()
        with anyio.fail_after(60):
            async with httpx2.AsyncClient(headers={"Authorization": f"Bearer {CANARY}"}, timeout=30) as http:
                url = f"{server.url}/mcp"
                async with Client(streamable_http_client(url, http_client=http), elicitation_callback=accept) as c:
                    confirmed = await c.call_tool("ask_ai", {"ai": "ollama", "prompt": "yes"})
                async with Client(streamable_http_client(url, http_client=http), elicitation_callback=decline) as c:
                    declined = await c.call_tool("ask_ai", {"ai": "ollama", "prompt": "no"})
                older = Client(
                    streamable_http_client(url, http_client=http), mode="legacy", elicitation_callback=accept
                )
                async with older as c:
                    told = await c.call_tool("ask_ai", {"ai": "ollama", "prompt": "older"})
    finally:
        log = server.stop()
    assert "Traceback" not in log, log
    assert not confirmed.is_error, text_of(confirmed)
    assert text_of(declined) == "not run: declined"
    assert told.is_error and "call again with max_cost_usd: 0.041" in text_of(told)
    assert len(accept.questions) == 1 and len(decline.questions) == 1
    assert [request.user for request in fake.requests_for("ollama")] == ["yes"]
