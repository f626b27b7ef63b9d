"""The process's current task: `init`, closing at exit, and the session behind it.

Closing at interpreter exit: an `atexit` handler ends the current task as `completed`, or `failed` when
an uncaught exception (KeyboardInterrupt included) reached `sys.excepthook`, after waiting up to
`upload_timeout` for pending uploads. A forked child starts with no current task: it records nothing
unless it calls `init` itself, and never closes its parent's task.
"""

from __future__ import annotations

import atexit
import os
import sys
import threading
from collections.abc import Iterable, Mapping
from typing import Any

from .config import load_settings
from .log import strict, swallowed_in_strict_mode
from .session import Session
from .task import COMPLETED, FAILED, Task

_lock = threading.RLock()
_current: Task | None = None
_session: Session | None = None
_hooks_installed = False
_uncaught: list[BaseException] = []


def current_task() -> Task | None:
    """The task hooks record into, or None."""
    return _current


def get_session() -> Session:
    """The session for the current settings, created on first use."""
    global _session
    with _lock:
        if _current is not None and _session is not None:
            return _session
        settings = load_settings()
        if _session is None or _session.settings != settings:
            if _session is not None:
                _session.close()
            _session = Session(settings)
        return _session


def _resolve_output_uri(output_uri: Any, default: str | None) -> str | None:
    from .storage import check_uri, protocol_of

    if output_uri is None:
        uri = default
    elif output_uri is True:
        if not default:
            raise ValueError("output_uri=True needs a default_output_uri in the config file or "
                             "AUTOLOG_DEFAULT_OUTPUT_URI; none is set")
        uri = default
    elif output_uri is False:
        uri = None
    elif isinstance(output_uri, (str, os.PathLike)):
        uri = os.fspath(output_uri)
    else:
        raise TypeError(f"output_uri must be None, True, a path or a URI string, got {type(output_uri).__name__}")
    if not uri:
        return None
    from .redact import stored_uri

    uri = stored_uri(uri)  # credentials are never stored: the backend reads them from env/config files
    check_uri(uri)
    if protocol_of(uri) == "file":
        return os.path.abspath(uri[len("file://"):] if uri.startswith("file://") else uri)
    return uri.rstrip("/")


def _check_text(label: str, value: Any) -> str:
    from .paths import check_display_name

    return check_display_name(label, value)  # not empty, no NUL, bounded length


def init(project: str, task: str, output_uri: str | os.PathLike | bool | None = None, *, tags: Iterable[str] = (),
         frameworks: bool | Mapping[str, bool] = True, ignore: Iterable[str] = ()) -> Task:
    """Start a task and make it the process's current task (see the SPEC)."""
    global _current
    from .instrumentation import instrument, normalize_frameworks

    project, task = _check_text("project", project), _check_text("task", task)
    wanted = normalize_frameworks(frameworks)  # validated before anything is recorded
    tags = tuple(tags) if not isinstance(tags, str) else (tags,)
    ignore = tuple(ignore) if not isinstance(ignore, str) else (ignore,)
    for label, values in (("tags", tags), ("ignore", ignore)):
        if not all(isinstance(v, str) for v in values):
            raise TypeError(f"{label} must be strings, got {values!r}")
    with _lock:
        settings = load_settings()
        uri = _resolve_output_uri(output_uri, settings.default_output_uri)
        if _current is not None:
            _current.close(COMPLETED)
        session = get_session()
        new = Task._create(session, project, task, uri, tags, ignore)
        _current = new
        _install_process_hooks()
    instrument(wanted)
    from .sync import resume_orphans

    session.recorder.worker.submit(resume_orphans, session)
    return new


def _forget(task: Task) -> None:
    global _current
    with _lock:
        if _current is task:
            _current = None


def _excepthook(exc_type: type[BaseException], exc: BaseException, tb: Any) -> None:
    _uncaught.append(exc)
    _previous_excepthook(exc_type, exc, tb)


_previous_excepthook = sys.excepthook


def _at_exit() -> None:
    task = _current
    if task is not None and task._live and task._row.get("pid") == os.getpid():
        status = FAILED if _uncaught else COMPLETED
        task.close(status, timeout=task._session.settings.upload_timeout)
    if _session is not None:
        _session.close(timeout=10)
    if strict() and swallowed_in_strict_mode:
        # Test runs only: an internal error swallowed off the caller's thread must fail the process.
        print("autolog (strict): internal errors were swallowed:\n  " + "\n  ".join(swallowed_in_strict_mode),
              file=sys.stderr, flush=True)
        os._exit(70)


def _after_fork_in_child() -> None:
    global _current, _session
    _current = None
    _session = None


def _install_process_hooks() -> None:
    global _hooks_installed, _previous_excepthook
    if _hooks_installed:
        return
    _hooks_installed = True
    _previous_excepthook = sys.excepthook
    sys.excepthook = _excepthook
    atexit.register(_at_exit)
    os.register_at_fork(after_in_child=_after_fork_in_child)


def reset_for_tests() -> None:
    """Close the current task and session, remove every patch: a clean slate between tests."""
    global _current, _session
    from .instrumentation import uninstrument

    with _lock:
        if _current is not None:
            _current.close(COMPLETED)
        _current = None
        if _session is not None:
            _session.close()
        _session = None
        _uncaught.clear()
    uninstrument()
