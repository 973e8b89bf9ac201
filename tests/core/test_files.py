"""`files` read by the server: the secrets rules (a table), the roots, the budget, and the reader on real
files in a temporary tree: escapes, refusals with their rule, globs, binaries, caps, images, hashes."""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

import pytest

from core.config.defaults import ANSWER_RESERVE_TOKENS, CHARS_PER_TOKEN, MAX_FILES, MAX_IMAGE_BYTES
from core.config.settings import Settings
from core.errors import FileRefused, InvalidRequest
from core.files.reader import MAX_GLOB_MATCHES, MAX_NOTES, FileBundle, Image, read_files
from core.files.rules import (
    MIN_FILES_BUDGET_TOKENS,
    allowed_roots,
    files_budget,
    image_mime,
    is_glob,
    refusal,
    without_roots,
)

pytestmark = pytest.mark.anyio

PNG = b"\x89PNG\r\n\x1a\n" + b"\x00\x00\x00\rIHDR" + bytes(range(64))
JPEG = b"\xff\xd8\xff\xe0" + b"\x00\x10JFIF" + bytes(32)
GIF = b"GIF89a" + bytes(32)
WEBP = b"RIFF\x24\x00\x00\x00WEBPVP8 " + bytes(32)
BIG = 1_000_000  # generous caps where a test is not about them


@pytest.mark.parametrize(
    ("path", "rule"),
    [
        (".env", "environment files (.env*)"),
        ("app/.env.local", "environment files (.env*)"),
        ("app/.ENV", "environment files (.env*)"),
        (".envrc", "environment files (.env*)"),
        ("certs/server.pem", "(*.pem)"),
        ("tls/private.key", "(*.key)"),
        ("store.p12", "(*.p12)"),
        ("store.pfx", "(*.pfx)"),
        ("ca.crt", "(*.crt)"),
        ("id_rsa", "SSH keys (id_*)"),
        ("backup/id_ed25519.pub", "SSH keys (id_*)"),
        ("credentials.json", "credentials files (credentials.json)"),
        ("/home/u/.netrc", "login files (.netrc)"),
        (".pgpass", "PostgreSQL passwords (.pgpass)"),
        (".ssh/config", "inside .ssh/"),
        ("/home/u/.ssh/known_hosts", "inside .ssh/"),
        (".aws/credentials", "inside .aws/"),
        ("/home/u/.gnupg/pubring.kbx", "inside .gnupg/"),
        ("repo/.git/config", "inside .git/"),
        (".git", "inside .git/"),
        ("project/.GIT/HEAD", "inside .git/"),
    ],
)
def test_a_secret_is_refused_by_its_rule(path: str, rule: str) -> None:
    found = refusal(path)
    assert found is not None and rule in found and found.startswith("never read, whatever the roots")


@pytest.mark.parametrize(
    "path",
    [
        "src/app.py",
        ".gitignore",
        ".github/workflows/ci.yml",
        "docs/environment.md",
        "keys.py",
        "README.md",
        "credentials.example.json",
        "my.ssh.notes",
        "/home/u/project/main.go",
        "",
    ],
)
def test_an_ordinary_path_breaks_no_rule(path: str) -> None:
    assert refusal(path) is None


@pytest.mark.parametrize(
    ("pattern", "glob"),
    [("src/a.py", False), ("*.py", True), ("src/**/x", True), ("file?.txt", True), ("[ab].md", True), ("~/a", False)],
)
def test_is_glob(pattern: str, glob: bool) -> None:
    assert is_glob(pattern) is glob


@pytest.mark.parametrize(
    ("head", "mime"),
    [
        (PNG, "image/png"),
        (JPEG, "image/jpeg"),
        (GIF, "image/gif"),
        (b"GIF87a" + bytes(8), "image/gif"),
        (WEBP, "image/webp"),
        (b"RIFF\x24\x00\x00\x00WAVEfmt ", None),  # a WAV is RIFF too
        (b"%PDF-1.7", None),
        (b"print('hello')", None),
        (b"", None),
    ],
)
def test_image_mime_from_the_first_bytes(head: bytes, mime: str | None) -> None:
    assert image_mime(head) == mime


@pytest.mark.parametrize(
    ("windows", "budget"),
    [
        ([1_048_576], 524_288 - ANSWER_RESERVE_TOKENS),
        ([1_048_576, 131_072], 65_536 - ANSWER_RESERVE_TOKENS),
        ([32_768], 16_384 - ANSWER_RESERVE_TOKENS),
        ([4_096], MIN_FILES_BUDGET_TOKENS),  # a tiny window: the floor, never below
    ],
)
def test_files_budget_is_a_share_of_the_smallest_window(windows: list[int], budget: int) -> None:
    assert files_budget(windows) == budget


def test_files_budget_needs_a_window() -> None:
    with pytest.raises(ValueError, match="at least one AI"):
        files_budget([])


def test_the_clients_roots_win_and_are_read_from_file_uris(tmp_path: Path) -> None:
    settings = Settings(allowed_roots=(tmp_path / "configured",))
    roots = allowed_roots(["file:///work/my%20project", "https://example.com/x", Path("/srv/b")], settings)
    assert roots == (Path("/work/my project"), Path("/srv/b"))


@pytest.mark.parametrize("client_roots", [None, [], ["https://example.com/not-a-file"]])
def test_without_client_roots_the_configured_ones_then_none_never_home(
    tmp_path: Path, client_roots: list[str] | None
) -> None:
    assert allowed_roots(client_roots, Settings(allowed_roots=(tmp_path,))) == (tmp_path,)
    assert allowed_roots(client_roots, Settings()) == ()


@pytest.mark.parametrize(
    ("source", "where"),
    [(Path("/etc/junior/credentials.json"), "in /etc/junior/credentials.json"), (None, "in credentials.json")],
)
def test_with_no_roots_every_path_is_refused_with_where_to_set_them(source: Path | None, where: str) -> None:
    refused = without_roots(["src/a.py", "~/notes.txt"], Settings(source=source))
    assert [path for path, _ in refused.refusals] == ["src/a.py", "~/notes.txt"]
    assert refused.refusals[1][1] == "the same: no roots to read from", "the fix is said once"
    assert f"this client does not say its project folders; set allowed_roots {where}" in str(refused)
    assert f"JUNIOR_AI_ALLOWED_ROOTS in the environment (paths separated by {os.pathsep!r})" in str(refused)


# -- the reader, on a real tree ------------------------------------------------------------------------


@pytest.fixture
def root(tmp_path: Path) -> Path:
    """A project: two Python files, a README, secrets, a binary and an image; and a file outside it."""
    project = (tmp_path / "project").resolve()
    write(project / "src" / "a.py", "print('a')\n")
    write(project / "src" / "pkg" / "b.py", "print('b')\n")
    write(project / "README.md", "# Project\n")
    write(project / ".env", "API_KEY=sk-secret\n")
    write(project / "certs" / "server.pem", "-----BEGIN PRIVATE KEY-----\n")
    write(project / "credentials.json", '{"api_key": "sk-secret"}\n')
    write(project / ".git" / "config", "[remote]\n")
    write(project / ".ssh" / "id_rsa", "-----BEGIN OPENSSH PRIVATE KEY-----\n")
    write(project / ".aws" / "credentials", "[default]\n")
    write(project / ".gnupg" / "secring.gpg", "x\n")
    (project / "data.bin").write_bytes(b"\x00\x01\x02binary")
    (project / "logo.png").write_bytes(PNG)
    write(tmp_path / "outside" / "notes.txt", "not yours\n")
    return project


def write(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    return path


def block(name: str, text: str, after: str = "", fence: str = "```") -> str:
    """A text file as the prompt shows it: its quoted name (and `after` it), its text fenced."""
    return f'--- "{name}"{after} ---\n{fence}\n{text}{fence}\n'


async def read(root: Path, *patterns: str, budget: int = BIG, per_file: int = BIG, **options: object) -> FileBundle:
    return await read_files(patterns, [root], budget_tokens=budget, max_file_tokens=per_file, **options)  # type: ignore[arg-type]


async def test_text_files_come_with_their_paths(root: Path) -> None:
    bundle = await read(root, "src/a.py", str(root / "README.md"))
    assert bundle.text == block("src/a.py", "print('a')\n") + block("README.md", "# Project\n")
    assert bundle.images == () and bundle.notes == ()
    assert bundle.hashes == {
        "src/a.py": hashlib.sha256(b"print('a')\n").hexdigest(),
        "README.md": hashlib.sha256(b"# Project\n").hexdigest(),
    }


@pytest.mark.parametrize(
    ("path", "rule"),
    [
        (".env", "environment files (.env*)"),
        ("certs/server.pem", "keys and certificates (*.pem)"),
        ("credentials.json", "credentials files (credentials.json)"),
        (".git/config", "inside .git/"),
        (".ssh/id_rsa", "inside .ssh/"),
        (".aws/credentials", "inside .aws/"),
        (".gnupg/secring.gpg", "inside .gnupg/"),
    ],
)
async def test_a_secret_named_explicitly_is_refused_with_its_rule(root: Path, path: str, rule: str) -> None:
    with pytest.raises(
        FileRefused, match=rf"(?s)files: 1 path refused, so nothing was sent:\n  {path}: never read, whatever the roots"
    ) as caught:
        await read(root, path)
    assert caught.value.refusals[0][0] == path and rule in caught.value.refusals[0][1]


async def test_a_path_outside_the_roots_is_refused_naming_the_roots(root: Path) -> None:
    outside = str(root.parent / "outside" / "notes.txt")
    with pytest.raises(FileRefused, match=f"{outside}: outside the allowed roots; files are read only inside: {root}"):
        await read(root, outside)


async def test_dot_dot_cannot_climb_out_of_the_root(root: Path) -> None:
    with pytest.raises(FileRefused, match=r"\.\./outside/notes\.txt: outside the allowed roots \(.*outside/notes"):
        await read(root, "../outside/notes.txt")


async def test_a_symlink_pointing_outside_the_roots_is_refused(root: Path) -> None:
    (root / "innocent.txt").symlink_to(root.parent / "outside" / "notes.txt")
    with pytest.raises(FileRefused, match=r"innocent\.txt: outside the allowed roots \(it leads to .*notes\.txt\)"):
        await read(root, "innocent.txt")


async def test_a_symlink_to_a_secret_is_refused_by_the_secrets_rule(root: Path) -> None:
    (root / "settings.txt").symlink_to(root / ".env")
    with pytest.raises(FileRefused, match=r"settings\.txt: never read, whatever the roots: environment files"):
        await read(root, "settings.txt")


async def test_a_secret_is_refused_even_when_the_root_is_inside_a_secret_directory(root: Path) -> None:
    write(root / ".ssh" / "config", "Host *\n")
    with pytest.raises(FileRefused, match=r"config: never read, whatever the roots: inside \.ssh/"):
        await read(root / ".ssh", "config")


async def test_every_refusal_of_the_call_is_listed_and_nothing_is_read(root: Path) -> None:
    with pytest.raises(FileRefused) as caught:
        await read(root, "src/a.py", ".env", "missing.py", "src", "/etc/hostname", "*.nothing")
    message = str(caught.value)
    assert message.startswith("files: 5 paths refused, so nothing was sent:\n")
    assert [path for path, _ in caught.value.refusals] == [".env", "missing.py", "src", "/etc/hostname", "*.nothing"]
    assert f"missing.py: no such file (relative paths are read from {root})" in message
    assert "src: a directory; name its files, or a glob such as 'src/**/*.py'" in message
    assert f"/etc/hostname: outside the allowed roots; files are read only inside: {root}" in message
    assert f"*.nothing: no file matches (globs are read from {root})" in message
    assert isinstance(caught.value, InvalidRequest)


async def test_a_pipe_is_refused_not_waited_on(root: Path) -> None:
    os.mkfifo(root / "pipe")
    with pytest.raises(FileRefused, match="pipe: not a regular file"):
        await read(root, "pipe")


async def test_no_root_is_an_invalid_request() -> None:
    with pytest.raises(InvalidRequest, match="no allowed root"):
        await read_files(["a.py"], [], budget_tokens=BIG, max_file_tokens=BIG)


async def test_a_glob_reads_its_files_in_order_and_skips_secrets_and_binaries_with_a_note(root: Path) -> None:
    write(root / "src" / ".env.py", "SECRET = 1\n")  # hidden: a glob does not match it unless named
    write(root / "src" / "id_helpers.py", "x = 1\n")
    bundle = await read(root, "**/*.py", "certs/*", "*.bin", "*.png")
    assert [line for line in bundle.text.splitlines() if line.startswith("---")] == [
        '--- "src/a.py" ---',
        '--- "src/pkg/b.py" ---',
    ]
    assert bundle.notes == (
        "src/id_helpers.py: skipped: never read, whatever the roots: SSH keys (id_*)",
        "certs/server.pem: skipped: never read, whatever the roots: keys and certificates (*.pem)",
        "data.bin: skipped: a binary file (neither UTF-8 text nor a PNG, JPEG, WebP or GIF image)",
    )
    assert [image.name for image in bundle.images] == ["logo.png"]


async def test_a_glob_that_names_a_secret_directory_reads_nothing_from_it(root: Path) -> None:
    bundle = await read(root, ".git/*", "README.md")
    assert bundle.notes == (
        ".git/config: skipped: never read, whatever the roots: inside .git/ (a git repository's "
        "internals: hooks, remotes with tokens)",
    )
    assert bundle.text == block("README.md", "# Project\n")


async def test_a_glob_match_leading_outside_is_skipped_with_a_note(root: Path) -> None:
    (root / "src" / "escape.py").symlink_to(root.parent / "outside" / "notes.txt")
    bundle = await read(root, "src/*.py")
    assert bundle.notes == (
        f"src/escape.py: skipped: it leads outside the allowed roots (to {root.parent}/outside/notes.txt)",
    )
    assert "not yours" not in bundle.text


async def test_a_glob_outside_the_roots_is_refused(root: Path) -> None:
    with pytest.raises(FileRefused, match=r"\.\./outside/\*\.txt: outside the allowed roots"):
        await read(root, "../outside/*.txt")


async def test_an_absolute_glob_inside_a_root_is_read(root: Path) -> None:
    bundle = await read(root, f"{root}/src/*.py")
    assert bundle.text == block("src/a.py", "print('a')\n")


async def test_more_than_max_files_are_cut_with_a_note(root: Path) -> None:
    for number in range(MAX_FILES + 5):
        write(root / "many" / f"f{number:03}.txt", f"{number}\n")
    bundle = await read(root, "many/*.txt")
    assert len(bundle.hashes) == MAX_FILES
    assert bundle.notes == (
        f"more than {MAX_FILES} files matched; the first {MAX_FILES} were read (at most {MAX_FILES} a call)",
    )


async def test_a_glob_through_a_symlink_to_a_huge_tree_outside_stops_early(root: Path) -> None:
    huge = root.parent / "outside" / "huge"  # as a link to / would be, were the disk this small
    huge.mkdir()
    for number in range(MAX_GLOB_MATCHES + 1):
        (huge / f"{number}.txt").touch()
    (root / "everything").symlink_to(huge)
    bundle = await read(root, "**/*.txt")
    assert bundle.notes[-1] == f"**/*.txt: stopped after {MAX_GLOB_MATCHES:,} matches; a narrower glob reads the rest"
    assert bundle.text == "" and bundle.hashes == {}


async def test_one_path_given_as_a_string_is_one_path(root: Path) -> None:
    bundle = await read_files("src/a.py", [root], budget_tokens=BIG, max_file_tokens=BIG)
    assert list(bundle.hashes) == ["src/a.py"]


async def test_a_file_matched_twice_is_read_once(root: Path) -> None:
    bundle = await read(root, "src/a.py", "src/*.py", "./src/a.py")
    assert bundle.text.count('--- "src/a.py" ---') == 1


async def test_a_non_utf8_file_is_skipped_as_binary(root: Path) -> None:
    (root / "latin1.txt").write_bytes("café".encode("latin-1"))
    bundle = await read(root, "latin1.txt")
    assert bundle.notes == (
        "latin1.txt: skipped: a binary file (neither UTF-8 text nor a PNG, JPEG, WebP or GIF image)",
    )
    assert bundle.text == "" and bundle.hashes == {}


async def test_a_2_mb_file_is_cut_to_the_budget_with_a_note_and_hashed_whole(root: Path) -> None:
    line = "x" * 63 + "\n"
    content = line * (2 * 1024 * 1024 // len(line))
    write(root / "big.log", content)
    bundle = await read(root, "big.log", budget=10_000, per_file=BIG)
    assert bundle.notes == ("big.log: cut to ~10,000 of ~524,288 estimated tokens (the files' budget for this call)",)
    body = content[: 10_000 * CHARS_PER_TOKEN]  # 40,000 characters, whole lines
    assert bundle.text == block("big.log", body, " (cut to ~10,000 of ~524,288 estimated tokens)")
    assert bundle.hashes["big.log"] == hashlib.sha256(content.encode()).hexdigest()  # under max_file_tokens


async def test_a_file_over_max_file_tokens_is_read_no_further_and_known_by_what_was_read_and_its_size(
    root: Path,
) -> None:
    path = write(root / "huge.log", "".join(f"line {number:05}\n" for number in range(10_000)))  # 11 characters a line
    with path.open("r+b") as file:
        file.truncate(64 * 2**30)  # a hole: 64 GB that cost no disk, and would take minutes to hash
    bundle = await read(root, "huge.log", per_file=100)
    assert bundle.notes == ("huge.log: cut to ~99 of ~17,179,869,184 estimated tokens (max_file_tokens)",)
    first = bundle.hashes["huge.log"]
    with path.open("r+b") as file:
        file.seek(100_000)
        file.write(b"far past the cap")  # the size is the same: what was sent is the same
    assert (await read(root, "huge.log", per_file=100)).hashes["huge.log"] == first
    with path.open("r+b") as file:
        file.truncate(32 * 2**30)
    assert (await read(root, "huge.log", per_file=100)).hashes["huge.log"] != first, "a new size is a new file"


async def test_reading_that_outlasts_its_time_is_refused_saying_what_was_being_read(root: Path) -> None:
    with pytest.raises(
        FileRefused,
        match=r"src/a\.py: still being read after 0 s, the time this call gives its files; "
        r"name fewer or smaller files, or give a longer deadline_s",
    ):
        await read(root, "src/a.py", timeout_s=0)


async def test_one_file_is_cut_to_max_file_tokens_at_a_line_end(root: Path) -> None:
    write(root / "long.txt", "".join(f"line {number:05}\n" for number in range(1_000)))  # 11 characters a line
    bundle = await read(root, "long.txt", per_file=100)
    body = bundle.text.split("\n", 2)[2].removesuffix("```\n")
    assert body.endswith("\n") and len(body) <= 100 * CHARS_PER_TOKEN and len(body) == 36 * 11
    assert bundle.notes == ("long.txt: cut to ~99 of ~2,750 estimated tokens (max_file_tokens)",)


async def test_a_file_of_one_long_line_is_cut_inside_it(root: Path) -> None:
    write(root / "bundle.min.js", "x" * 1_000)
    bundle = await read(root, "bundle.min.js", per_file=100)
    assert bundle.text == block("bundle.min.js", "x" * 400 + "\n", " (cut to ~100 of ~250 estimated tokens)")


async def test_once_the_budget_is_spent_the_rest_are_skipped_with_a_note(root: Path) -> None:
    write(root / "first.txt", "a" * 400)
    write(root / "second.txt", "b" * 400)
    bundle = await read(root, "first.txt", "second.txt", budget=100)
    assert bundle.text == block("first.txt", "a" * 400 + "\n")
    assert bundle.notes == ("second.txt: skipped: the files' budget of ~100 estimated tokens is spent",)
    assert list(bundle.hashes) == ["first.txt"]  # what was not sent is not known to the thread


async def test_an_unchanged_file_is_not_sent_again_and_a_changed_one_is_the_new_version(root: Path) -> None:
    first = await read(root, "src/a.py", "README.md", "logo.png")
    write(root / "README.md", "# Project, renamed\n")
    second = await read(root, "src/a.py", "README.md", "logo.png", known=first.hashes)
    assert second.text == block("README.md", "# Project, renamed\n", " (new version)")
    assert second.images == ()
    assert second.notes == (
        "src/a.py: unchanged since it was last sent in this thread",
        "README.md: changed since it was last sent in this thread; sent as the new version",
        "logo.png: unchanged since it was last sent in this thread",
    )
    assert second.hashes["src/a.py"] == first.hashes["src/a.py"]
    assert second.hashes["README.md"] == hashlib.sha256(b"# Project, renamed\n").hexdigest()


@pytest.mark.parametrize(
    ("data", "mime"), [(PNG, "image/png"), (JPEG, "image/jpeg"), (GIF, "image/gif"), (WEBP, "image/webp")]
)
async def test_images_are_known_by_their_first_bytes_not_their_name(root: Path, data: bytes, mime: str) -> None:
    (root / "picture.dat").write_bytes(data)
    bundle = await read(root, "picture.dat", budget=MIN_FILES_BUDGET_TOKENS)
    assert bundle.images == (Image("picture.dat", mime, data),)
    assert bundle.text == "" and bundle.notes == ()
    assert (
        bundle.hashes == {"picture.dat": bundle.images[0].sha256} == {"picture.dat": hashlib.sha256(data).hexdigest()}
    )


async def test_a_text_file_named_png_is_text(root: Path) -> None:
    write(root / "fake.png", "not an image\n")
    bundle = await read(root, "fake.png")
    assert bundle.images == () and bundle.text == block("fake.png", "not an image\n")


async def test_an_image_over_the_limit_is_skipped_with_a_note(root: Path) -> None:
    with (root / "huge.png").open("wb") as file:
        file.write(PNG)
        file.truncate(MAX_IMAGE_BYTES + 1)  # sparse: no 10 MB written
    bundle = await read(root, "huge.png")
    assert bundle.images == ()
    assert bundle.notes == (
        f"huge.png: skipped: an image of {MAX_IMAGE_BYTES + 1:,} bytes, over the {MAX_IMAGE_BYTES:,}-byte limit",
    )


async def test_a_flood_of_notes_is_counted_in_one_last_note(root: Path) -> None:
    for number in range(MAX_NOTES + 10):
        (root / "bins" / f"{number:03}.bin").parent.mkdir(exist_ok=True)
        (root / "bins" / f"{number:03}.bin").write_bytes(b"\x00")
    bundle = await read(root, "bins/*")
    assert len(bundle.notes) == MAX_NOTES + 1 and bundle.notes[-1] == "... and 10 more notes"
