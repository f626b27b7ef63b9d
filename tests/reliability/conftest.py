"""Helpers for the fault-injection suite: user programs in subprocesses, killed or broken on purpose.

Children run in production mode (`AUTOLOG_STRICT=0`) unless a test says otherwise: the faults injected here
are expected to be reported as warnings, and what is checked is that the user's calls returned and that
no snapshot was lost (bytes compared).
"""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest


def sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


@pytest.fixture
def child(home: Path, tmp_path: Path):
    """Start a user program (dedented code) in a fresh interpreter on the test's home; returns a Popen."""

    def start(code: str, *, env: dict[str, str] | None = None, cwd: Path | None = None) -> subprocess.Popen:
        merged = {**os.environ, "AUTOLOG_STRICT": "0", **(env or {})}
        return subprocess.Popen(
            [sys.executable, "-c", textwrap.dedent(code)],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            cwd=cwd or tmp_path,
            env=merged,
        )

    return start


@pytest.fixture
def cli(home: Path, tmp_path: Path):
    """Run `autolog ARGS` in a subprocess on the test's home."""

    def run(*args: str, env: dict[str, str] | None = None, timeout: float = 120) -> subprocess.CompletedProcess:
        merged = {**os.environ, "AUTOLOG_STRICT": "0", **(env or {})}
        return subprocess.run(
            [sys.executable, "-m", "autolog", *args],
            capture_output=True,
            text=True,
            cwd=tmp_path,
            env=merged,
            timeout=timeout,
        )

    return run


def model_bytes(model_id: str) -> bytes:
    import autolog

    return Path(autolog.Model.get(model_id).get_local_copy()).read_bytes()


def fresh_session() -> None:
    """Drop this test process's session, so the next read opens the store as it is now on disk."""
    from autolog_state import reset_for_tests

    reset_for_tests()


def journaled(home: Path) -> list[tuple[str, str]]:
    """(table, id) of every row still outstanding in the home's journal files."""
    from autolog.store.journal import SUFFIX, read

    found: list[tuple[str, str]] = []
    for path in sorted((home / "journal").glob(f"*{SUFFIX}")):
        found.extend(read(path)[1])
    return found
