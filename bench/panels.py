"""Row 18 of the benchmark: rendering a 6-AI council in headless Chromium, hosted as a host does
(tests/browser.py: the official AppBridge, a sandboxed iframe), from the tool result's arrival in the panel to
`renderPanel` done (bridge.js's "junior:render" measure), against the floor measured in the same run: the same
page rendering an empty result.

The result is a real ai_consensus council's (six AIs and the host's answer; reviews ranked, a chairman's
synthesis) through the SDK's client against an in-process fake provider whose AIs play council members
(tests/tools/panels/test_council_panel.py `member`).
"""

from __future__ import annotations

import statistics
import tempfile
from pathlib import Path

from mcp import Client

from core.config.settings import load_settings
from serve.main import build_server
from tests.browser import AppsClient, browser_host, panel_for
from tests.fakes import FakeProvider
from tests.helpers import ALL_AIS, FAST_RETRIES, credentials_for, write_credentials
from tests.tools.panels.test_council_panel import HOST_ANSWER, QUESTION, member

__all__ = ["panel_render"]

TOOL = "ai_consensus"
ARGUMENTS = {"question": QUESTION, "ais": list(ALL_AIS), "method": "council", "host_answer": HOST_ANSWER}


async def panel_render(data_dir: Path, repeats: int) -> tuple[str, float]:
    """The row's value and the median render in milliseconds."""
    with FakeProvider() as fake, tempfile.TemporaryDirectory() as home:
        for ai in ALL_AIS:
            fake.behave(ai, respond=member(ai))
        body = credentials_for(fake) | FAST_RETRIES | {"database_url": f"sqlite+aiosqlite:///{data_dir / 'bench.db'}"}
        settings = load_settings(write_credentials(Path(home) / "credentials.json", body), env={})
        async with Client(build_server(settings), extensions=[AppsClient()]) as client:
            result = await client.call_tool(TOOL, ARGUMENTS)
            html, tool = await panel_for(client, TOOL)
    structured = result.structured_content or {}
    empty = {"content": [{"type": "text", "text": ""}], "structuredContent": {"method": "council", "answers": []}}
    times: dict[str, list[float]] = {"result": [], "empty": []}
    async with browser_host() as host:
        for round_ in range(repeats + 1):
            for kind, shown in (("result", result), ("empty", empty)):
                panel = await host.show(html, tool, ARGUMENTS, shown)
                if round_:  # the first round warms up
                    times[kind].append(await panel.render_ms())
    render_ms, floor_ms = statistics.median(times["result"]), statistics.median(times["empty"])
    answers, reviews = len(structured.get("answers", [])), len(structured.get("reviews", []))
    value = (
        f"{render_ms:.1f} ms median (a council: {answers} answers + the host's, {reviews} reviews, a synthesis); "
        f"{render_ms / max(floor_ms, 0.01):.1f} x the floor: an empty council ({floor_ms:.1f} ms)"
    )
    return value, render_ms
