"""What the tests share that is not a fixture: configurations pointing at the fake provider, a clock a
test moves by hand, a server whose applications a test can see, raw JSON-RPC over a server process, and
`require`, through which every test whose real dependency is missing skips (or, in CI, fails)."""

from __future__ import annotations

import json
import os
import re
import shutil
import socket
import subprocess
import time
from pathlib import Path
from typing import Any, NoReturn, TypeVar

import anyio
import pytest

from callers import Junior
from core.config.credentials import PROJECT_ROOT
from core.config.settings import Settings
from serve.main import build_server
from tests.fakes import FakeProvider

T = TypeVar("T")

ALL_AIS = ("gemini", "openai", "grok", "deepseek", "openrouter", "ollama")
# The compact profile's tools, as every client must list them (a new tool is added here, once).
COMPACT_TOOLS = frozenset(
    {"ask_ai", "ask_all_ais", "ai_debate", "collaborative_solve", "ai_consensus", "server_status", "threads", "jobs"}
)
KEY_ENV = {
    "gemini": "GEMINI_API_KEY",
    "openai": "OPENAI_API_KEY",
    "grok": "XAI_API_KEY",
    "deepseek": "DEEPSEEK_API_KEY",
    "openrouter": "OPENROUTER_API_KEY",
}


def closed_port() -> int:
    """A loopback port nothing listens on (connection refused)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def api_of(name: str) -> str:
    return "gemini" if name == "gemini" else "openai"


def key_for(name: str) -> str:
    return f"test-key-for-{name}-0123456789"


def credentials_for(fake: FakeProvider, names: tuple[str, ...] = ALL_AIS, **per_ai: Any) -> dict[str, Any]:
    """A credentials.json body pointing each AI at the fake (ollama as a custom AI, keyless)."""
    blocks: dict[str, Any] = {}
    for name in names:
        block: dict[str, Any] = {"base_url": fake.base_url(name, api_of(name)), "timeout": 5}
        if name == "ollama":
            block["model"] = "llama3.2"
        else:
            block["api_key"] = key_for(name)
        block.update(per_ai.get(name, {}))
        blocks[name] = block
    return blocks


def env_for(fake: FakeProvider, names: tuple[str, ...] = ALL_AIS) -> dict[str, str]:
    """The same configuration as environment variables only."""
    env: dict[str, str] = {}
    for name in names:
        prefix = name.upper()
        env[f"{prefix}_BASE_URL"] = fake.base_url(name, api_of(name))
        if name in KEY_ENV:
            env[KEY_ENV[name]] = key_for(name)
        else:
            env["JUNIOR_AI_CUSTOM_AIS"] = name
            env[f"{prefix}_MODEL"] = "llama3.2"
    return env


def write_credentials(path: Path, body: dict[str, Any]) -> Path:
    path.write_text(json.dumps(body, indent=2))
    path.chmod(0o600)  # as the README asks; a test of the permission warning loosens it itself
    return path


# Retry delays are made short through configuration, never patched out.
FAST_RETRIES = {"retry_base_s": 0.01, "retry_max_s": 0.05}


class Clock:
    """The monotonic clock, plus however far a test has moved it on: a breaker's cooldown passes at
    once, without a test waiting for it."""

    def __init__(self) -> None:
        self.offset = 0.0

    def __call__(self) -> float:
        return time.monotonic() + self.offset

    def advance(self, seconds: float) -> None:
        self.offset += seconds


class Served:
    """A server for `settings` whose applications (one per connection) the test can see, on its clock."""

    def __init__(self, settings: Settings, clock: Clock | None = None) -> None:
        self.clock = clock or Clock()
        self.apps: list[Junior] = []
        self.server = build_server(settings, build_app=self._build)

    def _build(self, settings: Settings) -> Junior:
        self.apps.append(Junior.build(settings, clock=self.clock))
        return self.apps[-1]

    @property
    def app(self) -> Junior:
        """The application of the current (last) connection."""
        return self.apps[-1]


# -- raw JSON-RPC over a server process ----------------------------------------------------------

SERVER = str(PROJECT_ROOT / "server.py")


def request(request_id: int, method: str, params: dict[str, Any] | None = None) -> dict[str, Any]:
    message: dict[str, Any] = {"jsonrpc": "2.0", "id": request_id, "method": method}
    if params is not None:
        message["params"] = params
    return message


def tool(request_id: int, name: str, arguments: Any) -> dict[str, Any]:
    return request(request_id, "tools/call", {"name": name, "arguments": arguments})


INIT = request(
    0, "initialize", {"protocolVersion": "2025-11-25", "capabilities": {}, "clientInfo": {"name": "t", "version": "0"}}
)
INITIALIZED = {"jsonrpc": "2.0", "method": "notifications/initialized"}


async def session(
    command: list[str], env: dict[str, str], lines: list[bytes], replies: int
) -> tuple[list[dict[str, Any]], str]:
    """Send raw lines to a server process; read `replies` responses (by id); close stdin; return all."""
    process = await anyio.open_process(command, env=env)
    assert process.stdin and process.stdout and process.stderr
    errors = bytearray()

    async def drain_stderr() -> None:
        async for chunk in process.stderr:  # type: ignore[union-attr]
            errors.extend(chunk)

    received: list[dict[str, Any]] = []
    buffer = b""
    with anyio.fail_after(60):
        async with anyio.create_task_group() as group:
            group.start_soon(drain_stderr)
            await process.stdin.send(b"".join(lines))
            while len([m for m in received if "id" in m]) < replies:
                buffer += await process.stdout.receive()
                *complete, buffer = buffer.split(b"\n")
                received += [json.loads(line) for line in complete]  # any non-JSON byte on stdout fails here
            await process.stdin.aclose()
            rest = b"".join([chunk async for chunk in process.stdout])
            assert await process.wait() == 0
    received += [json.loads(line) for line in (buffer + rest).split(b"\n") if line]
    return received, errors.decode(errors="replace")


def frames(*messages: dict[str, Any]) -> list[bytes]:
    return [json.dumps(m).encode() + b"\n" for m in messages]


# -- real dependencies: skipped where missing, except in CI -------------------------------------------


def in_ci() -> bool:
    """Whether this is a CI run: `CI` is set to true (as GitHub Actions and most CI services do; `.ci/run`
    sets it unless told otherwise)."""
    return os.environ.get("CI", "").strip().lower() in {"true", "1", "yes"}


def missing(what: str, why: str) -> NoReturn:
    """The test's real dependency `what` (PostgreSQL, nginx, a Node client...) is not here: the test skips,
    saying `why`; in CI it fails saying so instead, so that CI cannot pass by skipping what it must run."""
    if in_ci():
        pytest.fail(f"{what} is missing, and under CI=true a test does not skip for that: {why}", pytrace=False)
    pytest.skip(why)


def require(what: str, found: T | None, why: str) -> T:
    """`found`, the test's real dependency `what`, when it is there (not None); else `missing(what, why)`."""
    if found is None:
        missing(what, why)
    return found


# -- clients from npm -----------------------------------------------------------------------------


def npm_client(package: str, prefix: Path, binary: str, what: str, *also: str) -> Path:
    """The npm `package`'s `binary` ("name@version"), installed under `prefix` with the packages `also`
    unless those very versions are there already (CI installs them first; see .ci/run); where node and npm
    are missing or the registry cannot be reached, the test skips saying why (in CI: fails, `missing`)."""
    path = prefix / "node_modules" / ".bin" / binary
    if not (path.exists() and all(_npm_installed(prefix, spec) for spec in (package, *also))):
        if not (shutil.which("node") and shutil.which("npm")):
            missing("node and npm", f"node and npm are not installed: the {what} test needs them")
        done = subprocess.run(
            ["npm", "install", "--prefix", str(prefix), "--no-audit", "--no-fund", "--loglevel=error", *also, package],
            capture_output=True,
            text=True,
            timeout=600,
        )
        if done.returncode != 0 or not path.exists():
            missing(what, f"could not install {package} from the npm registry: {done.stderr[-500:]}")
    return path


def _npm_installed(prefix: Path, spec: str) -> bool:
    """Whether `spec` ("name@version", the version exact or a major such as 22) is installed under `prefix`."""
    name, _, version = spec.rpartition("@")
    try:
        found = json.loads((prefix / "node_modules" / name / "package.json").read_text())["version"]
    except (OSError, ValueError, KeyError):
        return False
    return isinstance(found, str) and (found == version or found.startswith(f"{version}."))


def answer_of(text: str) -> str:
    """A tool's answer text without its trailer: the cost, the notes, the thread (after the last `---`)."""
    body, rule, _ = text.rpartition("\n\n---\n")
    return body if rule else text


_FENCED = re.compile(r"^<<<BEGIN (.+) ([0-9a-f]{12})>>>\n(.*?)\n<<<END \1 \2>>>$", re.M | re.S)


def fenced_in(prompt: str) -> dict[str, str]:
    """A collaboration prompt's fenced material (collab.shared), name → its text unquoted, in the order shown."""
    return {
        found.group(1): "\n".join(line.removeprefix(">").removeprefix(" ") for line in found.group(3).split("\n"))
        for found in _FENCED.finditer(prompt)
    }
