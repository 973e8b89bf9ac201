"""The MCP Apps panels in a real browser, hosted the way a host does it.

    async with Client(build_server(settings), extensions=[AppsClient()]) as client:
        result = await client.call_tool("ask_all_ais", {"prompt": "hi"})
        html, tool = await panel_for(client, "ask_all_ais")         # tools/list's _meta.ui + resources/read
    async with browser_host() as host:                              # Chromium, a host page on 127.0.0.1
        panel = await host.show(html, tool, {"prompt": "hi"}, result)  # AppBridge -> sandboxed iframe
        assert await panel.locator(".column").count() == 6
        await host.screenshot("answers")                            # test-artifacts/panels/answers.png
        assert await host.canary() is None and host.outside_requests == []

- The browser: Debian's Chromium (/usr/bin/chromium; `.ci/run` installs it), driven by Playwright from PyPI.
- The host page (served from 127.0.0.1 by a thread here) runs the OFFICIAL host side of the protocol, the
  `AppBridge` of the npm package @modelcontextprotocol/ext-apps, bundled for the browser with esbuild
  (tests/tools/panels/host.js; both installed under .ext-apps/). The panel is a `sandbox="allow-scripts"` iframe
  whose document is the resource's HTML, under the CSP hosts apply to a panel that declares no domains
  (no network; `csp=False` leaves it out, so that a request the panel itself makes is seen, not blocked).
- Every request the page makes is recorded (`requests`); `outside_requests` are those that are not the
  host page's own. `CANARY` is the global a hostile answer's script would set.
Without Chromium, node or npm a test skips saying why (CI: fails, tests.helpers `missing`).
"""

from __future__ import annotations

import shutil
import subprocess
import threading
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager, contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import anyio
from mcp import Client
from mcp.client.extension import ClientExtension
from mcp.server.apps import APP_MIME_TYPE, EXTENSION_ID
from mcp.types import CallToolResult, Tool

from core.config.credentials import PROJECT_ROOT
from tests.helpers import npm_client, require

__all__ = [
    "ARTIFACTS",
    "CANARY",
    "AppsClient",
    "BrowserHost",
    "Panel",
    "browser_host",
    "host_bundle",
    "panel_for",
    "with_script",
]

PREFIX = PROJECT_ROOT / ".ext-apps"  # npm's prefix for the host's packages (gitignored)
EXT_APPS = "@modelcontextprotocol/ext-apps@2.0.4"
ESBUILD = "esbuild@0.28.2"
HOST_JS = Path(__file__).parent / "tools" / "panels" / "host.js"
ARTIFACTS = PROJECT_ROOT / "test-artifacts" / "panels"  # screenshots (gitignored)
CHROMIUM = "/usr/bin/chromium"
CANARY = "__juniorCanary"
WIDTH = 400  # issue 24: readable at 400 px wide
SHOW_TIMEOUT_S = 30.0
HOST_PAGE = b"""<!doctype html><html><head><meta charset="utf-8"><title>test host</title>
<script src="/host.js"></script></head><body></body></html>"""


class AppsClient(ClientExtension):
    """A client that declares MCP Apps (`io.modelcontextprotocol/ui`, HTML panels), as an Apps host does."""

    identifier = EXTENSION_ID

    def settings(self) -> dict[str, Any]:
        return {"mimeTypes": [APP_MIME_TYPE]}


async def panel_for(client: Client, tool_name: str) -> tuple[str, Tool]:
    """What a host does before showing a tool's result: the tool (from tools/list) and the HTML of the panel
    its `_meta.ui.resourceUri` names (resources/read)."""
    tool = next(tool for tool in (await client.list_tools()).tools if tool.name == tool_name)
    uri = (tool.meta or {})["ui"]["resourceUri"]
    contents = (await client.read_resource(uri)).contents[0]
    assert contents.mime_type == APP_MIME_TYPE, contents.mime_type
    return contents.text, tool  # type: ignore[union-attr]


def with_script(html: str, script: str) -> str:
    """`html` with `script` run after the panel's own (a test's renderPanel replaces the panel's)."""
    return html.replace("</body>", f"<script>{script}</script></body>")


def host_bundle() -> Path:
    """The test host's script (tests/tools/panels/host.js with the official AppBridge), bundled for the browser;
    built again when host.js changed."""
    esbuild = npm_client(ESBUILD, PREFIX, "esbuild", "esbuild and @modelcontextprotocol/ext-apps", EXT_APPS)
    bundle = PREFIX / "host-bundle.js"
    if not bundle.exists() or bundle.stat().st_mtime < HOST_JS.stat().st_mtime:
        command = [str(esbuild), str(HOST_JS), "--bundle", "--format=iife", "--platform=browser"]
        done = subprocess.run(
            [*command, f"--outfile={bundle}", "--log-level=warning"],
            capture_output=True,
            text=True,
            timeout=120,
            env={"PATH": "/usr/bin:/bin", "NODE_PATH": str(PREFIX / "node_modules")},
        )
        assert done.returncode == 0, done.stderr
    return bundle


@contextmanager
def _host_page(bundle: bytes) -> Iterator[str]:
    """The host page and its script, served from 127.0.0.1 by a thread; yields the page's URL."""

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            body, kind = (bundle, "text/javascript") if self.path == "/host.js" else (HOST_PAGE, "text/html")
            self.send_response(200)
            self.send_header("Content-Type", f"{kind}; charset=utf-8")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *_: Any) -> None:
            pass  # nothing on stdout or stderr per request

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/"
    finally:
        server.shutdown()
        server.server_close()


class Panel:
    """A panel shown in the host page: its frame (Playwright), and what the bridge measured."""

    def __init__(self, frame: Any) -> None:
        self.frame = frame

    def locator(self, selector: str) -> Any:
        return self.frame.locator(selector)

    async def evaluate(self, expression: str) -> Any:
        return await self.frame.evaluate(expression)

    async def render_ms(self) -> float:
        """How long the last render took (bridge.js's "junior:render" measure, from the result's arrival)."""
        entries = await self.evaluate("performance.getEntriesByName('junior:render').map(e => e.duration)")
        return float(entries[-1])


class BrowserHost:
    """Chromium with the host page open; `show` embeds a panel and feeds it a tool call."""

    def __init__(self, page: Any, url: str) -> None:
        self.page = page
        self.url = url
        self.requests: list[str] = []
        page.on("request", lambda request: self.requests.append(request.url))

    @property
    def outside_requests(self) -> list[str]:
        """Requests other than the host page's own (the page and its script)."""
        return [url for url in self.requests if url not in {self.url, self.url + "host.js"}]

    async def show(
        self,
        html: str,
        tool: Tool,
        arguments: dict[str, Any],
        result: CallToolResult | dict[str, Any],
        *,
        theme: str = "light",
        width: int = WIDTH,
        csp: bool = True,
        renders: int = 1,
    ) -> Panel:
        """Embed `html` as `tool`'s panel, send it the call's `arguments` and `result` through the AppBridge,
        and wait for the panel to have rendered (`renders` times in all)."""
        if isinstance(result, CallToolResult):
            result = result.model_dump(by_alias=True, mode="json", exclude_none=True)
        shown = {
            "html": html,
            "tool": tool.model_dump(by_alias=True, mode="json", exclude_none=True),
            "input": arguments,
            "result": result,
            "theme": theme,
            "width": width,
            "csp": csp,
        }
        with anyio.fail_after(SHOW_TIMEOUT_S):
            await self.page.evaluate("shown => window.junior.show(shown)", shown)
            frame = await (await self.page.wait_for_selector("#panel")).content_frame()
            await frame.wait_for_selector(f"#app[data-rendered='{renders}']", state="attached")
        return Panel(frame)

    async def sizes(self) -> list[dict[str, int]]:
        """Every ui/notifications/size-changed the AppBridge received, in order."""
        return list(await self.page.evaluate("window.junior.sizes"))

    async def canary(self) -> Any:
        """The canary global, in the host page or the panel (None: no hostile script ran)."""
        found = [await frame.evaluate(f"window.{CANARY}") for frame in self.page.frames]
        return next((value for value in found if value is not None), None)

    async def screenshot(self, name: str) -> Path:
        """A screenshot of the page, written as a test artifact."""
        ARTIFACTS.mkdir(parents=True, exist_ok=True)
        path = ARTIFACTS / f"{name}.png"
        await self.page.screenshot(path=str(path), full_page=True)
        return path


def _chromium() -> str:
    """Debian's Chromium (skips without it; CI: fails)."""
    found = shutil.which("chromium") or (CHROMIUM if Path(CHROMIUM).exists() else None)
    return require("Chromium", found, "Chromium is not installed (apt-get install chromium): panel tests need it")


@asynccontextmanager
async def browser_host() -> AsyncIterator[BrowserHost]:
    """Headless Chromium with the test host page open (skips without Chromium, node or npm; CI: fails)."""
    chromium = _chromium()
    bundle = host_bundle().read_bytes()
    from playwright.async_api import async_playwright  # the test extra; imported by browser tests only

    with _host_page(bundle) as url:
        async with async_playwright() as playwright:
            browser = await playwright.chromium.launch(executable_path=chromium, args=["--no-sandbox"])
            try:
                page = await browser.new_page(viewport={"width": WIDTH + 40, "height": 600})
                host = BrowserHost(page, url)
                await page.goto(url)
                await page.wait_for_function("window.junior !== undefined")
                yield host
            finally:
                await browser.close()
