"""The panels as MCP Apps resources (tools/panels): what tools/list and resources/read carry, the documents'
size and shape, and that a client without Apps gets exactly what it got before."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import anyio
import pytest
from mcp import Client
from mcp.server.apps import APP_MIME_TYPE

from core.config.settings import Settings
from serve.main import build_server
from tests.browser import AppsClient
from tools.panels import MAX_PANEL_BYTES, PANELS, panel_html

pytestmark = pytest.mark.anyio

PANEL_OF = {
    "ask_all_ais": "answers",
    "ai_debate": "answers",
    "collaborative_solve": "answers",
    "ai_consensus": "council",
    "server_status": "spend",
}
SERVER_INFO = "io.modelcontextprotocol/serverInfo"  # the SDK stamps every result's _meta with it
MAX_LIST_GROWTH = 400  # issue 24: tools/list grows by at most this many characters


@pytest.mark.parametrize("name", PANELS)
def test_a_panel_is_one_small_document_that_loads_nothing(name: str) -> None:
    html = panel_html(name)  # type: ignore[arg-type]
    assert len(html.encode()) <= MAX_PANEL_BYTES, f"{name}: {len(html.encode())} bytes"
    assert html.startswith('<!doctype html><html><head><meta charset="utf-8">')
    assert '<main id="app"></main>' in html and html.endswith("</script></body></html>")
    assert not re.search(r"""\b(src|href)\s*=|@import|url\(\s*['"]?(https?:)?//""", html), "nothing from the network"
    assert "junior-data" not in html.split("</main>")[1].split("<script>")[0], "no data without data"


def test_a_panels_data_cannot_close_its_script() -> None:
    html = panel_html("spend", {"ai": "</script><script>alert(1)</script><!--"})
    data = html.split('<script type="application/json" id="junior-data">')[1].split("</script>")[0]
    assert "<" not in data and json.loads(data) == {"ai": "</script><script>alert(1)</script><!--"}


def test_an_unknown_panel_is_refused_naming_the_panels() -> None:
    with pytest.raises(ValueError, match="unknown panel 'chart'; valid: answers, council, spend"):
        panel_html("chart")  # type: ignore[arg-type]


@pytest.mark.parametrize("profile", ["compact", "full"])
async def test_the_tools_name_their_panels_and_the_list_grows_little(settings: Settings, profile: str) -> None:
    async with Client(build_server(settings.model_copy(update={"tool_profile": profile}))) as client:
        with anyio.fail_after(30):
            tools = (await client.list_tools()).tools
            resources = {r.uri: r for r in (await client.list_resources()).resources}
            read = {uri: (await client.read_resource(uri)).contents[0] for uri in resources if uri.startswith("ui://")}
    assert {t.name: (t.meta or {}).get("ui", {}).get("resourceUri") for t in tools if t.meta} == {
        tool: f"ui://junior/{panel}" for tool, panel in PANEL_OF.items()
    }
    for name in PANELS:
        assert resources[f"ui://junior/{name}"].mime_type == APP_MIME_TYPE
        assert read[f"ui://junior/{name}"].text == panel_html(name)  # type: ignore[union-attr]
    listed = [t.model_dump(by_alias=True, exclude_none=True, mode="json") for t in tools]
    without = [{key: value for key, value in tool.items() if key != "_meta"} for tool in listed]
    growth = len(json.dumps({"tools": listed})) - len(json.dumps({"tools": without}))
    assert 0 < growth <= MAX_LIST_GROWTH, f"tools/list grew by {growth} characters"


def _timeless(value: Any) -> Any:
    """A result with what differs between two identical calls made blank: times and thread ids."""
    if isinstance(value, dict):
        return {k: 0 if k.endswith("_s") else "-" if k == "continuation_id" else _timeless(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_timeless(v) for v in value]
    if isinstance(value, str):
        return re.sub(r"continuation_id: \S+|\d+\.\d+ s\b", "-", value)
    return value


# (Not the council: its reviewers see the answers shuffled at random, so two councils differ anyway.)
# server_status first, before its metrics (retries, adaptive limits) depend on how the calls went.
CALLS = [
    ("server_status", {}),
    ("ask_all_ais", {"prompt": "Which database?"}),
    ("ai_consensus", {"question": "Which database?", "options": ["SQLite", "PostgreSQL"]}),
]


async def test_a_client_without_apps_gets_the_same_text_and_structured_content(
    settings: Settings, tmp_path: Path
) -> None:
    seen: dict[bool, list[Any]] = {}
    for apps in (False, True):
        # A store of its own each: the spend so far, in server_status, is the same.
        stored = settings.model_copy(update={"database_url": f"sqlite+aiosqlite:///{tmp_path / f'{apps}.db'}"})
        async with Client(build_server(stored), extensions=[AppsClient()] if apps else []) as client:
            with anyio.fail_after(120):
                results = [await client.call_tool(tool, arguments) for tool, arguments in CALLS]
                if apps:  # and an Apps host finds each tool's panel
                    for tool, _ in CALLS:
                        uri = next(t for t in (await client.list_tools()).tools if t.name == tool).meta["ui"]  # type: ignore[index]
                        assert (await client.read_resource(uri["resourceUri"])).contents[0].mime_type == APP_MIME_TYPE
        if not apps:  # the SDK's own stamp, and nothing Apps-only (that is for Apps clients)
            assert all(set(result.meta or {}) <= {SERVER_INFO} for result in results), [r.meta for r in results]
        seen[apps] = [_timeless([r.content[0].model_dump(), r.structured_content]) for r in results]
    assert seen[True] == seen[False]
