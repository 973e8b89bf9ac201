"""One entry point that sets itself up: `python3 run.py serve`, `python3 run.py test`, `python3 run.py bench`.

The first run creates `.venv/` beside this file and installs the project into it: `serve` the runtime
dependencies, `test` and `bench` the `test` extra as well. A stamp in `.venv` records what was installed
(the interpreter, pyproject.toml's hash, the extras) and is written only after the install succeeded, so a
later run installs only what is missing, and a `.venv` whose install did not finish, or that an
interpreter older than 3.11 made, is deleted and made again. Everything it prints goes to stderr, so
`serve` is safe to use as an MCP stdio command.

The check below must run on any Python 3: this file parses on 3.6+ (no `from __future__` import, walrus,
f-string `=`, `match`); annotations are only evaluated after the check has passed.
"""

import os
import sys

MINIMUM = (3, 11)

if sys.version_info < MINIMUM:
    _here = os.path.abspath(__file__)
    sys.stderr.write(
        "run.py: Junior AI Assistant needs Python 3.11 or newer, but this is Python {found} ({path}), so"
        " nothing was done. Start it with a newer interpreter by its absolute path (find one with"
        " `which python3.13 python3.12 python3.11`; get one from python.org, `brew install python@3.12` or your"
        ' package manager), and give your MCP client that path as the command, e.g. "command":'
        ' "/opt/homebrew/bin/python3.12", "args": ["{here}", "serve"], or for Claude Code:'
        " claude mcp add junior-ai -- /opt/homebrew/bin/python3.12 {here} serve\n".format(
            found=".".join(str(part) for part in sys.version_info[:3]), path=sys.executable, here=_here
        )
    )
    sys.exit(2)

import hashlib  # noqa: E402
import json  # noqa: E402
import shutil  # noqa: E402
import subprocess  # noqa: E402
import venv  # noqa: E402
from collections.abc import Mapping, Sequence  # noqa: E402
from pathlib import Path  # noqa: E402
from typing import Any, NamedTuple  # noqa: E402

ROOT = Path(__file__).resolve().parent
VENV = ROOT / ".venv"
STAMP = VENV / ".junior-ai-installed"
EXTRAS: Mapping[str, tuple[str, ...]] = {"serve": (), "test": ("test",), "bench": ("test",)}
USAGE = """\
usage: python3 run.py COMMAND [ARGS]

  serve [--credentials PATH] [--check]   start the MCP server on stdio (what an MCP client runs)
  serve --http [--host H] [--port P]     serve MCP over Streamable HTTP at http://H:P/mcp (127.0.0.1:8765)
  serve --new-token NAME                 print a new bearer token for NAME and the line to configure
  test [PYTEST ARGS]                     run the test suite
  bench [--quick]                        run the benchmark
  bench council [--quick]                run the council simulation (bench/council.py)

The first run creates .venv/ beside run.py with this interpreter (Python 3.11+) and installs into it:
serve the runtime dependencies, test and bench the test tools too. Later runs start at once.
Everything run.py prints goes to stderr."""


class Plan(NamedTuple):
    """What to do with `.venv` before running: `action` is "ready", "install" or "rebuild"."""

    action: str
    reason: str
    extras: tuple[str, ...]


def venv_version(venv_dir: Path) -> tuple[int, ...] | None:
    """The Python version a venv was made with, from its pyvenv.cfg; None when that is missing or unreadable."""
    try:
        lines = (venv_dir / "pyvenv.cfg").read_text(encoding="utf-8").splitlines()
    except (OSError, UnicodeDecodeError):
        return None
    for line in lines:
        key, _, value = line.partition("=")
        if key.strip() in {"version", "version_info"}:
            parts = value.strip().split(".")[:3]
            if parts and all(part.isdigit() for part in parts):
                return tuple(int(part) for part in parts)
    return None


def read_stamp(path: Path) -> dict[str, Any] | None:
    """The stamp's record; None when there is no stamp, {} when it is not one this run.py wrote."""
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return None
    except (OSError, UnicodeDecodeError):
        return {}
    try:
        record = json.loads(text)
    except ValueError:  # the stamp of an earlier run.py: the hash alone
        return {}
    return record if isinstance(record, dict) else {}


def plan(
    has_python: bool,
    version: tuple[int, ...] | None,
    stamp: Mapping[str, Any] | None,
    pyproject_hash: str,
    wanted: Sequence[str],
) -> Plan:
    """Decide whether `.venv` can be used as it is, needs an install, or must be deleted and made again.

    Args:
        has_python: whether `.venv`'s interpreter exists.
        version: the Python version `.venv` was made with (`venv_version`).
        stamp: the stamp's record (`read_stamp`); None when there is none.
        pyproject_hash: the sha256 of pyproject.toml as it is now.
        wanted: the extras this command needs.

    Returns:
        The plan; its `extras` are what to install: the wanted ones plus those already installed.
    """
    wanted = tuple(sorted(set(wanted)))
    if not has_python:
        return Plan("rebuild", "it has no Python interpreter", wanted)
    if version is None:
        return Plan("rebuild", "it has no readable pyvenv.cfg", wanted)
    if version < MINIMUM:
        return Plan("rebuild", f"it was made by Python {_dotted(version)}", wanted)
    if stamp is None:
        return Plan("rebuild", "its last install did not finish", wanted)
    installed = stamp.get("extras", [])
    have = tuple(sorted(set(installed))) if isinstance(installed, list) else ()
    if stamp and stamp.get("python") != _dotted(version):
        return Plan("rebuild", f"its interpreter changed since the install ({stamp.get('python')})", wanted)
    extras = tuple(sorted(set(wanted) | set(have)))
    if stamp.get("pyproject") != pyproject_hash:
        return Plan("install", "pyproject.toml changed", extras)
    if not set(wanted) <= set(have):
        return Plan("install", "adding the test tools", extras)
    return Plan("ready", "", have)


def _dotted(version: Sequence[int]) -> str:
    return ".".join(str(part) for part in version)


def _venv_python() -> Path:
    scripts = "Scripts" if os.name == "nt" else "bin"
    return VENV / scripts / ("python.exe" if os.name == "nt" else "python")


def sha256(path: Path) -> str:
    """The file's sha256, as the stamp records pyproject.toml's."""
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _remove_venv() -> None:
    if VENV.is_symlink() or VENV.is_file():
        VENV.unlink()
    elif VENV.exists():
        shutil.rmtree(VENV)


def _ensure_environment(command: str) -> Path:
    """Make `.venv` ready for `command`, installing only what is missing.

    Raises:
        subprocess.CalledProcessError: creating the venv or the install failed (no stamp is left, so the
            next run starts over).
    """
    python = _venv_python()
    pyproject_hash = sha256(ROOT / "pyproject.toml")
    todo = plan(python.exists(), venv_version(VENV), read_stamp(STAMP), pyproject_hash, EXTRAS[command])
    if todo.action == "ready":
        return python
    if todo.action == "rebuild":
        if VENV.exists() or VENV.is_symlink():
            print(f"run.py: {VENV} is unusable ({todo.reason}); deleting it and making it again ...", file=sys.stderr)
            _remove_venv()
        print(f"run.py: creating {VENV} with Python {_dotted(sys.version_info[:3])} ...", file=sys.stderr)
        venv.EnvBuilder(with_pip=True).create(VENV)
    what = "the server's dependencies" + (" and the test tools" if todo.extras else "")
    print(f"run.py: installing {what} into {VENV} (once) ...", file=sys.stderr)
    STAMP.unlink(missing_ok=True)  # written again only once the install has succeeded
    target = f"{ROOT}[{','.join(todo.extras)}]" if todo.extras else str(ROOT)
    subprocess.run(
        [str(python), "-m", "pip", "install", "--disable-pip-version-check", "-q", "-e", target],
        check=True,
        stdout=sys.stderr,
    )
    record = {"python": _dotted(venv_version(VENV) or ()), "pyproject": pyproject_hash, "extras": list(todo.extras)}
    STAMP.write_text(json.dumps(record) + "\n", encoding="utf-8")
    return python


def _run(argv: list[str]) -> int:
    if os.name == "nt":
        return subprocess.run(argv).returncode
    os.execv(argv[0], argv)


def main(args: list[str]) -> int:
    if args and args[0] in {"-h", "--help", "help"}:
        print(USAGE, file=sys.stderr)
        return 0
    if not args or args[0] not in EXTRAS:
        print(USAGE, file=sys.stderr)
        return 2
    command, rest = args[0], args[1:]
    try:
        python = str(_ensure_environment(command))
    except subprocess.CalledProcessError as error:
        print(
            f"run.py: setting up {VENV} failed ({error.cmd[0]} exited with {error.returncode}, see above); "
            "the next run starts over. If the venv module is missing (Debian, Ubuntu), install python3-venv.",
            file=sys.stderr,
        )
        return 1
    os.chdir(ROOT)
    if command == "serve":
        return _run([python, str(ROOT / "server.py"), *rest])
    if command == "bench" and rest[:1] == ["council"]:
        return _run([python, str(ROOT / "bench" / "council.py"), *rest[1:]])
    if command == "bench":
        return _run([python, str(ROOT / "bench" / "run.py"), *rest])
    return _run([python, "-m", "pytest", *rest])


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
