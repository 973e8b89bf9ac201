"""A bug of ours while reading an answer is ours: reported once as an internal error, with its traceback in
the log, never retried, never blamed on the provider. Through the real MCP client, the real SDKs and the
loopback fake; the bug is injected by replacing one reader function of ai/openai_compat.py or ai/gemini.py (streamed
or not) with one that raises TypeError: everything else is real."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any, NoReturn

import anyio
import pytest
from mcp import Client

from core.config.settings import load_settings
from serve.main import build_server
from tests.fakes import FakeProvider
from tests.helpers import FAST_RETRIES, credentials_for, write_credentials

pytestmark = pytest.mark.anyio


def buggy(*_args: Any, **_kwargs: Any) -> NoReturn:
    raise TypeError("unsupported operand type(s) for +: 'int' and 'NoneType'")


# (AI, stream): the reader that meets the answer there, looked up where it is called.
READERS = {
    ("grok", False): "ai.openai_compat.openai_usage",  # read_openai's
    ("grok", True): "ai.openai_compat.openai_usage",  # read_openai_stream's
    ("gemini", False): "ai.gemini.gemini_usage",  # read_gemini's
    ("gemini", True): "ai.gemini.gemini_usage",  # read_gemini_stream's
}


IDS = [f"{ai}-{'stream' if streamed else 'plain'}" for ai, streamed in READERS]


@pytest.mark.parametrize(("ai", "stream"), list(READERS), ids=IDS)
async def test_a_bug_in_a_reader_is_an_internal_error_sent_once_and_logged(
    ai: str,
    stream: bool,
    fake: FakeProvider,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    body = credentials_for(fake, (ai,), **{ai: {"stream": stream}}) | FAST_RETRIES
    settings = load_settings(write_credentials(tmp_path / "credentials.json", body), env={})
    monkeypatch.setattr(READERS[ai, stream], buggy)
    with caplog.at_level(logging.ERROR, logger="junior_ai"), anyio.fail_after(30):
        async with Client(build_server(settings)) as client:
            result = await client.call_tool("ask_ai", {"ai": ai, "prompt": "hi"})
    assert len(fake.requests_for(ai)) == 1, "sent once: not retried, not sent again by the sync fallback"
    assert result.is_error
    assert (result.structured_content or {})["error_kind"] == "internal"
    text = result.content[0].text  # type: ignore[union-attr]
    assert "internal error while reading the answer (TypeError); see the server log" in text
    assert "unreadable" not in text and "retried" not in text
    [logged] = [r for r in caplog.records if r.name == "junior_ai.errors"]
    assert logged.exc_info is not None and logged.exc_info[0] is TypeError, "the traceback is in the log"
