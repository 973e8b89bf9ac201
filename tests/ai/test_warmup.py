"""The warm-up: the SDKs and their clients get ready in a background thread, a call that comes first
waits for them without stalling the event loop, and a client that cannot get ready says why."""

from __future__ import annotations

import json
import subprocess
import sys
import threading
from collections.abc import Iterator

import anyio
import pytest

import ai.base
from ai.async_client import AsyncAIClient, build_async_ai_client
from ai.warmup import load_sdk, warm_up
from core.config.credentials import PROJECT_ROOT
from core.errors import AIUnavailable
from tests.fakes import FakeProvider
from tests.helpers import api_of

pytestmark = pytest.mark.anyio
AIS = ("grok", "gemini")  # one per SDK
JOIN_S = 60  # an SDK import takes ~0.3 s; a loaded shared machine is slower


def clients_for(fake: FakeProvider) -> list[AsyncAIClient]:
    return [build_async_ai_client(ai, "key", f"{ai}-model", base_url=fake.base_url(ai, api_of(ai))) for ai in AIS]


def finished(thread: threading.Thread) -> bool:
    thread.join(JOIN_S)
    return not thread.is_alive()


class SDKGate:
    """Stands in for `load_sdk`: holds whoever loads an SDK until opened, and records their threads."""

    def __init__(self) -> None:
        self.entered = threading.Event()
        self.opened = threading.Event()
        self.loaders: list[str] = []

    def __call__(self, kind: str) -> None:
        self.loaders.append(threading.current_thread().name)
        self.entered.set()
        self.opened.wait(JOIN_S)
        load_sdk(kind)


@pytest.fixture
def sdk_gate(monkeypatch: pytest.MonkeyPatch) -> Iterator[SDKGate]:
    gate = SDKGate()
    monkeypatch.setattr(ai.base, "load_sdk", gate)
    yield gate
    gate.opened.set()


async def test_after_the_warm_up_every_sdk_client_exists_before_the_first_call(fake: FakeProvider) -> None:
    clients = clients_for(fake)
    assert not any(client.prepared for client in clients)
    assert finished(warm_up(clients))
    assert all(client.prepared for client in clients)
    with anyio.fail_after(10):
        for client in clients:
            assert await client.generate("ready?") == f"[{client.name}:{client.model}] ready?"
    assert fake.requests_for("grok") and fake.requests_for("gemini")


async def test_a_call_during_the_warm_up_waits_for_it_and_succeeds(fake: FakeProvider, sdk_gate: SDKGate) -> None:
    [grok, _] = clients = clients_for(fake)
    warming = warm_up(clients)
    answers: list[str] = []
    with anyio.fail_after(JOIN_S):  # the warm-up is loading grok's SDK
        await anyio.to_thread.run_sync(sdk_gate.entered.wait)

    async def ask() -> None:
        answers.append(await grok.generate("early"))

    with anyio.fail_after(JOIN_S):
        async with anyio.create_task_group() as group:
            group.start_soon(ask)
            await anyio.wait_all_tasks_blocked()  # the call waits, and the event loop runs on: we are here
            assert answers == [] and not grok.prepared
            sdk_gate.opened.set()
    assert answers == ["[grok:grok-model] early"]
    assert finished(warming)
    # Only the warm-up loaded the SDKs: the call waited for it instead of loading them alongside.
    assert set(sdk_gate.loaders) == {"junior-ai-warm-up"}


async def test_a_call_without_a_warm_up_prepares_its_client_off_the_event_loop(
    fake: FakeProvider, sdk_gate: SDKGate
) -> None:
    [grok, _] = clients_for(fake)
    sdk_gate.opened.set()
    with anyio.fail_after(JOIN_S):
        assert await grok.generate("cold") == "[grok:grok-model] cold"
    assert sdk_gate.loaders and threading.main_thread().name not in sdk_gate.loaders


async def test_an_sdk_that_does_not_import_fails_the_call_with_the_reason(
    fake: FakeProvider, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    monkeypatch.setitem(sys.modules, "openai", None)  # `import openai` now raises ImportError
    load_sdk.cache_clear()
    [grok, gemini] = clients = clients_for(fake)
    assert finished(warm_up(clients))
    assert "grok: could not get ready in the background" in caplog.text
    assert gemini.prepared and not grok.prepared
    with anyio.fail_after(10), pytest.raises(AIUnavailable, match=r"^grok cannot be called: its SDK does not import"):
        await grok.generate("anyone?")
    assert not fake.requests_for("grok")
    load_sdk.cache_clear()


async def test_a_closed_client_is_not_prepared(fake: FakeProvider) -> None:
    [grok, gemini] = clients = clients_for(fake)
    await grok.aclose()
    assert finished(warm_up(clients))
    assert not grok.prepared and gemini.prepared


def test_the_server_imports_the_sdks_in_the_warm_up_thread_only() -> None:
    # A fresh interpreter: the server starts, the warm-up runs, a call is made; every import of an SDK
    # module is recorded with the thread that ran it.
    code = """
import json, sys, threading, anyio
seen = {}
class Recorder:
    def find_spec(self, name, path=None, target=None):
        if name.split(".")[0] == "openai" or name.startswith("google.genai"):
            seen.setdefault(threading.current_thread().name, set()).add(name.split(".")[0])
        return None
sys.meta_path.insert(0, Recorder())
import server
from ai.async_client import build_async_ai_client
from ai.warmup import warm_up
async def main():
    clients = [build_async_ai_client(n, "k", "m", base_url="http://127.0.0.1:9/" + n) for n in ("grok", "gemini")]
    assert not seen, seen
    warm_up(clients).join(60)
    for client in clients:
        try:
            await client.generate("x")
        except Exception:
            pass  # nothing listens on port 9: the call fails, after its client was used
anyio.run(main)
print(json.dumps({thread: sorted(names) for thread, names in seen.items()}))
"""
    done = subprocess.run([sys.executable, "-c", code], cwd=PROJECT_ROOT, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout) == {"junior-ai-warm-up": ["google", "openai"]}


async def test_a_burst_of_first_calls_takes_one_worker_thread_not_one_each(
    fake: FakeProvider, sdk_gate: SDKGate
) -> None:
    [grok, _] = clients_for(fake)
    threads = anyio.to_thread.current_default_thread_limiter()
    borrowed = threads.borrowed_tokens
    answers: list[str] = []

    async def ask(n: int) -> None:
        answers.append(await grok.generate(f"early {n}"))

    with anyio.fail_after(JOIN_S):
        async with anyio.create_task_group() as group:
            for n in range(50):
                group.start_soon(ask, n)
            await anyio.to_thread.run_sync(sdk_gate.entered.wait)  # one call is loading grok's SDK
            await anyio.wait_all_tasks_blocked()
            assert threads.borrowed_tokens - borrowed == 1, "the other 49 wait on the event loop"
            sdk_gate.opened.set()
    assert sorted(answers) == sorted(f"[grok:grok-model] early {n}" for n in range(50))
