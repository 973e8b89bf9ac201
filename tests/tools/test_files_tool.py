"""`files` through the real MCP client: the server reads what the client names, inside the client's roots
(or the configured ones), never a secret; images reach the AIs that take them as image parts, through the
real SDKs; a big file is cut with a note; in a thread, an unchanged file is not sent twice."""

from __future__ import annotations

import re
import struct
import zlib
from pathlib import Path
from typing import Any

import anyio
import pytest
from mcp import Client
from mcp.types import CallToolResult, ListRootsResult, Root

from core.config.settings import Settings, load_settings
from serve.main import build_server
from tests.fakes import FakeProvider
from tests.helpers import FAST_RETRIES, credentials_for, write_credentials

pytestmark = pytest.mark.anyio
DEADLINE_S = 30


def text_of(result: CallToolResult) -> str:
    return "\n".join(getattr(part, "text", "") for part in result.content)


def png() -> bytes:
    """A real 1x1 PNG."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    header = struct.pack(">IIBBBBB", 1, 1, 8, 2, 0, 0, 0)
    pixels = zlib.compress(b"\x00\xff\x00\x00")
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", pixels) + chunk(b"IEND", b"")


@pytest.fixture
def project(tmp_path: Path) -> Path:
    root = tmp_path / "project"
    (root / "src").mkdir(parents=True)
    (root / "src" / "importer.py").write_text("def load(rows):\n    return list(rows)\n")
    (root / ".env").write_text("OPENAI_API_KEY=sk-never-sent\n")
    (root / "diagram.png").write_bytes(png())
    (tmp_path / "elsewhere.txt").write_text("not in the project")
    return root


def offering(*roots: Path) -> Any:
    """A client's roots/list answer: these directories. (Roots are asked for over the back-channel of the
    handshake-era protocol, which Claude Desktop and Claude Code speak: `mode="legacy"`.)"""

    async def list_roots(_context: Any) -> ListRootsResult:
        return ListRootsResult(roots=[Root(uri=root.as_uri(), name=root.name) for root in roots])  # type: ignore[arg-type]

    return list_roots


async def test_files_are_read_from_the_clients_root_and_sent_with_their_paths(
    fake: FakeProvider, settings: Settings, project: Path
) -> None:
    async with Client(build_server(settings), mode="legacy", list_roots_callback=offering(project)) as client:
        with anyio.fail_after(DEADLINE_S):
            result = await client.call_tool("ask_ai", {"ai": "grok", "prompt": "Review", "files": ["src/*.py"]})
    assert not result.is_error, text_of(result)
    [sent] = fake.requests_for("grok")
    assert '--- "src/importer.py" ---\n```\ndef load(rows):\n    return list(rows)\n```\n' in sent.user


async def test_secrets_and_paths_outside_the_roots_are_refused_by_rule(
    fake: FakeProvider, settings: Settings, project: Path, tmp_path: Path
) -> None:
    named = [".env", str(tmp_path / "elsewhere.txt"), "src/importer.py"]
    async with Client(build_server(settings), mode="legacy", list_roots_callback=offering(project)) as client:
        result = await client.call_tool("ask_ai", {"ai": "grok", "prompt": "Review", "files": named})
    assert result.is_error
    text = text_of(result)
    assert "files: 2 paths refused, so nothing was sent:" in text
    assert ".env: never read, whatever the roots: environment files (.env*)" in text
    assert f"{tmp_path / 'elsewhere.txt'}: outside the allowed roots; files are read only inside: {project}" in text
    assert fake.requests_for("grok") == [], "nothing reached the provider"


async def test_without_client_roots_the_configured_roots_hold(
    fake: FakeProvider, settings: Settings, project: Path, tmp_path: Path
) -> None:
    configured = settings.model_copy(update={"allowed_roots": (project,)})
    async with Client(build_server(configured)) as client:
        inside = await client.call_tool("ask_ai", {"ai": "grok", "prompt": "x", "files": ["src/importer.py"]})
        outside = await client.call_tool(
            "ask_ai", {"ai": "grok", "prompt": "x", "files": [str(tmp_path / "elsewhere.txt")]}
        )
    assert not inside.is_error and '--- "src/importer.py" ---' in fake.requests_for("grok")[0].user
    assert outside.is_error and "outside the allowed roots" in text_of(outside)


async def test_an_image_reaches_gemini_and_an_openai_compatible_ai_as_image_parts(
    fake: FakeProvider, settings: Settings, project: Path
) -> None:
    arguments = {"prompt": "What is drawn?", "ais": ["gemini", "openai", "deepseek"], "files": ["diagram.png"]}
    async with Client(build_server(settings), mode="legacy", list_roots_callback=offering(project)) as client:
        with anyio.fail_after(DEADLINE_S):
            result = await client.call_tool("ask_all_ais", arguments)
    assert not result.is_error, text_of(result)
    [gemini], [openai], [deepseek] = (fake.requests_for(ai) for ai in ("gemini", "openai", "deepseek"))
    assert gemini.images == [("image/png", png())]
    assert openai.images == [("image/png", png())]
    assert deepseek.images == []
    assert "deepseek does not take images, so diagram.png was not sent to it" in text_of(result)


async def test_a_two_megabyte_file_is_cut_to_the_budget_with_a_note(
    fake: FakeProvider, settings: Settings, project: Path
) -> None:
    (project / "big.log").write_text("".join(f"line {n:07d} of the log\n" for n in range(90_000)))  # ~2 MB
    small = settings.model_copy(update={"max_file_tokens": 10_000})
    async with Client(build_server(small), mode="legacy", list_roots_callback=offering(project)) as client:
        result = await client.call_tool("ask_ai", {"ai": "grok", "prompt": "Why?", "files": ["big.log"]})
    assert not result.is_error, text_of(result)
    assert re.search(r"big\.log: cut to ~9,9\d\d of ~540,000 estimated tokens \(max_file_tokens\)", text_of(result))
    [sent] = fake.requests_for("grok")
    assert 30_000 < len(sent.user) < 45_000, "about 10,000 tokens of the file, not 2 MB"


async def test_in_a_thread_an_unchanged_file_is_not_sent_again_and_a_changed_one_is(
    fake: FakeProvider, settings: Settings, project: Path
) -> None:
    source = project / "src" / "importer.py"
    fake.behave("grok", text="Looks fine.")  # an answer that does not echo the file
    async with Client(build_server(settings), mode="legacy", list_roots_callback=offering(project)) as client:
        first = await client.call_tool("ask_ai", {"ai": "grok", "prompt": "one", "files": ["src/importer.py"]})
        thread = (first.structured_content or {})["continuation_id"]
        again = {"ai": "grok", "prompt": "two", "files": ["src/importer.py"], "continuation_id": thread}
        second = await client.call_tool("ask_ai", again)
        source.write_text("def load(rows):\n    return sorted(rows)\n")
        third = await client.call_tool("ask_ai", again | {"prompt": "three"})
    assert "src/importer.py: unchanged since it was last sent in this thread" in text_of(second)
    requests = fake.requests_for("grok")
    assert requests[1].user.count("return list(rows)") == 1, "once, in the history, not again with the prompt"
    assert "src/importer.py: changed since it was last sent in this thread" in text_of(third)
    assert "return sorted(rows)" in requests[2].user


async def test_a_file_an_ais_window_has_left_behind_is_sent_again(
    fake: FakeProvider, tmp_path: Path, project: Path
) -> None:
    body = credentials_for(fake, ("grok",), grok={"context_tokens": 1_024}) | FAST_RETRIES
    small = load_settings(write_credentials(tmp_path / "credentials.json", body), env={})
    (project / "notes.md").write_text("a line of notes to read\n" * 250)  # ~1,500 tokens: more than the window keeps
    fake.behave("grok", text="Read.")
    async with Client(build_server(small), mode="legacy", list_roots_callback=offering(project)) as client:
        first = await client.call_tool("ask_ai", {"ai": "grok", "prompt": "one", "files": ["notes.md"]})
        thread = (first.structured_content or {})["continuation_id"]
        again = {"ai": "grok", "prompt": "two", "files": ["notes.md"], "continuation_id": thread}
        second = await client.call_tool("ask_ai", again)
    assert "unchanged since it was last sent" not in text_of(second)
    last = fake.requests_for("grok")[1].body["messages"][-1]["content"]
    assert last.startswith("two") and '--- "notes.md"' in last, "sent again with the prompt"
