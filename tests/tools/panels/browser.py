"""The panels in a real browser: Debian's Chromium driven by Playwright, a panel's document as the assembler
makes it, and what a test reads back (the canary, the requests made, screenshots).

`panel_document` is the one place that builds a panel's page here; it follows the assembler's contract
(tools/panels: theme.css + <name>.css in a <style>, <main id="app">, markdown.js + <name>.js + bridge.js in
one <script>) and is to be replaced by the real assembler once it lands.
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

__all__ = ["ARTIFACTS", "CHROMIUM", "Shown", "chromium", "panel_document", "show"]

STATIC = PROJECT_ROOT / "tools" / "panels" / "static"
CHROMIUM = Path("/usr/bin/chromium")
FOUND = CHROMIUM if CHROMIUM.exists() else None  # looked at once, at import
ARTIFACTS = PROJECT_ROOT / "test-artifacts" / "panels"  # gitignored
WIDTHS = (400, 1000)
THEMES = ("light", "dark")


def panel_document(name: str, *also: str) -> str:
    """The panel `name`'s whole document, with the panels `also` (their scripts, after its own) in it too."""
    panels = (name, *also)
    css = [STATIC / "theme.css", *(STATIC / f"{panel}.css" for panel in panels)]
    style = "\n".join(path.read_text() for path in css if path.exists())
    scripts = [STATIC / "markdown.js", *(STATIC / f"{panel}.js" for panel in panels), STATIC / "bridge.js"]
    script = "\n".join(path.read_text() for path in scripts if path.exists())
    return (
        f'<!doctype html><html><head><meta charset="utf-8"><style>{style}</style></head>'
        f'<body><main id="app"></main><script>{script}</script></body></html>'
    )


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
    also: Sequence[str] = (),
) -> Shown:
    """Open the panel `name` at `width` px and render `structured` (passed as JSON text, so that lone
    surrogates reach the page as JavaScript strings hold them) with `meta`."""
    page = await browser.new_page(viewport={"width": width, "height": 900})
    shown = Shown(page)

    def made(request: Request) -> None:
        shown.requests.append(request.url)

    page.on("request", made)
    await page.set_content(panel_document(name, *also))
    meta = {"toolName": None, "toolInput": None, "resultMeta": None, "theme": None} | (meta or {})
    await page.evaluate(
        "([data, meta]) => renderPanel(document.getElementById('app'), JSON.parse(data), meta)",
        [json.dumps(structured), meta],
    )
    return shown
