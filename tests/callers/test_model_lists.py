"""`server_status(models=true)` lists each AI's models from its provider, all at once within the deadline,
cached in the store for an hour: a provider that fails or is too slow is named with the reason and the
others are shown; a store that cannot be opened costs a note, never the list."""

from __future__ import annotations

import sqlite3
from pathlib import Path
from typing import Any

import anyio
import pytest
from mcp import Client
from mcp.types import CallToolResult
from sqlalchemy import update

from callers import Junior
from callers.models import cache_entry, cached_ids, is_fresh, list_models
from core.config.defaults import MODELS_CACHE_S
from core.config.settings import Settings
from core.store.schema import models_cache
from serve.main import build_server
from tests.fakes import FakeProvider
from tests.helpers import ALL_AIS, Served, closed_port

pytestmark = pytest.mark.anyio
DEADLINE_S = 30


def text_of(result: CallToolResult) -> str:
    return result.content[0].text  # type: ignore[union-attr]


def by_ai(result: CallToolResult) -> dict[str, dict[str, Any]]:
    return {ai["name"]: ai for ai in (result.structured_content or {})["models"]["ais"]}


async def listed(client: Client) -> CallToolResult:
    with anyio.fail_after(DEADLINE_S):
        result = await client.call_tool("server_status", {"models": True})
    assert not result.is_error, text_of(result)
    return result


async def test_models_are_listed_with_one_provider_down(fake: FakeProvider, settings: Settings) -> None:
    fake.behave("grok", status=500)
    fake.set_models("gemini", "gemini-2.5-pro", "gemini-2.5-flash")
    async with Client(build_server(settings)) as client:
        result = await listed(client)
    ais = by_ai(result)
    assert list(ais) == list(ALL_AIS)
    assert (ais["grok"]["error_kind"], ais["grok"]["models"]) == ("server_error", [])
    assert ais["gemini"]["models"] == ["gemini-2.5-flash", "gemini-2.5-pro"], "sorted, without 'models/'"
    for name in ("openai", "deepseek", "openrouter", "ollama"):
        assert (ais[name]["models"], ais[name]["source"]) == ([f"{name}-alpha", f"{name}-beta"], "provider")
    text = text_of(result)
    assert "- grok: failed: server_error: grok (model list) (HTTP 500): fake provider error 500" in text
    assert "- gemini: 2 models, from the provider: gemini-2.5-flash, gemini-2.5-pro" in text
    assert "- ollama: 2 models, from the provider: ollama-alpha, ollama-beta" in text


async def test_a_second_listing_comes_from_the_cache_until_it_is_an_hour_old(
    fake: FakeProvider, settings: Settings
) -> None:
    served = Served(settings)
    async with Client(served.server) as client:
        first = await listed(client)
        asked = len(fake.model_lists)
        second = await listed(client)
        assert len(fake.model_lists) == asked, "the cache answered: no provider was asked again"
        store = await served.app.store()
        async with store.engine.begin() as conn:  # an hour and a second ago
            await conn.execute(update(models_cache).values(fetched_at=models_cache.c.fetched_at - MODELS_CACHE_S - 1))
        third = await listed(client)
    assert asked == len(ALL_AIS)
    assert {ai["source"] for ai in by_ai(first).values()} == {"provider"}
    assert {ai["source"] for ai in by_ai(second).values()} == {"cache"}
    assert by_ai(second)["grok"]["models"] == by_ai(first)["grok"]["models"]
    assert "- grok: 2 models, cached just now: grok-alpha, grok-beta" in text_of(second)
    assert {ai["source"] for ai in by_ai(third).values()} == {"provider"}, "expired: fetched again"
    assert len(fake.model_lists) == 2 * asked


async def test_refresh_fetches_every_list_again_and_a_failure_shows_the_last_list(
    fake: FakeProvider, app: Junior
) -> None:
    with anyio.fail_after(DEADLINE_S):
        await list_models(app, deadline_s=DEADLINE_S)
        fake.set_models("deepseek", "deepseek-v4")
        fake.behave("grok", status=401)
        report = await list_models(app, deadline_s=DEADLINE_S, refresh=True)
    ais = {ai.name: ai for ai in report.ais}
    assert len(fake.model_lists) == 2 * len(ALL_AIS)
    assert (ais["deepseek"].models, ais["deepseek"].source) == (["deepseek-v4"], "provider")
    grok = ais["grok"]
    assert (grok.error_kind, grok.source, grok.models) == ("auth", "cache", ["grok-alpha", "grok-beta"])


@pytest.mark.parametrize("store", ["a directory", "a closed PostgreSQL port"])
async def test_a_store_that_cannot_be_opened_still_lists_and_says_why(
    fake: FakeProvider, settings: Settings, tmp_path: Path, store: str
) -> None:
    if store == "a directory":
        (tmp_path / "junior.db").mkdir()
        url, why = f"sqlite:///{tmp_path / 'junior.db'}", "is a directory, not a file"
    else:
        url, why = f"postgresql://junior:secret-password-0123@127.0.0.1:{closed_port()}/junior", "cannot be reached"
    broken = settings.model_copy(update={"database_url": url})
    async with Client(build_server(broken)) as client:
        result = await listed(client)
    assert all(ai["source"] == "provider" and ai["models"] for ai in by_ai(result).values())
    [note] = (result.structured_content or {})["models"]["notes"]
    assert note.startswith("without the model cache: the store (") and why in note and "Fix: " in note
    assert f"note: {note}" in text_of(result)
    assert "secret-password-0123" not in text_of(result)


async def test_a_store_locked_by_another_process_does_not_hold_up_the_lists(
    fake: FakeProvider, settings: Settings, tmp_path: Path
) -> None:
    path = tmp_path / "junior.db"
    holder = sqlite3.connect(path, isolation_level=None)
    holder.execute("BEGIN EXCLUSIVE")
    try:
        async with Junior.build(settings.model_copy(update={"database_url": f"sqlite:///{path}"})) as app:
            # The lists come by the deadline: the store's busy wait (in a thread) is abandoned then.
            with anyio.fail_after(2 + 2):
                report = await list_models(app, deadline_s=2)
    finally:
        holder.close()
    assert all(ai.models and ai.source == "provider" for ai in report.ais)
    assert report.notes == ["without the model cache: the store did not open in time"]


async def test_the_deadline_is_honoured_and_the_slow_provider_is_named(fake: FakeProvider, settings: Settings) -> None:
    fake.behave("openai", latency=30)
    hurried = settings.model_copy(update={"deadline_s": 2})
    async with Client(build_server(hurried)) as client:
        with anyio.fail_after(2 + 5):  # well before openai's 30 s
            result = await listed(client)
    ais = by_ai(result)
    assert ais["openai"]["error_kind"] == "timeout"
    assert "openai (model list): no answer within" in ais["openai"]["error"]
    assert all(ais[name]["models"] for name in ALL_AIS if name != "openai")


async def test_a_long_list_is_cut_in_the_text_and_whole_in_the_structured_content(
    fake: FakeProvider, settings: Settings
) -> None:
    ids = [f"gemini-{n:04}" for n in range(2500)]  # three of Gemini's pages
    fake.set_models("gemini", *ids)
    async with Client(build_server(settings)) as client:
        result = await listed(client)
    assert by_ai(result)["gemini"]["models"] == ids
    assert [request.body.get("pageToken") for request in fake.model_lists if request.ai == "gemini"] == [
        None,
        "1000",
        "2000",
    ]
    assert "gemini-0039 … and 2460 more" in text_of(result) and "gemini-0040" not in text_of(result)


async def test_hostile_model_ids_are_cleaned_where_they_enter(fake: FakeProvider, app: Junior) -> None:
    fake.set_models("grok", "b-model", "a-model", "b-model", "", "two words", "bell\a", "x" * 201, "fine:free")
    fake.behave("openai", body='{"object": "list", "data": [{"id": 5}, "junk", {"id": "gpt-ok"}, null]}')
    fake.behave("deepseek", body='{"object": "list", "data": "not a list"}')
    fake.behave("openrouter", raw=b"<html>maintenance</html>", headers=(("content-type", "text/html"),))
    with anyio.fail_after(DEADLINE_S):
        report = await list_models(app, deadline_s=DEADLINE_S)
    ais = {ai.name: ai for ai in report.ais}
    assert ais["grok"].models == ["a-model", "b-model", "fine:free"]
    assert ais["openai"].models == ["gpt-ok"]
    assert (ais["deepseek"].error_kind, ais["openrouter"].error_kind) == ("invalid_response", "invalid_response")
    assert "the answer is not a model list (data is a str)" in (ais["deepseek"].error or "")


async def test_next_page_tokens_without_end_stop_at_the_page_cap(fake: FakeProvider, app: Junior) -> None:
    fake.behave("gemini", body='{"models": [{"name": "models/gemini-x"}], "nextPageToken": "again"}')
    with anyio.fail_after(DEADLINE_S):
        report = await list_models(app, deadline_s=DEADLINE_S)
    assert report.ais[0].models == ["gemini-x"]
    assert len([r for r in fake.model_lists if r.ai == "gemini"]) == 10


@pytest.mark.parametrize(
    ("fetched_at", "now", "fresh"),
    [
        (1000.0, 1000.0, True),
        (1000.0, 1000.0 + MODELS_CACHE_S - 1, True),
        (1000.0, 1000.0 + MODELS_CACHE_S, False),
        (1000.0, 999.0, False),  # from the future: a clock set back
    ],
)
def test_a_cached_list_is_fresh_for_an_hour(fetched_at: float, now: float, fresh: bool) -> None:
    assert is_fresh(fetched_at, now) is fresh


@pytest.mark.parametrize(
    ("entry", "expected"),
    [
        (cache_entry("http://h/v1", ["b", "a"]), ["a", "b"]),
        (cache_entry("http://other/v1", ["a"]), None),  # the AI's endpoint changed since
        ('{"base_url": "http://h/v1", "models": ["ok", 3, "two words"]}', ["ok"]),
        ('{"base_url": "http://h/v1", "models": "x"}', None),
        ("not json", None),
        ("[" * 100_000, None),
        ("[]", None),
    ],
)
def test_a_cache_entry_is_read_back_cleaned(entry: str, expected: list[str] | None) -> None:
    assert cached_ids(entry, "http://h/v1") == expected


def test_a_cache_entry_never_holds_a_password() -> None:
    assert "pw-0123" not in cache_entry("https://user:pw-0123@h/v1", ["a"])
