"""Snapshots a framework wrote to remote storage itself, and loads of them.

Lightning writes a checkpoint whose directory is `s3://...` through fsspec. Copying it again to `output_uri`
would double the traffic for bytes that already are where a team keeps models, so the snapshot is recorded at
the URI the framework wrote, with the hash of the bytes it had in memory (no read-back). A later load of that
URI links the newest snapshot recorded there. A URI no snapshot was recorded at is not linked: autolog never
reads remote bytes back just to name them (logged at DEBUG).
"""

from __future__ import annotations

import os
import socket
import time
import uuid
from typing import TYPE_CHECKING, Any

from ..system.log import logger

if TYPE_CHECKING:
    from ..pipeline.session import Session
    from .task import Task


def remote_output_row(task: Task, seq: int, uri: str, digest: str, size: int, framework: str) -> dict[str, Any]:
    """The `models` row of a snapshot already durable at `uri`."""
    return {
        "id": uuid.uuid4().hex,
        "task_id": task.id,
        "seq": seq,
        "name": os.path.basename(uri.rstrip("/")),
        "framework": framework,
        "uri": uri,
        "local_path": None,
        "size": size,
        "hash": digest,
        "is_dir": False,
        "members": None,
        "created": time.time(),
        "upload_state": "done",
        "staging_path": None,
        "dest_uri": None,
        "owner_host": socket.gethostname(),
        "owner_pid": os.getpid(),
    }


def record_remote_folder_output(task: Task, seq: int, uri: str, framework: str) -> None:
    """Output `seq` of `task`: a folder several processes wrote to `uri` themselves (DCP's fsspec writer, every
    rank its own shard). Its hash needs the bytes no process held, so the folder is read back once on the
    recorder's thread (`storage.remote_tree`) and the row inserted then; `task.models` waits for it."""
    from ..storage.remote_tree import hash_remote_tree

    session = task.session
    uri = uri.rstrip("/")

    def record() -> None:
        digest, size, _members = hash_remote_tree(uri)
        row = remote_output_row(task, seq, uri, digest, size, framework)
        row.update(is_dir=True)
        session.store.queue_insert("models", row)

    session.recorder.worker.submit(record)


def link_remote_input(session: Session, task_id: str, seq: int, uri: str) -> None:
    """Link the newest snapshot recorded at `uri` as input `seq` of task `task_id` (in the background)."""
    recorder = session.recorder
    store = session.store

    def link() -> None:
        rows = store.select("models", {"uri": uri}, order_by=("created",), desc=True)
        if any(row["task_id"] == task_id for row in rows):
            return  # a task does not become an input of itself
        if not rows:
            logger.debug("autolog: %s was loaded but no snapshot was recorded there; not linked", uri)
            return
        store.link_input(task_id, rows[0]["id"], seq, time.time())

    recorder.worker.submit(link)
