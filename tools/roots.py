"""The client's MCP roots, asked for only in a call that names `files` or may ask a CLI agent (which runs in the
client's first root, the project), and only from a client that declared the roots capability, on both protocol
eras:

- 2026-07-28 and later (stateless: no back-channel, capabilities in each request's `_meta`): the boundary
  gives every tool with `files` a resolved parameter (`RESOLVED_ROOTS`), so the SDK's resolver answers the
  first round with an `InputRequiredResult` asking for `roots/list`, and runs the tool when the client
  sends the call again with its roots. The resolver sees the tool's arguments, not the AIs it will choose:
  while a CLI AI is usable, it asks on every call of those tools.
- 2025-11-25 and earlier (the `initialize` handshake): the resolver leaves it to the tool, which sends
  `roots/list` over the back-channel within the call's deadline (`client_roots`). The SDK's own mid-call
  path would wait for the client without a limit, before the call's deadline starts, and would end the
  call with a protocol error where a client refuses to list its roots.

    async with taking_turn(...) as turn:     # client_roots(ctx, deadline): the roots offered for this call

The boundary hands what the resolver found to the tool's body through `offered_roots` (a context variable,
as the SDK hands the authenticated caller to a tool), so no tool body declares a parameter for it.
"""

from __future__ import annotations

import contextlib
import contextvars
import logging
import warnings
from collections.abc import Iterator
from typing import Annotated, Any

import anyio
from mcp import MCPError
from mcp.server.mcpserver import Context, ListRoots, Resolve
from mcp.shared.message import ServerMessageMetadata
from mcp.types import ListRootsRequest, ListRootsResult
from mcp_types.version import is_version_at_least

from core.resilience.deadline import Deadline
from tools.context import app_of

__all__ = [
    "INPUT_REQUIRED_VERSION",
    "RESOLVED_ROOTS",
    "ROOTS_PARAMETER",
    "ROOTS_TIMEOUT_S",
    "client_roots",
    "declares_roots",
    "offered_roots",
    "roots_for_files",
]

logger = logging.getLogger("junior_ai.tools")

ROOTS_TIMEOUT_S = 5.0  # how long a handshake-era client may take to say its roots, mid-call
# The first protocol revision without a back-channel: requests to the client ride `InputRequiredResult`.
INPUT_REQUIRED_VERSION = "2026-07-28"
# The parameter the boundary adds to a tool with `files`; the SDK fills it and leaves it out of the schema.
ROOTS_PARAMETER = "boundary_roots"

# What the resolver found for the call running in this task: None when it asked nothing.
_offered: contextvars.ContextVar[ListRootsResult | None] = contextvars.ContextVar("junior_ai_roots", default=None)


def declares_roots(ctx: Context[Any, Any]) -> bool:
    """True when the client said it can list its roots (the `roots` capability, from the handshake or from
    the request's `_meta`)."""
    capabilities = ctx.client_capabilities
    return capabilities is not None and capabilities.roots is not None


def _input_required(ctx: Context[Any, Any]) -> bool:
    version = ctx.protocol_version
    return version is not None and is_version_at_least(version, INPUT_REQUIRED_VERSION)


# `Context` bare: the resolver recognises its context parameter by the class, not a parametrised alias.
async def roots_for_files(files: list[str] | None, ctx: Context) -> ListRoots | None:
    """The SDK's resolver for `RESOLVED_ROOTS`: ask the client for its roots (`ListRoots`; the SDK injects its
    `ListRootsResult`) when the call names files or a CLI AI is usable, the client declared the roots
    capability and the protocol is 2026-07-28 or later; otherwise ask nothing (None), and on older protocols
    the tool asks mid-call."""
    if not (files or _cli_usable(ctx)) or not declares_roots(ctx) or not _input_required(ctx):
        return None
    return ListRoots()


def _cli_usable(ctx: Context[Any, Any]) -> bool:
    settings = app_of(ctx).settings
    return any(settings.ais[name].cli is not None for name in settings.usable_ais)


# The annotation of the parameter the boundary adds: filled by the resolver, never by the model.
RESOLVED_ROOTS = Annotated[ListRootsResult | None, Resolve(roots_for_files)]


@contextlib.contextmanager
def offered_roots(listed: ListRootsResult | None) -> Iterator[None]:
    """Within the block, `client_roots` answers `listed`: what the resolver got for this call."""
    token = _offered.set(listed)
    try:
        yield
    finally:
        _offered.reset(token)


async def client_roots(ctx: Context[Any, Any], deadline: Deadline) -> list[str] | None:
    """The client's MCP roots (`file://` URIs) for this call, or None when it offers none.

    On 2026-07-28 and later, what the resolver got before the tool ran. On older protocols, asked now over
    the back-channel, within ROOTS_TIMEOUT_S and the call's `deadline`: a client that refuses, has no
    back-channel, or does not answer in time offers none (the configured roots hold).
    """
    if (listed := _offered.get()) is not None:
        return [str(root.uri) for root in listed.roots]
    session = ctx.request_context.session
    if not declares_roots(ctx) or _input_required(ctx) or not session.can_send_request:
        return None
    limit = min(ROOTS_TIMEOUT_S, deadline.remaining())
    try:
        with anyio.fail_after(limit), warnings.catch_warnings():
            warnings.simplefilter("ignore")  # roots are deprecated in the newest protocol, and still used
            listed = await session.send_request(
                ListRootsRequest(),
                ListRootsResult,
                # Over Streamable HTTP, on the call's own stream, as the SDK sends a resolver's request.
                metadata=ServerMessageMetadata(related_request_id=ctx.request_id),
            )
    except MCPError as error:  # the client refused: fall back
        logger.info("the client's roots could not be listed (%s); using the configured roots", error)
        return None
    except TimeoutError:
        logger.warning("the client did not list its roots within %.3g s; using the configured roots", limit)
        return None
    return [str(root.uri) for root in listed.roots]
