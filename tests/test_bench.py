"""The benchmark script runs (--quick) from this checkout, so it cannot rot. Timings are not gated here:
shared machines are noisy; the targets live in the benchmark's own table."""

from __future__ import annotations

import subprocess
import sys

from core.config.credentials import PROJECT_ROOT


def test_the_quick_benchmark_runs_and_prints_every_row() -> None:
    done = subprocess.run(
        [sys.executable, str(PROJECT_ROOT / "bench" / "run.py"), "--quick"],
        capture_output=True,
        text=True,
        timeout=420,  # a guard against a hang, not a target: the quick run takes 4-5 minutes on a loaded machine
        cwd=PROJECT_ROOT,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    for row in (
        "| 1. seed table",
        "| 2. fan-out, N = 3",
        "| 3. per-call",
        "| 4. MCP overhead",
        "| 5. cold start",
        "| 5b. spawn → first ask_all_ais answer",
        "| 6. ",
        "| 7. 20 concurrent calls to one AI",
        "| 8. provider limited to N = 4 concurrent",
        "| 13. 8 concurrent 50 MB answers",
        "| 17. server CPU per ask_ai over stdio, L = 0, vs a raw-SDK floor server",
        "| 17. server CPU per ask_ai over HTTP (serve --http), L = 0, vs a raw-SDK floor server",
        "| 14. masking 6 keys in a 100,000-character answer",
        "| 15. the roots round trip added to a call with a file (2025-11-25, mid-call)",
        "| 15. the roots round trip added to a call with a file (2026-07-28, an InputRequiredResult round)",
        "| 16. a call past handoff_s returns (hand-off)",
        "| 16b. jobs poll of a done job, server-side",
        "| 18. a 6-AI council panel rendered in headless Chromium",
        "| 19. a CLI member vs the CLI by hand",
    ):
        assert row in done.stdout, done.stdout
    assert "| ours (3 AIs at L = 0.2 s) |" in done.stdout


def test_the_cpu_row_measures_another_checkouts_server_beside_the_floors_in_one_run() -> None:
    cases = ["--cases", "floor-stdio,floor-http", "--variant", f"other={PROJECT_ROOT}"]
    done = subprocess.run(
        [sys.executable, str(PROJECT_ROOT / "bench" / "cpu.py"), "--calls", "2", "--rounds", "1", *cases],
        capture_output=True,
        text=True,
        timeout=300,  # a guard against a hang: four servers start, each asked 22 times
        cwd=PROJECT_ROOT,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    assert "other-stdio: " in done.stdout and "other-http: " in done.stdout, done.stdout
    assert done.stdout.count(" x (rounds ") == 2, done.stdout  # each against its transport's floor


def test_a_cpu_variant_that_is_not_a_checkout_is_refused_saying_what_is_valid() -> None:
    done = subprocess.run(
        [sys.executable, str(PROJECT_ROOT / "bench" / "cpu.py"), "--variant", f"other={PROJECT_ROOT / 'nowhere'}"],
        capture_output=True,
        text=True,
        timeout=60,
        cwd=PROJECT_ROOT,
    )
    assert done.returncode == 2
    assert "want LABEL=ROOT[=JSON]" in done.stderr and "ROOT a checkout" in done.stderr, done.stderr
