"""`Uploader`: copies staged snapshots and artifacts to their `output_uri` on a background thread.

A save never waits for this. Each upload is retried with backoff on errors (an S3 hiccup, a dropped
connection); the record says `pending` until the bytes are durable, then `done` with the remote URI.
An upload that still fails is marked `failed` and keeps its staged bytes, so `autolog sync` can finish
it later, as it does for uploads of a process that died.
"""

from __future__ import annotations

import os
import time

from .log import logger
from .staging import Staging
from .storage import storage_for
from .store import Store
from .worker import Worker

RETRY_DELAYS = (0.5, 1.0, 2.0, 4.0, 8.0)


class Uploader:
    """Background copies from staging to remote storage, in order, with retries."""

    def __init__(self, store: Store, staging: Staging) -> None:
        self.store = store
        self.staging = staging
        self.worker = Worker("uploader")

    def enqueue(self, table: str, row_id: str, staged_path: str, dest_uri: str) -> None:
        self.worker.submit(self._upload, table, row_id, staged_path, dest_uri)

    def _upload(self, table: str, row_id: str, staged_path: str, dest_uri: str) -> None:
        storage = storage_for(dest_uri)
        for attempt, delay in enumerate((*RETRY_DELAYS, None)):
            try:
                storage.put(staged_path, dest_uri)
                break
            except FileNotFoundError:
                if not os.path.exists(staged_path):
                    self._fail(table, row_id, f"staged bytes at {staged_path} are gone")
                    return
                if delay is None:
                    raise
                time.sleep(delay)
            except Exception as exc:  # noqa: BLE001 - any backend error may be transient: retry, then record
                if delay is None:
                    self._fail(table, row_id, f"{type(exc).__name__}: {exc}")
                    return
                logger.debug("autolog: upload to %s failed (attempt %d), retrying: %s", dest_uri, attempt + 1, exc)
                time.sleep(delay)
        self.store.call("update", table, row_id, {"uri": dest_uri, "upload_state": "done", "staging_path": None,
                                                  "error": None})
        self.staging.release(staged_path)

    def _fail(self, table: str, row_id: str, error: str) -> None:
        logger.warning("autolog: upload of %s %s failed: %s; the bytes stay staged and `autolog sync` retries it",
                       table[:-1], row_id, error)
        self.store.write("update", table, row_id, {"upload_state": "failed", "error": error})

