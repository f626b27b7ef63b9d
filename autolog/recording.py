"""What a hook tells the core: "this framework saved / loaded that target". One call each.

Hooks never touch tasks, stores or uploads; they call `record_save` / `record_load` with a `Target`
and a framework name, and the current task does the rest in the background. `active()` is the cheap
gate every wrapper checks first: no current task, a non-zero distributed rank, or autolog disabled
means the user's call runs untouched.
"""

from __future__ import annotations

import os
import sys
from dataclasses import dataclass, field
from typing import Any

from . import lifecycle


@dataclass(frozen=True)
class Target:
    """A saved or loaded model on local disk.

    `path` is absolute: a file, a directory, or a prefix (TF checkpoints) whose member files are given
    in `files`. `from_open_file` marks a save made into an open file object, whose path may be reused
    by the user before we can hard-link it, so its bytes are copied at once.
    """

    path: str
    files: tuple[str, ...] | None = None
    from_open_file: bool = False
    file_object: Any = field(default=None, compare=False, repr=False)


def _global_rank() -> int:
    rank = os.environ.get("RANK")
    if rank not in (None, ""):
        try:
            return int(rank)
        except ValueError:
            return 0
    dist = sys.modules.get("torch.distributed")
    if dist is not None:
        try:
            if dist.is_available() and dist.is_initialized():
                return int(dist.get_rank())
        except Exception:  # noqa: BLE001 - a broken torch.distributed must not break a save
            return 0
    return 0


def active() -> bool:
    """True when a save or load should be recorded now (a current task, global rank 0)."""
    return lifecycle.current_task() is not None and _global_rank() == 0


def resolve_target(obj: Any) -> Target | None:
    """Turn what a framework was given (str, PathLike, open file, Target) into a Target, or None.

    URIs (`gs://...`) and pathless file objects (`BytesIO`) are not local files: None, quietly.
    """
    if obj is None:
        return None
    if isinstance(obj, Target):
        return obj
    if isinstance(obj, (str, bytes, os.PathLike)):
        path = os.fsdecode(obj)
        if "://" in path or not path:
            return None
        return Target(os.path.abspath(path))
    name = getattr(obj, "name", None)
    if isinstance(name, (str, bytes)) and (hasattr(obj, "write") or hasattr(obj, "read")):
        path = os.fsdecode(name)
        if path and os.path.exists(path):
            return Target(os.path.abspath(path), from_open_file=True, file_object=obj)
    return None


def protect_previous(target: Target | None) -> None:
    """Before a save: if an earlier snapshot at this path still waits for its upload, keep it intact.

    A TF checkpoint prefix or a SavedModel directory counts member by member: TF rewrites `.index` in place.
    """
    task = lifecycle.current_task()
    if target is not None and task is not None and not target.from_open_file:
        task._session.staging.protect(target.path, target.files)


def record_save(target: Target | None, framework: str) -> None:
    """After a successful save: register one output snapshot on the current task."""
    task = lifecycle.current_task()
    if target is not None and task is not None:
        task._record_output(target, framework)


def record_load(target: Target | None, framework: str) -> None:
    """After a successful load: link the model whose content was read as an input of the current task."""
    task = lifecycle.current_task()
    if target is not None and task is not None:
        task._record_input(target, framework)
