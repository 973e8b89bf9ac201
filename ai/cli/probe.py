"""What server_status and `--check` say of a CLI AI without spending anything: found or not, its version
(`--version`), and whether it is signed in as far as the CLI says (Claude Code: `claude auth status`).

    found = await probe(client)          # CliProbe(found=True, path=..., version="2.1.337", signed_in=True)

Each command runs as a call does (ai/cli/runner.py: its own process group, stdin closed, killed whole) within
`PROBE_TIMEOUT_S`; a CLI that does not answer in time is "unknown", never a hang.
"""

from __future__ import annotations

import re
from collections.abc import Mapping

import anyio
from pydantic import BaseModel

from ai.cli.client import CliClient
from ai.cli.runner import run_cli
from core.config.ai import AIConfig

__all__ = ["PROBE_OUTPUT_BYTES", "PROBE_TIMEOUT_S", "CliProbe", "probe", "probe_all"]

PROBE_TIMEOUT_S = 10.0  # `claude --version` starts Node: a second or two, more on a loaded machine
PROBE_OUTPUT_BYTES = 64 * 1024
_VERSION = re.compile(r"\d+\.\d+(?:\.\d+)?(?:[-+.][0-9A-Za-z.-]+)?")


class CliProbe(BaseModel):
    """A CLI AI as its status shows it.

    Attributes:
        cli: Which CLI ("claude_code", ...).
        command: Its command as configured.
        path: The executable, or None when its command was not found on PATH.
        version: What `--version` printed (its version number), or None when it could not tell.
        signed_in: True / False as the CLI says, None when it cannot say without spending ("unknown").
        max_concurrency: Its limit: runs at once.
        timeout_s: Its limit: seconds one run may take (the call's deadline may end it sooner).
    """

    cli: str
    command: str
    path: str | None
    version: str | None = None
    signed_in: bool | None = None
    max_concurrency: int
    timeout_s: float

    @classmethod
    def unprobed(cls, ai: AIConfig) -> CliProbe:
        """What the configuration alone tells of CLI AI `ai` (found or not; version and sign-in unknown).

        Raises:
            ValueError: `ai` is not a CLI AI.
        """
        if ai.cli is None:
            raise ValueError(f"{ai.name} is not a CLI AI")
        concurrency = ai.max_concurrency or 1
        return cls(
            cli=ai.cli.cli, command=ai.cli.command, path=ai.cli.path, max_concurrency=concurrency, timeout_s=ai.timeout
        )

    def line(self, name: str) -> str:
        """One line for server_status and `--check`: where, which version, signed in, its limits."""
        if self.path is None:
            return f"{name}: {self.cli} CLI: {self.command!r} not found on PATH (install it, or give its absolute path)"
        signed = {True: "yes", False: "no", None: "unknown"}[self.signed_in]
        limits = f"at most {self.max_concurrency} at a time, timeout {self.timeout_s:g} s, read-only"
        version = self.version or "unknown"
        return f"{name}: {self.cli} CLI at {self.path}, version {version}, signed in: {signed}; {limits}"


async def probe(ai: AIConfig, client: CliClient) -> CliProbe:
    """The version and sign-in state of CLI AI `ai` through its `client`, each within PROBE_TIMEOUT_S (at once)."""
    result = CliProbe.unprobed(ai)

    async def version() -> None:
        out = await _output(client, client.dialect.version_argv(client.path))
        match = _VERSION.search(out[0].decode("utf-8", "replace")) if out else None
        result.version = match.group(0) if match else None

    async def signed_in() -> None:
        argv = client.dialect.signed_in_argv(client.path)
        out = await _output(client, argv) if argv else None
        result.signed_in = client.dialect.signed_in(*out) if out else None

    async with anyio.create_task_group() as group:
        group.start_soon(version)
        group.start_soon(signed_in)
    return result


async def probe_all(ais: Mapping[str, AIConfig], clients: Mapping[str, object]) -> dict[str, CliProbe]:
    """Every CLI AI of `ais` probed at once (`clients`: the pool's); one not found, or not built, is "not found"."""
    probes: dict[str, CliProbe] = {}

    async def one(name: str, ai: AIConfig, client: CliClient) -> None:
        probes[name] = await probe(ai, client)

    async with anyio.create_task_group() as group:
        for name, ai in ais.items():
            client = clients.get(name)
            if ai.cli is not None and isinstance(client, CliClient):
                group.start_soon(one, name, ai, client)
            elif ai.cli is not None:
                probes[name] = CliProbe.unprobed(ai).model_copy(update={"path": None})
    return {name: probes[name] for name in ais if name in probes}


async def _output(client: CliClient, argv: list[str]) -> tuple[bytes, int] | None:
    """The command's stdout and exit status, or None when it could not run or did not end in time."""
    with anyio.move_on_after(PROBE_TIMEOUT_S):
        try:
            finished = await run_cli(argv, cwd=client.default_cwd, env=client.env, max_bytes=PROBE_OUTPUT_BYTES)
        except OSError:
            return None
        return finished.stdout, finished.returncode
    return None
