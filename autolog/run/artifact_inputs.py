"""Artifact inputs: which task fetched which artifact of another task (the data end of the genealogy).

When a process with a live current task fetches an artifact another task uploaded (`Artifact.get()` or
`get_local_copy()`), the artifact becomes an input of the current task, once per artifact per task, in fetch
order, like a model load. A task's own artifacts are never its inputs. Recording is a queued store write
(`link_artifact_input`), off the caller's path, and never breaks the user's fetch: a failure is contained by
`guard` and reported once.
"""

from __future__ import annotations

import time
from typing import TYPE_CHECKING

from ..system.log import guard

if TYPE_CHECKING:
    from .artifact import Artifact
    from .task import Task


def note_fetch(artifact: Artifact) -> None:
    """Link `artifact` as an input of the current task, if there is one live in this process."""
    with guard("artifact input"):
        from .current import current_task

        task = current_task()
        if task is None or not task.is_live_in_this_process() or task.status != "running":
            return
        if not artifact.id or artifact.task_id == task.id:
            return  # a task does not become an input of itself
        seq = task.mark_artifact_fetched(artifact.id)
        if seq is None:
            return
        task.session.store.queue_link_artifact_input(task.id, artifact.id, seq, time.time())


def consumers(artifact: Artifact) -> list[Task]:
    """The tasks that fetched `artifact`, in the order they first did."""
    from .current import get_session
    from .taskref import task_class

    session, task = get_session(), task_class()
    return [task(session, row) for row in session.store.artifact_consumers(artifact.id)]
