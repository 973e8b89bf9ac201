"""Row 18 of the benchmark: rendering a panel in headless Chromium, hosted as a host does (tests/browser.py: the
official AppBridge, a sandboxed iframe), from the tool result's arrival in the panel to `renderPanel` done
(bridge.js's "junior:render" measure), against the floor measured in the same run: the same page rendering
an empty result.

The result is a real ask_all_ais call's, of six AIs, through the SDK's client against the fake provider. Until
the panels' own rendering code is merged, the panel renders with the test panel (tests/tools/panels/panel.js);
`SHOWN` names the tool and the panel, so the row can be pointed at the 6-AI council.
"""

from __future__ import annotations

import statistics
from pathlib import Path
from typing import Any

from mcp import Client

from core.config.settings import Settings
from serve.main import build_server
from tests.browser import AppsClient, browser_host, panel_for, with_script

__all__ = ["SHOWN", "panel_render"]

SHOWN: tuple[str, dict[str, Any]] = ("ask_all_ais", {"prompt": "Which database for a small web app, and why?"})
TEST_PANEL = Path(__file__).resolve().parent.parent / "tests" / "tools" / "panels" / "panel.js"


async def panel_render(settings: Settings, data_dir: Path, repeats: int) -> tuple[str, float]:
    """The row's value and the median render in milliseconds."""
    tool_name, arguments = SHOWN
    stored = settings.model_copy(update={"database_url": f"sqlite+aiosqlite:///{data_dir / 'bench.db'}"})
    async with Client(build_server(stored), extensions=[AppsClient()]) as client:
        result = await client.call_tool(tool_name, arguments)
        html, tool = await panel_for(client, tool_name)
    html = with_script(html, TEST_PANEL.read_text())
    empty = {"content": [{"type": "text", "text": ""}], "structuredContent": {"results": []}}
    times: dict[str, list[float]] = {"result": [], "empty": []}
    async with browser_host() as host:
        for round_ in range(repeats + 1):
            for kind, shown in (("result", result), ("empty", empty)):
                panel = await host.show(html, tool, arguments, shown)
                if round_:  # the first round warms up
                    times[kind].append(await panel.render_ms())
    render_ms, floor_ms = statistics.median(times["result"]), statistics.median(times["empty"])
    answers = len((result.structured_content or {}).get("results", []))
    value = (
        f"{render_ms:.1f} ms median ({tool_name}, {answers} answers); {render_ms / max(floor_ms, 0.01):.1f} x the "
        f"floor: the same page rendering an empty result ({floor_ms:.1f} ms)"
    )
    return value, render_ms
