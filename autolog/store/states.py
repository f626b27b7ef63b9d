"""The states a record goes through: `TaskStatus` for a task, `UploadState` for a snapshot or an artifact.

Both are `str` enums, so a member equals its string (`UploadState.DONE == "done"`), is stored as that string
in SQLite, PostgreSQL and the journal, and rows read back as plain strings still compare equal.

The upload state machine (one row of `models` or `artifacts`; `autolog.pipeline.uploader.Uploader` is the
one component that writes a final state and releases the staged bytes; `tests/core/test_upload_states.py`
runs this table):

state      entered from, by                      what `autolog sync` (and every `init`) does with it
---------  ------------------------------------  ----------------------------------------------------------------
pending    insert (a save, `register_model`,     owner alive: leaves it to its process; owner gone (this host):
           `upload_artifact`); a sync's claim    claims it and runs it again; another host's: reports it apart
done       pending (Uploader: copied to `uri`,   nothing (a staged folder left behind is swept)
           or recorded by local path only)
failed     pending (Uploader: retries spent, a   claims it and retries it from its staged bytes, even while its
           full or read-only destination, or     owner lives; no staged bytes left: it stays `failed`
           the staged bytes gone)
lost       pending (Uploader: the staged bytes   nothing: no bytes of that save exist (an open-file save into the
           changed before they were captured)    same inode); never recorded with another save's hash
pruned     done (a retention rule)               skips it: bytes freed by a retention rule; the record stays

A claim (`SqlStore.claim`) is one conditional UPDATE that takes a `pending`/`failed` row from the owner it was
seen with and makes it `pending` again, so one process owns a row at a time; a final state is written only over
`pending`/`failed` (`SqlStore.settle`), so a process that lost a race never turns another's `done` into `failed`.
"""

from __future__ import annotations

import enum


class _StrEnum(str, enum.Enum):
    """A `str` enum that prints as its value (`f"{UploadState.DONE}"` is "done")."""

    def __str__(self) -> str:
        return str(self.value)

    def __format__(self, spec: str) -> str:
        return format(str(self.value), spec)


class TaskStatus(_StrEnum):
    RUNNING = "running"
    CLOSING = "closing"  # close() is flushing; still counts as live for `abort_dead_tasks`
    COMPLETED = "completed"
    FAILED = "failed"
    ABORTED = "aborted"  # the process died without closing it


FINAL_TASK_STATUSES = (TaskStatus.COMPLETED, TaskStatus.FAILED, TaskStatus.ABORTED)
LIVE_TASK_STATUSES = (TaskStatus.RUNNING, TaskStatus.CLOSING)


class UploadState(_StrEnum):
    """Where a snapshot's or artifact's bytes are (the table in the module docstring)."""

    PENDING = "pending"
    DONE = "done"
    FAILED = "failed"
    LOST = "lost"
    PRUNED = "pruned"  # bytes freed by a retention rule; sync skips it


UNSETTLED = (UploadState.PENDING, UploadState.FAILED)  # a sync may claim these; a final state is written over them
SETTLED = (UploadState.DONE, UploadState.FAILED, UploadState.LOST, UploadState.PRUNED)  # this process's part ends
