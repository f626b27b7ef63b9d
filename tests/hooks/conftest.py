"""What the hook test files share: the `task` fixture and two small helpers (`from hooks.conftest import ...`;
`tests/hooks` is the `hooks` test package, which pytest imports this file as)."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest

import autolog


def ids(models) -> list[str]:
    return [m.id for m in models]


def warnings_in(records: list[logging.LogRecord]) -> list[logging.LogRecord]:
    return [r for r in records if r.levelno >= logging.WARNING]


@pytest.fixture
def task(request: pytest.FixtureRequest, tmp_path: Path):
    """A running task of project `PROJECT` (the test module's), copying snapshots to `tmp_path / "remote"`."""
    with autolog.init(request.module.PROJECT, "train", output_uri=str(tmp_path / "remote")) as t:
        yield t
