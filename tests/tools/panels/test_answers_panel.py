"""The answers panel in Chromium, fed by real ask_all_ais, ai_consensus (vote) and ai_debate calls through
the mcp client against the fake provider; and hostile answers, which run nothing and send nothing."""

from __future__ import annotations

from typing import Any

import anyio
import pytest
from mcp import Client

from core.config.settings import Settings
from serve.main import build_server
from tests.fakes import FakeProvider
from tests.helpers import ALL_AIS
from tests.tools.panels.browser import chromium, show

pytestmark = pytest.mark.anyio
CANARY = "window.__pwned = 1"
LEAK = "http://127.0.0.1:9/leak"  # a request to it would be recorded (and refused)
HOSTILE = {
    "gemini": f"<script>{CANARY}</script> and <img src='{LEAK}.png' onerror='{CANARY}'>",
    "openai": f"[click me](javascript:{CANARY.replace(' ', '')}) or [this](http://127.0.0.1:9/leak) ![x]({LEAK}.gif)",
    "grok": "x" * 5_000,
    "deepseek": "# big\n\n" + ("a line of a big answer " * 8 + "\n") * 6_000,  # a little over 1 MB
    "openrouter": f"<iframe src='{LEAK}'></iframe><style>body{{display:none}}</style><a href='{LEAK}'>x</a>",
    "ollama": "fine, but the server leaves lone halves of surrogate pairs to the panel: see below",
}


def count(tokens: int | None) -> str:
    return "?" if tokens is None else f"{tokens:,}"


async def call(settings: Settings, tool: str, arguments: dict[str, Any]) -> dict[str, Any]:
    async with Client(build_server(settings)) as client:
        with anyio.fail_after(60):
            result = await client.call_tool(tool, arguments)
    assert result.structured_content is not None
    return result.structured_content


async def test_ask_all_ais_shows_one_column_per_ai_with_its_numbers_and_failures_marked(
    fake: FakeProvider, settings: Settings
) -> None:
    for ai in ALL_AIS:
        fake.behave(ai, text=f"**{ai}**: use a queue.\n\n```py\nqueue.put(job)\n```")
    fake.behave("grok", status=401, text="bad key")
    fake.behave("deepseek", text="long " * 20_000, chunk_words=2_000)  # 100 KB, cut at 64 KB: a partial answer
    settings = settings.model_copy(update={"max_answer_bytes": 64 * 1024})
    data = await call(settings, "ask_all_ais", {"prompt": "Which queue?"})
    assert [r["ai"] for r in data["results"] if r["partial"]] == ["deepseek"], [
        (r["ai"], r["error"]) for r in data["results"]
    ]
    async with chromium() as browser:
        shown = await show(browser, "answers", data, {"toolName": "ask_all_ais"})
        with anyio.fail_after(60):
            assert await shown.attributes("#answers .answer", "data-ai") == list(ALL_AIS)
            assert await shown.attributes("#answers .answer.failed", "data-ai") == ["grok"]
            assert await shown.attributes("#answers .answer.partial", "data-ai") == ["deepseek"]
            assert await shown.texts("#answers .answer.partial .badge") == ["partial"]
            [failure] = await shown.texts("#answers .answer.failed .failure")
            grok = next(r for r in data["results"] if r["ai"] == "grok")
            assert failure == f"auth (HTTP 401): {grok['error']}", "the reason, as the structured content says it"
            ok = [r for r in data["results"] if r["ok"]]
            answered = "#answers .answer:not(.failed)"
            assert await shown.texts(f"{answered} .latency") == [f"{r['latency_s']:.2f} s" for r in ok]
            tokens = [
                f"{count(r['input_tokens'])} in / {count(r['output_tokens'])} out" for r in ok if not r["partial"]
            ]
            assert await shown.texts("#answers .answer.ok .tokens") == tokens
            assert len(await shown.texts(f"{answered} .cost")) == 5
            assert len(await shown.texts("#answers .answer .copy")) == 5
            assert await shown.texts("#answers .answer.ok pre code") == ["queue.put(job)"] * 4
            await shown.page.click('#answers .answer[data-ai="gemini"] .copy')
            copied = await shown.page.locator('#answers .answer[data-ai="gemini"] .copy').inner_text()
            assert copied in {"Copied", "Selected: press Ctrl+C"}
            await shown.screenshots("answers")


async def test_hostile_answers_run_nothing_send_nothing_and_keep_the_layout(
    fake: FakeProvider, settings: Settings
) -> None:
    for ai, text in HOSTILE.items():
        fake.behave(ai, text=text, chunk_words=20_000)  # a 1 MB stream in big chunks: the fake's time is shared
    data = await call(settings, "ask_all_ais", {"prompt": "Say something."})
    assert all(r["ok"] for r in data["results"]), [(r["ai"], r["error_kind"], r["error"]) for r in data["results"]]
    ollama = next(r for r in data["results"] if r["ai"] == "ollama")
    ollama["text"] += " \ud800 high, \udfff low"  # as a careless server could pass them on
    async with chromium() as browser:
        shown = await show(browser, "answers", data, width=400)
        with anyio.fail_after(60):
            await shown.page.wait_for_load_state("networkidle")  # what the page would fetch, it has asked for
            assert await shown.pwned() is None and shown.requests == [], "nothing ran, nothing was fetched"
            hostile = "#answers .text :is(script, img, iframe, style, [onerror], a[href^='javascript'])"
            assert not await shown.page.locator(hostile).count()
            for link in await shown.page.locator("#answers a").all():
                await link.click()
            for button in await shown.page.locator("#answers .show-all").all():
                await button.click()
            assert await shown.pwned() is None
            await shown.page.wait_for_load_state("networkidle")
            assert shown.requests == [], "no request leaves the page, links clicked"
            assert shown.page.url == "about:blank", "no link navigated the frame"
            links = await shown.attributes("#answers a", "href")
            assert links == [LEAK, f"{LEAK}.gif"], "http(s) links only (an image is one: never loaded)"
            width = await shown.page.evaluate("() => document.documentElement.scrollWidth")
            assert width <= 400, "a 5,000-character word or a 1 MB answer does not widen the page"
            heights = await shown.page.eval_on_selector_all("#answers .text", "nodes => nodes.map(n => n.clientHeight)")
            assert max(heights) < 900, "a long answer scrolls inside its column"
            [ollama_text] = await shown.texts('#answers .answer[data-ai="ollama"] .text')
            assert ollama_text.endswith("\ufffd high, \ufffd low")
            assert (
                HOSTILE["gemini"] in await shown.page.locator('#answers .answer[data-ai="gemini"] .text').inner_text()
            )
            await shown.screenshots("answers-hostile", widths=(400,))


async def test_a_vote_shows_every_vote_and_a_debate_every_round(fake: FakeProvider, settings: Settings) -> None:
    for ai, choice in zip(ALL_AIS, "AABABA", strict=True):
        fake.behave(ai, text=f'{{"choice": "{choice}", "confidence": 0.8, "reason": "{ai} thinks so"}}')
    vote = await call(settings, "ai_consensus", {"question": "A or B?", "options": ["A", "B"], "host_answer": "B"})
    fake.reset()
    debate = await call(settings, "ai_debate", {"topic": "Tabs or spaces?", "ais": ["gemini", "grok"], "rounds": 2})
    async with chromium() as browser:
        # ai_consensus's panel holds both renderers: a vote goes to the answers panel's, a council to the council's.
        shown = await show(browser, "council", vote, {"toolName": "ai_consensus"})
        with anyio.fail_after(60):
            assert await shown.attributes("#votes tr.vote-row", "data-ai") == [v["ai"] for v in vote["votes"]]
            assert await shown.texts("#votes tr.vote-row .choice") == [v["choice"] for v in vote["votes"]]
            assert await shown.attributes("#answers .answer", "data-ai") == [r["ai"] for r in vote["results"]]
            # As the result counted it: under load a quorum may close the vote before every AI answered.
            counted = f"{vote['agreeing']} of {vote['parsed']} parsed votes"
            headline = f"(agreement {round(vote['agreement'] * 100)}%: {counted})"
            assert (await shown.texts(".panel-head .summary"))[0].startswith(f"Majority: {vote['majority']} {headline}")
            await shown.screenshots("answers-vote")
        shown = await show(browser, "answers", debate, {"toolName": "ai_debate"})
        with anyio.fail_after(60):
            assert await shown.attributes("section.round", "data-round") == ["1", "2"]
            for played in debate["rounds"]:
                selector = f'section.round[data-round="{played["round"]}"] .answer'
                assert await shown.attributes(selector, "data-ai") == [r["ai"] for r in played["results"]]
            assert len(await shown.texts("#summary .answer")) == (debate["summary"] is not None)
            await shown.screenshots("answers-debate")


async def test_a_solve_shows_the_solution_first_then_every_proposal(fake: FakeProvider, settings: Settings) -> None:
    ais = ["gemini", "grok", "deepseek"]
    for ai in ais:
        fake.behave(ai, text=f"{ai}: shard the queue by tenant.")
    solved = await call(settings, "collaborative_solve", {"problem": "10k jobs/s?", "ais": ais})
    assert solved["solution"] is not None and len(solved["proposals"]) == 3
    async with chromium() as browser:
        shown = await show(browser, "answers", solved, {"toolName": "collaborative_solve"})
        with anyio.fail_after(60):
            assert await shown.texts("#solution h2") == [f"Solution (by {solved['solved_by']})"]
            assert await shown.attributes("#solution .answer", "data-ai") == [solved["solution"]["ai"]]
            assert await shown.attributes("#answers .answer", "data-ai") == ais
            await shown.screenshots("answers-solve", widths=(400,))
