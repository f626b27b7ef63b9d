"""`Store`: the metadata store as seen by the rest of autolog, served by one background thread.

Importing SQLAlchemy and opening the database costs more than the whole start-up budget of
`autolog.init()`, so none of it happens on the caller's path: every operation is queued to a single
worker thread that owns the `SqlStore`. Each operation is a typed method (`autolog.store.ops`): writes from
hooks are fire-and-forget (`queue_update`, ...); reads wait for their answer (`get`, `select`, ...). The
queue is FIFO, so a read sees every write this process made before it.

Rows that must survive (tasks, snapshots, artifacts) are also journaled on the caller's thread
(`autolog.store.journal`); the journal entry goes once the store confirms the row's final state. Before each
write the worker checks that the SQLite file is still the one it opened and still writable: a deleted or
unwritable store is warned about once and its writes fail fast, leaving the journal for `autolog sync`.
While idle the worker refreshes the heartbeat of this process's running tasks, so another host can
tell a dead run from a live one. A `fork` waits (briefly) until the worker is between operations, so the
child never inherits a half-done import or SQLite call.
"""

from __future__ import annotations

import collections
import os
import queue
import threading
import time
import weakref
from collections.abc import Callable
from concurrent.futures import Future
from typing import TYPE_CHECKING, Any

from ..errors import AutologError, StoreUnavailable
from ..system.bursts import SaveBursts
from ..system.log import logger, report_internal_error
from ..system.redact import redact, redact_text
from ..system.worker import lower_this_threads_priority
from .ops import Operation, StoreOperations
from .rows import WRITES
from .states import FINAL_TASK_STATUSES, SETTLED, UploadState

if TYPE_CHECKING:
    from .journal import Journal

_STOP = object()
# Writes whose caller has a way around a store that is down (a deduplicated upload stores under its own name
# instead): refused at once while the server is unreachable, never parked behind the others.
FAIL_FAST_WRITES = frozenset({"refs_write"})
FORK_WAIT_S = 2.0
STORE_DOWN_WAIT_S = 10.0  # a flush or exit waits this long at most for a server that went away
PARKED_RETRY_S = 1.0  # how often writes parked while the server is unreachable are tried again


class Store(StoreOperations):
    """Queue-backed facade over `SqlStore` (see module docstring); its operations are `StoreOperations`."""

    def __init__(
        self,
        url: str,
        journal: Journal | None = None,
        heartbeat_interval: float = 30.0,
        bursts: SaveBursts | None = None,
    ) -> None:
        self.url = url
        # Writes wait while the user's saves arrive back to back (`autolog.system.bursts`); a read, a barrier or
        # close ends the hold at once. Their rows are in the journal already.
        self.bursts = bursts or SaveBursts()
        self._quiet = self.bursts.waiter()
        self.journal = journal
        self.heartbeat_interval = heartbeat_interval
        self._queue: queue.SimpleQueue[Any] = queue.SimpleQueue()
        self._sql: Any = None
        self._open_error: str | None = None
        self._open_warned = False
        self._lost: str | None = None  # why the store file can no longer be used (deleted or replaced)
        self._unwritable_warned = False
        self._file: tuple[str, int, int] | None = None  # SQLite path, device, inode
        self._closed = False
        self._submit_lock = threading.RLock()  # reentrant: a signal handler may write while a save submits
        self.busy = threading.Lock()  # held around each operation; taken by fork (see _before_fork)
        self._fork_stuck = False
        self._live_tasks: set[str] = set()
        self.unfinished: set[tuple[str, str]] = set()  # (table, id) of rows this process still uploads
        self._last_beat = time.monotonic()
        self._parked: collections.deque[tuple[Any, ...]] = collections.deque()  # writes waiting for the server
        self._park_deadline = 0.0
        self._parked_reason = ""
        self._down = False  # the last operation found the server unreachable (see `unreachable`)
        self._thread = threading.Thread(target=self._run, name="autolog-store", daemon=True)
        _STORES.add(self)
        self._thread.start()

    # -- the worker thread ---------------------------------------------------------------------------
    def _run(self) -> None:
        lower_this_threads_priority()
        with self.busy:
            try:
                from .sql import SqlStore

                self._sql = SqlStore(self.url)
                self._file = _sqlite_file(self._sql)
            except BaseException as exc:  # noqa: BLE001 - reported to every caller below
                # Already a clear sentence (`StoreUnavailableError`, `ConfigError`), else say what failed.
                self._open_error = (
                    str(exc)
                    if isinstance(exc, AutologError)
                    else f"the store at {redact(self.url)} could not be opened: "
                    f"{redact_text(f'{type(exc).__name__}: {exc}')}"
                )
        while True:
            try:
                item = self._queue.get(timeout=PARKED_RETRY_S if self._parked else self._beat_due())
            except queue.Empty:
                if self._parked:
                    self._replay_parked()
                else:
                    self._beat()
                continue
            if item is _STOP:
                break
            future, method, args, kwargs = item
            if not future.set_running_or_notify_cancel():
                continue
            if method in WRITES and not self._parked:
                self._quiet.wait_for_quiet()
            if self._parked and not self._replay_parked():
                if (method in WRITES and method not in FAIL_FAST_WRITES) or method == "ping":
                    self._parked.append(item)  # in order behind the others: a barrier waits for them too
                else:  # a user's read fails now instead of waiting behind writes for a server that is down
                    future.set_exception(
                        StoreUnavailable(f"{self._parked_reason}; {len(self._parked)} record(s) wait for it")
                    )
                continue
            try:
                result = self._execute(method, args, kwargs)
            except BaseException as exc:  # noqa: BLE001 - handed to the caller through the future
                retry_later = getattr(exc, "retry_later", False) and self._sql is not None
                if method in WRITES and method not in FAIL_FAST_WRITES and retry_later:
                    self._park(item, exc)
                else:
                    self._down = bool(retry_later)
                    future.set_exception(exc)
                continue
            self._down = False
            future.set_result(result)
            if time.monotonic() - self._last_beat >= self.heartbeat_interval:
                self._beat()
        self._fail_queued()
        if self._sql is not None:
            with self.busy:
                self._sql.close()

    def _execute(self, method: str, args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
        """Run one operation on the database (under `busy`); confirm what it finalized."""
        with self.busy:
            self._check(method)
            result = getattr(self._sql, method)(*args, **kwargs)
            missing = result is None if method == "settle" else method == "update" and not result
            if missing and (args[0], args[1]) in self.unfinished:
                # Its insert never landed (store full, locked, unwritable): the caller must keep the
                # staged bytes, which the journal entry points to, for `autolog sync`.
                raise StoreUnavailable(
                    f"{args[0][:-1]} {args[1]} is not in the store; its record waits in the journal for `autolog sync`"
                )
            self._confirmed(method, args, result)
            return result

    # -- a server that went away: writes wait in order, reads fail fast --------------------------------------
    def _park(self, item: tuple[Any, ...], exc: BaseException) -> None:
        if not self._parked:
            self._park_deadline = time.monotonic() + self._sql.retry_seconds
            self._parked_reason = str(exc)
        self._parked.append(item)

    def _replay_parked(self) -> bool:
        """Run parked writes in order; True once none is left. Past the retry window they fail (their
        rows stay in the journal for `autolog sync`)."""
        while self._parked:
            future, method, args, kwargs = self._parked[0]
            try:
                result = self._execute(method, args, kwargs)
            except BaseException as exc:  # noqa: BLE001 - handed to the caller through the future
                if getattr(exc, "retry_later", False):
                    if time.monotonic() < self._park_deadline:
                        return False
                    self._fail_parked(exc)
                    return True
                self._parked.popleft()
                future.set_exception(exc)
                continue
            self._parked.popleft()
            future.set_result(result)
        return True

    def _fail_parked(self, exc: BaseException) -> None:
        while self._parked:
            future = self._parked.popleft()[0]
            future.set_exception(StoreUnavailable(f"gave up waiting for the store: {exc}"))

    def _beat_due(self) -> float:
        return max(0.05, self.heartbeat_interval - (time.monotonic() - self._last_beat))

    def _beat(self) -> None:
        self._last_beat = time.monotonic()
        if not self._live_tasks or self._sql is None:
            return
        with self.busy:
            try:
                self._check("heartbeat")
                self._sql.heartbeat(sorted(self._live_tasks), time.time())
            except Exception:  # noqa: BLE001 - a missed heartbeat is retried at the next one
                pass

    def _check(self, method: str) -> None:
        """Refuse an operation the store cannot take; warn once when the store was deleted or locked down."""
        if self._open_error is not None:
            if method in WRITES and not self._open_warned:
                # Said once, on the first record it costs (a read raises it to its caller instead).
                self._open_warned = True
                logger.warning("autolog: %s; records are kept in the journal for `autolog sync`", self._open_error)
            raise StoreUnavailable(self._open_error)
        if self._lost is not None:
            raise StoreUnavailable(self._lost)
        if method not in WRITES or self._file is None:
            return
        path, dev, ino = self._file
        try:
            st = os.stat(path)
            replaced = (st.st_dev, st.st_ino) != (dev, ino)
        except FileNotFoundError:
            replaced = True
        if replaced:
            self._lost = (
                f"the store file {path} was deleted or replaced while this process ran; its records "
                f"from now on are kept in the journal: run `autolog sync` to store them"
            )
            logger.warning("autolog: %s", self._lost)
            raise StoreUnavailable(self._lost)
        # SQLite maps nothing in rollback-journal mode, but an unwritable file still fails each write:
        # say so once and keep the records in the journal. (A file made immutable is refused even to root.)
        blocked = [
            p
            for p in (path, path + "-journal", path + "-wal", path + "-shm")
            if os.path.exists(p) and not os.access(p, os.W_OK)
        ]
        if not os.access(os.path.dirname(path), os.W_OK | os.X_OK):
            blocked.append(os.path.dirname(path))  # no room for SQLite's rollback journal
        if blocked:
            if not self._unwritable_warned:
                self._unwritable_warned = True
                logger.warning(
                    "autolog: the store file %s is not writable; records are kept in the journal for `autolog sync`",
                    blocked[0],
                )
            raise StoreUnavailable(f"the store file {blocked[0]} is not writable")

    def _confirmed(self, method: str, args: tuple[Any, ...], result: Any) -> None:
        """A write landed: drop journal entries and bookkeeping whose row reached its final state."""
        if method == "claim" and result:
            self.unfinished.add((args[0], args[1]))
            return
        if method == "end_task" and result:
            self._live_tasks.discard(args[0])
            if self.journal is not None:
                self.journal.forget("tasks", args[0])
            return
        if method not in ("update", "settle") or result is None or method == "update" and not result:
            return  # rowcount 0: the row is not in this store, keep its journal entry
        table, key, values = args[0], args[1], args[2]
        # A settle that found the row settled by another process (False) ends our part as well.
        state = values.get("upload_state") if result else UploadState.DONE
        if table == "tasks" and values.get("status") in FINAL_TASK_STATUSES:
            self._live_tasks.discard(key)
            if self.journal is not None:
                self.journal.forget("tasks", key)
        elif state in SETTLED:
            self.unfinished.discard((table, key))
            if state != UploadState.FAILED and self.journal is not None:
                self.journal.forget(table, key)

    def _fail_queued(self) -> None:
        with self._submit_lock:
            self._closed = True
        self._fail_parked(StoreUnavailable("the autolog store worker has stopped"))
        while True:
            try:
                item = self._queue.get_nowait()
            except queue.Empty:
                return
            if item is not _STOP and item[0].set_running_or_notify_cancel():
                item[0].set_exception(StoreUnavailable("the autolog store worker has stopped"))

    # -- the caller's side ---------------------------------------------------------------------------
    def submit(self, method: Operation, *args: Any, **kwargs: Any) -> Future[Any]:
        """Queue a store operation whose answer someone waits for (a read, a barrier, a write whose result is
        needed); the Future carries its result or error. On a user's thread it ends any hold of the queued
        writes (`autolog.system.bursts`): they run first, in order."""
        self.bursts.wake_for_the_user()
        return self._enqueue(method, args, kwargs)

    def _enqueue(self, method: Operation, args: tuple[Any, ...], kwargs: dict[str, Any]) -> Future[Any]:
        future: Future[Any] = Future()
        with self._submit_lock:
            if self._closed or not self._thread.is_alive():
                future.set_exception(StoreUnavailable("the autolog store worker has stopped"))
                return future
            self._queue.put((future, method, args, kwargs))
        return future

    def _write(self, method: Operation, *args: Any) -> Future[Any]:
        """Fire-and-forget write (the `queue_*` operations): a failure is logged as an internal error, never
        raised here.

        Inserted tasks, snapshots and artifacts are journaled first, on this thread.
        """
        self._journal(method, args)
        future = self._enqueue(method, args, {})  # nobody waits for it: it may be held during a burst of saves
        future.add_done_callback(_log_failure(method))
        return future

    def _journal(self, method: str, args: tuple[Any, ...]) -> None:
        if method == "insert" and args[0] in ("tasks", "models") or method == "replace_artifact":
            table, row = ("artifacts", args[0]) if method == "replace_artifact" else (args[0], args[1])
            if table == "tasks":
                self._live_tasks.add(row["id"])
            elif row.get("upload_state") == UploadState.PENDING:
                self.unfinished.add((table, row["id"]))
            if self.journal is not None:
                self.journal.record(table, row)
        elif method == "update" and args[0] == "tasks" and args[2].get("status") in FINAL_TASK_STATUSES:
            if self.journal is not None:
                self.journal.task_ended(args[1], args[2])
        elif method in ("update", "settle") and args[0] != "tasks" and self.journal is not None:
            self.journal.updated(args[0], args[1], args[2])  # a journaled row's new state waits there too

    @property
    def unreachable(self) -> bool:
        """True while writes are parked because the server went away (a hint for work that would otherwise wait
        on the store, such as placing a deduplicated object: it is read without a lock)."""
        return bool(self._parked) or self._down

    def barrier(self, timeout: float | None = None) -> bool:
        """Wait until every operation queued so far has run; False on timeout."""
        future = self.submit("ping")
        if self._parked:  # the server is down: its records are safe in the journal, so wait only a little
            timeout = STORE_DOWN_WAIT_S if timeout is None else min(timeout, STORE_DOWN_WAIT_S)
        try:
            future.result(timeout)
            return True
        except StoreUnavailable:
            return True  # nothing more will run: nothing to wait for
        except Exception:  # noqa: BLE001 - timeout: the caller decides
            return False

    def close(self, timeout: float | None = 30) -> None:
        """Drain the queue (up to `timeout`), then stop the worker and release the database."""
        with self._submit_lock:
            if self._closed:
                return
            self._closed = True
            self.bursts.wake()
            self._queue.put(_STOP)
        self._thread.join(timeout)


def _sqlite_file(sql: Any) -> tuple[str, int, int] | None:
    database = getattr(sql.engine.url, "database", None)
    if not sql.url.startswith("sqlite") or not database or database == ":memory:":
        return None
    path = os.path.abspath(database)
    st = os.stat(path)
    return path, st.st_dev, st.st_ino


def _log_failure(method: str) -> Callable[[Future[Any]], None]:
    def done(future: Future[Any]) -> None:
        exc = future.exception()
        if exc is not None and not isinstance(exc, StoreUnavailable):  # those were warned about once
            report_internal_error(f"store.{method}", exc)

    return done


# -- fork: never copy a thread that is halfway through an import or an SQLite call -------------------------
_STORES: weakref.WeakSet[Store] = weakref.WeakSet()
_held: list[threading.Lock] = []


def _before_fork() -> None:
    for store in list(_STORES):
        if not store._thread.is_alive():
            continue
        # A store stuck on a lock for long (another process holds the database) delays one fork, not
        # every fork of a DataLoader: after one timeout, later forks only try until it is free again.
        if store.busy.acquire(timeout=0 if store._fork_stuck else FORK_WAIT_S):
            store._fork_stuck = False
            _held.append(store.busy)
        else:
            store._fork_stuck = True


def _after_fork() -> None:
    while _held:
        _held.pop().release()


os.register_at_fork(before=_before_fork, after_in_parent=_after_fork, after_in_child=_after_fork)
