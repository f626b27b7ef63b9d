"""Where a task's records are stored, and how they are numbered: the one place that decides it.

Everything a task stores goes below one folder per task, `<base>/<project>/<task name>.<task id>/`, where
`<base>` is the task's `output_uri` (or, for artifacts of a task without one, the home's local store):

- `models/<seq>_<file name>`: output snapshot number `seq` of the task (1, 2, ... in save order);
- `artifacts/<seq>_<artifact name><suffix>`: artifact upload number `seq` (a re-upload gets a new number, so
  it never overwrites the copy an earlier record points at).

Every segment taken from user text goes through `safe_segment`. Numbers come from `Numbering`, one per
live task; a task fetched by id continues after the highest number recorded.
"""

from __future__ import annotations

import itertools

from ..storage.access import join, safe_segment
from ..storage.serializers import stored_suffix


def task_folder(base: str, project: str, task_name: str, task_id: str) -> str:
    """The folder of one task's stored files below `base`."""
    return join(base, safe_segment(project), f"{safe_segment(task_name)}.{task_id}")


def model_uri(folder: str, seq: int, name: str) -> str:
    """Where output snapshot `seq` named `name` (a file or folder name) is copied."""
    return join(folder, "models", f"{seq}_{safe_segment(name)}")


def artifact_uri(folder: str, seq: int, name: str, file_name: str) -> str:
    """Where artifact upload `seq` named `name` is stored; it keeps the stored file's suffix (`.csv.gz`)."""
    stem, suffix = safe_segment(name), stored_suffix(file_name)
    return join(folder, "artifacts", f"{seq}_{stem if stem.endswith(suffix) else stem + suffix}")


class Numbering:
    """A live task's counters: output snapshots, inputs (load order) and artifact uploads, each from 1."""

    def __init__(self) -> None:
        self.outputs = itertools.count(1)
        self.inputs = itertools.count(1)
        self.artifacts = itertools.count(1)
