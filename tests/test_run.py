"""run.py, the one entry point: it refuses old interpreters in one paragraph, installs only what a command
needs, and makes `.venv` again when an old interpreter made it or its install did not finish.

Each test runs a copy of run.py in a temporary directory, so the checkout's own `.venv` is never touched;
the install tests pair it with a tiny project (no dependencies) so a real venv and a real pip install cost
seconds, not minutes."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any, NamedTuple

import pytest

import run
from core.config.credentials import PROJECT_ROOT
from tests.helpers import missing, require

OLD_VERSIONS = ("3.10", "3.9", "3.8", "3.7", "3.6")
TINY_PYPROJECT = """\
[build-system]
requires = ["setuptools>=68"]
build-backend = "setuptools.build_meta"

[project]
name = "junior-ai-run-py-check"
version = "0"
requires-python = ">=3.11"

[project.optional-dependencies]
test = []

[tool.setuptools]
py-modules = ["server"]
"""
SERVER = 'import sys\nprint("server ran", sys.argv[1:], file=sys.stderr)\n'
BENCH = 'import sys\nprint("bench ran", file=sys.stderr)\n'


class Interpreter(NamedTuple):
    executable: str
    version: str


PYENV_VERSIONS = Path(os.environ.get("PYENV_ROOT", Path.home() / ".pyenv")) / "versions"


def find_interpreter(version: str) -> Interpreter | None:
    """A working `python<version>` from PATH or pyenv's versions directory, if there is one."""
    pyenv = PYENV_VERSIONS
    candidates = [shutil.which(f"python{version}"), *map(str, sorted(pyenv.glob(f"{version}.*/bin/python{version}")))]
    for candidate in filter(None, candidates):
        probe = subprocess.run(
            [candidate, "-c", "import sys; print(sys.executable); print('%d.%d.%d' % sys.version_info[:3])"],
            capture_output=True,
            text=True,
            timeout=60,
        )
        lines = probe.stdout.split()
        if probe.returncode == 0 and len(lines) == 2 and lines[1].startswith(f"{version}."):
            return Interpreter(lines[0], lines[1])
    return None


def old_interpreter(version: str) -> Interpreter:
    """`python<version>`; the test skips when there is none (in CI: fails, `tests.helpers.missing`)."""
    where = f"looked for python{version} on PATH and in {PYENV_VERSIONS}"
    return require(f"Python {version}", find_interpreter(version), f"no Python {version} here ({where})")


def any_old_interpreter() -> Interpreter:
    """The newest interpreter older than 3.11 there is; the test skips when there is none (in CI: fails)."""
    for version in OLD_VERSIONS:
        found = find_interpreter(version)
        if found is not None:
            return found
    where = f"looked for python3.6 to 3.10 on PATH and in {PYENV_VERSIONS}"
    missing("a Python older than 3.11", f"no Python older than 3.11 here ({where})")


def copy_of_run_py(directory: Path, pyproject: str | None = None) -> Path:
    """run.py in `directory`, with the real pyproject.toml or the one given, plus stand-ins for what it runs."""
    directory.mkdir(exist_ok=True)
    shutil.copy(PROJECT_ROOT / "run.py", directory / "run.py")
    if pyproject is None:
        shutil.copy(PROJECT_ROOT / "pyproject.toml", directory / "pyproject.toml")
    else:
        (directory / "pyproject.toml").write_text(pyproject)
        (directory / "server.py").write_text(SERVER)
        (directory / "bench").mkdir()
        (directory / "bench" / "run.py").write_text(BENCH)
    return directory


def run_py(python: str, directory: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [python, str(directory / "run.py"), *args],
        capture_output=True,
        text=True,
        timeout=600,
        cwd=directory,
        stdin=subprocess.DEVNULL,
    )


def stamp(directory: Path) -> dict[str, Any]:
    record: dict[str, Any] = json.loads((directory / ".venv" / ".junior-ai-installed").read_text())
    return record


def this_python() -> str:
    return ".".join(map(str, sys.version_info[:3]))


@pytest.mark.parametrize("version", OLD_VERSIONS)
def test_an_old_interpreter_gets_one_paragraph_naming_it_and_exit_2_and_nothing_is_created(
    version: str, tmp_path: Path
) -> None:
    old = old_interpreter(version)
    copy = copy_of_run_py(tmp_path / "checkout")
    done = run_py(old.executable, copy, "serve")
    assert done.returncode == 2, done.stderr
    assert done.stdout == ""
    message = done.stderr
    assert message.endswith("\n") and message.count("\n") == 1, message  # one paragraph
    assert f"needs Python 3.11 or newer, but this is Python {old.version} ({old.executable})" in message
    assert f'"command": "/opt/homebrew/bin/python3.12", "args": ["{copy / "run.py"}", "serve"]' in message
    assert "which python3.13 python3.12 python3.11" in message
    assert sorted(path.name for path in copy.iterdir()) == ["pyproject.toml", "run.py"]


@pytest.mark.parametrize("flag", ["--help", "-h"])
def test_help_goes_to_stderr_and_exits_0_without_installing(flag: str, tmp_path: Path) -> None:
    copy = copy_of_run_py(tmp_path / "checkout")
    done = run_py(sys.executable, copy, flag)
    assert (done.returncode, done.stdout) == (0, "")
    assert done.stderr.startswith("usage: python3 run.py COMMAND")
    assert "serve [--credentials PATH] [--check]" in done.stderr
    assert not (copy / ".venv").exists()


def test_an_unknown_command_prints_the_usage_and_exits_2(tmp_path: Path) -> None:
    copy = copy_of_run_py(tmp_path / "checkout")
    done = run_py(sys.executable, copy, "srve")
    assert (done.returncode, done.stdout) == (2, "")
    assert done.stderr.startswith("usage:")
    assert not (copy / ".venv").exists()


def test_a_venv_an_old_interpreter_made_is_deleted_and_made_again(tmp_path: Path) -> None:
    old = any_old_interpreter()
    copy = copy_of_run_py(tmp_path / "checkout", TINY_PYPROJECT)
    subprocess.run([old.executable, "-m", "venv", "--without-pip", str(copy / ".venv")], check=True, timeout=120)
    assert run.venv_version(copy / ".venv") == tuple(map(int, old.version.split(".")))

    done = run_py(sys.executable, copy, "serve", "--credentials", "x.json")
    assert done.returncode == 0, done.stderr
    assert f".venv is unusable (it was made by Python {old.version}); deleting it" in done.stderr
    assert done.stderr.endswith("server ran ['--credentials', 'x.json']\n")
    assert done.stdout == ""
    assert run.venv_version(copy / ".venv") == sys.version_info[:3]
    assert stamp(copy)["python"] == this_python()


def test_an_unfinished_install_is_redone_serve_installs_the_runtime_and_bench_adds_the_extras(tmp_path: Path) -> None:
    copy = copy_of_run_py(tmp_path / "checkout", TINY_PYPROJECT + "[project\n")  # pip cannot read it
    broken = run_py(sys.executable, copy, "serve")
    assert broken.returncode == 1
    assert "failed" in broken.stderr and "the next run starts over" in broken.stderr
    assert "server ran" not in broken.stderr
    assert (copy / ".venv").is_dir() and not (copy / ".venv" / ".junior-ai-installed").exists()

    (copy / "pyproject.toml").write_text(TINY_PYPROJECT)
    served = run_py(sys.executable, copy, "serve")
    assert served.returncode == 0, served.stderr
    assert "unusable (its last install did not finish); deleting it and making it again" in served.stderr
    assert "installing the server's dependencies into" in served.stderr
    assert served.stderr.endswith("server ran []\n")
    assert stamp(copy) == {"python": this_python(), "pyproject": run.sha256(copy / "pyproject.toml"), "extras": []}

    benched = run_py(sys.executable, copy, "bench")
    assert benched.returncode == 0, benched.stderr
    assert "creating" not in benched.stderr
    assert "installing the server's dependencies and the test tools" in benched.stderr
    assert benched.stderr.endswith("bench ran\n")
    assert stamp(copy)["extras"] == ["test"]

    again = run_py(sys.executable, copy, "serve")
    assert (again.returncode, again.stdout, again.stderr) == (0, "", "server ran []\n")  # nothing installed


HASH = "h"
CURRENT = (3, 11, 7)


@pytest.mark.parametrize(
    ("has_python", "version", "record", "wanted", "expected"),
    [
        # nothing there yet, or not a venv we can use: made from scratch
        (False, None, None, (), ("rebuild", ())),
        (True, None, None, ("test",), ("rebuild", ("test",))),
        (True, (3, 9, 18), {"python": "3.9.18", "pyproject": HASH, "extras": []}, (), ("rebuild", ())),
        (True, CURRENT, None, (), ("rebuild", ())),  # the install did not finish
        (True, CURRENT, {"python": "3.12.1", "pyproject": HASH, "extras": []}, (), ("rebuild", ())),
        # usable: install only what is missing, keeping what is there
        (True, CURRENT, {"python": "3.11.7", "pyproject": HASH, "extras": ["test"]}, (), ("ready", ("test",))),
        (True, CURRENT, {"python": "3.11.7", "pyproject": HASH, "extras": []}, (), ("ready", ())),
        (True, CURRENT, {"python": "3.11.7", "pyproject": HASH, "extras": []}, ("test",), ("install", ("test",))),
        (True, CURRENT, {"python": "3.11.7", "pyproject": "old", "extras": ["test"]}, (), ("install", ("test",))),
        (True, CURRENT, {}, (), ("install", ())),  # an earlier run.py's stamp
    ],
)
def test_the_plan_for_the_venv(
    has_python: bool,
    version: tuple[int, ...] | None,
    record: dict[str, Any] | None,
    wanted: tuple[str, ...],
    expected: tuple[str, tuple[str, ...]],
) -> None:
    decided = run.plan(has_python, version, record, HASH, wanted)
    assert (decided.action, decided.extras) == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("home = /usr/bin\nversion = 3.9.18\n", (3, 9, 18)),
        ("home = /usr/bin\nversion_info = 3.12.1.final.0\n", (3, 12, 1)),
        ("home = /usr/bin\n", None),
        ("version = unknown\n", None),
    ],
)
def test_the_venv_version_comes_from_pyvenv_cfg(text: str, expected: tuple[int, ...] | None, tmp_path: Path) -> None:
    (tmp_path / "pyvenv.cfg").write_text(text)
    assert run.venv_version(tmp_path) == expected
    assert run.venv_version(tmp_path / "missing") is None
