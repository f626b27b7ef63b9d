"""Finishing uploads that a process left behind (it crashed, was killed, or timed out at exit).

Every pending snapshot or artifact is a row in the store with its staged bytes on this host. `autolog
sync`, and every `init` on the same home, takes over rows whose owner process is gone (an atomic claim,
so two syncs never upload the same row twice) and runs them through the normal recorder/uploader path.
Rows of a live process are left to it.
"""

from __future__ import annotations

import os
import socket

from .recorder import SnapshotJob
from .session import Session

TABLES = ("models", "artifacts")


def _alive(pid: int | None) -> bool:
    if not pid:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def resume_orphans(session: Session, *, include_live: bool = False) -> int:
    """Queue every unfinished upload whose owner on this host is gone; returns how many were queued."""
    host, me = socket.gethostname(), os.getpid()
    queued = 0
    for table in TABLES:
        for row in session.store.call("select", table, {"upload_state": ["pending", "failed"]}, order_by=("created",)):
            if row["owner_host"] != host or row["owner_pid"] == me:
                continue
            if _alive(row["owner_pid"]) and not include_live:
                continue
            staged = row["staging_path"]
            if not staged or not os.path.exists(staged):
                session.store.write("update", table, row["id"], {"upload_state": "failed",
                                                                 "error": "staged bytes are gone"})
                continue
            if not session.store.call("claim", table, row["id"], row["owner_host"], row["owner_pid"], host, me):
                continue
            session.store.write("update", table, row["id"], {"upload_state": "pending", "error": None})
            session.recorder.snapshot(SnapshotJob(table, row["id"], staged, row["dest_uri"]))
            queued += 1
    return queued
