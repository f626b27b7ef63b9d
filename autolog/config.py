"""Settings: one object, precedence environment > config file > defaults.

The file is `~/.config/autolog/config.toml` (or the path in `AUTOLOG_CONFIG`), flat keys as in the table
below. Reading it is cheap (tomllib), so settings are re-read on every `init()`: a test or notebook that
changes `AUTOLOG_HOME` gets a fresh home without restarting Python.
"""

from __future__ import annotations

import math
import os
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .errors import ConfigError

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib

_TRUE = {"1", "true", "yes", "on"}
_FALSE = {"0", "false", "no", "off", ""}


@dataclass(frozen=True)
class Settings:
    """Everything configurable; see docs/configuration.md."""

    home: Path
    tracking_uri: str
    default_output_uri: str | None
    cache_dir: Path
    cache_max_bytes: int
    upload_timeout: float
    allow_pickle: bool
    disable: bool
    heartbeat_timeout: float = 600.0
    ui_token: str | None = None  # the token `autolog ui` asks for when it listens beyond this machine
    dedup: bool = True  # model snapshots stored once per content in each output store (docs/storage.md)
    keep: str | None = None  # default retention policy of new tasks (`autolog.store.keep`); None: keep all

    @property
    def journal_dir(self) -> Path:
        """One small file per task, snapshot and artifact not yet final in the store (`autolog.store.journal`)."""
        return self.home / "journal"

    @property
    def staging_dir(self) -> Path:
        """Hard links of snapshots waiting for their hash/upload (same filesystem as the home)."""
        return self.home / "staging"

    @property
    def local_store_uri(self) -> str:
        """Where artifacts go when the task has no output_uri."""
        return str(self.home / "files")


# key -> (environment variable, parser)
def _parse_bool(key: str, value: Any, source: str) -> bool:
    if isinstance(value, bool):
        return value
    text = str(value).strip().lower()
    if text in _TRUE:
        return True
    if text in _FALSE:
        return False
    raise ConfigError(f"{source}: {key} must be true or false, got {value!r}")


def _parse_number(kind: type, key: str, value: Any, source: str) -> Any:
    try:
        if isinstance(value, bool):
            raise TypeError
        number = kind(value.strip() if isinstance(value, str) else value)
    except (TypeError, ValueError, OverflowError):
        raise ConfigError(f"{source}: {key} must be a number, got {value!r}") from None
    if not math.isfinite(number):
        raise ConfigError(f"{source}: {key} must be a finite number, got {value!r}")
    if number < 0:
        raise ConfigError(f"{source}: {key} must not be negative, got {value!r}")
    return number


def _parse_str(key: str, value: Any, source: str) -> str:
    if not isinstance(value, str):
        raise ConfigError(f"{source}: {key} must be a string, got {value!r}")
    return value


def _parse_dir(key: str, value: Any, source: str) -> Path:
    """A folder setting: a non-empty string, made absolute."""
    text = _parse_str(key, value, source)
    if not text.strip() or "\0" in text:
        raise ConfigError(f"{source}: {key} must be a folder path, got {value!r}")
    return Path(text).expanduser().resolve()


def _prepare_dir(key: str, path: Path, source: str) -> None:
    """Create a folder of autolog's own as private (0700) if missing; ConfigError if that is impossible."""
    from .system.paths import private_dir

    try:
        private_dir(path)
    except OSError as exc:
        raise ConfigError(f"{source}: {key} {str(path)!r} cannot be created: {exc.strerror or exc}") from None
    if not path.is_dir() or not os.access(path, os.W_OK | os.X_OK):
        raise ConfigError(f"{source}: {key} {str(path)!r} is not a folder autolog can write to")


_KEYS: dict[str, str] = {
    "home": "AUTOLOG_HOME",
    "tracking_uri": "AUTOLOG_TRACKING_URI",
    "default_output_uri": "AUTOLOG_DEFAULT_OUTPUT_URI",
    "cache_dir": "AUTOLOG_CACHE_DIR",
    "cache_max_bytes": "AUTOLOG_CACHE_MAX_BYTES",
    "upload_timeout": "AUTOLOG_UPLOAD_TIMEOUT",
    "allow_pickle": "AUTOLOG_ALLOW_PICKLE",
    "disable": "AUTOLOG_DISABLE",
    "heartbeat_timeout": "AUTOLOG_HEARTBEAT_TIMEOUT",
    "ui_token": "AUTOLOG_UI_TOKEN",
    "dedup": "AUTOLOG_DEDUP",
    "keep": "AUTOLOG_KEEP",
}


def config_file_path() -> Path:
    """The config file autolog reads (it need not exist)."""
    explicit = os.environ.get("AUTOLOG_CONFIG")
    if explicit:
        return Path(explicit).expanduser()
    base = os.environ.get("XDG_CONFIG_HOME") or str(Path.home() / ".config")
    return Path(base) / "autolog" / "config.toml"


def _read_file(path: Path) -> dict[str, Any]:
    if not path.is_file():
        if os.environ.get("AUTOLOG_CONFIG"):
            raise ConfigError(f"{path}: AUTOLOG_CONFIG names a file that does not exist")
        return {}
    try:
        with path.open("rb") as fh:
            data: dict[str, Any] = tomllib.load(fh)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{path}: not valid TOML: {exc}") from None
    unknown = sorted(set(data) - set(_KEYS))
    if unknown:
        raise ConfigError(f"{path}: unknown key {unknown[0]!r} (known: {', '.join(_KEYS)})")
    return data


def load_settings(*, create: bool = True) -> Settings:
    """Read defaults, then the config file, then the environment; validate every value.

    `create=False` (a read-only reader such as `autolog ui`) makes no folder: the caller checks the store is
    there instead of getting a new, empty one."""
    path = config_file_path()
    raw: dict[str, tuple[Any, str]] = {k: (v, str(path)) for k, v in _read_file(path).items()}
    for key, var in _KEYS.items():
        if var in os.environ:
            raw[key] = (os.environ[var], f"environment variable {var}")

    def get(key: str, default: Any) -> tuple[Any, str]:
        return raw.get(key, (default, "default"))

    # Parse every value first: a bad one is reported before anything is created on disk.
    home_v, home_src = get("home", "~/.autolog")
    home = _parse_dir("home", home_v, home_src)
    tracking_v, tracking_src = get("tracking_uri", f"sqlite:///{home / 'autolog.db'}")
    tracking_uri = _parse_str("tracking_uri", tracking_v, tracking_src)
    out_v, out_src = get("default_output_uri", None)
    default_output_uri = None if out_v in (None, "") else _parse_str("default_output_uri", out_v, out_src)
    cache_v, cache_src = get("cache_dir", None)
    cache_dir = home / "cache" if cache_v is None else _parse_dir("cache_dir", cache_v, cache_src)
    settings = Settings(
        home=home,
        tracking_uri=tracking_uri,
        default_output_uri=default_output_uri,
        cache_dir=cache_dir,
        cache_max_bytes=_parse_number(int, "cache_max_bytes", *get("cache_max_bytes", 20 * 2**30)),
        upload_timeout=_parse_number(float, "upload_timeout", *get("upload_timeout", 600.0)),
        allow_pickle=_parse_bool("allow_pickle", *get("allow_pickle", True)),
        disable=_parse_bool("disable", *get("disable", False)),
        heartbeat_timeout=_parse_number(float, "heartbeat_timeout", *get("heartbeat_timeout", 600.0)),
        ui_token=_parse_str("ui_token", *get("ui_token", "")) or None,
        dedup=_parse_bool("dedup", *get("dedup", True)),
        keep=_parse_keep(*get("keep", None)),
    )
    if default_output_uri is not None:
        _check_output_uri(default_output_uri, out_src)
    if not create:
        return settings
    # Then the folders autolog owns, private (0700), and the store URL that may live in one of them.
    _prepare_dir("home", home, home_src)
    from .store.tracking import check_tracking_uri

    check_tracking_uri(tracking_uri, tracking_src)
    for folder in (settings.staging_dir, Path(settings.local_store_uri)):
        _prepare_dir("home", folder, home_src)
    _prepare_dir("cache_dir", cache_dir, cache_src)
    return settings


def _parse_keep(value: Any, source: str) -> str | None:
    """A retention policy (`autolog.store.keep` syntax), stored in its canonical text; None: keep everything."""
    from .store.keep import parse

    try:
        policy = parse(value, f"{source}: keep")
    except ValueError as exc:
        raise ConfigError(str(exc)) from None
    return None if policy is None else policy.text


def _check_output_uri(uri: str, source: str) -> None:
    from .storage.access import check_uri
    from .system.redact import redact, redact_text

    try:
        check_uri(uri)
    except (ValueError, ImportError) as exc:
        raise ConfigError(f"{source}: default_output_uri {redact(uri)!r}: {redact_text(str(exc))}") from None
