"""`Uploader`: the one owner of a snapshot (or artifact) after its save, from "bytes frozen" to "state final,
staging released".

The recorder hashes a snapshot's staged bytes and hands the result here (`hashed`), or reports what went
wrong (`fail`, `lost`); nothing else writes a row's final upload state or releases its staged bytes. The
states and what `autolog sync` does from each are in `autolog.store.states`.

A save never waits for this. Remote copies run on the uploader's background thread; a copy to a local
folder runs in the recorder's pass over the snapshot (`deliver`), hashed while copied (one read), or a
hard link when nothing outside staging can write the staged inode. Each copy is retried with backoff
on errors (an S3 hiccup, a dropped connection); a full or read-only destination (`ENOSPC`, `EROFS`,
...) is not transient and fails at once. The record says `pending` until the bytes are durable, then
`done` with the remote URI. An upload that still fails is marked `failed`, leaves no partial file
behind, and keeps its staged bytes, so `autolog sync` can finish it later, as it does for uploads of a
process that died. A snapshot whose staged bytes changed before they were copied is marked `lost`.
"""

from __future__ import annotations

import contextlib
import errno
import os
from collections.abc import Callable
from concurrent.futures import Future
from dataclasses import dataclass
from typing import Any, TypeVar

from ..errors import StoreUnavailableError
from ..storage.access import Storage, protocol_of, storage_for
from ..storage.fingerprint import Fingerprint
from ..store.client import Store
from ..store.rows import TableName
from ..store.states import UploadState
from ..system.log import logger
from ..system.worker import Worker
from . import dedup
from .staging import Staging

RETRY_DELAYS = (0.5, 1.0, 2.0, 4.0, 8.0)
# Errors that retrying within seconds cannot fix: the destination is full or refuses writes.
PERMANENT_ERRNOS = {errno.ENOSPC, errno.EDQUOT, errno.EROFS, errno.EACCES, errno.EPERM}
STAGED_GONE = "staged bytes are gone"
DONE_AT_DEST = {"upload_state": UploadState.DONE, "staging_path": None, "error": None}

T = TypeVar("T")


@dataclass(frozen=True)
class SnapshotJob:
    """One snapshot or artifact row whose staged bytes are to be hashed and placed."""

    table: TableName  # "models" or "artifacts"
    row_id: str
    staged_path: str
    dest_uri: str | None  # None: record locally only
    user_path: str | None = None  # the user's file, fingerprinted for the load fast path
    user_fingerprint: Fingerprint | None = None
    # Called with the user's file's new path when it was renamed after the save (`storage.moves`); returns
    # the destination for that name. Set for a model saved by a framework.
    on_moved: Callable[[str], str | None] | None = None

    @property
    def local_dest(self) -> bool:
        """A destination on a local file system: copied (and hashed) in the recorder's pass."""
        return self.dest_uri is not None and protocol_of(self.dest_uri) == "file"


class _Failed(Exception):
    """An upload that gave up: its reason is recorded on the row."""


class Uploader:
    """Owner of each snapshot after its save: places the bytes, writes the final state, releases staging."""

    def __init__(self, store: Store, staging: Staging) -> None:
        self.store = store
        self.staging = staging
        self.worker = Worker("uploader")
        self.dedup = True  # model snapshots stored once per content (`autolog.pipeline.dedup`); the session sets it
        self.on_durable: Callable[[str, str], None] | None = None  # (table, row id) once its bytes are durable

    # -- what the recorder hands over ------------------------------------------------------------------
    def deliver(self, job: SnapshotJob, *, threads: bool = False) -> tuple[str, str] | None:
        """Copy to a local destination on the caller's (recorder's) thread and hash what was placed there
        (`threads`: someone waits for it, so the hash may take every core).

        Returns (the content hash, the URI the record keeps: a content-addressed object for a deduplicated
        model), or None when the copy failed (the row is then marked `failed`)."""
        assert job.dest_uri is not None
        dest = job.dest_uri
        storage = storage_for(dest)

        def put() -> tuple[str, str]:
            if self._deduplicated(job):
                with contextlib.suppress(StoreUnavailableError):  # the store went away: stored under its own name
                    return dedup.place_local(self.store, storage, job.row_id, job.staged_path, dest, threads=threads)
            return storage.put_hashed(job.staged_path, dest, staged=True, threads=threads), dest

        try:
            return self._attempts(job, put)
        except _Failed:
            return None

    def hashed(self, job: SnapshotJob, digest: str, size: int, *, placed: str | None = None) -> None:
        """The recorder hashed the staged bytes: record hash and size, and either settle the row (nothing to
        copy, or `placed` already at that URI by `deliver`) or send the bytes on to the background copy."""
        values: dict[str, Any] = {"hash": digest, "size": size}
        if job.dest_uri is None:
            self._settle_done(job, {**values, "upload_state": UploadState.DONE, "staging_path": None})
        elif placed is not None:
            self._settle_done(job, {**values, "uri": placed, **DONE_AT_DEST})
        else:
            self.store.queue_update(job.table, job.row_id, values)
        if job.dest_uri is not None and placed is None and not job.local_dest:
            self.enqueue(job, digest)

    def fail(self, job: SnapshotJob, error: str) -> None:
        """Settle a row as `failed` without a warning (its staged bytes are gone: nothing left to retry)."""
        self.store.queue_settle(job.table, job.row_id, {"upload_state": UploadState.FAILED, "error": error})

    def lost(self, job: SnapshotJob, reason: str, *, placed: str | None = None) -> None:
        """Flag a snapshot whose bytes autolog could not capture: never recorded with another save's hash.

        Its staged bytes are someone else's, so they are dropped (nothing for `sync` to finish), and so is a
        copy `placed` at its destination."""
        if placed is not None:
            self.undo(job, placed)
        logger.warning(
            "autolog: %s %s is lost: %s; it is flagged (upload_state 'lost'), not recorded with other bytes",
            job.table[:-1],
            job.row_id,
            reason,
        )
        self.store.queue_settle(
            job.table,
            job.row_id,
            {"upload_state": UploadState.LOST, "error": reason, "hash": None, "uri": None, "staging_path": None},
        )
        self.staging.release(job.staged_path)

    # -- the background copy ---------------------------------------------------------------------------
    def enqueue(self, job: SnapshotJob, digest: str | None = None) -> None:
        """Copy a hashed snapshot to its remote destination on the uploader's thread."""
        self.worker.submit(self._upload, job, digest)

    def _put(self, storage: Storage, job: SnapshotJob, digest: str | None) -> str:
        """Put the bytes where they belong; the URI the record keeps (a content-addressed object for a model)."""
        assert job.dest_uri is not None
        if self._deduplicated(job):
            with contextlib.suppress(StoreUnavailableError):  # the store went away: stored under its own name
                return dedup.place(self.store, storage, job.row_id, job.staged_path, job.dest_uri, digest)
        storage.put(job.staged_path, job.dest_uri)
        return job.dest_uri

    def _deduplicated(self, job: SnapshotJob) -> bool:
        """Whether this snapshot is stored by content. Placing an object counts its reference in the store, so
        while the store is unreachable a snapshot is stored under its own name instead: its bytes must not wait
        for the records (retention and gc still free such a copy)."""
        return job.table == "models" and self.dedup and not self.store.unreachable

    def _upload(self, job: SnapshotJob, digest: str | None = None) -> None:
        assert job.dest_uri is not None
        storage = storage_for(job.dest_uri)
        try:
            placed = self._attempts(job, lambda: self._put(storage, job, digest))
        except _Failed:
            return
        problem = self.staging.intact(job.staged_path)
        if problem:  # the bytes uploaded may not be the ones hashed: never leave them as this snapshot's copy
            self.lost(job, problem, placed=placed)
            return
        # Queued, never awaited: with the metadata store down, the next upload goes on and this row's new state
        # waits in the store's queue and the journal (its staged bytes stay until the store holds it).
        self._settle_done(job, {"uri": placed, **DONE_AT_DEST})

    def undo(self, job: SnapshotJob, placed: str) -> None:
        """Take back a copy whose bytes turned out not to be the ones hashed (shared objects lose a reference)."""
        storage = storage_for(placed)
        if job.table == "models":
            dedup.undo(self.store, storage, job.row_id, placed)
        else:
            storage.remove(placed)

    def durable(self, table: TableName, row_id: str) -> None:
        """A row's bytes are durable and its record final: retention may now free older snapshots' bytes."""
        if self.on_durable is not None:
            self.on_durable(table, row_id)

    def _settle_done(self, job: SnapshotJob, values: dict[str, Any]) -> None:
        """Write `done` (over `pending`/`failed` only) and release the staged bytes once the store holds it: a
        row that lives only in the journal (store deleted, locked, unwritable, down) keeps its staged bytes for
        `autolog sync`."""
        recorded = self.store.queue_settle(job.table, job.row_id, values)

        def release(done: Future[Any]) -> None:
            if not done.exception():
                self.staging.release(job.staged_path)
                self.durable(job.table, job.row_id)

        recorded.add_done_callback(release)

    def _attempts(self, job: SnapshotJob, put: Callable[[], T]) -> T:
        for attempt, delay in enumerate((*RETRY_DELAYS, None)):
            if self.worker.stopping:  # exit stopped waiting: no new I/O, nothing said (the row stays pending)
                raise _Failed
            try:
                return put()
            except FileNotFoundError as exc:
                if not os.path.exists(job.staged_path):
                    self._fail(job, f"staged bytes at {job.staged_path} are gone")
                    raise _Failed from None
                if delay is None:  # the destination says "not found" (a missing bucket): record it
                    self._fail(job, f"{type(exc).__name__}: {exc}")
                    raise _Failed from None
            except Exception as exc:  # noqa: BLE001 - any backend error may be transient: retry, then record
                if self.worker.stopping:
                    raise _Failed from None
                if delay is None or (isinstance(exc, OSError) and exc.errno in PERMANENT_ERRNOS):
                    self._fail(job, f"{type(exc).__name__}: {exc}")
                    raise _Failed from None
                logger.debug("autolog: upload to %s failed (attempt %d), retrying: %s", job.dest_uri, attempt + 1, exc)
            if self.worker.sleep(delay):
                raise _Failed
        raise AssertionError("unreachable")

    def _fail(self, job: SnapshotJob, error: str) -> None:
        logger.warning(
            "autolog: upload of %s %s failed: %s; the bytes stay staged and `autolog sync` retries it",
            job.table[:-1],
            job.row_id,
            error,
        )
        self.fail(job, error)
