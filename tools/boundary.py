"""Where errors become tool errors (the one place), and what every tool shares."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import contextmanager

from mcp.server.mcpserver.exceptions import ToolError
from mcp.types import ToolAnnotations

from core.errors import JuniorAIError

__all__ = ["REACHES_OUT", "tool_errors", "with_context"]

logger = logging.getLogger("junior_ai.tools")

# These tools read and change nothing local, but talk to the outside world.
REACHES_OUT = ToolAnnotations(read_only_hint=True, destructive_hint=False, open_world_hint=True)


@contextmanager
def tool_errors(tool: str) -> Iterator[None]:
    """Turn our typed errors into tool errors the model can read; hide (and log) anything else."""
    try:
        yield
    except ToolError:
        raise
    except JuniorAIError as error:
        raise ToolError(str(error)) from error
    except Exception as error:  # the tool boundary: log the bug, tell the client without internals
        logger.exception("%s: unexpected error", tool)
        raise ToolError(f"{tool} failed with an internal error ({type(error).__name__}); see the server log") from error


def with_context(prompt: str, context: str | None) -> str:
    """The prompt an AI sees: the question, then the code or text it is about."""
    if not context:
        return prompt
    return f"{prompt}\n\n--- context ---\n{context}"
