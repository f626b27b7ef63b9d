"""`Session`: the background machinery of one autolog home in this process.

One store worker, one staging area, one recorder and one uploader, created on first use and shared by
every task of the process. A session is replaced when settings change (another `AUTOLOG_HOME` in a
test or notebook) and no task is running.
"""

from __future__ import annotations

import time
from functools import cached_property
from typing import TYPE_CHECKING

from ..config import Settings
from ..store.client import Store
from ..store.journal import Journal
from ..system.bursts import SaveBursts
from .recorder import Recorder
from .retention import Retention
from .staging import Staging
from .uploader import Uploader

if TYPE_CHECKING:
    from ..storage.cache import Cache


class Session:
    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        settings.home.mkdir(parents=True, exist_ok=True)
        self.journal = Journal(settings.journal_dir)
        beat = min(30.0, max(0.2, settings.heartbeat_timeout / 4))
        self.bursts = SaveBursts()  # the store and the recorder hold their work while saves arrive back to back
        self.store = Store(settings.tracking_uri, self.journal, heartbeat_interval=beat, bursts=self.bursts)
        self.staging = Staging(settings.staging_dir, self.bursts)
        self.uploader = Uploader(self.store, self.staging)
        self.recorder = Recorder(self.store, self.staging, self.uploader, self.bursts)
        self.retention = Retention(self.store)  # tasks' `keep` policies, applied once snapshots are durable
        self.uploader.dedup = settings.dedup
        self.uploader.on_durable = self.retention.durable

    @cached_property
    def cache(self) -> Cache:
        from ..storage.cache import Cache

        return Cache(self.settings.cache_dir, self.settings.cache_max_bytes)

    def pending(self) -> int:
        """Snapshots and artifacts not yet durable (hashing or uploading)."""
        return self.recorder.worker.pending + self.uploader.worker.pending

    def unfinished(self) -> int:
        """Snapshots and artifacts of this process whose upload (or local recording) is not confirmed yet."""
        return len(self.store.unfinished)

    def flush(self, timeout: float | None = None) -> bool:
        """Wait until hashing, uploads and store writes queued so far are done; False on timeout."""
        deadline = None if timeout is None else time.monotonic() + timeout

        def left() -> float | None:
            return None if deadline is None else max(0.0, deadline - time.monotonic())

        return (
            self.recorder.worker.wait(left())
            and self.uploader.worker.wait(left())
            and self.retention.wait(left())
            and self.store.barrier(left())
            # a local copy becomes durable when the store confirms it (during the barrier): its retention pass
            and self.retention.wait(left())
            and self.store.barrier(left())
        )

    def close(self, timeout: float | None = None, *, drain: bool = True) -> None:
        """Finish queued work (up to `timeout`, default `upload_timeout`), then stop every thread."""
        timeout = self.settings.upload_timeout if timeout is None else timeout
        deadline = time.monotonic() + timeout
        if drain:
            self.flush(timeout)
        self.recorder.worker.stop()
        self.uploader.worker.stop()
        self.retention.stop()
        self.store.close(max(0.2, deadline - time.monotonic()))
        self.journal.close()
