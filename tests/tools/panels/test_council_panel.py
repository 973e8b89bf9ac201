"""The council panel in Chromium, fed by real ai_consensus council calls through the mcp client against
the fake provider: six AIs and the host; the same with one AI failing and one cut by the deadline."""

from __future__ import annotations

import json
import re
from itertools import pairwise
from typing import Any

import anyio
import pytest
from mcp import Client

from core.config.settings import Settings
from serve.main import build_server
from tests.fakes import FakeProvider
from tests.fakes.provider import Recorded
from tests.helpers import ALL_AIS, fenced_in
from tests.tools.panels.browser import ARTIFACTS, chromium, show

pytestmark = pytest.mark.anyio
QUESTION = "Which database for a desktop app that syncs?"
HOST_ANSWER = "SQLite with a sync log. quality=9"
QUALITY = {"gemini": 6, "openai": 5, "grok": 4, "deepseek": 3, "openrouter": 2, "ollama": 1}
_QUALITY = re.compile(r"quality=(\d+)")


def member(ai: str) -> Any:
    """A council member: answers with its quality, ranks the others by theirs (ollama, contrarian, the other
    way round), and as chairman writes a short markdown synthesis."""

    def respond(request: Recorded) -> str:
        prompt = request.prompt
        if "You are the chairman" in prompt:
            return "## Final answer\n\nUse **SQLite** with a sync log:\n\n- embedded\n- one file"
        if "FINAL RANKING" in prompt:
            shown = {name.removeprefix("Response "): text for name, text in fenced_in(prompt).items()}
            quality = {name: int(_QUALITY.search(text).group(1)) for name, text in shown.items()}  # type: ignore[union-attr]
            order = sorted(shown, key=lambda name: quality[name], reverse=ai != "ollama")
            lines = [f"{n}. Response {name} — quality {quality[name]}" for n, name in enumerate(order, 1)]
            return "All fine.\n\nFINAL RANKING:\n" + "\n".join(lines)
        return f"**{ai}** says: use SQLite, `quality={QUALITY[ai]}`.\n\n- reason one\n- reason two"

    return respond


async def council(settings: Settings, **arguments: Any) -> dict[str, Any]:
    """ai_consensus's structured content for a council of every AI and the host's answer."""
    arguments = {
        "question": QUESTION,
        "ais": list(ALL_AIS),
        "method": "council",
        "host_answer": HOST_ANSWER,
    } | arguments
    async with Client(build_server(settings)) as client:
        with anyio.fail_after(60):
            result = await client.call_tool("ai_consensus", arguments)
    assert result.structured_content is not None
    return result.structured_content


async def test_the_council_panel_shows_each_answer_reviewer_and_score_and_the_total_cost(
    fake: FakeProvider, settings: Settings
) -> None:
    for ai in ALL_AIS:
        fake.behave(ai, respond=member(ai))
    data = await council(settings)
    assert len(data["answers"]) == 6 and data["candidates"][-1] == "host" and data["synthesis"]["ok"]
    async with chromium() as browser:
        shown = await show(browser, "council", data, {"toolName": "ai_consensus"})
        with anyio.fail_after(60):
            assert await shown.attributes("#candidates .answer", "data-ai") == [*ALL_AIS, "host"]
            assert await shown.attributes("#candidates .answer.host", "data-ai") == ["host"]
            assert len(await shown.texts("#candidates .answer .copy")) == 6
            assert await shown.attributes("#rankings tr.ranking", "data-reviewer") == [r["ai"] for r in data["reviews"]]
            first = data["rankings"][0]
            cells = await shown.texts(f'#rankings tr.ranking[data-reviewer="{first["reviewer"]}"] td.place')
            labels = {author: name for name, author in first["shown"].items()}
            assert cells == [f"{labels[author]} = {author}" for author in first["ranked"]]
            assert await shown.attributes("#scores .score", "data-author") == [s["author"] for s in data["scores"]]
            assert await shown.texts("#scores .score .value") == [f"{s['score']:.2f}" for s in data["scores"]]
            assert data["dissent"] and len(await shown.texts("#dissent li")) == len(data["dissent"])
            assert await shown.texts("#synthesis > h2") == [f"Final answer (by {data['chairman']}, chairman)"]
            assert await shown.texts("#synthesis .text strong") == ["SQLite"]
            assert await shown.attributes("#total-cost", "data-usd") == [str(data["total_cost_usd"])]
            stages = await shown.attributes("#costs tr.stage td.cost", "data-usd")
            assert sum(float(usd or 0) for usd in stages) == pytest.approx(data["total_cost_usd"])
            assert not await shown.page.locator("#degraded").count()
            assert shown.requests == [] and await shown.pwned() is None
            await shown.screenshots("council")
    (ARTIFACTS / "council.json").write_text(json.dumps(data))  # for the render-time bench, and to look at


async def test_a_degraded_council_says_first_what_failed_and_what_the_deadline_cut(
    fake: FakeProvider, settings: Settings
) -> None:
    for ai in ALL_AIS:
        fake.behave(ai, respond=member(ai))
    fake.behave("gemini", status=401, text="bad key")
    fake.behave("grok", latency=30, respond=member("grok"))
    data = await council(settings, deadline_s=6)
    failed = {r["ai"]: r["error_kind"] for r in data["answers"] if not r["ok"]}
    assert failed == {"gemini": "auth", "grok": "timeout"}, failed
    async with chromium() as browser:
        shown = await show(browser, "council", data, width=400)
        with anyio.fail_after(60):
            first = await shown.page.evaluate("() => document.getElementById('app').firstElementChild.id")
            assert first == "degraded"
            said = (await shown.texts("#degraded li"))[:2]
            assert said[0].startswith("gemini did not answer: auth") and said[1].startswith(
                "grok did not answer: timeout"
            )
            assert await shown.attributes("#candidates .answer.failed", "data-ai") == ["gemini", "grok"]
            failures = await shown.texts("#candidates .answer.failed .failure")
            assert failures[0].startswith("auth (HTTP 401): ") and failures[1].startswith("timeout: ")
            assert await shown.attributes("#rankings tr.ranking", "data-reviewer") == [r["ai"] for r in data["reviews"]]
            assert await shown.attributes("#total-cost", "data-usd") == [str(data["total_cost_usd"])]
            scores = data["scores"]
            ties = [(a["author"], b["author"]) for a, b in pairwise(scores) if a["score"] == b["score"]]
            assert ties, "three answers of the same standing tie"
            explained = await shown.texts("#scores .ties li")
            assert [line.split(" tie at ")[0] for line in explained] == [f"{a} and {b}" for a, b in ties]
            await shown.screenshots("council-degraded", widths=(400,))
