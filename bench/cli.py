"""Row 19 of the benchmark: what a CLI member adds over the same CLI run by hand, process start included.

Interleaved in one run: the CLI started directly (the command line and prompt a member would use, as a shell
would start it: `anyio.run_process`), and the same question asked of the CLI AI through the callers layer
(`ask_route`: breaker, concurrency slot, the runner's process group and bounded reads, the dialect's parse,
pricing and the ledger row on SQLite). Two CLIs: a tiny one (a shell script that prints Claude Code's JSON at
once, so the difference is all ours), and Claude Code itself against the loopback Messages API stand-in, when
it is installed (tests/claude_code.py's prefix).
"""

from __future__ import annotations

import json
import os
import statistics
import tempfile
import time
from pathlib import Path

import anyio

from ai.cli.client import CliClient
from ai.request import Request
from callers import Junior, ask_route
from core.config.settings import load_settings

__all__ = ["CLAUDE_PREFIX", "cli_overhead", "tiny_cli"]

PROMPT = "Explain async/await in one sentence."
CLAUDE_PREFIX = Path(__file__).resolve().parent.parent / ".claude-code-newest"
_ANSWER = {
    "type": "result",
    "subtype": "success",
    "is_error": False,
    "result": "ok",
    "session_id": "s",
    "total_cost_usd": 0.0001,
    "usage": {"input_tokens": 10, "output_tokens": 5},
}


def tiny_cli(directory: Path) -> Path:
    """A `claude` that reads its stdin and prints an answer at once: the floor of any CLI."""
    script = directory / "claude"
    script.write_text(f"#!/bin/sh\ncat >/dev/null\necho '{json.dumps(_ANSWER)}'\n")
    script.chmod(0o755)
    return script


async def cli_overhead(block: dict[str, object], calls: int, warmup: int = 2) -> tuple[str, float, float]:
    """Median seconds of the CLI by hand and through a member; the row's text, the added ms, the ratio."""
    with tempfile.TemporaryDirectory() as data_dir:
        body = {"member": block, "database_url": f"sqlite+aiosqlite:///{data_dir}/bench.db"}
        path = Path(data_dir) / "credentials.json"
        path.write_text(json.dumps(body))
        path.chmod(0o600)
        settings = load_settings(path, env={"PATH": os.environ.get("PATH", "")})
        async with Junior.build(settings) as app:
            route = app.route("member")
            client = route.client
            assert isinstance(client, CliClient)
            argv, stdin = client.argv(Request(PROMPT))
            by_hand: list[float] = []
            member: list[float] = []
            for n in range(calls + warmup):
                started = time.perf_counter()
                await anyio.run_process(argv, input=stdin, cwd=client.cwd(), env=client.env, check=False)
                hand = time.perf_counter() - started
                started = time.perf_counter()
                await ask_route(app, route, Request(PROMPT))
                ours = time.perf_counter() - started
                if n >= warmup:  # the first calls import genai-prices, open the store
                    by_hand.append(hand)
                    member.append(ours)
    hand_s, member_s = statistics.median(by_hand), statistics.median(member)
    added_ms = (member_s - hand_s) * 1000
    value = (
        f"{member_s * 1000:.1f} ms vs {hand_s * 1000:.1f} ms by hand: {added_ms:+.1f} ms ({member_s / hand_s:.2f} x)"
    )
    return value, added_ms, member_s / hand_s
