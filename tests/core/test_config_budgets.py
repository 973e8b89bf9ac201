"""The spending caps in the configuration: `"budgets"` and `max_usd_per_call` in credentials.json, their
environment variables, the caps a call to one AI is held to, and every mistake named as a problem."""

from __future__ import annotations

import logging
import re
from pathlib import Path

import pytest

from core.config.settings import caps_for, load_settings, settings_or_problems
from core.money.caps import Cap
from tests.core.test_config import write

BUDGETS = {"daily_usd": 5, "monthly_usd": 50, "per_ai": {"Gemini": {"daily_usd": 1}}}


def test_budgets_in_the_file_are_the_common_caps_plus_each_ais_own(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.WARNING, logger="junior_ai.config"):
        settings = load_settings(write(tmp_path, {"budgets": BUDGETS, "max_usd_per_call": 0.25}), env={})
    assert caps_for(settings, "gemini") == [
        Cap("daily", 5.0, "day"),
        Cap("monthly", 50.0, "month"),
        Cap("daily:gemini", 1.0, "day", "gemini"),
    ]
    assert caps_for(settings, "grok") == [Cap("daily", 5.0, "day"), Cap("monthly", 50.0, "month")]
    assert (settings.max_usd_per_call, settings.capped) == (0.25, True)
    assert "ignoring" not in caplog.text  # an object, yet a setting: not taken for an AI's block


def test_without_budgets_there_are_no_caps(tmp_path: Path) -> None:
    settings = load_settings(write(tmp_path, {}), env={})
    assert (settings.budgets, settings.max_usd_per_call, caps_for(settings, "gemini"), settings.capped) == (
        None,
        None,
        [],
        False,
    )


def test_an_ais_own_cap_alone_caps_the_server(tmp_path: Path) -> None:
    settings = load_settings(write(tmp_path, {"budgets": {"per_ai": {"grok": {"monthly_usd": 3}}}}), env={})
    assert settings.capped and caps_for(settings, "gemini") == []
    assert caps_for(settings, "grok") == [Cap("monthly:grok", 3.0, "month", "grok")]


def test_the_daily_cap_comes_from_the_environment_over_the_files(tmp_path: Path) -> None:
    path = write(tmp_path, {"budgets": BUDGETS})
    settings = load_settings(path, env={"JUNIOR_AI_DAILY_USD": "2.5", "JUNIOR_AI_MAX_USD_PER_CALL": "0.1"})
    assert [(cap.name, cap.limit_usd) for cap in caps_for(settings, "gemini")] == [
        ("daily", 2.5),
        ("monthly", 50.0),
        ("daily:gemini", 1.0),
    ]
    assert settings.max_usd_per_call == 0.1
    alone = load_settings(write(tmp_path, {}, "empty.json"), env={"JUNIOR_AI_DAILY_USD": "3"})
    assert caps_for(alone, "grok") == [Cap("daily", 3.0, "day")]


def test_the_budgets_come_from_the_environment_as_json(tmp_path: Path) -> None:
    env = {
        "JUNIOR_AI_BUDGETS": '{"monthly_usd": 20, "per_ai": {"grok": {"daily_usd": 0.5}}}',
        "JUNIOR_AI_DAILY_USD": "4",
    }
    settings = load_settings(write(tmp_path, {"budgets": BUDGETS}), env=env)
    assert [cap.name for cap in caps_for(settings, "grok")] == ["daily", "monthly", "daily:grok"]
    assert [cap.limit_usd for cap in caps_for(settings, "grok")] == [4.0, 20.0, 0.5]


@pytest.mark.parametrize(
    ("body", "env", "problem"),
    [
        ({"budgets": {"daily_usd": -1}}, {}, r"budgets\.daily_usd: Input should be greater than or equal to 0"),
        ({"budgets": {"daily_usd": float("inf")}}, {}, r"budgets\.daily_usd: Input should be a finite number"),
        ({"budgets": {"daily_usd": "lots"}}, {}, r"budgets\.daily_usd: Input should be a valid number"),
        ({"budgets": {"weekly_usd": 5, "daly_usd": 1}}, {}, r"budgets: .*unknown key\(s\) daly_usd, weekly_usd; valid"),
        ({"budgets": {"per_ai": {"grok": {"hourly_usd": 1}}}}, {}, r"budgets\.per_ai\.grok: .*unknown key\(s\) hourly"),
        ({"budgets": 5}, {}, r"budgets: Input should be a valid dictionary"),
        ({"budgets": 5}, {"JUNIOR_AI_DAILY_USD": "1"}, r"budgets: not a JSON object, so JUNIOR_AI_DAILY_USD cannot"),
        ({}, {"JUNIOR_AI_DAILY_USD": "five"}, r"budgets\.daily_usd: Input should be a valid number"),
        ({}, {"JUNIOR_AI_BUDGETS": "{daily_usd: 5}"}, r"budgets: Value error, not a JSON object"),
        ({"max_usd_per_call": -0.5}, {}, r"max_usd_per_call: Input should be greater than or equal to 0"),
    ],
)
def test_a_bad_cap_is_a_problem_naming_it_and_the_server_still_starts(
    tmp_path: Path, body: dict[str, object], env: dict[str, str], problem: str
) -> None:
    settings = settings_or_problems(write(tmp_path, {"grok": {"api_key": "xai-0123456789abcdef"}, **body}), env=env)
    assert any(re.search(problem, line) for line in settings.problems), settings.problems
    assert settings.usable_ais == ["grok"]


def test_a_budget_for_an_ai_that_is_not_one_is_a_problem_and_the_rest_still_hold(tmp_path: Path) -> None:
    body = {"budgets": {"daily_usd": 5, "per_ai": {"gemni": {"daily_usd": 1}, "nobody": {"daily_usd": 1}}}}
    settings = settings_or_problems(write(tmp_path, body), env={})
    assert [problem.split(": ", 1)[1] for problem in settings.problems] == [
        "budgets.per_ai: 'gemni' is not an AI; did you mean 'gemini'?",
        "budgets.per_ai: 'nobody' is not an AI; AIs: gemini, openai, grok, deepseek, openrouter",
    ]
    assert caps_for(settings, "gemini") == [Cap("daily", 5.0, "day")]
