"""Spend asked before it happens, through a second, independent client: FastMCP's (PyPI's `fastmcp-slim`), which
speaks 2026-07-28 (`server/discover`, no handshake) and answers elicitation, with the server spawned over stdio
as a host would. The user confirms (the fake provider gets the call) and declines (it gets nothing); without
elicitation the client gets the estimate, and `max_cost_usd` at or above it runs the call."""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import Any

import anyio
import pytest
from fastmcp.client import Client
from fastmcp.client.elicitation import ElicitResult
from fastmcp.client.transports import StdioTransport

from tests.fakes import FakeProvider
from tests.helpers import FAST_RETRIES, SERVER, credentials_for, write_credentials

pytestmark = pytest.mark.anyio
DEADLINE_S = 60  # a server process of its own starts first
# Nothing per input token, $10 per million output tokens: a call without max_tokens may cost $0.041.
TEN_PER_MILLION = {"*": {"input_per_mtok": 0, "output_per_mtok": 10}}


def spawned(fake: FakeProvider, tmp_path: Path) -> StdioTransport:
    body = credentials_for(fake, ("ollama",), ollama={"prices": TEN_PER_MILLION}) | FAST_RETRIES
    path = write_credentials(tmp_path / "credentials.json", body | {"confirm_over_usd": 0.01})
    env = {**os.environ, "JUNIOR_AI_CREDENTIALS": str(path)}
    return StdioTransport(command=sys.executable, args=[SERVER], env=env, cwd=str(tmp_path))


def text_of(result: Any) -> str:
    return "\n".join(getattr(part, "text", "") for part in result.content)


async def test_fastmcp_on_2026_07_28_confirms_and_declines_a_spend_over_confirm_over_usd(
    fake: FakeProvider, tmp_path: Path
) -> None:
    answers = ["accept", "decline"]
    questions: list[str] = []

    async def user(message: str, response_type: Any, params: Any, context: Any) -> Any:
        questions.append(message)
        action = answers.pop(0)
        return {"go_ahead": True} if action == "accept" else ElicitResult(action=action)

    with anyio.fail_after(DEADLINE_S):
        async with Client(spawned(fake, tmp_path), elicitation_handler=user) as client:
            assert client.protocol_version == "2026-07-28"
            confirmed = await client.call_tool("ask_ai", {"ai": "ollama", "prompt": "hi"}, raise_on_error=False)
            assert len(fake.requests_for("ollama")) == 1
            declined = await client.call_tool("ask_ai", {"ai": "ollama", "prompt": "again"}, raise_on_error=False)
    assert not confirmed.is_error, text_of(confirmed)
    assert text_of(declined) == "not run: declined"
    assert [request.user for request in fake.requests_for("ollama")] == ["hi"], "the declined call sent nothing"
    assert questions == [
        "ask_ai: 1 AI call, $0.041 at most, more than confirm_over_usd ($0.01). Go ahead?",
        "ask_ai: 1 AI call, $0.041 at most, more than confirm_over_usd ($0.01). Go ahead?",
    ]


async def test_fastmcp_without_elicitation_gets_the_estimate_and_max_cost_usd_goes_ahead(
    fake: FakeProvider, tmp_path: Path
) -> None:
    with anyio.fail_after(DEADLINE_S):
        async with Client(spawned(fake, tmp_path)) as client:
            assert client.protocol_version == "2026-07-28"
            refused = await client.call_tool("ask_ai", {"ai": "ollama", "prompt": "hi"}, raise_on_error=False)
            assert fake.requests_for("ollama") == []
            arguments = {"ai": "ollama", "prompt": "hi", "max_cost_usd": 0.041}
            allowed = await client.call_tool("ask_ai", arguments, raise_on_error=False)
    assert refused.is_error and "$0.041 at most" in text_of(refused)
    assert "call again with max_cost_usd: 0.041 (or more)" in text_of(refused)
    assert not allowed.is_error, text_of(allowed)
    assert len(fake.requests_for("ollama")) == 1
