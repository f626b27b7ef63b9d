"""`Store`: the metadata store as seen by the rest of autolog, served by one background thread.

Importing SQLAlchemy and opening the database costs more than the whole start-up budget of
`autolog.init()`, so none of it happens on the caller's path: every operation is queued to a single
worker thread that owns the `SqlStore`. Writes from hooks are fire-and-forget (`submit`); reads wait for
their answer (`call`). The queue is FIFO, so a read sees every write this process made before it.
"""

from __future__ import annotations

import queue
import threading
from collections.abc import Callable
from concurrent.futures import Future
from typing import Any

from ..log import report_internal_error
from ..worker import lower_this_threads_priority

_STOP = object()


class Store:
    """Queue-backed facade over `SqlStore` (see module docstring)."""

    def __init__(self, url: str) -> None:
        self.url = url
        self._queue: queue.SimpleQueue[Any] = queue.SimpleQueue()
        self._sql: Any = None
        self._open_error: BaseException | None = None
        self._thread = threading.Thread(target=self._run, name="autolog-store", daemon=True)
        self._thread.start()

    def _run(self) -> None:
        lower_this_threads_priority()
        try:
            from .sql import SqlStore

            self._sql = SqlStore(self.url)
        except BaseException as exc:  # noqa: BLE001 - reported to every caller below
            self._open_error = exc
        while True:
            item = self._queue.get()
            if item is _STOP:
                break
            future, method, args, kwargs = item
            if not future.set_running_or_notify_cancel():
                continue
            try:
                if self._open_error is not None:
                    raise self._open_error
                future.set_result(getattr(self._sql, method)(*args, **kwargs))
            except BaseException as exc:  # noqa: BLE001 - handed to the caller through the future
                future.set_exception(exc)
        if self._sql is not None:
            self._sql.close()

    def submit(self, method: str, *args: Any, **kwargs: Any) -> Future:
        """Queue a store operation; the Future carries its result or error."""
        future: Future = Future()
        if not self._thread.is_alive():
            future.set_exception(RuntimeError("the autolog store worker has stopped"))
            return future
        self._queue.put((future, method, args, kwargs))
        return future

    def write(self, method: str, *args: Any, **kwargs: Any) -> Future:
        """Fire-and-forget write: a failure is logged as an internal error, never raised here."""
        future = self.submit(method, *args, **kwargs)
        future.add_done_callback(_log_failure(method))
        return future

    def call(self, method: str, *args: Any, **kwargs: Any) -> Any:
        """Run a store operation and wait for its result (raises its error)."""
        return self.submit(method, *args, **kwargs).result()

    def barrier(self, timeout: float | None = None) -> bool:
        """Wait until every operation queued so far has run; False on timeout."""
        future = self.submit("ping")
        try:
            future.result(timeout)
            return True
        except Exception:  # noqa: BLE001 - timeout or a dead worker: the caller decides
            return False

    def close(self, timeout: float | None = 30) -> None:
        """Drain the queue, then stop the worker and release the database."""
        if self._thread.is_alive():
            self._queue.put(_STOP)
            self._thread.join(timeout)


def _log_failure(method: str) -> Callable[[Future], None]:
    def done(future: Future) -> None:
        exc = future.exception()
        if exc is not None:
            report_internal_error(f"store.{method}", exc)

    return done
