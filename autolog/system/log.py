"""The `autolog` logger and the one guard for internal errors.

autolog runs inside other people's training loops, so an error of ours must never reach their code
(sentry-python's `capture_internal_exceptions`). `guard()` swallows it and logs the first failure per
(place, error type) as a WARNING, repeats at DEBUG. With `AUTOLOG_STRICT=1` (on in the test suite)
the error is re-raised instead, so tests cannot pass on top of a swallowed bug.
"""

from __future__ import annotations

import contextlib
import logging
import os
import threading
from collections.abc import Iterator

logger = logging.getLogger("autolog")

_seen: set[tuple[str, type]] = set()
# Internal errors swallowed off the caller's thread while strict: the test suite fails on any of them.
swallowed_in_strict_mode: list[str] = []
_seen_lock = threading.Lock()


def strict() -> bool:
    """True when swallowed internal errors should be raised (tests)."""
    return os.environ.get("AUTOLOG_STRICT", "") not in ("", "0", "false", "False")


def report_internal_error(where: str, exc: BaseException) -> None:
    """Log an internal failure once per (where, type) at WARNING, then at DEBUG."""
    if strict():
        swallowed_in_strict_mode.append(f"{where}: {type(exc).__name__}: {exc}")
    key = (where, type(exc))
    with _seen_lock:
        first = key not in _seen
        _seen.add(key)
    level = logging.WARNING if first else logging.DEBUG
    logger.log(
        level,
        "autolog: internal error in %s (your program is unaffected): %s: %s",
        where,
        type(exc).__name__,
        exc,
        exc_info=logger.isEnabledFor(logging.DEBUG),
    )


@contextlib.contextmanager
def guard(where: str) -> Iterator[None]:
    """Contain an internal error: log it, never let it reach the caller (unless strict)."""
    try:
        yield
    except Exception as exc:  # noqa: BLE001 - this is the containment boundary
        if strict():
            raise
        report_internal_error(where, exc)
