"""Reset autolog's process-wide state between tests: test code, so it lives with the tests, not the library."""

from __future__ import annotations


def reset_for_tests() -> None:
    """Close the current task and session, remove every patch: a clean slate between tests."""
    import autolog.lifecycle as lifecycle
    from autolog.instrumentation import uninstrument
    from autolog.task import COMPLETED

    with lifecycle._lock:
        if lifecycle._current is not None:
            lifecycle._current.close(COMPLETED)
        lifecycle._current = None
        if lifecycle._session is not None:
            lifecycle._session.close()
        lifecycle._session = None
        lifecycle._uncaught.clear()
        lifecycle._exited = False
    uninstrument()
