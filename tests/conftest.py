"""Shared fixtures: every test runs against a fresh temporary autolog home, in strict mode.

Strict mode (`AUTOLOG_STRICT=1`) turns errors that autolog would swallow in production into test
failures; containment tests opt out with the `lenient` fixture.
"""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

# The tests exercise the installed wheel, where `hooks/` is mapped to `autolog.hooks`. `python -m pytest`
# puts the checkout first on sys.path, which would shadow it with a source tree that has no
# `autolog.hooks`; drop that entry so the installed package is the one imported.
_ROOT = Path(__file__).resolve().parent.parent
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != _ROOT]


@pytest.fixture(autouse=True)
def home(tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A temporary AUTOLOG_HOME with no config file, strict mode on, and clean state afterwards."""
    root = tmp_path_factory.mktemp("autolog-home")
    monkeypatch.setenv("AUTOLOG_HOME", str(root / "home"))
    monkeypatch.setenv("XDG_CONFIG_HOME", str(root / "xdg"))
    monkeypatch.setenv("AUTOLOG_STRICT", "1")
    for var in ("AUTOLOG_CONFIG", "AUTOLOG_TRACKING_URI", "AUTOLOG_DEFAULT_OUTPUT_URI", "AUTOLOG_CACHE_DIR",
                "AUTOLOG_CACHE_MAX_BYTES", "AUTOLOG_DISABLE", "RANK"):
        monkeypatch.delenv(var, raising=False)
    yield root / "home"
    import autolog.lifecycle

    autolog.lifecycle.reset_for_tests()


@pytest.fixture
def lenient(monkeypatch: pytest.MonkeyPatch) -> None:
    """Production behaviour: internal errors are logged, not raised (containment tests)."""
    monkeypatch.setenv("AUTOLOG_STRICT", "0")


@pytest.fixture
def run_py(home: Path, tmp_path: Path):
    """Run Python code in a fresh interpreter with the same autolog home; returns CompletedProcess.

    The code is dedented; a non-zero exit fails the test unless `check=False`.
    """

    def run(code: str, *, check: bool = True, env: dict[str, str] | None = None, timeout: float = 180):
        merged = {**os.environ, **(env or {})}
        proc = subprocess.run([sys.executable, "-c", textwrap.dedent(code)], capture_output=True, text=True,
                              cwd=tmp_path, env=merged, timeout=timeout)
        if check and proc.returncode != 0:
            raise AssertionError(f"child failed ({proc.returncode}):\n{proc.stdout}\n{proc.stderr}")
        return proc

    return run
