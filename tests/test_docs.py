"""The docs: the README stays a short front page that links every page under docs/, and the pages build with
`mkdocs build --strict`, so that a broken link or anchor, or a page left out of mkdocs.yml's `nav`, fails here.

MkDocs 1.6 reports a page missing from `nav`, and a link to a missing anchor, at "info" unless mkdocs.yml
raises them to "warn" (which strict mode turns into failures); the tests on a copy of the docs check that it
does. mkdocs comes with the `test` extra; without it these tests skip, except under CI (`CI=true`), where a
missing mkdocs is a failure.
"""

from __future__ import annotations

import importlib.util
import re
import shutil
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest

from core.config.credentials import PROJECT_ROOT
from tests.helpers import missing

DOCS = PROJECT_ROOT / "docs"
README = PROJECT_ROOT / "README.md"
# "At most about 200 lines": the README is the front page; everything longer belongs in a page under docs/.
README_MAX_LINES = 220


@pytest.fixture
def mkdocs() -> None:
    if importlib.util.find_spec("mkdocs") is not None:
        return
    missing("mkdocs", "mkdocs is not installed; `python3 run.py test` installs it (the test extra of pyproject.toml)")


def build(root: Path, site: Path) -> subprocess.CompletedProcess[str]:
    """`mkdocs build --strict` of the mkdocs.yml in `root`, into `site`."""
    command = ["build", "--strict", "--config-file", str(root / "mkdocs.yml"), "--site-dir", str(site)]
    return subprocess.run(
        [sys.executable, "-m", "mkdocs", *command],
        capture_output=True,
        text=True,
        timeout=300,
        cwd=root,
    )


def copy_of_the_docs(tmp_path: Path) -> Path:
    root = tmp_path / "project"
    shutil.copytree(DOCS, root / "docs")
    shutil.copy(PROJECT_ROOT / "mkdocs.yml", root / "mkdocs.yml")
    return root


def test_the_docs_build_with_mkdocs_in_strict_mode(mkdocs: None, tmp_path: Path) -> None:
    done = build(PROJECT_ROOT, tmp_path / "site")
    assert done.returncode == 0, done.stdout + done.stderr
    pages = sorted(path.stem for path in DOCS.glob("*.md"))
    assert sorted(path.parent.name for path in (tmp_path / "site").glob("*/index.html")) == sorted(
        page for page in pages if page != "index"
    )


@pytest.mark.parametrize(
    ("change", "complaint"),
    [
        (lambda docs: (docs / "orphan.md").write_text("# Orphan\n"), "orphan.md"),
        (lambda docs: (docs / "tools.md").write_text("# Tools\n\nSee [the costs](costs.md).\n"), "costs.md"),
        (lambda docs: (docs / "tools.md").write_text("# Tools\n\nSee [caps](cost.md#no-such-part).\n"), "no-such-part"),
    ],
    ids=["a-page-left-out-of-nav", "a-link-to-a-missing-page", "a-link-to-a-missing-anchor"],
)
def test_the_strict_build_fails_on(
    mkdocs: None, tmp_path: Path, change: Callable[[Path], object], complaint: str
) -> None:
    root = copy_of_the_docs(tmp_path)
    change(root / "docs")
    done = build(root, tmp_path / "site")
    assert done.returncode != 0, done.stdout + done.stderr
    assert complaint in done.stderr


def test_the_readme_is_a_short_front_page_that_links_every_page_and_gives_the_two_commands() -> None:
    readme = README.read_text(encoding="utf-8")
    assert len(readme.splitlines()) <= README_MAX_LINES, "the README is the front page: move details to docs/"
    linked = set(re.findall(r"\]\((docs/[^)#\s]+)(?:#[^)\s]*)?\)", readme))
    pages = {path.relative_to(PROJECT_ROOT).as_posix() for path in DOCS.glob("*.md")}
    assert pages, "no pages under docs/"
    assert pages <= linked, f"pages the README does not link: {sorted(pages - linked)}"
    missing = {target for target in linked if not (PROJECT_ROOT / target).is_file()}
    assert not missing, f"the README links pages that do not exist: {sorted(missing)}"
    # The two commands, and CI runs the README's test command.
    [block] = re.findall(r"## Two commands\n.*?```bash\n(.*?)```", readme, flags=re.S)
    commands = [line.split("#")[0].strip() for line in block.splitlines()]
    assert commands == ["python3 run.py serve", "python3 run.py test"]
    ci = (PROJECT_ROOT / ".ci" / "run").read_text(encoding="utf-8")
    last = [line.strip() for line in ci.splitlines() if line.strip() and not line.lstrip().startswith("#")][-1]
    assert last in {"python3 run.py test", 'python3 run.py test "$@"'}
