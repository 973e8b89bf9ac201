"""From what a CLI agent says went wrong (a line of its JSON output, or its stderr) to our typed error.

The CLIs report their provider's failures as text ("unexpected status 401 Unauthorized: ...", `{"code": 400,
"message": "API key not valid..."}`): the HTTP status in it, when there is one, picks the class as for the HTTP AIs
(`ai.errors.status_error`); a sign-in problem becomes `AuthenticationFailed` whose fix says how to sign in.
"""

from __future__ import annotations

import re

from ai.errors import clean_reason, status_error
from core.errors import AuthenticationFailed, ProviderError, ProviderUnreachable
from core.redact import Redactor

__all__ = ["cli_failure", "output_tail"]

_NO_SECRETS = Redactor()  # the runner's redactor masks the configured keys again where the error is shown
_STATUS = re.compile(r"\b(?:unexpected )?status[\s:=\"]*(\d{3})\b|\"code\"\s*:\s*(\d{3})\b|\bHTTP (\d{3})\b", re.I)
_KEY_MESSAGES = re.compile(r"api key not valid|incorrect api key|invalid api key|invalid_api_key|unauthorized", re.I)
_UNREACHABLE = re.compile(
    r"error sending request|connection (?:refused|failed|reset)|failed to lookup address|ECONNREFUSED|ENOTFOUND"
    r"|stream disconnected before completion",
    re.I,
)
TAIL_CHARS = 2_000  # of a run's stderr, read for why it failed


def cli_failure(
    ai: str, model: str, reason: str, *, login_fix: str, status: int | None = None, signed_out: bool = False
) -> ProviderError:
    """The typed error for a failure the CLI reported as `reason` (its status found in the text unless given).

    401 / 403 and the providers' "API key not valid" (a 400 at Google) are `AuthenticationFailed` with
    `login_fix` (so is any failure the dialect knows to mean "not signed in": `signed_out`); a connection that
    failed is `ProviderUnreachable`; other statuses map as for the HTTP AIs.
    """
    shown = clean_reason(reason, _NO_SECRETS)
    if status is None:
        found = _STATUS.search(reason)
        status = int(next(group for group in found.groups() if group)) if found else None
    if signed_out or _KEY_MESSAGES.search(reason) or status in (401, 403):
        return AuthenticationFailed(ai, model, shown, status).with_fix(login_fix)
    if status is not None:
        return status_error(ai, model, status, shown, None)
    if _UNREACHABLE.search(reason):
        return ProviderUnreachable(ai, model, shown)
    return ProviderError(ai, model, shown)


def output_tail(data: bytes) -> str:
    """The end of a run's output as text, for a reason: its last `TAIL_CHARS` characters, stripped."""
    return data[-TAIL_CHARS * 4 :].decode("utf-8", errors="replace")[-TAIL_CHARS:].strip()
