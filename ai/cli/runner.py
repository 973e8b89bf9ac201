"""One run of a CLI agent: started in a process group of its own, read into bounded buffers, and ended whole.

    finished = await run_cli(argv, cwd=project, env=child_env, max_bytes=16 * 2**20)
    finished.stdout, finished.stderr_tail, finished.returncode, finished.too_large

- The process leads a new session (`start_new_session`), so it and everything it spawns share one group.
- Its standard input is closed (or carries the prompt, then closed): a CLI that would wait for an approval
  or a login reads end-of-file and exits, rather than hanging until the deadline.
- Its standard output is kept up to `max_bytes` (past it the group is killed and `too_large` set); of its
  standard error only the last `STDERR_TAIL_BYTES` are kept. Neither ever reaches our standard output, which
  is the MCP transport on stdio: the client logs the tail, keys masked, to our stderr at debug level.
- However the run ends (it finished, the caller's deadline or cancel, the server shutting down) the group is
  ended before `run_cli` returns or raises: SIGTERM, then SIGKILL after `KILL_GRACE_S`, and the process is
  waited for; what it left behind in its group (a child still running) is killed too. No orphan.

`child_environment` is the environment a CLI gets: the user's, minus other AIs' keys and this server's secrets.
"""

from __future__ import annotations

import os
import signal
import subprocess
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

import anyio
from anyio.abc import ByteReceiveStream, Process

__all__ = ["KILL_GRACE_S", "SERVER_SECRET_PREFIX", "STDERR_TAIL_BYTES", "Finished", "child_environment", "run_cli"]

KILL_GRACE_S = 0.5  # between SIGTERM and SIGKILL: a CLI may flush its session file, but not keep us waiting
STDERR_TAIL_BYTES = 16 * 1024  # of a CLI's stderr, the end is kept (the error is usually last)
SERVER_SECRET_PREFIX = "JUNIOR_"  # this server's own settings (tokens, OAuth secret, database URL): never passed


@dataclass(frozen=True, slots=True)
class Finished:
    """A CLI run that ended by itself.

    Attributes:
        stdout: Its standard output (at most the cap).
        stderr_tail: The end of its standard error.
        returncode: Its exit status (negative: the signal that ended it).
        too_large: The output went past the cap, and the run was killed there.
    """

    stdout: bytes
    stderr_tail: bytes
    returncode: int
    too_large: bool = False


def child_environment(
    base: Mapping[str, str], remove: Iterable[str], add: Mapping[str, str] | None = None
) -> dict[str, str]:
    """The environment for a CLI: `base` without the variables in `remove` (other AIs' keys) nor any of this
    server's own (`JUNIOR_*`), with `add` over it (the AI's configured `env`)."""
    removed = set(remove)
    env = {key: value for key, value in base.items() if key not in removed and not key.startswith(SERVER_SECRET_PREFIX)}
    env.update(add or {})
    return env


async def run_cli(
    argv: Sequence[str],
    *,
    cwd: str,
    env: Mapping[str, str],
    max_bytes: int,
    stdin: bytes | None = None,
    grace: float = KILL_GRACE_S,
) -> Finished:
    """Run `argv` to its end (see the module docstring); the caller's cancel scope is its deadline.

    Raises:
        OSError: the command could not be started (not found, not executable, `cwd` missing).
    """
    process = await anyio.open_process(
        list(argv),
        stdin=subprocess.PIPE if stdin is not None else subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        cwd=cwd,
        env=dict(env),
        start_new_session=True,
    )
    stdout = bytearray()
    stderr = bytearray()
    overflow = anyio.Event()
    try:
        async with anyio.create_task_group() as group:
            group.start_soon(_read_capped, process.stdout, stdout, max_bytes, overflow)
            group.start_soon(_read_tail, process.stderr, stderr)
            if stdin is not None and process.stdin is not None:
                async with process.stdin:
                    await process.stdin.send(stdin)
            await _exit_or_overflow(process, overflow)
            _kill_group(process.pid, signal.SIGKILL)  # what it left running would hold the pipes open
    finally:
        with anyio.CancelScope(shield=True):
            await _end_group(process, grace)
    return Finished(bytes(stdout), bytes(stderr), process.returncode or 0, overflow.is_set())


async def _exit_or_overflow(process: Process, overflow: anyio.Event) -> None:
    """Wait for the process to exit, or for its output to pass the cap (then it is killed)."""
    async with anyio.create_task_group() as group:

        async def overflowed() -> None:
            await overflow.wait()
            _kill_group(process.pid, signal.SIGKILL)

        group.start_soon(overflowed)
        await process.wait()
        group.cancel_scope.cancel()


async def _read_capped(stream: ByteReceiveStream | None, into: bytearray, limit: int, overflow: anyio.Event) -> None:
    if stream is None:
        return
    async for chunk in stream:
        room = limit - len(into)
        into += chunk[: max(room, 0)]
        if len(chunk) > room:
            overflow.set()
            return


async def _read_tail(stream: ByteReceiveStream | None, into: bytearray) -> None:
    if stream is None:
        return
    async for chunk in stream:
        into += chunk
        del into[:-STDERR_TAIL_BYTES]


async def _end_group(process: Process, grace: float) -> None:
    """SIGTERM to the group, SIGKILL after `grace` if the leader is still running, then wait for it; finally
    SIGKILL to whatever else the group still holds (a child that ignored SIGTERM)."""
    if process.returncode is None:
        _kill_group(process.pid, signal.SIGTERM)
        with anyio.move_on_after(grace):
            await process.wait()
        if process.returncode is None:
            _kill_group(process.pid, signal.SIGKILL)
            await process.wait()
    _kill_group(process.pid, signal.SIGKILL)
    await process.aclose()


def _kill_group(pgid: int, sig: signal.Signals) -> None:
    try:
        os.killpg(pgid, sig)
    except (ProcessLookupError, PermissionError):  # the group is gone already
        pass
