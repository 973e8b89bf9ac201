"""Images, through the real openai and google-genai SDKs to the loopback fake: an image_url part (a data
URL) for an OpenAI-compatible AI, inline data for Gemini, in the last user turn; none for an AI that does
not take images."""

from __future__ import annotations

import base64
from pathlib import Path

import pytest

from ai.async_client import create_async_ai_client
from ai.request import Message, Request
from ai.sync_client import create_ai_client
from callers import Junior, ask_route
from core.config.settings import load_settings
from core.files.reader import Image, read_files
from tests.fakes import FakeProvider
from tests.helpers import FAST_RETRIES, api_of, credentials_for, write_credentials

pytestmark = pytest.mark.anyio
KEY = "sk-test-images-0123456789"
PNG = b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + bytes(range(256)) * 4
JPEG = b"\xff\xd8\xff\xe0\x00\x10JFIF" + bytes(64)
IMAGES = (Image("diagram.png", "image/png", PNG), Image("photo.jpg", "image/jpeg", JPEG))
AIS = ["grok", "gemini"]  # one per SDK


@pytest.mark.parametrize("ai", AIS)
async def test_images_reach_the_ai_with_the_prompt(fake: FakeProvider, ai: str) -> None:
    async with await create_async_ai_client(ai, KEY, "m", base_url=fake.base_url(ai, api_of(ai))) as client:
        completion = await client.ask(Request("What is in these pictures?", images=IMAGES))
    [request] = fake.requests_for(ai)
    assert request.images == [("image/png", PNG), ("image/jpeg", JPEG)]
    assert request.user == "What is in these pictures?"
    assert completion.text.endswith("What is in these pictures?")


@pytest.mark.parametrize("ai", AIS)
def test_the_sync_clients_send_images_too(fake: FakeProvider, ai: str) -> None:
    with create_ai_client(ai, KEY, "m", base_url=fake.base_url(ai, api_of(ai))) as client:
        client.ask(Request("Describe it", images=IMAGES[:1]))
    [request] = fake.requests_for(ai)
    assert request.images == [("image/png", PNG)]


async def test_openai_compatible_gets_a_list_of_parts_with_a_data_url(fake: FakeProvider) -> None:
    history = (Message("user", "Hello"), Message("assistant", "Hi"))
    async with await create_async_ai_client("grok", KEY, "m", base_url=fake.base_url("grok")) as client:
        await client.ask(Request("Look", history=history, system="Be brief", images=IMAGES[:1]))
    [request] = fake.requests_for("grok")
    assert request.body["messages"] == [
        {"role": "system", "content": "Be brief"},
        {"role": "user", "content": "Hello"},
        {"role": "assistant", "content": "Hi"},
        {
            "role": "user",
            "content": [
                {"type": "text", "text": "Look"},
                {"type": "image_url", "image_url": {"url": "data:image/png;base64," + base64.b64encode(PNG).decode()}},
            ],
        },
    ]


async def test_gemini_gets_inline_data_in_the_last_user_turn(fake: FakeProvider) -> None:
    history = (Message("user", "Hello"), Message("assistant", "Hi"))
    base_url = fake.base_url("gemini", "gemini")
    async with await create_async_ai_client("gemini", KEY, "m", base_url=base_url) as client:
        await client.ask(Request("Look", history=history, images=IMAGES[:1]))
    [request] = fake.requests_for("gemini")
    earlier, last = request.body["contents"][:2], request.body["contents"][2]
    assert earlier == [{"role": "user", "parts": [{"text": "Hello"}]}, {"role": "model", "parts": [{"text": "Hi"}]}]
    assert last["role"] == "user" and last["parts"][0] == {"text": "Look"}
    assert list(last["parts"][1]) == ["inlineData"]  # data, base64, and the MIME type (google-genai: "mime_type")
    assert request.images == [("image/png", PNG)]


@pytest.mark.parametrize("ai", AIS)
async def test_without_images_the_prompt_is_sent_as_before(fake: FakeProvider, ai: str) -> None:
    async with await create_async_ai_client(ai, KEY, "m", base_url=fake.base_url(ai, api_of(ai))) as client:
        await client.ask(Request("Just text"))
    [request] = fake.requests_for(ai)
    assert request.images == []
    if ai == "grok":
        assert request.body["messages"] == [{"role": "user", "content": "Just text"}]
    else:
        assert request.body["contents"] == [{"role": "user", "parts": [{"text": "Just text"}]}]


@pytest.mark.parametrize(
    ("ai", "gets_images"),
    [("gemini", True), ("openai", True), ("grok", True), ("openrouter", True), ("deepseek", False), ("ollama", False)],
)
async def test_an_image_read_from_a_file_reaches_only_the_ais_that_take_images(
    fake: FakeProvider, app: Junior, tmp_path: Path, ai: str, gets_images: bool
) -> None:
    (tmp_path / "diagram.png").write_bytes(PNG)
    bundle = await read_files(["diagram.png"], [tmp_path], budget_tokens=10_000, max_file_tokens=10_000)
    assert app.config(ai).takes_images is gets_images
    completion = await ask_route(app, app.route(ai), Request("What does it show?", images=bundle.images))
    [request] = fake.requests_for(ai)
    assert request.images == ([("image/png", PNG)] if gets_images else [])
    assert request.user == "What does it show?" and completion.text.endswith("What does it show?")


async def test_an_ai_configured_without_images_gets_none(fake: FakeProvider, tmp_path: Path) -> None:
    body = credentials_for(fake, ("grok",), grok={"images": False}) | FAST_RETRIES
    settings = load_settings(write_credentials(tmp_path / "credentials.json", body), env={})
    async with Junior.build(settings) as app:
        await ask_route(app, app.route("grok"), Request("Look", images=IMAGES))
    [request] = fake.requests_for("grok")
    assert request.images == [] and request.body["messages"] == [{"role": "user", "content": "Look"}]
