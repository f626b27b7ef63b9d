"""A FIFO background worker thread that can be waited on with a timeout.

The recorder and the uploader are each one of these: jobs run in submission order (so lineage sees every
earlier snapshot), the caller never waits unless it asks to (`wait`), and an error in a job is contained
and reported like every other internal error.
"""

from __future__ import annotations

import collections
import os
import threading
import time
from collections.abc import Callable
from typing import Any

from ..errors import StoreUnavailable
from .log import report_internal_error

BACKGROUND_NICENESS = 10


def lower_this_threads_priority() -> None:
    """Let training keep its cores: hashing and copying run at a lower CPU priority (Linux, per thread)."""
    try:
        os.setpriority(os.PRIO_PROCESS, threading.get_native_id(), BACKGROUND_NICENESS)
    except (AttributeError, OSError):
        pass  # not Linux, or not allowed: run at normal priority


def _already_reported(exc: Exception) -> bool:
    """A store that cannot take writes was warned about once; its records wait in the journal."""
    return isinstance(exc, StoreUnavailable)


class Worker:
    """One daemon thread running queued callables in order."""

    def __init__(self, name: str) -> None:
        self.name = name
        self._jobs: collections.deque[tuple[Callable[..., Any], tuple[Any, ...]]] = collections.deque()
        self._cond = threading.Condition()
        self._unfinished = 0
        self._stopping = False
        self._thread = threading.Thread(target=self._run, name=f"autolog-{name}", daemon=True)
        self._thread.start()

    def submit(self, job: Callable[..., Any], *args: Any) -> None:
        with self._cond:
            if self._stopping:
                return  # stopped: no new work (what it would have done is pending in the store and journal)
            self._jobs.append((job, args))
            self._unfinished += 1
            self._cond.notify_all()

    def _run(self) -> None:
        lower_this_threads_priority()
        while True:
            with self._cond:
                while not self._jobs and not self._stopping:
                    self._cond.wait()
                if not self._jobs:
                    return
                job, args = self._jobs.popleft()
            try:
                job(*args)
            except Exception as exc:  # noqa: BLE001 - contained; strict mode makes the test suite fail on it
                # Once stopped (exit gave up waiting), an in-flight job failing during interpreter shutdown
                # says nothing on the user's stderr: its row is pending for `autolog sync` anyway.
                if not self.stopping and not _already_reported(exc):
                    report_internal_error(self.name, exc)
            finally:
                with self._cond:
                    self._unfinished -= 1
                    self._cond.notify_all()

    @property
    def pending(self) -> int:
        with self._cond:
            return self._unfinished

    def wait(self, timeout: float | None = None) -> bool:
        """Block until every submitted job has finished; False if `timeout` passed first."""
        deadline = None if timeout is None else time.monotonic() + timeout
        with self._cond:
            while self._unfinished:
                remaining = None if deadline is None else deadline - time.monotonic()
                if remaining is not None and remaining <= 0:
                    return False
                self._cond.wait(remaining)
        return True

    @property
    def stopping(self) -> bool:
        return self._stopping

    def stop(self) -> None:
        """Stop now, not after the queue: the job running finishes (a job checks `stopping` or `sleep` before new
        I/O), queued jobs are dropped and later ones refused. Their records are pending in the store and the
        journal, where `autolog sync` or the next `init` finds them."""
        with self._cond:
            self._stopping = True
            self._unfinished -= len(self._jobs)
            self._jobs.clear()
            self._cond.notify_all()

    def sleep(self, seconds: float) -> bool:
        """Wait `seconds` (a retry's backoff) unless the worker is stopped first; True if it was."""
        with self._cond:
            return self._cond.wait_for(lambda: self._stopping, seconds)
