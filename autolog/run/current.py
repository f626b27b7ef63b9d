"""The process's current task and its session: the one piece of process-wide state the core reads.

`lifecycle` (`init`, exit, signals, fork) decides what is current; `task`, `model`, `artifact` and the
hooks only read it here. It sits below all of them and imports none of them, so the core's imports go
one way: `lifecycle` -> `task` -> `model`/`artifact` -> `current` -> `session` -> `store`.
"""

from __future__ import annotations

import threading
from typing import TYPE_CHECKING

from ..config import load_settings
from ..pipeline.session import Session

if TYPE_CHECKING:
    from .task import Task

lock = threading.RLock()
_current: Task | None = None
_session: Session | None = None


def current_task() -> Task | None:
    """The task hooks record into, or None."""
    return _current


def current_session() -> Session | None:
    """The session in use, or None; unlike `get_session`, never creates one (`lifecycle` at exit)."""
    return _session


def get_session() -> Session:
    """The session for the current settings, created on first use (kept while a task is current)."""
    global _session
    with lock:
        if _current is not None and _session is not None:
            return _session
        settings = load_settings()
        if _session is None or _session.settings != settings:
            if _session is not None:
                _session.close(settings.upload_timeout)
            _session = Session(settings)
        return _session


def set_current(task: Task | None) -> None:
    """Make `task` the current task (`lifecycle.init`)."""
    global _current
    with lock:
        _current = task


def forget(task: Task) -> None:
    """`task` ended: it is no longer current (a later one may already be)."""
    global _current
    with lock:
        if _current is task:
            _current = None


def detach() -> Session | None:
    """Drop the current task and session without closing them (a forked child, a test's reset); returns the
    session that was current. Takes no lock: in a forked child, a thread of the parent may have held it."""
    global _current, _session
    session, _current, _session = _session, None, None
    return session
