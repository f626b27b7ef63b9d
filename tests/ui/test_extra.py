"""Without the `ui` extra, `autolog ui` says what to install (runs in the envs that lack Starlette)."""

from __future__ import annotations

import importlib.util
import subprocess
import sys
from pathlib import Path

import pytest


@pytest.mark.skipif(importlib.util.find_spec("starlette") is not None, reason="the ui extra is installed here")
def test_ui_without_the_extra_names_it(tmp_path: Path) -> None:
    proc = subprocess.run(
        [sys.executable, "-m", "autolog", "ui", "--port", "9"], capture_output=True, text=True, cwd=tmp_path, timeout=60
    )
    assert proc.returncode != 0
    assert "pip install 'autolog[ui]'" in proc.stderr
    assert "Traceback" not in proc.stderr
