"""Run the fake provider on its own: `python -m tests.fakes [--latency S] [--max-concurrent N] [--huge BYTES]`; prints
its port, then serves until stdin closes. The benchmark runs it in a separate process so it does not share our GIL."""

from __future__ import annotations

import argparse
import sys

from tests.fakes.provider import Behaviour, FakeProvider


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m tests.fakes")
    parser.add_argument("--latency", type=float, default=0.0, help="seconds before each answer")
    parser.add_argument(
        "--max-concurrent", type=int, default=None, help="answer 429 to a request above this many in progress per AI"
    )
    parser.add_argument(
        "--huge", type=int, default=None, help="answer with this many bytes of text (model `small`: as usual)"
    )
    args = parser.parse_args()
    default = Behaviour(latency=args.latency, max_concurrent=args.max_concurrent, huge=args.huge)
    with FakeProvider(default=default, record=False) as fake:
        print(fake.port, flush=True)
        sys.stdin.read()


if __name__ == "__main__":
    main()
