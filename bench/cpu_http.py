"""Rows 9 and 12 of the benchmark, run a few times in one go, and row 9 in CPU: the HTTP and thread work of
issue 26, each against its floor measured in the same run.

    .venv/bin/python bench/cpu_http.py                     # 9, 12 and 9cpu; 300 calls, 3 rounds
    .venv/bin/python bench/cpu_http.py --rows 9cpu --calls 500

- **9** and **12**: bench/run.py's rows, run `--rounds` times.
- **9cpu**: row 9 in CPU (this process's, all its threads) per continued call against the same call without
  a thread: steadier than row 9's p95 on a loaded machine.

The server's own CPU per call (over HTTP, over stdio, and another checkout's beside it) is bench/cpu.py's.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

import anyio  # noqa: E402

from ai.request import Request  # noqa: E402
from bench.cpu import PROMPT, WARM_UP  # noqa: E402
from bench.run import fake_provider, http_overhead, settings_for, thread_row  # noqa: E402
from bench.threads import TURNS, _threads_of_fifty  # noqa: E402
from callers import AIResult, Junior, ask_route, conversation  # noqa: E402
from core.config.settings import Settings  # noqa: E402


async def thread_cpu(settings: Settings, data_dir: Path, calls: int) -> str:
    """Row 9 in CPU: this process's CPU (all its threads) per call continuing a 50-turn thread, against the
    same call without a thread, interleaved as row 9 does (bench/threads.py); medians of the calls."""
    settings = settings.model_copy(update={"database_url": f"sqlite+aiosqlite:///{data_dir / 'bench.db'}"})
    async with Junior.build(settings) as app:
        route = app.route("grok")
        threads = await _threads_of_fifty(app, calls + WARM_UP)
        plain, threaded = [], []
        for n, thread_id in enumerate(threads):
            started = time.process_time()
            await ask_route(app, route, Request(PROMPT))
            took = time.process_time() - started
            started = time.process_time()
            async with conversation(app, thread_id, title=PROMPT, deadline_s=30) as thread:
                completion = await ask_route(app, route, Request(PROMPT, history=thread.history_for(route)))
                await thread.record("ask_ai", PROMPT, [AIResult.answered("grok", completion, time.perf_counter())])
            if n >= WARM_UP:
                plain.append(took)
                threaded.append(time.process_time() - started)
    added = (statistics.median(threaded) - statistics.median(plain)) * 1000
    return (
        f"9 (CPU). continuing a {TURNS}-turn thread: {added:.2f} ms of CPU added per call (median; with "
        f"{statistics.median(threaded) * 1000:.2f} ms, without {statistics.median(plain) * 1000:.2f} ms)"
    )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--calls", type=int, default=300)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--rows", default="9,12,9cpu", help="comma-separated, of 9, 12, 9cpu")
    args = parser.parse_args()
    rows = args.rows.split(",")
    with fake_provider(0.0) as port_0:
        for _ in range(args.rounds):
            if "9" in rows:
                [row] = thread_row(port_0, args.calls)
                print(f"{row.measure}: {row.value}", flush=True)
            if "9cpu" in rows:
                with tempfile.TemporaryDirectory() as data_dir:
                    print(anyio.run(thread_cpu, settings_for(port_0, ["grok"]), Path(data_dir), args.calls), flush=True)
            if "12" in rows:
                [row] = http_overhead(port_0, args.calls)
                print(f"{row.measure}: {row.value}", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
