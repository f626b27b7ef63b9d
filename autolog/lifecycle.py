"""The process's current task: `init`, closing at exit, and the session behind it.

Closing at interpreter exit ends the current task as `completed`, or `failed` when an uncaught exception
(KeyboardInterrupt included) reached `sys.excepthook`, after waiting up to `upload_timeout` for pending
uploads. It must run while the interpreter can still do network I/O: a plain `atexit` function runs after
`concurrent.futures` has shut its executors down, and s3fs/aiobotocore need one. So the handler is
registered with `threading._register_atexit` (run by `threading._shutdown`, before atexit, in reverse
order of registration) after `concurrent.futures.thread` is imported, so it runs before that module's own
shutdown; plain `atexit` is only the fallback. The whole exit takes at most `upload_timeout` plus a
couple of seconds.

SIGTERM (how SLURM and Kubernetes stop jobs) ends the task as `aborted` after the same grace period for
its uploads, then re-delivers the signal with the default action, so the exit status is unchanged. The
handler is installed only where SIGTERM still has its default action: a handler of the user's wins.

A forked child starts with no current task: it records nothing unless it calls `init` itself (then with
its own session, store connection and threads), and never closes its parent's task.
"""

from __future__ import annotations

import atexit
import os
import signal
import sys
import threading
from collections.abc import Callable, Iterable, Mapping
from typing import Any

from .config import load_settings
from .pipeline.session import Session
from .run import current
from .run.current import current_task, get_session
from .run.task import ABORTED, COMPLETED, FAILED, Task, describe_failure, follower_task, new_task
from .system.log import strict, swallowed_in_strict_mode
from .system.rank import global_rank

__all__ = ["current_task", "get_session", "init"]

_lock = current.lock
_hooks_installed = False
_uncaught: list[BaseException] = []
_inherited: list[Session] = []  # a forked child keeps its parent's session alive and untouched
_exited = False
_previous_excepthook: Callable[[type[BaseException], BaseException, Any], Any]  # set when the hooks install


def _resolve_output_uri(output_uri: Any, default: str | None) -> str | None:
    from .storage.access import check_uri, protocol_of

    if output_uri is None:
        uri = default
    elif output_uri is True:
        if not default:
            raise ValueError(
                "output_uri=True needs a default_output_uri in the config file or "
                "AUTOLOG_DEFAULT_OUTPUT_URI; none is set"
            )
        uri = default
    elif output_uri is False:
        uri = None
    elif isinstance(output_uri, (str, os.PathLike)):
        uri = os.fspath(output_uri)
    else:
        raise TypeError(f"output_uri must be None, True, a path or a URI string, got {type(output_uri).__name__}")
    if not uri:
        return None
    from .system.redact import stored_uri

    uri = stored_uri(uri)  # credentials are never stored: the backend reads them from env/config files
    check_uri(uri)
    if protocol_of(uri) == "file":
        return os.path.abspath(uri[len("file://") :] if uri.startswith("file://") else uri)
    return uri.rstrip("/")


def _check_text(label: str, value: Any) -> str:
    from .system.paths import check_display_name

    return check_display_name(label, value)  # not empty, no NUL, bounded length


def init(
    project: str,
    task: str,
    output_uri: str | os.PathLike[str] | bool | None = None,
    *,
    tags: Iterable[str] = (),
    frameworks: bool | Mapping[str, bool] = True,
    ignore: Iterable[str] = (),
    keep: str | Mapping[str, Any] | None = None,
) -> Task:
    """Start a task (a run) and make it the process's current task (`autolog.current_task()`).

    A second `init()` in the same process closes the first one as completed and starts the new one::

        task = autolog.init(project="mnist", task="train", output_uri="s3://team-models/")

    `output_uri`: where model snapshots are copied. `None`: the configured `default_output_uri`, and when none
    is configured models are recorded by their local path only (nothing copied); `True`: the configured
    default, an error if none; a string: any fsspec URI (`/abs/dir`, `file://`, `s3://`, `gs://`, `az://`,
    `memory://`); a scheme fsspec does not know is a `ValueError` here, naming the scheme.
    `tags`: free-text labels (`Task.query(tags=...)`). `frameworks`: `True` (every hook), `False` (none) or a
    mapping such as `{"tensorflow": False}`, by hook name (`torch`, `tensorflow`, `keras`, `joblib`,
    `xgboost`, `safetensors`, `lightning`, `transformers`, `dcp`, `accelerate`, `peft`, `lightgbm`, `catboost`,
    `torchscript`, `torch_export`, `onnx`, `skops`).
    `ignore`: glob patterns (`"*/data/*.pt"`); a save or load whose path matches one is not recorded.
    `keep`: a retention policy such as `"last=3,best=2:val_loss"` (`docs/storage.md`); None: the configured
    default (`keep` key, `AUTOLOG_KEEP`), and without one every snapshot keeps its bytes. A policy that cannot
    be read is a `ValueError` here.
    On a distributed rank other than 0 (`RANK`, or `torch.distributed` once initialised) it returns a task
    that is never stored and records nothing: a job is ONE task, rank 0's.

    As a context manager (`with autolog.init(...) as task:`) the task ends `completed`, or `failed` when an
    exception leaves the block (it propagates). Otherwise it ends at interpreter exit, after pending uploads
    finish (up to `upload_timeout`): `completed`, or `failed` after an uncaught exception.
    """
    from .capture.instrumentation import instrument, normalize_frameworks

    project, task = _check_text("project", project), _check_text("task", task)
    wanted = normalize_frameworks(frameworks)  # validated before anything is recorded
    tags = tuple(tags) if not isinstance(tags, str) else (tags,)
    ignore = tuple(ignore) if not isinstance(ignore, str) else (ignore,)
    from .store.keep import parse as parse_keep

    policy = parse_keep(keep, "init(keep=...)")  # validated before anything is recorded
    for label, values in (("tags", tags), ("ignore", ignore)):
        if not all(isinstance(v, str) for v in values):
            raise TypeError(f"{label} must be strings, got {values!r}")
    with _lock:
        settings = load_settings()
        uri = _resolve_output_uri(output_uri, settings.default_output_uri)
        if global_rank() != 0:
            # Every rank of a distributed job may call init; the job is ONE task, rank 0's (SPEC).
            return follower_task(project, task, uri, tags)
        previous = current_task()
        if previous is not None:
            previous.close(COMPLETED, timeout=settings.upload_timeout)
        session = get_session()
        policy_text = policy.text if policy is not None else (settings.keep if keep is None else None)
        new = new_task(session, project, task, uri, tags, ignore, policy_text)
        current.set_current(new)
        _install_process_hooks()
    instrument(wanted)
    from .pipeline.sync import recover

    session.recorder.worker.submit(recover, session)
    return new


def _excepthook(exc_type: type[BaseException], exc: BaseException, tb: Any) -> None:
    _uncaught.append(exc)
    _previous_excepthook(exc_type, exc, tb)


def _end_process(status: str | None = None) -> None:
    """Close the current task (waiting up to `upload_timeout`) and stop the session; once per process."""
    global _exited
    with _lock:
        if _exited:
            return
        _exited = True
    task, session = current.current_task(), current.current_session()
    if task is not None and task.is_live_in_this_process():
        status = status or (FAILED if _uncaught else COMPLETED)
        failure = describe_failure(_uncaught[-1]) if status == FAILED and _uncaught else None
        task.close(status, timeout=task.session.settings.upload_timeout, failure=failure)
    if session is not None:
        # Whatever the uploads left is journaled; stopping the threads takes a moment, never a new wait.
        drained = session.pending() == 0
        session.close(timeout=0.5 if drained else 0.0, drain=drained)


def _wait_for_user_threads() -> None:
    """Python joins non-daemon threads after `threading` exit hooks: join the user's first, as `atexit` would
    have run after them, so a save made by a training thread that outlives the main one is still recorded.
    Executor workers are left alone: they end only when concurrent.futures' own hook (after ours) runs."""
    from concurrent.futures import thread as cf_thread

    executors = set(getattr(cf_thread, "_threads_queues", {}))
    me = threading.current_thread()
    for t in threading.enumerate():
        if t is not me and not t.daemon and t not in executors and t is not threading.main_thread():
            t.join()


def _at_exit() -> None:
    try:
        if not _exited:
            _wait_for_user_threads()
        _end_process()
    except Exception as exc:  # noqa: BLE001 - exit must go on
        from .system.log import report_internal_error

        report_internal_error("exit", exc)
    if strict() and swallowed_in_strict_mode:
        # Test runs only: an internal error swallowed off the caller's thread must fail the process.
        print(
            "autolog (strict): internal errors were swallowed:\n  " + "\n  ".join(swallowed_in_strict_mode),
            file=sys.stderr,
            flush=True,
        )
        os._exit(70)


def _after_fork_in_child() -> None:
    global _exited
    session = current.detach()
    if session is not None:
        _inherited.append(session)  # never closed or collected here: its SQLite handles are the parent's
    _exited = False


def _on_sigterm(signum: int, frame: Any) -> None:
    """End the run as `aborted` (uploads get the grace period), then die of SIGTERM as before."""
    try:
        _end_process(ABORTED)
    except Exception as exc:  # noqa: BLE001 - the process is ending anyway
        from .system.log import report_internal_error

        report_internal_error("sigterm", exc)
    finally:
        signal.signal(signal.SIGTERM, signal.SIG_DFL)
        os.kill(os.getpid(), signal.SIGTERM)


def _install_sigterm() -> None:
    if threading.current_thread() is not threading.main_thread():
        return
    try:
        if signal.getsignal(signal.SIGTERM) == signal.SIG_DFL:
            signal.signal(signal.SIGTERM, _on_sigterm)
    except (ValueError, OSError):
        pass  # not the main interpreter, or signals unavailable


def _register_exit() -> None:
    """Run `_at_exit` before concurrent.futures shuts its executors (see the module docstring)."""
    import concurrent.futures.thread  # noqa: F401 - its own exit hook must be registered before ours

    register = getattr(threading, "_register_atexit", None)
    if register is not None:
        try:
            register(_at_exit)
        except RuntimeError:
            pass  # already shutting down
    atexit.register(_at_exit)  # fallback; a no-op once the first one ran


def _install_process_hooks() -> None:
    global _hooks_installed, _previous_excepthook
    if _hooks_installed:
        return
    _hooks_installed = True
    _previous_excepthook = sys.excepthook
    sys.excepthook = _excepthook
    _register_exit()
    _install_sigterm()
    os.register_at_fork(after_in_child=_after_fork_in_child)
