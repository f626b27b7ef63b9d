"""`Recorder`: the background half of every save and load, in call order.

For a save it hashes the staged snapshot, stores its hash and size, remembers the user's file's
fingerprint (so loading it later needs no re-hash) and hands the bytes to the uploader. For a load it
finds which model's bytes were read: the fingerprint cache answers an unchanged known file without reading
it; otherwise the file is hashed and the hash looked up. Unknown content becomes one imported model.
Because jobs run in order, a load always sees the snapshots saved before it, even those not yet uploaded.
"""

from __future__ import annotations

import os
import time
import uuid
from concurrent.futures import Future
from dataclasses import dataclass
from typing import Any

from ..storage.access import protocol_of
from ..storage.fingerprint import Fingerprint, hash_members, hash_path, size_of
from ..store.client import Store
from ..system.bursts import SaveBursts
from ..system.worker import Worker
from .staging import Staging
from .uploader import Uploader


@dataclass(frozen=True)
class SnapshotJob:
    table: str  # "models" or "artifacts"
    row_id: str
    staged_path: str
    dest_uri: str | None  # None: record locally only
    user_path: str | None = None  # the user's file, fingerprinted for the load fast path
    user_fingerprint: Fingerprint | None = None


@dataclass(frozen=True)
class LinkJob:
    task_id: str
    seq: int
    path: str
    files: tuple[str, ...] | None
    framework: str
    fingerprint: Fingerprint | None


class _RecorderWorker(Worker):
    """The recorder's worker: someone waiting on it (`flush`, `task.models`) ends any hold at once."""

    def __init__(self, name: str, bursts: SaveBursts) -> None:
        self.bursts = bursts
        super().__init__(name)

    def wait(self, timeout: float | None = None) -> bool:
        self.bursts.wake()
        return super().wait(timeout)


class Recorder:
    """Hashing and lineage worker of one session."""

    def __init__(self, store: Store, staging: Staging, uploader: Uploader, bursts: SaveBursts | None = None) -> None:
        self.store = store
        self.staging = staging
        self.uploader = uploader
        self.bursts = bursts or staging.bursts
        self.worker = _RecorderWorker("recorder", self.bursts)
        self.worker.submit(staging.refill)  # folders for the first saves, made off the caller's thread
        self._quiet = self.bursts.waiter()

    def snapshot(self, job: SnapshotJob) -> None:
        self.bursts.save_ended()
        self.worker.submit(self._snapshot, job)

    def link(self, job: LinkJob) -> None:
        self.worker.submit(self._link, job)

    # -- jobs -------------------------------------------------------------------------------------------
    def _snapshot(self, job: SnapshotJob) -> None:
        # Held while saves arrive back to back (`autolog.system.bursts`). Even hashing alone waits: with the previous
        # snapshot hashed during the next 100 MB save, that save's median rose ~5% and its slow tail doubled.
        self._quiet.wait_for_quiet()
        self.staging.refill()
        staged = job.staged_path
        problem = self.staging.intact(staged)
        if problem:
            self.uploader.lost(job.table, job.row_id, problem, staged)
            return
        dest = job.dest_uri
        local_dest = dest if dest is not None and protocol_of(dest) == "file" else None  # copied on this thread
        delivered: tuple[str, str] | None = None  # (hash, uri) of a copy made on this thread
        try:
            if local_dest is not None:
                delivered = self.uploader.deliver(
                    job.table, job.row_id, staged, local_dest, threads=self.bursts.someone_waits()
                )
            digest = delivered[0] if delivered else hash_path(staged)  # read, never mapped: the user may truncate it
            size = size_of(staged)
        except FileNotFoundError:
            self.store.queue_update(job.table, job.row_id, {"upload_state": "failed", "error": "staged bytes are gone"})
            return
        problem = self.staging.intact(staged) or self._differs_from_record(job, digest)
        if problem:
            if delivered:  # only ever set for a local destination
                self.uploader.undo(job.table, job.row_id, delivered[1])
            self.uploader.lost(job.table, job.row_id, problem, staged)
            return
        values: dict[str, Any] = {"hash": digest, "size": size}
        if dest is None:
            values.update(upload_state="done", staging_path=None)
        elif delivered:
            values.update(uri=delivered[1], upload_state="done", staging_path=None, error=None)
        recorded = self.store.queue_update(job.table, job.row_id, values)
        if job.user_path and job.user_fingerprint:
            self._remember(job.user_path, job.user_fingerprint, digest)
        if dest is None or delivered:
            # Released only once the store holds the final state: a row that lives only in the journal (store
            # deleted, locked, unwritable) keeps its staged bytes for `autolog sync`.
            def release(done: Future[Any]) -> None:
                if not done.exception():
                    self.staging.release(staged)
                    self.uploader.durable(job.table, job.row_id)

            recorded.add_done_callback(release)
        elif local_dest is None:
            self.uploader.enqueue(job.table, job.row_id, staged, dest, digest)

    def _differs_from_record(self, job: SnapshotJob, digest: str) -> str | None:
        """For a snapshot resumed from another process (its staging state unknown here): the bytes must
        still have the hash recorded when they were first captured, if one was."""
        if self.staging.knows(job.staged_path):
            return None
        row = self.store.get(job.table, job.row_id)
        if row and row.get("hash") and row["hash"] != digest:
            return "its staged bytes changed after they were hashed"
        return None

    def _remember(self, path: str, fingerprint: Fingerprint, digest: str) -> None:
        """Record path -> hash if the file at `path` is still the one that was hashed."""
        try:
            if Fingerprint.of(path) != fingerprint:
                return
        except OSError:
            return
        self.store.queue_fingerprint(
            {
                "path": path,
                "size": fingerprint.size,
                "mtime_ns": fingerprint.mtime_ns,
                "inode": fingerprint.inode,
                "hash": digest,
                "updated": time.time(),
            }
        )

    def content_hash(self, path: str, files: tuple[str, ...] | None, fingerprint: Fingerprint | None) -> str:
        """Hash of what a load read: the fingerprint cache first, else the bytes."""
        if files is not None:
            return hash_members((os.path.basename(f), f) for f in files)
        if fingerprint is not None:
            known = self.store.get_fingerprint(path)
            if known and (known["size"], known["mtime_ns"], known["inode"]) == (
                fingerprint.size,
                fingerprint.mtime_ns,
                fingerprint.inode,
            ):
                recorded: str = known["hash"]
                return recorded
        digest = hash_path(path, follow_links_out=True)  # a load's hash: links out are read, never uploaded
        if fingerprint is not None and not os.path.isdir(path):
            self._remember(path, fingerprint, digest)
        return digest

    def _link(self, job: LinkJob) -> None:
        digest = self.content_hash(job.path, job.files, job.fingerprint)
        candidates = self.store.select("models", {"hash": digest}, order_by=("created",), desc=True)
        if any(row["task_id"] == job.task_id for row in candidates):
            return  # a task does not become an input of itself
        produced = [row for row in candidates if row["task_id"] is not None]
        # Same bytes saved under several names (Lightning's `last.ckpt` next to `epoch=2-step=6.ckpt`): prefer
        # the snapshot named like the file that was read.
        named = os.path.basename(job.path.rstrip("/"))
        produced.sort(key=lambda row: row["name"] != named)
        found = produced or candidates
        model = found[0] if found else None
        if model is None:
            model = self.store.import_model(
                {
                    "id": uuid.uuid4().hex,
                    "task_id": None,
                    "seq": 0,
                    "name": os.path.basename(job.path.rstrip("/")),
                    "framework": job.framework,
                    "uri": None,
                    "local_path": job.path,
                    "size": self._size(job),
                    "hash": digest,
                    "is_dir": job.files is not None or os.path.isdir(job.path),
                    "created": time.time(),
                    "upload_state": "done",
                    "import_key": digest,
                }
            )
        self.store.link_input(job.task_id, model["id"], job.seq, time.time())

    @staticmethod
    def _size(job: LinkJob) -> int:
        if job.files is not None:
            return sum(os.path.getsize(f) for f in job.files)
        return size_of(job.path)
