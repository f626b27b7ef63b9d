"""Point 8: every unusable setting is a ConfigError at `init`, naming the variable or file and the key."""

from __future__ import annotations

from pathlib import Path

import pytest

import autolog

from .conftest import autolog_cli

ENV_CASES = [
    ("unknown tracking scheme", "AUTOLOG_TRACKING_URI", "nosuchdb://h/db", "unknown database scheme"),
    ("driver not installed", "AUTOLOG_TRACKING_URI", "mysql+pymysql://u@h/db", "not installed"),
    ("sqlite folder missing", "AUTOLOG_TRACKING_URI", "sqlite:////nonexistent/dir/a.db", "does not exist"),
    ("empty home", "AUTOLOG_HOME", "", "must be a folder path"),
    ("unusable home", "AUTOLOG_HOME", "/proc/x", "cannot be created"),
    ("nan", "AUTOLOG_UPLOAD_TIMEOUT", "nan", "finite"),
    ("infinite", "AUTOLOG_CACHE_MAX_BYTES", "inf", "must be a number"),
    ("negative", "AUTOLOG_UPLOAD_TIMEOUT", "-5", "negative"),
    ("unknown output scheme", "AUTOLOG_DEFAULT_OUTPUT_URI", "nosuch://bucket/x", "unknown storage scheme"),
]


@pytest.mark.parametrize("case, var, value, why", ENV_CASES, ids=[c[0] for c in ENV_CASES])
def test_bad_environment_setting_is_named_at_init(
    case: str, var: str, value: str, why: str, monkeypatch: pytest.MonkeyPatch, home: Path
) -> None:
    monkeypatch.setenv(var, value)
    with pytest.raises(autolog.ConfigError) as raised:
        autolog.init("p", "t")
    message = str(raised.value)
    key = var[len("AUTOLOG_") :].lower()
    assert f"environment variable {var}" in message and key in message and why in message, message
    assert not Path("/nonexistent/dir").exists()


FILE_CASES = [
    ("home = 5", "home", "must be a string"),
    ("cache_dir = 1.5", "cache_dir", "must be a string"),
    ("upload_timeout = nan", "upload_timeout", "finite"),
    ("cache_max_bytes = -1", "cache_max_bytes", "negative"),
    ("cache_max_bytes = true", "cache_max_bytes", "must be a number"),
    ('home = ""', "home", "must be a folder path"),
    ('tracking_uri = "nosuchdb://h/db"', "tracking_uri", "unknown database scheme"),
    ('default_output_uri = "nosuch://b"', "default_output_uri", "unknown storage scheme"),
]


@pytest.mark.parametrize("line, key, why", FILE_CASES, ids=[c[0] for c in FILE_CASES])
def test_bad_config_file_value_is_named_at_init(
    line: str, key: str, why: str, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    config = tmp_path / "config.toml"
    config.write_text(line + "\n")
    monkeypatch.setenv("AUTOLOG_CONFIG", str(config))
    if key == "home":
        monkeypatch.delenv("AUTOLOG_HOME")  # the file's value counts (nothing is created: it is refused)
    with pytest.raises(autolog.ConfigError) as raised:
        autolog.init("p", "t")
    message = str(raised.value)
    assert str(config) in message and key in message and why in message, message


def test_cli_reports_a_bad_setting_in_one_line() -> None:
    cli = autolog_cli("tasks", env={"AUTOLOG_UPLOAD_TIMEOUT": "nan"})
    assert cli.returncode != 0
    lines = cli.stderr.strip().splitlines()
    assert len(lines) == 1 and "AUTOLOG_UPLOAD_TIMEOUT" in lines[0], cli.stderr
