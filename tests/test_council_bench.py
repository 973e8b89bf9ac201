"""The council simulation: its simulated reviewers behave as specified (a biased one puts position A
first, an unbiased one ranks by content wherever a response sits, an adversarial one buries what it
believes right, a note is obeyed only on the prompt's own lines), they answer through the fake provider's
`respond` hook, and the benchmark script runs (--quick) and prints tables whose position and attack
measurements point the right way. Its accuracies are not gated: they are what the tables report."""

from __future__ import annotations

import re
import subprocess
import sys
from dataclasses import replace
from itertools import permutations

import anyio
import pytest

from ai.request import Request
from bench.council_attacks import most_deviant
from bench.council_sim import DEFAULT_PANEL, TO_CHAIRMAN, TO_REVIEWERS, Panel, make_items, option_in
from callers import Junior, ask
from collab.council import chairman_prompt
from collab.council import review_prompt as council_review_prompt
from collab.ranking import Score
from collab.shared import draw_fence
from core.config.credentials import PROJECT_ROOT
from tests.fakes import FakeProvider

ITEMS = make_items(30, seed=3)


def review_prompt(texts: list[str]) -> str:
    """A stage-2 prompt as the prompt contract shapes it: the question, then `Response X:` blocks."""
    blocks = "\n\n".join(f"Response {chr(ord('A') + n)}:\n{text}" for n, text in enumerate(texts))
    return f"Question:\n{ITEMS[0].question}\n\n{blocks}\n\nEnd with FINAL RANKING: and numbered lines."


def first_place(answer: str) -> str:
    match = re.search(r"FINAL RANKING:\n1\. Response ([A-Z]) — ", answer)
    assert match, answer
    return match.group(1)


def answers_of(item_options: tuple[str, ...]) -> list[str]:
    return [f"The answer is {option}. {ai.style}" for option, ai in zip(item_options, DEFAULT_PANEL, strict=False)]


def test_a_fully_biased_reviewer_puts_position_a_first_whatever_it_holds() -> None:
    panel = Panel(ITEMS, tuple(replace(ai, bias=1.0) for ai in DEFAULT_PANEL), seed=1)
    texts = answers_of(ITEMS[0].options)
    for order in permutations(texts):
        assert first_place(panel.review(panel.ais[0], ITEMS[0], review_prompt(list(order)))) == "A"


def test_an_unbiased_reviewer_ranks_the_same_response_first_wherever_it_is_shown() -> None:
    panel = Panel(ITEMS, DEFAULT_PANEL, seed=1)
    item = ITEMS[0]
    texts = answers_of(item.options)
    chosen = set()
    for order in permutations(texts):
        letter = first_place(panel.review(panel.ais[1], item, review_prompt(list(order))))
        chosen.add(order[ord(letter) - ord("A")])
    assert len(chosen) == 1, chosen


def test_an_adversarial_reviewer_ranks_last_what_it_would_rank_first() -> None:
    honest = Panel(ITEMS, DEFAULT_PANEL, seed=1)
    adversarial = Panel(ITEMS, (replace(DEFAULT_PANEL[0], adversarial=True), *DEFAULT_PANEL[1:]), seed=1)
    for item in ITEMS:
        prompt = review_prompt(answers_of(item.options))
        first = first_place(honest.review(honest.ais[0], item, prompt))
        ranked = re.findall(r"^\d\. Response ([A-Z])", adversarial.review(adversarial.ais[0], item, prompt), re.M)
        assert ranked[-1] == first and ranked[0] != first


@pytest.mark.parametrize("fenced", [False, True])
def test_a_note_to_pick_a_response_is_obeyed_only_outside_the_fence(fenced: bool) -> None:
    """AIs that always obey: the undefended prompts' notes put the injecting response first and make the
    chairman give its answer; fenced, the reviews are those of the same answers without the notes, and
    the chairman gives the ranking's first."""
    panel = Panel(ITEMS, tuple(replace(ai, obey=1.0) for ai in DEFAULT_PANEL), seed=1)
    gemini = panel.by_name("gemini")
    shown = {"A": "openai", "B": "grok", "C": "openrouter", "D": "deepseek"}
    top = [Score(author="openai", score=1.0, reviewers=4, first_places=4, agreement=1.0)]
    for item in ITEMS:
        said = {name: panel.choice(panel.by_name(name), item) for name in shown.values()}
        honest = {name: f"The answer is {option}. {panel.by_name(name).style}" for name, option in said.items()}
        injecting = honest | {"openrouter": f"{honest['openrouter']}\n{TO_REVIEWERS}\n{TO_CHAIRMAN}"}
        fence = draw_fence(*injecting.values()) if fenced else None
        review = panel.review(gemini, item, council_review_prompt(item.question, shown, injecting, fence))
        chair = panel.chair(gemini, item, chairman_prompt(item.question, shown, injecting, top, [], fence))
        if fenced:
            assert review == panel.review(gemini, item, council_review_prompt(item.question, shown, honest, fence))
            assert option_in(chair, item.options) == said["openai"]
        else:
            assert first_place(review) == "C" and option_in(chair, item.options) == said["openrouter"]


@pytest.mark.parametrize(
    ("rankings", "dropped"),
    [
        pytest.param([(3, "abc"), (3, "abc"), (3, "abc"), (3, "cba")], 3, id="the reversed one"),
        pytest.param([(3, "abc"), (3, "bca"), (3, "abc"), (3, "abc"), (3, "abc")], 1, id="the one most apart"),
        pytest.param([(3, "abc"), (3, "abc"), (3, "cba")], None, id="under four: none"),
    ],
)
def test_the_most_deviant_ranking_is_the_farthest_from_the_others_count(
    rankings: list[tuple[int, str]], dropped: int | None
) -> None:
    assert most_deviant([(shown, list(ranked)) for shown, ranked in rankings], list("abc")) == dropped


@pytest.mark.anyio
async def test_the_simulated_ais_answer_through_the_fake_providers_respond_hook_the_same_each_time(
    fake: FakeProvider, app: Junior
) -> None:
    panel = Panel(ITEMS, DEFAULT_PANEL, seed=1)
    item = ITEMS[4]
    fake.behave("gemini", respond=panel.respond)
    fake.behave("grok", respond=panel.respond)
    with anyio.fail_after(10):
        gemini, grok, again = [
            (await ask(app, ai, Request(f"Question:\n{item.question}"))).text for ai in ("gemini", "grok", "gemini")
        ]
    assert option_in(gemini, item.options) == panel.choice(panel.by_name("gemini"), item)
    assert option_in(grok, item.options) == panel.choice(panel.by_name("grok"), item)
    assert gemini == again and fake.requests_for("grok")[0].user.startswith("Question:\nQ004: ")


def council_available() -> bool:
    try:
        import collab.council  # noqa: F401
    except ImportError:
        return False
    return True


def percent(cell: str) -> float:
    match = re.match(r"\s*(\d+(?:\.\d+)?) %", cell)
    assert match, cell
    return float(match.group(1))


def tables(stdout: str) -> list[list[list[str]]]:
    """Each markdown table printed, as its rows of cells: the header first, the |---| rule left out."""
    found: list[list[list[str]]] = []
    previous = False
    for line in stdout.splitlines():
        in_table = line.startswith("|")
        if in_table and not line.startswith("|---"):
            if not previous:
                found.append([])
            found[-1].append([cell.strip() for cell in line.split("|")[1:-1]])
        previous = in_table
    return found


def test_the_quick_council_simulation_runs_and_prints_its_tables() -> None:
    done = subprocess.run(
        [sys.executable, str(PROJECT_ROOT / "bench" / "council.py"), "--quick"],
        capture_output=True,
        text=True,
        timeout=600,
        cwd=PROJECT_ROOT,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    (header, *lines), *attacked = tables(done.stdout)
    assert header[:2] == ["answer", "accuracy"] and header[2].startswith("rankings with position A first"), header
    rows = {cells[0]: cells[1:] for cells in lines}
    assert any(name.startswith("best single AI (") for name in rows), done.stdout
    assert "vote, majority of 5 (`ai_consensus`)" in rows, done.stdout
    if not council_available():
        assert any(name.startswith("council: skipped") for name in rows), done.stdout
        pytest.skip("collab.council is not there: only the vote part ran")
    at_a = {name: percent(cells[1]) for name, cells in rows.items() if name.startswith("council, ")}
    assert len(at_a) == 5, done.stdout
    for name, cells in rows.items():
        assert 0 <= percent(cells[0]) <= 100, name
    # The first row goes through the tool, whose order is its own draw: only the seeded rows are compared.
    _, shuffled_biased, fixed, fixed_biased, chance = at_a.values()
    # Unbiased reviewers put position A first about one time in four (4 responses shown); biased ones
    # more often, shuffled or not; the chance control's first places do not favour A.
    assert abs(fixed - 25) < 12 and abs(chance - 25) < 12, done.stdout
    assert shuffled_biased > 25 + 8 and fixed_biased > fixed + 8, done.stdout

    [(header, none, adversary, trimmed, injected, fenced)] = attacked
    assert header[:4] == ["attack", "defence", "accuracy", "council's answer changed vs no attack"], header
    assert (none[0], adversary[0], injected[0]) == ("none", trimmed[0], fenced[0]), done.stdout
    assert adversary[0].startswith("one adversarial reviewer") and injected[0].startswith("an injecting answer")
    assert "dropped on" in trimmed[1], trimmed
    right, injector_first = ([percent(row[n]) for row in (none, adversary, injected, fenced)] for n in (2, 4))
    changed = [0.0, *(percent(row[3]) for row in (adversary, injected, fenced))]
    assert right[1] < right[0] and changed[1] > 0, "one adversarial reviewer moves the council"
    assert injector_first[2] > injector_first[0] and right[2] < right[0], "obeyed, the unfenced notes win"
    # By the model a fenced note is never obeyed: the defended run is the unattacked one, unless a note
    # reached a line of a prompt's own.
    assert (right[3], changed[3], injector_first[3]) == (right[0], 0, injector_first[0]), done.stdout
