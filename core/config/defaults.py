"""Every tunable's default, in one place. The settings are overridable in credentials.json (top-level key,
or the AI's block where noted) and by an environment variable `JUNIOR_AI_<KEY>`, some also per call; the
adaptive limit's policy constants (LIMIT_*, PROBE_*) are not settings."""

from __future__ import annotations

__all__ = [
    "ANSWER_RESERVE_TOKENS",
    "ASK_DEADLINE_S",
    "ATTEMPTS",
    "BREAKER_COOLDOWN_S",
    "BREAKER_THRESHOLD",
    "CHARS_PER_TOKEN",
    "CONFIRM_OVER_USD",
    "CONNECT_TIMEOUT_S",
    "DEADLINE_S",
    "DEBATE_ROUND_S",
    "FILES_SHARE",
    "HANDOFF_S",
    "HISTORY_SHARE",
    "JOB_HEARTBEAT_S",
    "JOB_LOST_AFTER_S",
    "JOB_TTL_S",
    "JOB_WAIT_S",
    "LIMIT_CUT",
    "MAX_ANSWER_BYTES",
    "MAX_ANSWER_CHARS",
    "MAX_CONCURRENCY",
    "MAX_CONNECTIONS",
    "MAX_DEADLINE_S",
    "MAX_FILES",
    "MAX_FILE_TOKENS",
    "MAX_IMAGE_BYTES",
    "MAX_JOB_WAIT_S",
    "MAX_PROMPT_CHARS",
    "MIN_STEP_S",
    "MODELS_CACHE_S",
    "PROBE_AFTER_S",
    "RESERVATION_HOLD_S",
    "RETRY_BASE_S",
    "RETRY_MAX_S",
    "STORE_BUSY_TIMEOUT_S",
    "STORE_CONNECT_TIMEOUT_S",
    "STORE_OPEN_TIMEOUT_S",
    "TEMPERATURE",
    "THREAD_TTL_DAYS",
    "TIMEOUT_S",
    "WORST_OUTPUT_TOKENS",
]

# -- time ------------------------------------------------------------------------------------------
TIMEOUT_S = 30.0  # one HTTP attempt to one AI, in total (per AI: "timeout")
CONNECT_TIMEOUT_S = 10.0  # establishing the connection, within the attempt's time
# Claude Desktop cancels a stdio tool call at about 60 s: every tool answers well before that.
ASK_DEADLINE_S = 45.0  # ask_ai and the per-AI tools, retries included (per call: deadline_s)
DEADLINE_S = 45.0  # ask_all_ais and the collaborative tools, every step included (per call: deadline_s)
DEBATE_ROUND_S = 30.0  # at most, for one debate round (it also gets no more than its fair share)
MAX_DEADLINE_S = 600.0
# An AI-asking call still running this long returns with what is in and a job_id; the rest goes on in the
# background (per server: "handoff_s"; env JUNIOR_AI_HANDOFF_S). Under Claude Desktop's 60 s cut-off.
HANDOFF_S = 45.0
JOB_TTL_S = 86_400.0  # a job's row is kept this long after it started
JOB_HEARTBEAT_S = 2.0  # a running job's replica says it is alive this often
JOB_LOST_AFTER_S = 10.0  # a running job nobody has said is alive for this long is lost (its process died)
JOB_WAIT_S = 20.0  # jobs(job_id) waits this long for a running job by default ...
MAX_JOB_WAIT_S = 50.0  # ... and at most this long (a client cuts a call at about 60 s)
MIN_STEP_S = 0.5  # less time than this left: not worth asking an AI, say so instead

# -- retries (one loop, ours; the SDKs' are off) --------------------------------------------------
ATTEMPTS = 3  # in all, first try included (per AI: "attempts")
RETRY_BASE_S = 0.5  # backoff: about RETRY_BASE_S * 2**n, with jitter ...
RETRY_MAX_S = 8.0  # ... capped here

# -- circuit breaker, per AI ------------------------------------------------------------------------
BREAKER_THRESHOLD = 5  # consecutive retryable failures that open it
BREAKER_COOLDOWN_S = 30.0  # how long it stays open before one probe call

# -- limits, per AI ---------------------------------------------------------------------------------
# The ceiling of each AI's adaptive limit, which starts there: nothing waits until the provider pushes
# back (429, or a timeout of the AI's own), then the limit follows what the provider takes.
MAX_CONCURRENCY = 64  # requests in flight at once, at most (per AI: "max_concurrency")
MAX_CONNECTIONS = 64  # the HTTP connection pool's size: as many as may be in flight, so none waits for a socket

# -- the adaptive limit's policy, per AI (core/resilience/limiter.py) -------------------------------------------
LIMIT_CUT = 0.5  # an overload we did not probe for halves what was in flight (TCP's multiplicative decrease)
# Near the level that last overloaded, one more request in flight is tried only after this long (and a
# round of answers) at the level below: at most one refused attempt per this many seconds, retried.
PROBE_AFTER_S = 5.0

# -- generation -------------------------------------------------------------------------------------
TEMPERATURE = 0.7

# -- input and output sizes -------------------------------------------------------------------------
MAX_PROMPT_CHARS = 200_000  # a tool's prompt and context together
MAX_ANSWER_CHARS = 100_000  # an AI's answer beyond this is cut, with a note saying so
# Bytes read of one provider answer, streamed or whole, error bodies too (as sent and as decoded): past it,
# reading stops (ai/body_cap.py). Far above what MAX_ANSWER_CHARS keeps, even streamed (an OpenAI chunk
# wraps each token in about 200 bytes of JSON); eight answers at the cap at once stay well under 512 MiB.
MAX_ANSWER_BYTES = 16 * 1024 * 1024

# -- the store (core/store/database.py) ------------------------------------------------------------------------
STORE_BUSY_TIMEOUT_S = 5.0  # SQLite: how long a write waits for another process's write to finish
STORE_CONNECT_TIMEOUT_S = 5.0  # PostgreSQL: establishing one connection
STORE_OPEN_TIMEOUT_S = 10.0  # opening the store, migrations included: longer is "unavailable", and asking goes on
THREAD_TTL_DAYS = 30.0  # a thread expires this long after its last activity ("thread_ttl_days")
MODELS_CACHE_S = 3600.0  # an AI's model list, as fetched from its provider, is reused this long
# A call's reservation against the spending caps stops counting this long after it was made, should its process
# die before settling it: longer than any call may run (MAX_DEADLINE_S).
RESERVATION_HOLD_S = 900.0

# -- context windows: what threads and files may fill (estimated tokens) -------------------------------
CHARS_PER_TOKEN = 4  # the estimate: no tokenizer is loaded for a budget
ANSWER_RESERVE_TOKENS = 8_192  # kept free in the context window for the answer
HISTORY_SHARE = 0.4  # a thread's earlier turns may take this share of the model's context window
FILES_SHARE = 0.5  # the files of one call may take this share of the smallest context window asked
MAX_FILE_TOKENS = 100_000  # one file, at most, whatever the window ("max_file_tokens")
MAX_FILES = 100  # files one call may read (a glob that matches more is cut, with a note)
MAX_IMAGE_BYTES = 10 * 1024 * 1024  # one image, at most

# -- cost (core/money/prices.py) -----------------------------------------------------------------------------
# A call's worst case, estimated before it is sent, counts this many answer tokens when the call sets no
# max_tokens: a long answer of most models, not the longest any model may write (that would be 64k+).
WORST_OUTPUT_TOKENS = 4_096
# A call whose worst case is more than this (USD) is asked of the user first (tools/confirm.py); None: never asked.
CONFIRM_OVER_USD: float | None = None
