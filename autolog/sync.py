"""Finishing uploads that a process left behind (it crashed, was killed, or timed out at exit).

Every pending snapshot or artifact is a row in the store with its staged bytes on this host. `autolog
sync`, and every `init` on the same home, takes over rows whose owner process is gone, and rows whose
upload failed after its retries (an atomic claim, so two syncs never upload the same row twice), and runs
them through the normal recorder/uploader path. Pending rows of a live process are left to it.
"""

from __future__ import annotations

import os

from .host import host_name
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
    """Queue every failed upload, and every pending one whose owner on this host is gone; returns how many."""
    host, me = host_name(), os.getpid()
    queued = 0
    for table in TABLES:
        for row in session.store.call("select", table, {"upload_state": ["pending", "failed"]}, order_by=("created",)):
            if row["owner_host"] != host:
                continue  # its staged bytes are on another machine
            in_flight = row["upload_state"] == "pending" and (
                row["owner_pid"] == me or (_alive(row["owner_pid"]) and not include_live))
            if in_flight:
                continue  # a live process is still working on it; a failed one was given up: retry it
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
