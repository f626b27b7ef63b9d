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
from dataclasses import dataclass

from .fingerprint import Fingerprint, hash_members, hash_path, size_of
from .staging import Staging
from .store import Store
from .uploader import Uploader
from .worker import Worker


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


class Recorder:
    """Hashing and lineage worker of one session."""

    def __init__(self, store: Store, staging: Staging, uploader: Uploader) -> None:
        self.store = store
        self.staging = staging
        self.uploader = uploader
        self.worker = Worker("recorder")

    def snapshot(self, job: SnapshotJob) -> None:
        self.worker.submit(self._snapshot, job)

    def link(self, job: LinkJob) -> None:
        self.worker.submit(self._link, job)

    # -- jobs -------------------------------------------------------------------------------------------
    def _snapshot(self, job: SnapshotJob) -> None:
        try:
            digest, size = hash_path(job.staged_path), size_of(job.staged_path)
        except FileNotFoundError:
            self.store.write("update", job.table, job.row_id, {"upload_state": "failed",
                                                               "error": "staged bytes are gone"})
            return
        values = {"hash": digest, "size": size}
        if job.dest_uri is None:
            values.update(upload_state="done", staging_path=None)
        self.store.write("update", job.table, job.row_id, values)
        if job.user_path and job.user_fingerprint:
            self._remember(job.user_path, job.user_fingerprint, digest)
        if job.dest_uri is None:
            self.staging.release(job.staged_path)
        else:
            self.uploader.enqueue(job.table, job.row_id, job.staged_path, job.dest_uri)

    def _remember(self, path: str, fingerprint: Fingerprint, digest: str) -> None:
        """Record path -> hash if the file at `path` is still the one that was hashed."""
        try:
            if Fingerprint.of(path) != fingerprint:
                return
        except OSError:
            return
        self.store.write("put_fingerprint", {"path": path, "size": fingerprint.size, "mtime_ns": fingerprint.mtime_ns,
                                             "inode": fingerprint.inode, "hash": digest, "updated": time.time()})

    def content_hash(self, path: str, files: tuple[str, ...] | None, fingerprint: Fingerprint | None) -> str:
        """Hash of what a load read: the fingerprint cache first, else the bytes."""
        if files is not None:
            return hash_members((os.path.basename(f), f) for f in files)
        if fingerprint is not None:
            known = self.store.call("get_fingerprint", path)
            if known and (known["size"], known["mtime_ns"], known["inode"]) == (
                    fingerprint.size, fingerprint.mtime_ns, fingerprint.inode):
                return known["hash"]
        digest = hash_path(path)
        if fingerprint is not None and not os.path.isdir(path):
            self._remember(path, fingerprint, digest)
        return digest

    def _link(self, job: LinkJob) -> None:
        digest = self.content_hash(job.path, job.files, job.fingerprint)
        candidates = self.store.call("select", "models", {"hash": digest}, order_by=("created",), desc=True)
        if any(row["task_id"] == job.task_id for row in candidates):
            return  # a task does not become an input of itself
        produced = [row for row in candidates if row["task_id"] is not None]
        # Same bytes saved under several names (Lightning's `last.ckpt` next to `epoch=2-step=6.ckpt`): prefer
        # the snapshot named like the file that was read.
        named = os.path.basename(job.path.rstrip("/"))
        produced.sort(key=lambda row: row["name"] != named)
        model = (produced or candidates or [None])[0]
        if model is None:
            model = self.store.call("import_model", {
                "id": uuid.uuid4().hex, "task_id": None, "seq": 0, "name": os.path.basename(job.path.rstrip("/")),
                "framework": job.framework, "uri": None, "local_path": job.path, "size": self._size(job),
                "hash": digest, "is_dir": job.files is not None or os.path.isdir(job.path), "created": time.time(),
                "upload_state": "done", "import_key": digest})
        self.store.call("link_input", job.task_id, model["id"], job.seq, time.time())

    @staticmethod
    def _size(job: LinkJob) -> int:
        if job.files is not None:
            return sum(os.path.getsize(f) for f in job.files)
        return size_of(job.path)
