"""The panels in a real browser: Debian's Chromium driven by Playwright, a panel's document as the assembler
makes it, and what a test reads back (the canary, the requests made, screenshots).

`panel_document` is the one place that builds a panel's page here: the server's own assembler (tools/panels
`panel_html`), so a test renders exactly the document a host is served.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from playwright.async_api import Browser, Page, Request, async_playwright

from core.config.credentials import PROJECT_ROOT
from tests.helpers import require
from tools.panels import panel_html

__all__ = ["ARTIFACTS", "CHROMIUM", "Shown", "chromium", "panel_document", "show"]

STATIC = PROJECT_ROOT / "tools" / "panels" / "static"
CHROMIUM = Path("/usr/bin/chromium")
FOUND = CHROMIUM if CHROMIUM.exists() else None  # looked at once, at import
ARTIFACTS = PROJECT_ROOT / "test-artifacts" / "panels"  # gitignored
WIDTHS = (400, 1000)
THEMES = ("light", "dark")


def panel_document(name: str) -> str:
    """The panel `name`'s whole document, as the server serves it (tools/panels `panel_html`)."""
    return panel_html(name)


@asynccontextmanager
async def chromium() -> AsyncIterator[Browser]:
    """Debian's Chromium, headless (the test skips where it is missing; in CI it fails: `require`)."""
    require("Chromium", FOUND, f"{CHROMIUM} is missing (apt-get install chromium)")
    async with async_playwright() as playwright:
        browser = await playwright.chromium.launch(executable_path=str(CHROMIUM), args=["--no-sandbox"])
        try:
            yield browser
        finally:
            await browser.close()


@dataclass
class Shown:
    """A panel on a page, and every request the page made since it was opened."""

    page: Page
    requests: list[str] = field(default_factory=list)

    async def texts(self, selector: str) -> list[str]:
        """The text of every element `selector` matches, in document order."""
        return [text.strip() for text in await self.page.locator(selector).all_inner_texts()]

    async def attributes(self, selector: str, name: str) -> list[str | None]:
        """The attribute `name` of every element `selector` matches."""
        found: list[str | None] = await self.page.eval_on_selector_all(
            selector, "(nodes, name) => nodes.map((node) => node.getAttribute(name))", name
        )
        return found

    async def pwned(self) -> Any:
        """The canary a hostile answer would set if any of it ran."""
        return await self.page.evaluate("() => window.__pwned")

    async def screenshots(self, stem: str, widths: Sequence[int] = WIDTHS) -> list[Path]:
        """Full-page screenshots in both themes at each width, under ARTIFACTS: `<stem>-<theme>-<width>.png`."""
        ARTIFACTS.mkdir(parents=True, exist_ok=True)
        written = []
        for theme in THEMES:
            await self.page.evaluate("(theme) => { document.documentElement.dataset.theme = theme; }", theme)
            for width in widths:
                await self.page.set_viewport_size({"width": width, "height": 900})
                path = ARTIFACTS / f"{stem}-{theme}-{width}.png"
                await self.page.screenshot(path=str(path), full_page=True)
                written.append(path)
        return written


async def show(
    browser: Browser,
    name: str,
    structured: dict[str, Any],
    meta: dict[str, Any] | None = None,
    *,
    width: int = 1000,
) -> Shown:
    """Open the panel `name` at `width` px and render `structured` (passed as JSON text, so that lone
    surrogates reach the page as JavaScript strings hold them) with `meta`."""
    page = await browser.new_page(viewport={"width": width, "height": 900})
    shown = Shown(page)

    def made(request: Request) -> None:
        shown.requests.append(request.url)

    page.on("request", made)
    await page.set_content(panel_document(name))
    meta = {"toolName": None, "toolInput": None, "resultMeta": None, "theme": None} | (meta or {})
    await page.evaluate(
        "([data, meta]) => renderPanel(document.getElementById('app'), JSON.parse(data), meta)",
        [json.dumps(structured), meta],
    )
    return shown
