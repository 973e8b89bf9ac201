"""Hard links to secrets, found by the reader on real files: a link in the same directory, at the top of
a root or of the home directory, into a secret directory, or to the server's credentials file is refused
(named) or skipped (globbed) with the secret it leads to; a link to an ordinary file is read; and what the
cheap search does not reach, as its docstring says, is not caught."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from core.errors import FileRefused
from core.files.reader import FileBundle, read_files

pytestmark = pytest.mark.anyio
BIG = 1_000_000


@pytest.fixture
def home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    home = tmp_path / "home"
    (home / ".ssh").mkdir(parents=True)
    (home / ".ssh" / "id_ed25519").write_text("-----BEGIN OPENSSH PRIVATE KEY-----\n")
    (home / ".aws").mkdir()
    (home / ".aws" / "credentials").write_text("[default]\n")
    (home / ".netrc").write_text("machine x password y\n")
    monkeypatch.setenv("HOME", str(home))
    return home


@pytest.fixture
def root(home: Path) -> Path:
    root = home / "project"
    (root / "src").mkdir(parents=True)
    (root / ".env").write_text("API_KEY=sk-secret\n")
    (root / "src" / ".env.local").write_text("API_KEY=sk-local\n")
    (root / "src" / "a.py").write_text("print('a')\n")
    return root


async def read(root: Path, *patterns: str, secret_files: tuple[Path, ...] = ()) -> FileBundle:
    return await read_files(patterns, [root], budget_tokens=BIG, max_file_tokens=BIG, secret_files=secret_files)


@pytest.mark.parametrize(
    ("secret", "link"),
    [
        (".env", "notes.txt"),  # at the top of the root
        ("src/.env.local", "src/settings.txt"),  # beside it
        ("src/.env.local", "docs/settings.txt"),  # elsewhere, but a glob of the call skipped it
        ("../.ssh/id_ed25519", "key.txt"),  # in a secret directory of the home directory
        ("../.aws/credentials", "aws.ini"),
        ("../.netrc", "netrc.txt"),  # at the top of the home directory
    ],
)
async def test_a_hard_link_to_a_secret_is_refused_naming_the_secret(root: Path, secret: str, link: str) -> None:
    (root / link).parent.mkdir(exist_ok=True)
    os.link(root / secret, root / link)
    target = (root / secret).resolve()
    with pytest.raises(FileRefused, match=rf"{link}: never read, whatever the roots: a hard link to {target}: "):
        await read(root, "src/*.py" if link.startswith("docs") else "src/a.py", "src/.env*", link)


async def test_a_globbed_hard_link_to_a_secret_is_skipped_with_a_note(root: Path) -> None:
    os.link(root / ".env", root / "src" / "config.py")
    bundle = await read(root, "src/*.py")
    assert bundle.notes == (
        f"src/config.py: skipped: never read, whatever the roots: a hard link to {root / '.env'}: "
        "environment files (.env*)",
    )
    assert "sk-secret" not in bundle.text


async def test_the_servers_credentials_file_is_refused_by_identity_whatever_its_name(root: Path) -> None:
    credentials = root / "junior.json"  # not named like a secret
    credentials.write_text('{"openai": {"api_key": "sk-x"}}\n')
    with pytest.raises(
        FileRefused, match=r"junior\.json: never read, whatever the roots: the server's own credentials"
    ):
        await read(root, "junior.json", secret_files=(credentials,))


async def test_a_hard_link_to_an_ordinary_file_is_read(root: Path) -> None:
    os.link(root / "src" / "a.py", root / "copy.py")
    bundle = await read(root, "copy.py")
    assert "print('a')" in bundle.text


async def test_a_hard_link_to_a_secret_deep_in_another_directory_is_not_caught(root: Path) -> None:
    # The limit the module's docstring states: finding every name of an inode would walk the disk.
    (root / "deploy" / "prod").mkdir(parents=True)
    (root / "deploy" / "prod" / ".env").write_text("DEEP=1\n")
    os.link(root / "deploy" / "prod" / ".env", root / "src" / "deep.txt")
    bundle = await read(root, "src/deep.txt")
    assert "DEEP=1" in bundle.text
