"""Codex CLI and Gemini CLI as the tests run them: installed from npm at pinned versions (CI: .ci/run), each in a
scratch project with a HOME of its own, pointed at the loopback stand-in of its provider with a made-up key.

    codex = codex_cli()                                   # or skip / fail (CI) naming what is missing
    agent = AgentHome.make(tmp_path)                      # tmp_path/home, tmp_path/project
    with ResponsesModel(script=Script(answer="four")) as model:
        run = await agent.run(CODEX.argv(str(codex), ..., extra_args=codex_endpoint(model)), "prompt",
                              codex_env(agent, model))
    CODEX.parse(run.stdout, run.stderr, run.returncode, ai="codex", model="gpt-fake")

Nothing leaves the machine and no real sign-in is used: HOME is the scratch one, the environment holds only
what is set here.
- Codex: a model provider of its own config (`-c model_providers.fake.base_url=...`, `wire_api="responses"`,
  `env_key`), its documented custom endpoint, chosen with `-c model_provider="fake"`.
- Gemini CLI: `GOOGLE_GEMINI_BASE_URL` (loopback may be plain http) and `GEMINI_API_KEY`; 0.61 takes the base URL
  alone for a "gateway" sign-in it then rejects ("Invalid auth method selected."), so the HOME's settings choose
  the API-key sign-in (`security.auth.selectedType`), as `gemini`'s sign-in dialog writes it. The project folder
  is trusted in the HOME (`trustedFolders.json`), as a person does once; headless runs refuse untrusted folders.
"""

from __future__ import annotations

import json
import shutil
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

import anyio

from core.config.credentials import PROJECT_ROOT
from tests.fakes.gemini_agent import GeminiModel
from tests.fakes.responses_api import ResponsesModel
from tests.helpers import npm_client

__all__ = [
    "CODEX_VERSION",
    "FAKE_MODEL_KEY_VARIABLE",
    "GEMINI_VERSION",
    "AgentHome",
    "Run",
    "codex_cli",
    "codex_endpoint",
    "codex_env",
    "gemini_cli",
    "gemini_env",
]

# The newest releases when this was written (`npm view <package> version`); .ci/run installs them.
CODEX_VERSION = "0.171.0"
GEMINI_VERSION = "0.61.0"  # needs Node 20 or newer
CODEX_PREFIX = PROJECT_ROOT / ".codex-cli"
GEMINI_PREFIX = PROJECT_ROOT / ".gemini-cli"
FAKE_MODEL_KEY_VARIABLE = "FAKE_RESPONSES_API_KEY"  # the env_key of Codex's model provider in the tests
RUN_TIMEOUT_S = 180  # one run: the CLI's start and a few scripted turns, on a loaded machine


def codex_cli() -> Path:
    """Codex CLI `CODEX_VERSION`, installed under `CODEX_PREFIX` unless there already."""
    return npm_client(f"@openai/codex@{CODEX_VERSION}", CODEX_PREFIX, "codex", "Codex CLI")


def gemini_cli() -> Path:
    """Gemini CLI `GEMINI_VERSION`, installed under `GEMINI_PREFIX` unless there already."""
    return npm_client(f"@google/gemini-cli@{GEMINI_VERSION}", GEMINI_PREFIX, "gemini", "Gemini CLI")


def codex_endpoint(model: ResponsesModel, *, signed_in_with_chatgpt: bool = False) -> list[str]:
    """Codex's `-c` settings for a model provider at the stand-in: its key from `FAKE_MODEL_KEY_VARIABLE`, or
    (`signed_in_with_chatgpt`) Codex's own sign-in (`requires_openai_auth`), retried never."""
    provider = "model_providers.fake"
    auth = "requires_openai_auth=true" if signed_in_with_chatgpt else f'env_key="{FAKE_MODEL_KEY_VARIABLE}"'
    settings = [
        'model_provider="fake"',
        f'{provider}.name="fake"',
        f'{provider}.base_url="{model.base_url}/v1"',
        f'{provider}.wire_api="responses"',
        f"{provider}.{auth}",
        f"{provider}.request_max_retries=0",
        f"{provider}.stream_max_retries=0",
    ]
    return [arg for setting in settings for arg in ("-c", setting)]


def _path() -> str:
    node = shutil.which("node")
    return ":".join(dict.fromkeys([*([str(Path(node).parent)] if node else []), "/usr/local/bin", "/usr/bin", "/bin"]))


def codex_env(agent: AgentHome, key: str | None) -> dict[str, str]:
    """Codex's whole environment: this HOME, node on PATH, the stand-in's key (None: no key at all)."""
    return {"HOME": str(agent.home), "PATH": _path(), **({FAKE_MODEL_KEY_VARIABLE: key} if key else {})}


def gemini_env(agent: AgentHome, model: GeminiModel, key: str | None) -> dict[str, str]:
    """Gemini CLI's whole environment: this HOME, node on PATH, the stand-in's URL and key (None: no key)."""
    env = {"HOME": str(agent.home), "PATH": _path(), "GOOGLE_GEMINI_BASE_URL": model.base_url}
    return {**env, **({"GEMINI_API_KEY": key} if key else {})}


@dataclass(frozen=True)
class Run:
    """One finished run of a CLI."""

    argv: list[str]
    stdout: bytes
    stderr: bytes
    returncode: int

    def why(self) -> str:
        """Everything a failed assertion should show."""
        out, err = self.stdout.decode(errors="replace")[-3_000:], self.stderr.decode(errors="replace")[-3_000:]
        return f"argv: {self.argv}\nexit: {self.returncode}\nstdout:\n{out}\nstderr:\n{err}"


@dataclass(frozen=True)
class AgentHome:
    """A scratch HOME and project directory, in which a CLI runs."""

    home: Path
    project: Path

    @classmethod
    def make(cls, root: Path) -> AgentHome:
        home, project = root / "home", root / "project"
        home.mkdir(parents=True, exist_ok=True)
        project.mkdir(parents=True, exist_ok=True)
        return cls(home, project)

    def gemini_signed_in(self, *, trusted: bool = True) -> None:
        """Gemini CLI's settings as after signing in with an API key, and (`trusted`) this project trusted."""
        settings = self.home / ".gemini"
        settings.mkdir(exist_ok=True)
        (settings / "settings.json").write_text(json.dumps({"security": {"auth": {"selectedType": "gemini-api-key"}}}))
        if trusted:
            (settings / "trustedFolders.json").write_text(json.dumps({str(self.project): "TRUST_FOLDER"}))

    async def run(self, argv: list[str], stdin: str, env: Mapping[str, str], timeout: float = RUN_TIMEOUT_S) -> Run:
        """Run `argv` in the project with `stdin` as its input and only `env` as its environment."""
        with anyio.fail_after(timeout):
            done = await anyio.run_process(argv, input=stdin.encode(), cwd=self.project, env=dict(env), check=False)
        return Run(argv, done.stdout, done.stderr, done.returncode)
