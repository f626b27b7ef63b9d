"""`Uploader`: copies staged snapshots and artifacts to their `output_uri`.

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

import errno
import os
import time
from collections.abc import Callable
from typing import TypeVar

from ..storage.access import Storage, storage_for
from ..store.client import Store
from ..system.log import logger
from ..system.worker import Worker
from . import dedup
from .staging import Staging

RETRY_DELAYS = (0.5, 1.0, 2.0, 4.0, 8.0)
# Errors that retrying within seconds cannot fix: the destination is full or refuses writes.
PERMANENT_ERRNOS = {errno.ENOSPC, errno.EDQUOT, errno.EROFS, errno.EACCES, errno.EPERM}

T = TypeVar("T")


class _Failed(Exception):
    """An upload that gave up: its reason is recorded on the row."""


class Uploader:
    """Background copies from staging to remote storage, in order, with retries."""

    def __init__(self, store: Store, staging: Staging) -> None:
        self.store = store
        self.staging = staging
        self.worker = Worker("uploader")
        self.dedup = True  # model snapshots stored once per content (`autolog.pipeline.dedup`); the session sets it
        self.on_durable: Callable[[str, str], None] | None = None  # (table, row id) once its bytes are durable

    def enqueue(self, table: str, row_id: str, staged_path: str, dest_uri: str, digest: str | None = None) -> None:
        self.worker.submit(self._upload, table, row_id, staged_path, dest_uri, digest)

    def _put(
        self, storage: Storage, table: str, row_id: str, staged_path: str, dest_uri: str, digest: str | None
    ) -> str:
        """Put the bytes where they belong; the URI the record keeps (a content-addressed object for a model)."""
        if table == "models" and self.dedup:
            return dedup.place(self.store, storage, row_id, staged_path, dest_uri, digest)
        storage.put(staged_path, dest_uri)
        return dest_uri

    def _upload(self, table: str, row_id: str, staged_path: str, dest_uri: str, digest: str | None = None) -> None:
        storage = storage_for(dest_uri)
        try:
            placed = self._attempts(
                table,
                row_id,
                staged_path,
                dest_uri,
                lambda: self._put(storage, table, row_id, staged_path, dest_uri, digest),
            )
        except _Failed:
            return
        problem = self.staging.intact(staged_path)
        if problem:  # the bytes uploaded may not be the ones hashed: never leave them as this snapshot's copy
            self.undo(table, row_id, placed)
            self.lost(table, row_id, problem, staged_path)
            return
        self.store.update(table, row_id, {"uri": placed, "upload_state": "done", "staging_path": None, "error": None})
        self.staging.release(staged_path)
        self.durable(table, row_id)

    def durable(self, table: str, row_id: str) -> None:
        """A row's bytes are durable and its record final: retention may now free older snapshots' bytes."""
        if self.on_durable is not None:
            self.on_durable(table, row_id)

    def undo(self, table: str, row_id: str, placed: str) -> None:
        """Take back a copy whose bytes turned out not to be the ones hashed (shared objects lose a reference)."""
        storage = storage_for(placed)
        if table == "models":
            dedup.undo(self.store, storage, row_id, placed)
        else:
            storage.remove(placed)

    def deliver(
        self, table: str, row_id: str, staged_path: str, dest_uri: str, *, threads: bool = False
    ) -> tuple[str, str] | None:
        """Copy to a local destination on the caller's (recorder's) thread and hash what was placed there
        (`threads`: someone waits for it, so the hash may take every core).

        Returns (the content hash, the URI the record keeps), or None when the copy failed (the row is then
        marked `failed`)."""
        storage = storage_for(dest_uri)

        def put() -> tuple[str, str]:
            if table == "models" and self.dedup:
                return dedup.place_local(self.store, storage, row_id, staged_path, dest_uri, threads=threads)
            return storage.put_hashed(staged_path, dest_uri, staged=True, threads=threads), dest_uri

        try:
            return self._attempts(table, row_id, staged_path, dest_uri, put)
        except _Failed:
            return None

    def _attempts(self, table: str, row_id: str, staged_path: str, dest_uri: str, put: Callable[[], T]) -> T:
        for attempt, delay in enumerate((*RETRY_DELAYS, None)):
            try:
                return put()
            except FileNotFoundError as exc:
                if not os.path.exists(staged_path):
                    self._fail(table, row_id, f"staged bytes at {staged_path} are gone")
                    raise _Failed from None
                if delay is None:  # the destination says "not found" (a missing bucket): record it
                    self._fail(table, row_id, f"{type(exc).__name__}: {exc}")
                    raise _Failed from None
            except Exception as exc:  # noqa: BLE001 - any backend error may be transient: retry, then record
                if delay is None or (isinstance(exc, OSError) and exc.errno in PERMANENT_ERRNOS):
                    self._fail(table, row_id, f"{type(exc).__name__}: {exc}")
                    raise _Failed from None
                logger.debug("autolog: upload to %s failed (attempt %d), retrying: %s", dest_uri, attempt + 1, exc)
            time.sleep(delay)
        raise AssertionError("unreachable")

    def _fail(self, table: str, row_id: str, error: str) -> None:
        logger.warning(
            "autolog: upload of %s %s failed: %s; the bytes stay staged and `autolog sync` retries it",
            table[:-1],
            row_id,
            error,
        )
        self.store.queue_update(table, row_id, {"upload_state": "failed", "error": error})

    def lost(self, table: str, row_id: str, reason: str, staged_path: str) -> None:
        """Flag a snapshot whose bytes autolog could not capture: never recorded with another save's hash.

        Its staged bytes are someone else's, so they are dropped (nothing for `sync` to finish)."""
        logger.warning(
            "autolog: %s %s is lost: %s; it is flagged (upload_state 'lost'), not recorded with other bytes",
            table[:-1],
            row_id,
            reason,
        )
        self.store.queue_update(
            table, row_id, {"upload_state": "lost", "error": reason, "hash": None, "uri": None, "staging_path": None}
        )
        self.staging.release(staged_path)
