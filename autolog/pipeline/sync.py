"""Finishing what a process left behind (it crashed, was killed, or timed out at exit).

`recover` is what `autolog sync`, and every `init` on the same home, runs, in this order:
1. `journal.replay`: rows that dead processes journaled and the store never received are inserted, and
   rows get the final state their process journaled but the store never received (it was down);
2. `abort_dead_tasks`: a task still `running` whose process is gone becomes `aborted` (same host: its pid
   is gone or now belongs to a process with another start time; another host: its heartbeat is older than
   `heartbeat_timeout`);
3. `resume_orphans`: every pending snapshot or artifact with its staged bytes on this host is taken over
   when its owner process is gone, or its upload failed after its retries, and runs through the normal
   recorder/uploader path. The claim comes first (one conditional UPDATE that also makes the row `pending`),
   so one process owns a row at a time and a row another sync has just finished is never judged by its
   released staged bytes. Pending rows of a live process are left to it, and rows of other hosts are
   reported apart (`unsettled_by_host`). The states: `autolog.store.states`;
4. `sweep_unreferenced_staging`: a staged folder whose row is settled (`done`, `lost`, `pruned`) is removed,
   and so is one that no record points to, an hour after it was last touched (a process killed in the
   microseconds between freezing a save's bytes and journaling it leaves one; nothing can claim it any more).
"""

from __future__ import annotations

import os
import re
import shutil
import time

from ..store.journal import replay
from ..store.rows import TableName
from ..store.states import LIVE_TASK_STATUSES, UNSETTLED, UploadState
from ..system.host import host_name
from ..system.liveness import owner_alive, pid_alive
from ..system.log import logger
from .session import Session
from .uploader import STAGED_GONE, SnapshotJob

TABLES: tuple[TableName, ...] = ("models", "artifacts")
_alive = pid_alive


def recover(session: Session, *, include_live: bool = False) -> int:
    """Replay the journal, end dead tasks, resume orphaned uploads; returns how many uploads were queued."""
    replay(session.journal, session.store)
    abort_dead_tasks(session)
    queued = resume_orphans(session, include_live=include_live)
    sweep_unreferenced_staging(session)
    return queued


STALE_STAGING_S = 3600.0
_ROW_ID = re.compile(r"[0-9a-f]{32}")


def sweep_unreferenced_staging(session: Session, *, older_than: float = STALE_STAGING_S) -> int:
    """Remove staged folders (named by their row's id) whose row no longer needs them: a row settled `done`,
    `lost` or `pruned` (its process died before releasing them, or its final state came from the journal), or,
    once nothing touched them for `older_than` seconds, no row at all; returns how many. Runs after `replay`,
    so a journaled row counts as a reference."""
    now, removed = time.time(), 0
    for root in session.staging.all_roots():
        try:
            folders = {
                entry.name: (entry.path, now - entry.stat(follow_symlinks=False).st_mtime > older_than)
                for entry in os.scandir(root)
                if _ROW_ID.fullmatch(entry.name) and entry.is_dir(follow_symlinks=False)
            }
        except OSError:
            continue
        if not folders:
            continue
        states = {
            row["id"]: row["upload_state"]
            for table in TABLES
            for row in session.store.select(table, {"id": sorted(folders)})
        }
        for name, (path, old) in folders.items():
            if states.get(name) in UNSETTLED or (name not in states and not old):
                continue
            shutil.rmtree(path, ignore_errors=True)
            removed += 1
    if removed:
        logger.info("autolog: removed %d staged folder(s) that no record needs any more", removed)
    return removed


def abort_dead_tasks(session: Session) -> list[str]:
    """Mark `aborted` every running task whose process is gone (see the module docstring); returns their ids."""
    now, limit = time.time(), session.settings.heartbeat_timeout
    ended: list[str] = []
    for status in LIVE_TASK_STATUSES:
        for row in session.store.select("tasks", {"status": status}):
            alive = owner_alive(row.get("host"), row.get("pid"), row.get("pid_start"))
            if alive is None:  # another host: only its heartbeat can tell (none: an older autolog, keep it)
                beat = row.get("heartbeat")
                alive = beat is None or now - beat <= limit
            if alive or row["pid"] == os.getpid() and row.get("host") == host_name():
                continue
            when = row.get("heartbeat") or row.get("started")
            if session.store.end_task(row["id"], "aborted", when):
                ended.append(row["id"])
    if ended:
        logger.info("autolog: %d task(s) whose process is gone marked aborted: %s", len(ended), ", ".join(ended))
    return ended


def resume_orphans(session: Session, *, include_live: bool = False) -> int:
    """Queue every failed upload, and every pending one whose owner on this host is gone; returns how many."""
    host, me = host_name(), os.getpid()
    queued = 0
    for table in TABLES:
        for row in session.store.select(table, {"upload_state": list(UNSETTLED)}, order_by=("created",)):
            if row["owner_host"] != host:
                continue  # its staged bytes are on another machine
            in_flight = row["upload_state"] == UploadState.PENDING and (
                row["owner_pid"] == me or (_alive(row["owner_pid"]) and not include_live)
            )
            if in_flight:
                continue  # a live process is still working on it; a failed one was given up: retry it
            # Claimed first (one conditional UPDATE that also makes it `pending`): a row another sync has just
            # stored and released is no longer ours to judge by its missing staged bytes.
            if not session.store.claim(table, row["id"], row["owner_host"], row["owner_pid"], host, me):
                continue
            staged = row["staging_path"]
            job = SnapshotJob(table, row["id"], staged or "", row["dest_uri"])
            if not staged or not os.path.exists(staged):
                session.uploader.fail(job, STAGED_GONE)
                continue
            session.recorder.snapshot(job)
            queued += 1
    return queued


def unsettled_by_host(session: Session) -> tuple[dict[UploadState, int], dict[str, int]]:
    """({pending: n, failed: n} of this host's rows, {other host: rows pending or failed there}): a sync
    finishes only its own host's rows (the staged bytes are there), so it reports the others apart."""
    host = host_name()
    here = {state: 0 for state in UNSETTLED}
    elsewhere: dict[str, int] = {}
    for table in TABLES:
        for row in session.store.select(table, {"upload_state": list(UNSETTLED)}):
            if row["owner_host"] == host or row["owner_host"] is None:
                here[UploadState(row["upload_state"])] += 1
            else:
                elsewhere[row["owner_host"]] = elsewhere.get(row["owner_host"], 0) + 1
    return here, elsewhere
