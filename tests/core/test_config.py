"""Configuration: the original credentials.json format, environment overrides, clear errors."""

from __future__ import annotations

import json
import logging
from pathlib import Path

import pytest

from core.config.credentials import PROJECT_ROOT, find_credentials_file
from core.config.settings import BUILTIN_AIS, load_settings
from core.errors import ConfigError

SECRET = "sk-secret-never-shown-0000abcd"
FREE = {"input_per_mtok": 0, "output_per_mtok": 0}


def write(tmp_path: Path, body: object, name: str = "credentials.json") -> Path:
    path = tmp_path / name
    path.write_text(body if isinstance(body, str) else json.dumps(body))
    path.chmod(0o600)
    return path


def test_builtin_blocks_get_provider_defaults(tmp_path: Path) -> None:
    settings = load_settings(write(tmp_path, {"grok": {"api_key": SECRET}, "gemini": {"api_key": SECRET}}), env={})
    grok = settings.ais["grok"]
    assert (grok.kind, grok.base_url, grok.model) == ("openai", "https://api.x.ai/v1", BUILTIN_AIS["grok"].model)
    assert settings.ais["gemini"].kind == "gemini"
    assert settings.usable_ais == ["grok", "gemini"]


def test_a_block_with_base_url_is_a_custom_openai_compatible_ai(tmp_path: Path) -> None:
    body = {"ollama": {"base_url": "http://localhost:11434/v1", "model": "llama3.2"}}
    ollama = load_settings(write(tmp_path, body), env={}).ais["ollama"]
    assert (ollama.kind, ollama.builtin, ollama.usable) == ("openai", False, True)


def test_blocks_that_are_not_ais_are_ignored_with_one_warning(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    body = {
        "gemini": {"api_key": SECRET},
        "pattern_detection": {"enabled": True, "sensitivity": {"security": "high"}},
        "ai_consultation": {"auto_consult": False},
    }
    with caplog.at_level(logging.WARNING, logger="junior_ai.config"):
        settings = load_settings(write(tmp_path, body), env={})
    assert list(settings.ais) == ["gemini"]
    warnings = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    assert len(warnings) == 1
    assert "pattern_detection" in warnings[0] and "ai_consultation" in warnings[0]


def test_environment_overrides_the_file(tmp_path: Path) -> None:
    path = write(tmp_path, {"grok": {"api_key": "file-key", "model": "grok-old"}})
    env = {"XAI_API_KEY": SECRET, "GROK_MODEL": "grok-new", "GROK_BASE_URL": "http://127.0.0.1:9/v1"}
    grok = load_settings(path, env=env).ais["grok"]
    assert grok.api_key is not None and grok.api_key.get_secret_value() == SECRET
    assert (grok.model, grok.base_url) == ("grok-new", "http://127.0.0.1:9/v1")


@pytest.mark.parametrize(
    ("variable", "ai"),
    [
        ("GEMINI_API_KEY", "gemini"),
        ("GOOGLE_API_KEY", "gemini"),
        ("OPENAI_API_KEY", "openai"),
        ("XAI_API_KEY", "grok"),
        ("GROK_API_KEY", "grok"),
        ("DEEPSEEK_API_KEY", "deepseek"),
        ("OPENROUTER_API_KEY", "openrouter"),
    ],
)
def test_each_key_variable_enables_its_ai_without_a_file(
    variable: str, ai: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("core.config.credentials.USER_CREDENTIALS", Path("/nonexistent/credentials.json"))
    monkeypatch.setattr("core.config.credentials.PROJECT_ROOT", Path("/nonexistent"))
    settings = load_settings(env={variable: SECRET})
    assert settings.usable_ais == [ai]
    assert settings.source is None


def test_custom_ai_from_the_environment_only(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("core.config.credentials.USER_CREDENTIALS", Path("/nonexistent/credentials.json"))
    monkeypatch.setattr("core.config.credentials.PROJECT_ROOT", Path("/nonexistent"))
    env = {"JUNIOR_AI_CUSTOM_AIS": "ollama", "OLLAMA_BASE_URL": "http://localhost:11434/v1", "OLLAMA_MODEL": "qwen3"}
    ollama = load_settings(env=env).ais["ollama"]
    assert (ollama.model, ollama.base_url, ollama.usable) == ("qwen3", "http://localhost:11434/v1", True)


def test_no_file_and_no_keys_is_a_valid_empty_start(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("core.config.credentials.USER_CREDENTIALS", Path("/nonexistent/credentials.json"))
    monkeypatch.setattr("core.config.credentials.PROJECT_ROOT", Path("/nonexistent"))
    settings = load_settings(env={})
    assert settings.ais == {} and settings.usable_ais == []


def test_a_builtin_without_key_is_configured_but_not_usable(tmp_path: Path) -> None:
    settings = load_settings(write(tmp_path, {"openai": {"model": "gpt-x"}}), env={})
    assert "openai" in settings.ais and settings.usable_ais == []


def test_disabled_ai_is_not_usable(tmp_path: Path) -> None:
    settings = load_settings(write(tmp_path, {"openai": {"api_key": SECRET, "enabled": False}}), env={})
    assert settings.usable_ais == []


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        ("{not json", r"credentials.json: not valid JSON"),
        ("[1, 2]", r"must be a JSON object with one block per AI, got list"),
        (
            {"grok": {"api_key": SECRET, "timeout": -1}},
            r"credentials.json: grok: timeout: Input should be greater than 0",
        ),
        ({"grok": {"api_key": SECRET, "timeout": "soon"}}, r"grok: timeout: .*valid number"),
        ({"grok": {"api_key": SECRET, "base_url": "not a url"}}, r"grok: base_url: .*URL"),
        ({"grok": {"api_key": SECRET, "enabled": "maybe"}}, r"grok: enabled: .*valid boolean"),
        ({"grok": {"api_key": SECRET, "model": ""}}, r"grok: model: .*at least 1 character"),
        (
            {"grok": {"api_key": SECRET, "modle": "x"}},
            r"grok: unknown field\(s\) modle \(did you mean model\?\); valid: api_key, api_version, attempts",
        ),
        ({"mine": {"base_url": "http://localhost:1/v1"}}, r"mine: a custom AI needs model"),
        ({"Bad Name!": {"base_url": "http://localhost:1/v1", "model": "m"}}, r"AI names are lowercase"),
        ({"gemini": None}, r"gemini: the block must be a JSON object"),
        ({"grok": "xai-key"}, r"grok: the block must be a JSON object"),
        ({"grok": {"api_key": SECRET}, "Grok": {"api_key": SECRET}}, r"Grok: a second block for 'grok'"),
        ({"tool_profile": "huge"}, r"credentials.json: tool_profile: Input should be 'compact' or 'full'"),
        ({"deadline_s": 0}, r"credentials.json: deadline_s: Input should be greater than 0"),
        (
            {"openai": {"api_key": SECRET, "prices": {"gpt-4.1": {"input_per_mtok": -1, "output_per_mtok": 1}}}},
            r"credentials.json: openai: prices\['gpt-4.1'\]\.input_per_mtok: Input should be greater than or equal",
        ),
        (
            {"grok": {"api_key": SECRET, "prices": {"*": {"input_per_mtok": 1, "output_per_mtok": "cheap"}}}},
            r"grok: prices\['\*'\]\.output_per_mtok: Input should be a valid number \(got 'cheap'\)",
        ),
        ({"grok": {"api_key": SECRET, "prices": {"*": {"input_per_mtok": 1}}}}, r"output_per_mtok: Field required"),
        ({"grok": {"api_key": SECRET, "prices": [0.4, 1.6]}}, r"grok: prices: Input should be a valid dictionary"),
    ],
)
def test_invalid_configuration_gives_one_clear_error(tmp_path: Path, body: object, expected: str) -> None:
    with pytest.raises(ConfigError, match=expected) as caught:
        load_settings(write(tmp_path, body), env={})
    assert SECRET not in str(caught.value)


def test_prices_per_model_or_for_any_model_are_read_from_the_ais_block(tmp_path: Path) -> None:
    body = {
        "openai": {"api_key": SECRET, "prices": {"gpt-4.1-mini": {"input_per_mtok": 0.4, "output_per_mtok": 1.6}}},
        "ollama": {"base_url": "http://localhost:11434/v1", "model": "llama3.2", "prices": {"*": FREE}},
    }
    settings = load_settings(write(tmp_path, body), env={})
    openai = settings.ais["openai"].prices["gpt-4.1-mini"]
    assert (openai.input_per_mtok, openai.output_per_mtok, openai.cached_input_per_mtok) == (0.4, 1.6, None)
    assert settings.ais["ollama"].prices["*"].model_dump() == FREE | {"cached_input_per_mtok": None}
    assert settings.ais["openai"].model_copy().prices == settings.ais["openai"].prices
    assert load_settings(write(tmp_path, {"grok": {"api_key": SECRET}}), env={}).ais["grok"].prices == {}


def test_a_wrong_api_key_type_names_the_field_but_hides_the_value(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=r"grok: api_key: .*\(got <hidden>\)"):
        load_settings(write(tmp_path, {"grok": {"api_key": 12345678901234567}}), env={})


def test_explicit_path_wins_and_a_missing_one_is_an_error(tmp_path: Path) -> None:
    chosen = write(tmp_path, {}, "chosen.json")
    other = write(tmp_path, {}, "other.json")
    assert find_credentials_file(chosen, env={"JUNIOR_AI_CREDENTIALS": str(other)}) == chosen
    assert find_credentials_file(None, env={"JUNIOR_AI_CREDENTIALS": str(other)}) == other
    with pytest.raises(ConfigError, match=r"no such credentials file \(named by --credentials\)"):
        find_credentials_file(tmp_path / "missing.json", env={})
    with pytest.raises(ConfigError, match="named by JUNIOR_AI_CREDENTIALS"):
        find_credentials_file(None, env={"JUNIOR_AI_CREDENTIALS": str(tmp_path / "missing.json")})


def test_lookup_falls_back_to_the_user_config_directory(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    user_file = write(tmp_path, {}, "user.json")
    monkeypatch.setattr("core.config.credentials.PROJECT_ROOT", tmp_path / "no-project")
    monkeypatch.setattr("core.config.credentials.USER_CREDENTIALS", user_file)
    assert find_credentials_file(None, env={}) == user_file


def test_the_example_file_lists_every_builtin_and_a_disabled_ollama() -> None:
    settings = load_settings(PROJECT_ROOT / "credentials.example.json", env={})
    assert set(BUILTIN_AIS) <= set(settings.ais)
    assert settings.ais["ollama"].enabled is False and settings.ais["ollama"].builtin is False


def test_key_hint_shows_at_most_the_last_four_characters(tmp_path: Path) -> None:
    blocks = {
        "grok": {"api_key": SECRET},
        "openai": {"api_key": "short"},
        "deepseek": {"api_key": ""},
        "mine": {"base_url": "http://127.0.0.1:9/v1", "model": "m"},
    }
    settings = load_settings(write(tmp_path, blocks), env={})
    assert settings.ais["grok"].key_hint == "…abcd"
    assert settings.ais["openai"].key_hint == "***", "a short key: even 4 characters would be too much of it"
    assert settings.ais["deepseek"].key_hint == "missing", "a built-in AI needs a key"
    assert settings.ais["mine"].key_hint == "none", "a custom AI may need none"
    assert SECRET not in repr(settings)


def test_tool_profile_from_file_and_environment(tmp_path: Path) -> None:
    path = write(tmp_path, {"tool_profile": "full"})
    assert load_settings(path, env={}).tool_profile == "full"
    assert load_settings(path, env={"JUNIOR_AI_TOOLS": "compact"}).tool_profile == "compact"


def test_deadline_from_file_and_environment(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    path = write(tmp_path, {"deadline_s": 20, "colour": "blue"})
    assert load_settings(path, env={}).deadline_s == 20
    assert load_settings(path, env={"JUNIOR_AI_DEADLINE_S": "12.5"}).deadline_s == 12.5
    assert load_settings(write(tmp_path, {}, "empty.json"), env={}).deadline_s == 45
    assert "ignoring unknown setting 'colour' (valid: tool_profile, deadline_s, ask_deadline_s" in caplog.text


def test_a_credentials_file_others_can_read_gets_a_warning(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    path = write(tmp_path, {"grok": {"api_key": SECRET}})
    load_settings(path, env={})
    assert "chmod" not in caplog.text
    path.chmod(0o644)
    load_settings(path, env={})
    assert f"{path} holds API keys and is readable by group or others; fix: chmod 600 {path}" in caplog.text
