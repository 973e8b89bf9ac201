"""What to change when a call fails for a reason the configuration can fix: a pure function from the
error and the AI's configuration to one sentence, which the error then carries (`ProviderError.fix`)."""

from __future__ import annotations

from pathlib import Path

from core.config.settings import AIConfig
from core.errors import AuthenticationFailed, ModelNotFound, ProviderError, ProviderUnreachable
from core.redact import safe_url

__all__ = ["GEMINI_BASE_URL", "fix_for"]

GEMINI_BASE_URL = "https://generativelanguage.googleapis.com"


def fix_for(error: ProviderError, ai: AIConfig, source: Path | None) -> str | None:
    """The change that would make `ai` work after `error`, naming the variables, the credentials block
    and the URL involved (masked); None when the configuration is not what failed (or the AI is a CLI agent,
    whose errors carry their own fix: `claude login`)."""
    if ai.cli is not None:
        return None
    block = f"{ai.name}.{{}} in {source}" if source else f"{ai.name}.{{}} in credentials.json"
    url = safe_url(ai.base_url)
    if isinstance(error, AuthenticationFailed):
        variables = " or ".join(ai.key_env_vars)
        return f"check the key: set {variables}, or {block.format('api_key')}"
    if isinstance(error, ProviderUnreachable):
        return (
            f"nothing answered at {url}: check that it is running, or set {block.format('base_url')} "
            f"(or {ai.env_prefix}_BASE_URL)"
        )
    if isinstance(error, ModelNotFound) or error.status_code in (404, 405):
        if ai.kind == "gemini":
            version = ai.api_version or "v1"
            return (
                f"check the model {error.model!r} and the base URL {url}: Gemini's base URL takes no version path "
                f"({GEMINI_BASE_URL}, not .../v1beta); the API version is {version} (set "
                f"{block.format('api_version')} or {ai.env_prefix}_API_VERSION, e.g. v1beta behind a gateway "
                "such as LiteLLM's)"
            )
        return (
            f"check the model {error.model!r} ({block.format('model')}) and the base URL {url} "
            "(OpenAI-compatible base URLs usually end in /v1)"
        )
    return None
