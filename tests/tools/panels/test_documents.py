"""What every panel's document shares: its size (60 KB at most, the shared parts included) and its theme
(light or dark as the system prefers, `data-theme` on <html> or the host's theme in `meta` overriding it)."""

from __future__ import annotations

import anyio
import pytest

from tests.tools.panels.browser import chromium, panel_document, show

pytestmark = pytest.mark.anyio
PANEL_BYTES = 60 * 1024  # issue 24: each panel, whole


@pytest.mark.parametrize("panel", ["answers", "council", "spend"])
def test_each_panel_with_the_shared_parts_is_at_most_60_kb(panel: str) -> None:
    document = panel_document(panel).encode()
    assert b"function renderPanel(" in document
    assert len(document) <= PANEL_BYTES, f"{panel}: {len(document):,} bytes"


async def test_the_theme_follows_the_system_and_data_theme_overrides_it() -> None:
    background = "() => getComputedStyle(document.body).backgroundColor"
    async with chromium() as browser:
        shown = await show(browser, "answers", {"results": []})
        page = shown.page
        with anyio.fail_after(30):
            await page.emulate_media(color_scheme="light")
            light = await page.evaluate(background)
            await page.emulate_media(color_scheme="dark")
            dark = await page.evaluate(background)
            assert light != dark
            await page.evaluate("() => { document.documentElement.dataset.theme = 'light'; }")
            assert await page.evaluate(background) == light, "data-theme overrides the system's preference"
            await page.emulate_media(color_scheme="light")
            await page.evaluate("() => renderPanel(document.getElementById('app'), {results: []}, {theme: 'dark'})")
            assert await page.evaluate(background) == dark, "the host's theme, given in meta"
