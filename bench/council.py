"""The council simulation: does asking five AIs beat the best one, and does shuffling the order of the
answers each reviewer sees keep a judge's first-position bias from choosing the council's answer? And
how far can one adversarial member move it, with and without its defences (bench/council_attacks.py)?

    python3 run.py bench council            # 200 items (a minute or two), prints two markdown tables
    python3 run.py bench council --quick    # 20 items in seconds (the test suite runs it)

No real model is asked: five simulated AIs (bench/council_sim.py) answer through the loopback fake
provider, so every call goes through the real SDKs, the real resilient call and fan-out, and the real
vote and council code. The vote, and the council with its own shuffled orders, are asked through the MCP
server (`ai_consensus`, in memory); the other council runs through `run_council` itself, because the two
switches they need, a seeded order and the order left unshuffled (and the defences left off), are not
(and should not be) tool parameters.

For the same items, it runs: the vote; and the council five times, with the answers shuffled per
reviewer or shown in a fixed order (the weakest AI's answer first), with unbiased reviewers, with
reviewers who put the response at position A first `--bias` of the time, and (the chance control) with
reviewers who put a response at a random position first as often. Then the second table: an adversarial
reviewer, and an answer whose notes tell the reviewers and the chairman to pick it, obeyed `--obey` of
the time when they are not fenced. Everything is seeded, so the same command prints the same tables, but
for the first council row's position-A share (the tool draws its own orders; by content, its answers are
the same whatever the order).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import random
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import anyio  # noqa: E402
from mcp import Client  # noqa: E402

from bench.council_attacks import OBEY, attack_rows, attack_table  # noqa: E402
from bench.council_sim import DEFAULT_PANEL, Item, Panel, SimAI, make_items, option_in  # noqa: E402
from callers import Junior  # noqa: E402
from core.config.settings import Settings, load_settings  # noqa: E402
from serve.main import build_server  # noqa: E402
from tests.fakes.provider import FakeProvider  # noqa: E402

ITEMS, QUICK_ITEMS = 200, 20
SEED = 7
BIAS = 0.3
AT_ONCE = 8  # items in flight at once
DEADLINE_S = 120.0
DRAIN_S = 60.0  # the longest wait for an application's bookkeeping before closing it
# The fixed order lists the weakest AI first: its answer sits at position A for every other reviewer.
ORDER = ("openrouter", "deepseek", "grok", "openai", "gemini")


Play = Callable[[tuple[SimAI, ...]], None]  # sets the fake's AIs to answer as these simulated ones


@dataclass(frozen=True)
class Arm:
    """One council run: the order reviewers see, and how their judging is skewed."""

    name: str
    shuffle: bool
    bias: float = 0.0
    noise: float = 0.0
    baseline: str | None = None  # the arm whose choices this one's are compared with
    via_tool: bool = False  # asked through the MCP tool (its own unseeded order) rather than run_council
    defended: bool = True  # False: the council without its defences against its members


@dataclass
class Outcome:
    """What one council run gave: its answer per item, and its reviewers' first places."""

    chosen: dict[int, str | None]
    rankings: int = 0
    first_at_a: int = 0
    expected_at_a: float = 0.0  # the sum of 1/(responses shown) over the rankings: no position effect


def arms(bias: float) -> list[Arm]:
    pct = f"{bias:.0%}"
    return [
        Arm("council, shuffled, unbiased reviewers (`ai_consensus`, method council)", shuffle=True, via_tool=True),
        Arm(f"council, shuffled, reviewers {pct} biased to A", shuffle=True, bias=bias, baseline="shuffled"),
        Arm("council, fixed order, unbiased reviewers", shuffle=False),
        Arm(f"council, fixed order, reviewers {pct} biased to A", shuffle=False, bias=bias, baseline="fixed"),
        Arm(f"council, fixed order, {pct} random first (chance)", shuffle=False, noise=bias, baseline="fixed"),
    ]


def settings_for(fake: FakeProvider, data_dir: Path) -> Settings:
    """Every simulated AI pointed at the fake (gemini through google-genai), a store of the run's own."""
    body: dict[str, Any] = {"retry_base_s": 0.01, "database_url": f"sqlite+aiosqlite:///{data_dir / 'bench.db'}"}
    for ai in DEFAULT_PANEL:
        api = "gemini" if ai.name == "gemini" else "openai"
        body[ai.name] = {"api_key": "bench-key-0000000000", "base_url": fake.base_url(ai.name, api), "timeout": 60}
        if api == "openai":
            body[ai.name]["model"] = "sim-model"
    path = data_dir / "credentials.json"
    path.write_text(json.dumps(body))
    path.chmod(0o600)
    return load_settings(path, env={})


async def each_item(items: list[Item], work: Callable[[Item], Awaitable[None]]) -> None:
    limit = anyio.CapacityLimiter(AT_ONCE)

    async def one(item: Item) -> None:
        async with limit:
            await work(item)

    async with anyio.create_task_group() as group:
        for item in items:
            group.start_soon(one, item)


async def run_vote(settings: Settings, items: list[Item]) -> dict[int, str | None]:
    """The vote through the MCP server: its majority per item."""
    majority: dict[int, str | None] = {}

    apps: list[Junior] = []

    def build(settings: Settings) -> Junior:
        apps.append(Junior.build(settings))
        return apps[-1]

    async with Client(build_server(settings, build_app=build)) as client:

        async def ask(item: Item) -> None:
            arguments = {"question": item.question, "options": list(item.options), "ais": list(ORDER)}
            result = await client.call_tool("ai_consensus", arguments)
            verdict = result.structured_content or {}
            majority[item.number] = verdict.get("majority")

        await each_item(items, ask)
        await drained(apps[-1])
    return majority


Council = Callable[[Item, Arm], Awaitable[dict[str, Any]]]  # one item's council, as its structured result


def council_through_the_tool(client: Client) -> Council:
    """The council as a client gets it: `ai_consensus(method="council")` through the MCP server, which
    shuffles with a generator of its own (unseeded: its order cannot be fixed from outside)."""

    async def council(item: Item, arm: Arm) -> dict[str, Any]:
        arguments = {"question": item.question, "options": list(item.options), "ais": list(ORDER), "method": "council"}
        result = await client.call_tool("ai_consensus", arguments)
        return result.structured_content or {}

    return council


def council_in_process(app: Junior, seed: int) -> Council:
    """The council through `run_council`, each item's orders drawn from a seed of its own, or unshuffled."""
    from collab.council import run_council  # imported here: the benchmark's vote part runs without it

    async def council(item: Item, arm: Arm) -> dict[str, Any]:
        rng = random.Random(f"{seed}:order:{item.number}")
        result = await run_council(
            app,
            item.question,
            app.select(list(ORDER)),
            deadline_s=DEADLINE_S,
            options=item.options,
            rng=rng,
            shuffle=arm.shuffle,
            defended=arm.defended,
        )
        return result.model_dump(mode="json")

    return council


def final_answer(result: dict[str, Any]) -> str:
    """The council's answer: the chairman's, else (no final answer) the best-ranked one."""
    synthesis = result.get("synthesis") or {}
    if synthesis.get("ok") and synthesis.get("text"):
        return str(synthesis["text"])
    answers = {answer.get("ai"): answer for answer in result.get("answers", []) if answer.get("ok")}
    return str(answers.get(result.get("winner"), {}).get("text") or "")


async def run_arm(council: Council, items: list[Item], arm: Arm) -> Outcome:
    """One council run over every item: its answers, and where its reviewers' first places sat."""
    outcome = Outcome(chosen={})

    async def ask(item: Item) -> None:
        result = await council(item, arm)
        outcome.chosen[item.number] = option_in(final_answer(result), item.options)
        for ranking in result.get("rankings", []):
            shown, ranked = ranking.get("shown") or {}, ranking.get("ranked") or []
            if ranking.get("parsed") and ranked:
                outcome.rankings += 1
                outcome.first_at_a += ranked[0] == shown.get("A")
                outcome.expected_at_a += 1 / len(shown)

    await each_item(items, ask)
    return outcome


async def drained(app: Junior) -> None:
    """Wait for `app`'s bookkeeping (ledger rows, written in the background) before it is closed, at most
    DRAIN_S. In a burst this size the rows fall behind the calls, and closing abandons what is left after
    half a second; an abandoned write can leave a task behind that never ends, and the process would
    hang at exit (seen about one run in five; reported with this benchmark)."""
    pending = set(app._background)  # the application's own record of its bookkeeping tasks
    if pending:
        await asyncio.wait(pending, timeout=DRAIN_S)


def council_available() -> str | None:
    """None when the council can run; else why not."""
    try:
        from collab.council import run_council  # noqa: F401
    except ImportError as error:
        return f"collab.council is not available ({error})"
    return None


def pct(part: float, whole: float) -> str:
    return f"{100 * part / whole:.1f} %" if whole else "-"


def table(rows: list[str], count: int, seed: int, took: float) -> str:
    accuracies = "/".join(f"{ai.accuracy:g}" for ai in DEFAULT_PANEL)
    judging = "/".join(f"{ai.judging:g}" for ai in DEFAULT_PANEL)
    return "\n".join(
        [
            f"Council simulation: {count} items, 4 options each, 5 simulated AIs (answering {accuracies}, "
            f"judging {judging}), seed {seed}; took {took:.0f} s",
            "",
            "| answer | accuracy | rankings with position A first (with no position effect) "
            "| council's answer changed vs the same order, unbiased |",
            "|---|---|---|---|",
            *rows,
        ]
    )


async def council_rows(settings: Settings, items: list[Item], seed: int, bias: float, play: Play) -> list[str]:
    """One row per council arm (see `arms`): the first through the MCP tool, the others in process."""
    count = len(items)
    rows = []
    outcomes: dict[str, Outcome] = {}
    served: list[Junior] = []

    def build(settings: Settings) -> Junior:
        served.append(Junior.build(settings))
        return served[-1]

    async with Client(build_server(settings, build_app=build)) as client, Junior.build(settings) as app:
        for arm in arms(bias):
            play(tuple(replace(ai, bias=arm.bias, noise=arm.noise) for ai in DEFAULT_PANEL))
            council = council_through_the_tool(client) if arm.via_tool else council_in_process(app, seed)
            outcome = await run_arm(council, items, arm)
            outcomes.setdefault("shuffled" if arm.shuffle else "fixed", outcome)
            right = sum(outcome.chosen[i.number] == i.key for i in items)
            moved = "-"
            if arm.baseline is not None:
                before = outcomes[arm.baseline].chosen
                moved = pct(sum(outcome.chosen[n] != before[n] for n in outcome.chosen), count)
            at_a = f"{pct(outcome.first_at_a, outcome.rankings)} ({pct(outcome.expected_at_a, outcome.rankings)})"
            rows.append(f"| {arm.name} | {pct(right, count)} | {at_a} | {moved} |")
        await drained(served[-1])
        await drained(app)
    return rows


async def attack_part(settings: Settings, items: list[Item], seed: int, obey: float, play: Play) -> str:
    """The second table (bench/council_attacks.py), through `run_council` with seeded shuffled orders."""
    async with Junior.build(settings) as app:
        seeded = council_in_process(app, seed)

        async def council(item: Item, defended: bool) -> dict[str, Any]:
            return await seeded(item, Arm("attack", shuffle=True, defended=defended))

        rows = await attack_rows(council, items, play, obey, each_item, final_answer)
        await drained(app)
    return attack_table(rows)


async def main_async(count: int, seed: int, bias: float, obey: float) -> str:
    started = time.perf_counter()
    items = make_items(count, seed)
    with tempfile.TemporaryDirectory(prefix="junior-council-") as data, FakeProvider(record=False) as fake:
        settings = settings_for(fake, Path(data))

        def play(panel_ais: tuple[SimAI, ...]) -> None:
            panel = Panel(items, panel_ais, seed)
            for ai in panel_ais:
                fake.behave(ai.name, respond=panel.respond)

        play(DEFAULT_PANEL)
        majority = await run_vote(settings, items)
        # Each AI's own answers, not its votes: the vote stops early, and whose votes it did not wait for
        # depends on the machine's load.
        panel = Panel(items, DEFAULT_PANEL, seed)
        correct = {ai.name: sum(panel.choice(ai, item) == item.key for item in items) for ai in DEFAULT_PANEL}
        best = max(ORDER, key=lambda name: correct[name])
        voted = sum(majority[i.number] == i.key for i in items)
        rows = [
            f"| best single AI ({best}) | {pct(correct[best], count)} | | |",
            f"| vote, majority of 5 (`ai_consensus`) | {pct(voted, count)}"
            f" (no majority on {sum(majority[i.number] is None for i in items)}) | | |",
        ]
        missing = council_available()
        attacked = ""
        if missing is None:
            rows += await council_rows(settings, items, seed, bias, play)
            attacked = "\n\n" + await attack_part(settings, items, seed, obey, play)
        else:
            rows.append(f"| council: skipped, {missing} | - | - | - |")
    return table(rows, count, seed, time.perf_counter() - started) + attacked


class Tally(logging.Handler):
    """Counts the server's log records instead of printing each (the ledger falls behind a burst this
    size and says so once per call); `summary` prints each kind once, with its count."""

    def __init__(self) -> None:
        super().__init__(logging.WARNING)
        self.seen: Counter[str] = Counter()

    def emit(self, record: logging.LogRecord) -> None:
        self.seen[f"{record.levelname.lower()}: {record.msg}"] += 1

    def summary(self) -> str:
        return "\n".join(f"{count} x {message}" for message, count in self.seen.most_common())


def main() -> None:
    parser = argparse.ArgumentParser(prog="bench/council.py", description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--quick", action="store_true", help=f"{QUICK_ITEMS} items instead of {ITEMS}")
    parser.add_argument("--items", type=int, default=None, help=f"how many items (default {ITEMS})")
    parser.add_argument("--seed", type=int, default=SEED, help=f"items, answers, reviews and orders (default {SEED})")
    parser.add_argument("--bias", type=float, default=BIAS, help=f"first-position bias, 0-1 (default {BIAS})")
    parser.add_argument(
        "--obey", type=float, default=OBEY, help=f"how often an unfenced note is obeyed, 0-1 (default {OBEY})"
    )
    args = parser.parse_args()
    if not 0 <= args.bias <= 1:
        parser.error(f"--bias must be between 0 and 1 (a share of the rankings), got {args.bias}")
    if not 0 <= args.obey <= 1:
        parser.error(f"--obey must be between 0 and 1 (a share of the notes read), got {args.obey}")
    if args.items is not None and args.items < 1:
        parser.error(f"--items must be at least 1, got {args.items}")
    count = args.items or (QUICK_ITEMS if args.quick else ITEMS)
    tally = Tally()
    logging.getLogger().addHandler(tally)
    print(anyio.run(main_async, count, args.seed, args.bias, args.obey), flush=True)
    if tally.seen:
        print(f"The server logged (counted, not shown one by one):\n{tally.summary()}", file=sys.stderr)


if __name__ == "__main__":
    main()
