from __future__ import annotations

from pathlib import Path

import pytest

import autolog
from autolog.config import load_settings


@pytest.mark.sqlite  # the default tracking URI is the SQLite file in the home
def test_defaults_live_under_the_home(home: Path) -> None:
    settings = load_settings()
    assert settings.home == home.resolve()
    assert settings.tracking_uri == f"sqlite:///{home.resolve() / 'autolog.db'}"
    assert settings.cache_dir == home.resolve() / "cache"
    assert settings.default_output_uri is None
    assert settings.allow_pickle is True


def test_file_then_environment_precedence(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    config = tmp_path / "config.toml"
    config.write_text(
        'default_output_uri = "/from/file"\ncache_max_bytes = 1000\nupload_timeout = 5\nallow_pickle = false\n'
    )
    monkeypatch.setenv("AUTOLOG_CONFIG", str(config))
    settings = load_settings()
    assert (settings.default_output_uri, settings.cache_max_bytes, settings.upload_timeout) == ("/from/file", 1000, 5)
    assert settings.allow_pickle is False
    monkeypatch.setenv("AUTOLOG_CACHE_MAX_BYTES", "42")
    monkeypatch.setenv("AUTOLOG_DEFAULT_OUTPUT_URI", "memory://env")
    settings = load_settings()
    assert (settings.default_output_uri, settings.cache_max_bytes) == ("memory://env", 42)


def test_default_config_file_location(home: Path, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path))
    (tmp_path / "autolog").mkdir()
    (tmp_path / "autolog" / "config.toml").write_text("upload_timeout = 7\n")
    assert load_settings().upload_timeout == 7


@pytest.mark.parametrize(
    "text, message",
    [
        ("cache_max_bytes = 'lots'\n", "cache_max_bytes must be a number"),
        ("allow_pickle = 'maybe'\n", "allow_pickle must be true or false"),
        ("colour = 'blue'\n", "unknown key 'colour'"),
        ("home = [\n", "not valid TOML"),
    ],
)
def test_bad_config_file_names_file_and_key(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, text: str, message: str
) -> None:
    config = tmp_path / "bad.toml"
    config.write_text(text)
    monkeypatch.setenv("AUTOLOG_CONFIG", str(config))
    with pytest.raises(autolog.ConfigError) as info:
        autolog.init("p", "t")
    assert str(config) in str(info.value) and message in str(info.value)
    assert autolog.current_task() is None


def test_bad_environment_value_names_the_variable(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AUTOLOG_UPLOAD_TIMEOUT", "-3")
    with pytest.raises(autolog.ConfigError, match="AUTOLOG_UPLOAD_TIMEOUT"):
        load_settings()


def test_missing_explicit_config_file_is_an_error(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AUTOLOG_CONFIG", str(tmp_path / "nope.toml"))
    with pytest.raises(autolog.ConfigError, match="nope.toml"):
        load_settings()
