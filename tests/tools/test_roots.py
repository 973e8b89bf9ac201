"""The client's roots on both protocol eras, through the SDK's real client in memory: 2025-11-25 with the
`initialize` handshake (roots asked mid-call over the back-channel) and 2026-07-28 stateless (roots asked
through the SDK's resolver, riding an `InputRequiredResult`). A client that offers roots and one that does
not; relative, absolute, outside-the-roots and symlink-escape paths; a file in HOME outside the roots is
never sent; with no roots at all, files are refused with the fix. The fake provider records what it got."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import anyio
import pytest
from mcp import Client
from mcp.types import CallToolResult, InputRequiredResult, ListRootsRequest, ListRootsResult, Root

from core.config.settings import Settings
from serve.main import build_server
from tests.fakes import FakeProvider
from tools.roots import ROOTS_PARAMETER

pytestmark = pytest.mark.anyio
WAIT_S = 30  # every wait of a test, at most
# The two eras a client picks between: the handshake, and the stateless protocol adopted directly.
ERAS = ["legacy", "2026-07-28"]


def text_of(result: CallToolResult) -> str:
    return "\n".join(getattr(part, "text", "") for part in result.content)


class Offering:
    """A client's roots/list answer (these directories), counting how often it was asked."""

    def __init__(self, *roots: Path) -> None:
        self.roots = roots
        self.asked = 0

    async def __call__(self, _context: Any) -> ListRootsResult:
        self.asked += 1
        return ListRootsResult(roots=[Root(uri=root.as_uri(), name=root.name) for root in self.roots])  # type: ignore[arg-type]


@pytest.fixture
def home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """The user's home directory, with a private file in it, outside every project."""
    home = tmp_path / "home"
    (home / "private").mkdir(parents=True)
    (home / "private" / "diary.txt").write_text("dear diary, never-sent-to-any-ai\n")
    monkeypatch.setenv("HOME", str(home))
    return home


@pytest.fixture
def project(tmp_path: Path) -> Path:
    """The project the client declares as its first root; a second root has a file of the same name."""
    root = tmp_path / "project"
    (root / "src").mkdir(parents=True)
    (root / "src" / "hello.py").write_text("print('hello from the project')\n")
    other = tmp_path / "other"
    (other / "src").mkdir(parents=True)
    (other / "src" / "hello.py").write_text("print('hello from the second root')\n")
    (tmp_path / "elsewhere.txt").write_text("outside every root\n")
    (root / "innocent.txt").symlink_to(tmp_path / "elsewhere.txt")
    return root


async def ask(client: Client, *files: str) -> CallToolResult:
    with anyio.fail_after(WAIT_S):
        return await client.call_tool("ask_ai", {"ai": "grok", "prompt": "Review", "files": list(files)})


def client_for(settings: Settings, era: str, roots: Offering | None) -> Client:
    return Client(build_server(settings), mode=era, list_roots_callback=roots)


@pytest.mark.parametrize("era", ERAS)
async def test_a_relative_path_is_read_against_the_first_root_the_client_offers(
    era: str, fake: FakeProvider, settings: Settings, project: Path, home: Path, tmp_path: Path
) -> None:
    async with client_for(settings, era, Offering(project, tmp_path / "other")) as client:
        result = await ask(client, "src/hello.py")
    assert not result.is_error, text_of(result)
    [sent] = fake.requests_for("grok")
    assert '--- "src/hello.py" ---' in sent.user and "hello from the project" in sent.user
    assert "second root" not in sent.user


@pytest.mark.parametrize("era", ERAS)
async def test_an_absolute_path_inside_the_roots_is_read(
    era: str, fake: FakeProvider, settings: Settings, project: Path, home: Path
) -> None:
    async with client_for(settings, era, Offering(project)) as client:
        result = await ask(client, str(project / "src" / "hello.py"))
    assert not result.is_error, text_of(result)
    [sent] = fake.requests_for("grok")
    assert "hello from the project" in sent.user


@pytest.mark.parametrize("era", ERAS)
async def test_a_path_outside_the_roots_and_a_symlink_escaping_them_are_refused_and_nothing_is_sent(
    era: str, fake: FakeProvider, settings: Settings, project: Path, home: Path, tmp_path: Path
) -> None:
    async with client_for(settings, era, Offering(project)) as client:
        outside = await ask(client, str(tmp_path / "elsewhere.txt"))
        escaping = await ask(client, "innocent.txt")
    assert outside.is_error and escaping.is_error
    expected = f"{tmp_path / 'elsewhere.txt'}: outside the allowed roots; files are read only inside: {project}"
    assert expected in text_of(outside), text_of(outside)
    assert "innocent.txt: outside the allowed roots (it leads to" in text_of(escaping), text_of(escaping)
    assert fake.requests_for("grok") == [], "nothing reached the provider"


@pytest.mark.parametrize("era", ERAS)
async def test_a_file_in_home_outside_the_roots_is_refused_and_never_sent(
    era: str, fake: FakeProvider, settings: Settings, project: Path, home: Path
) -> None:
    async with client_for(settings, era, Offering(project)) as client:
        by_tilde = await ask(client, "~/private/diary.txt")
        by_path = await ask(client, str(home / "private" / "diary.txt"))
    assert by_tilde.is_error and by_path.is_error
    assert "outside the allowed roots" in text_of(by_tilde) and "outside the allowed roots" in text_of(by_path)
    assert fake.requests_for("grok") == [], "the diary reached no provider"


@pytest.mark.parametrize("era", ERAS)
async def test_without_client_roots_or_allowed_roots_files_are_refused_with_the_fix(
    era: str, fake: FakeProvider, settings: Settings, project: Path, home: Path
) -> None:
    async with client_for(settings, era, None) as client:
        in_home = await ask(client, str(home / "private" / "diary.txt"))
        relative = await ask(client, "private/diary.txt")
    for result in (in_home, relative):
        assert result.is_error
        assert "this client does not say its project folders; set allowed_roots in" in text_of(result)
        assert str(settings.source) in text_of(result) and "JUNIOR_AI_ALLOWED_ROOTS" in text_of(result)
    assert fake.requests_for("grok") == [], "nothing in the home directory is read by default"


@pytest.mark.parametrize("era", ERAS)
async def test_without_client_roots_the_configured_allowed_roots_hold(
    era: str, fake: FakeProvider, settings: Settings, project: Path, home: Path
) -> None:
    configured = settings.model_copy(update={"allowed_roots": (project,)})
    async with client_for(configured, era, None) as client:
        inside = await ask(client, "src/hello.py")
        in_home = await ask(client, "~/private/diary.txt")
    assert not inside.is_error, text_of(inside)
    assert in_home.is_error and "outside the allowed roots" in text_of(in_home)
    [sent] = fake.requests_for("grok")
    assert "hello from the project" in sent.user and "diary" not in sent.user


@pytest.mark.parametrize("era", ERAS)
async def test_the_client_is_asked_for_its_roots_only_in_calls_that_name_files(
    era: str, fake: FakeProvider, settings: Settings, project: Path, home: Path
) -> None:
    roots = Offering(project)
    async with client_for(settings, era, roots) as client:
        with anyio.fail_after(WAIT_S):
            plain = await client.call_tool("ask_ai", {"ai": "grok", "prompt": "no files"})
        assert not plain.is_error, text_of(plain)
        assert roots.asked == 0
        assert not (await ask(client, "src/hello.py")).is_error
        assert roots.asked == 1


async def test_on_2026_07_28_the_roots_ride_an_input_required_result(
    fake: FakeProvider, settings: Settings, project: Path, home: Path
) -> None:
    arguments = {"ai": "grok", "prompt": "Review", "files": ["src/hello.py"]}
    async with client_for(settings, "2026-07-28", Offering(project)) as client:
        with anyio.fail_after(WAIT_S):
            first = await client.session.call_tool("ask_ai", arguments, allow_input_required=True)
    assert isinstance(first, InputRequiredResult)
    assert [type(request) for request in (first.input_requests or {}).values()] == [ListRootsRequest]
    assert fake.requests_for("grok") == [], "the tool runs once the roots come back"


def test_every_tool_that_takes_files_and_only_those_gets_the_roots_from_the_resolver(settings: Settings) -> None:
    full = settings.model_copy(update={"tool_profile": "full"})
    tools = build_server(full)._tool_manager.list_tools()
    with_files = {tool.name for tool in tools if "files" in tool.parameters["properties"]}
    resolved = {tool.name for tool in tools if ROOTS_PARAMETER in tool.resolved_params}
    assert {"ask_ai", "ask_all_ais", "ai_debate", "ai_consensus"} <= with_files
    assert resolved == with_files
    assert not any(ROOTS_PARAMETER in tool.parameters["properties"] for tool in tools), "never in the schema"
