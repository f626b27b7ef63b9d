"""Reset autolog's process-wide state between tests: test code, so it lives with the tests, not the library."""

from __future__ import annotations


def reset_for_tests() -> None:
    """Close the current task and session, remove every patch: a clean slate between tests."""
    import autolog.lifecycle as lifecycle
    import autolog.run.current as current
    from autolog.capture.instrumentation import uninstrument
    from autolog.run.task import COMPLETED

    with current.lock:
        task = current.current_task()
        if task is not None:
            task.close(COMPLETED)
        session = current.detach()
        if session is not None:
            session.close()
        lifecycle._uncaught.clear()
        lifecycle._exited = False
    uninstrument()
