"""Fixtures for the core tests: a plain-Python "framework" whose save/load go through the real wrappers
(the PostgreSQL fixtures live in tests/conftest.py)."""

from __future__ import annotations

import pytest
import wrapt

from autolog.capture.instrumentation import Hook
from autolog.capture.wrappers import arg, load_wrapper, save_wrapper


class PlainFilesHook(Hook):
    """A hook over two plain functions: lets the core be tested end to end with no ML framework."""

    name = "plain"
    watches = ()
    distribution = "autolog"


def _write_bytes(data: bytes, path: str) -> None:
    with open(path, "wb") as fh:
        fh.write(data)


def _read_bytes(path: str) -> bytes:
    with open(path, "rb") as fh:
        return fh.read()


@pytest.fixture
def plain():
    """(save, load) functions wrapped exactly as a framework's would be."""
    hook = PlainFilesHook()
    save = wrapt.FunctionWrapper(_write_bytes, save_wrapper(hook, target=arg(1, "path"), framework="plain"))
    load = wrapt.FunctionWrapper(_read_bytes, load_wrapper(hook, target=arg(0, "path"), framework="plain"))
    return save, load
