"""A provider's model list is untrusted: its ids are cleaned where they enter (strings only, printable, no
spaces, a length cap, a count cap, de-duplicated, sorted), and an answer that is not a model list is a
typed error, through the async clients and the sync ones alike."""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any

import pytest

from ai.clean import MAX_MODEL_ENTRIES, MAX_MODELS, MAX_NAME_CHARS, model_ids
from ai.gemini import read_gemini_models
from ai.openai_compat import read_openai_models
from ai.pool import ThreadedClient
from ai.sync_client import create_ai_client
from core.errors import AuthenticationFailed, InvalidResponse
from core.redact import Redactor
from tests.fakes import FakeProvider
from tests.helpers import key_for

pytestmark = pytest.mark.anyio
KEYS = Redactor(["sk-another-ai-0123456789abcdef"])  # a key of the configuration: no id may hold one


@pytest.mark.parametrize(
    ("values", "expected"),
    [
        (["b", "a", "b"], ["a", "b"]),
        ([None, 5, 1.5, True, ["x"], {"id": "y"}, b"bytes"], []),
        (["", " ", "two words", "tab\there", "new\nline", "nul\x00", "bell\a", "\ud800lone"], []),
        (["x" * MAX_NAME_CHARS, "y" * (MAX_NAME_CHARS + 1)], ["x" * MAX_NAME_CHARS]),
        (
            ["meta-llama/Llama-3.3-70B-Instruct:free", "ünïcode-ok"],
            ["meta-llama/Llama-3.3-70B-Instruct:free", "ünïcode-ok"],
        ),
        (["\u202eevil"], []),  # a direction override is not printable
    ],
)
def test_only_plain_ids_are_kept(values: list[Any], expected: list[str]) -> None:
    assert model_ids(values) == expected


def test_gemini_ids_lose_their_prefix_and_only_it() -> None:
    assert model_ids(["models/gemini-2.5-pro", "tunedModels/mine", "models/"], prefix="models/") == [
        "gemini-2.5-pro",
        "tunedModels/mine",
    ]


def test_a_list_without_end_is_read_only_so_far_and_cut() -> None:
    endless = (f"m-{n:07}" for n in range(10**9))
    ids = model_ids(endless)
    assert len(ids) == MAX_MODELS and ids[0] == "m-0000000"
    assert model_ids(["dup"] * (MAX_MODEL_ENTRIES + 10) + ["late"]) == ["dup"], "reading stops at the entry cap"


@pytest.mark.parametrize(
    ("page", "expected"),
    [
        (SimpleNamespace(data=[SimpleNamespace(id="gpt-b"), SimpleNamespace(id="gpt-a")]), ["gpt-a", "gpt-b"]),
        (SimpleNamespace(data=[{"id": "from-a-dict"}, "junk", None, SimpleNamespace(id=7)]), ["from-a-dict"]),
        (SimpleNamespace(data=[]), []),
    ],
)
def test_openai_model_pages_are_read_entry_by_entry(page: Any, expected: list[str]) -> None:
    assert read_openai_models("grok", page, KEYS) == expected


def test_an_id_holding_a_key_is_dropped() -> None:
    page = SimpleNamespace(
        data=[{"id": "gpt-a"}, {"id": "sk-another-ai-0123456789abcdef"}, {"id": "x-another-ai-0123"}]
    )
    assert read_openai_models("grok", page, KEYS) == ["gpt-a"]
    models = [SimpleNamespace(name="models/g-1"), SimpleNamespace(name="models/0123456789abcdef")]
    assert read_gemini_models("gemini", models, KEYS) == ["g-1"]


@pytest.mark.parametrize("page", [SimpleNamespace(data="a string"), SimpleNamespace(), "<html>", None])
def test_an_openai_answer_that_is_no_model_list_is_invalid(page: Any) -> None:
    with pytest.raises(InvalidResponse, match=r"grok \(model list\): the answer is not a model list"):
        read_openai_models("grok", page, KEYS)


def test_gemini_lists_only_models_that_generate_content_when_it_says() -> None:
    models = [
        SimpleNamespace(name="models/gemini-2.5-pro", supported_actions=["generateContent", "countTokens"]),
        SimpleNamespace(name="models/text-embedding-004", supported_actions=["embedContent"]),
        SimpleNamespace(name="models/unsaid", supported_actions=None),
    ]
    assert read_gemini_models("gemini", models, KEYS) == ["gemini-2.5-pro", "unsaid"]


@pytest.mark.parametrize("name", ["gemini", "grok"])
async def test_the_sync_clients_list_models_too(fake: FakeProvider, name: str) -> None:
    api = "gemini" if name == "gemini" else "openai"
    fake.set_models(name, f"{name}-2", f"{name}-1", "bad id")
    client = create_ai_client(name, key_for(name), "m", base_url=fake.base_url(name, api), timeout=5)
    try:
        assert await ThreadedClient(client).list_models() == [f"{name}-1", f"{name}-2"]
        fake.behave(name, status=401)
        with pytest.raises(AuthenticationFailed, match=rf"{name} \(model list\) \(HTTP 401\)"):
            client.list_models()
    finally:
        client.close()
