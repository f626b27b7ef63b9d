"""`Recorder`: the background half of every save and load, in call order.

For a save it only hashes the staged snapshot and remembers the user's file's fingerprint (so loading it
later needs no re-hash); the hash, and every outcome, go to the `Uploader`, the snapshot's one owner, which
places the bytes, writes the final state and releases staging. For a load it finds which model's bytes
were read: the fingerprint cache answers an unchanged known file without reading it; otherwise the file is
hashed and the hash looked up. Unknown content becomes one imported model.
Because jobs run in order, a load always sees the snapshots saved before it, even those not yet uploaded.
"""

from __future__ import annotations

import dataclasses
import os
import time
import uuid
from dataclasses import dataclass

from ..storage.fingerprint import Fingerprint, hash_members, hash_path, size_of
from ..storage.moves import moved_to
from ..store.client import Store
from ..store.states import UploadState
from ..system.bursts import SaveBursts
from ..system.worker import Worker
from .staging import Staging
from .uploader import STAGED_GONE, SnapshotJob, Uploader

__all__ = ["LinkJob", "Recorder", "SnapshotJob"]


@dataclass(frozen=True)
class LinkJob:
    task_id: str
    seq: int
    path: str
    files: tuple[str, ...] | None
    framework: str
    fingerprint: Fingerprint | None
    frozen: str | None = None  # the bytes read, hard-linked into staging as the load returned (`Staging.freeze`)


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
        # Held while saves arrive back to back (`autolog.system.bursts`). Even hashing alone waits: hashing the
        # previous snapshot during the next save slowed that save (docs/performance.md, "Design measurements").
        self._quiet.wait_for_quiet()
        if self.worker.stopping:  # exit stopped waiting: no new I/O (the row stays pending for `autolog sync`)
            return
        self.staging.refill()
        owner = self.uploader  # places the bytes, writes the final state, releases staging
        problem = self.staging.intact(job.staged_path)
        if problem:
            owner.lost(job, problem)
            return
        if job.on_moved is not None and job.user_path and job.user_fingerprint:
            moved = moved_to(job.user_path, job.user_fingerprint)
            if moved is not None:  # renamed or replaced into place after the save: named after its final path
                job = dataclasses.replace(job, dest_uri=job.on_moved(moved), user_path=moved)
        delivered: tuple[str, str] | None = None  # (hash, the URI the record keeps) of a copy made on this thread
        try:
            if job.local_dest:  # copied and hashed in one read, on this thread
                delivered = owner.deliver(job, threads=self.bursts.someone_waits())
                if delivered is None and self.worker.stopping:
                    return
            digest = delivered[0] if delivered else hash_path(job.staged_path)  # read: the user may truncate it
            size = size_of(job.staged_path)
        except FileNotFoundError:
            owner.fail(job, STAGED_GONE)
            return
        problem = self.staging.intact(job.staged_path) or self._differs_from_record(job, digest)
        if problem:
            owner.lost(job, problem, placed=delivered[1] if delivered else None)
            return
        owner.hashed(job, digest, size, placed=delivered[1] if delivered else None)
        if job.user_path and job.user_fingerprint:
            self._remember(job.user_path, job.user_fingerprint, digest)

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

    def content_hash(
        self, path: str, files: tuple[str, ...] | None, fingerprint: Fingerprint | None, frozen: str | None = None
    ) -> str:
        """Hash of what a load read: the fingerprint cache first, else the bytes (`frozen` when the load's
        files were hard-linked as it returned: the user may have deleted or rewritten them since)."""
        if files is not None:
            if frozen is not None:
                return hash_members((os.path.basename(f), os.path.join(frozen, os.path.basename(f))) for f in files)
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
        # a load's hash: links out are read, never uploaded
        digest = hash_path(frozen or path, follow_links_out=True)
        if fingerprint is not None and not os.path.isdir(frozen or path):
            self._remember(path, fingerprint, digest)
        return digest

    def _link(self, job: LinkJob) -> None:
        try:
            self._link_frozen(job)
        finally:
            if job.frozen is not None:
                self.staging.release(job.frozen)

    def _link_frozen(self, job: LinkJob) -> None:
        digest = self.content_hash(job.path, job.files, job.fingerprint, job.frozen)
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
                    "is_dir": job.files is not None or os.path.isdir(job.frozen or job.path),
                    "created": time.time(),
                    "upload_state": UploadState.DONE,
                    "import_key": digest,
                }
            )
        self.store.link_input(job.task_id, model["id"], job.seq, time.time())

    @staticmethod
    def _size(job: LinkJob) -> int:
        if job.files is not None and job.frozen is None:
            return sum(os.path.getsize(f) for f in job.files)
        return size_of(job.frozen or job.path)
