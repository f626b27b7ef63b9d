"""What a hook tells the core: "this framework saved / loaded that target". One call each.

Hooks never touch tasks, stores or uploads; they call `record_save` / `record_load` with a `Target`
and a framework name, and the current task does the rest in the background. `active()` is the cheap
gate every wrapper checks first: no current task, a non-zero distributed rank, or autolog disabled
means the user's call runs untouched.
"""

from __future__ import annotations

import contextlib
import contextvars
import os
from collections.abc import Iterator
from typing import Any

from ..run import current
from ..run.target import Target
from ..system.rank import global_rank

__all__ = ["Target", "active", "covering", "protect_previous", "record_load", "record_save", "resolve_target"]


# Folders whose files a framework reads as part of a folder it loads as a whole, while a call runs (a Hugging
# Face `Trainer.train` resuming from `checkpoint-N/` reads `optimizer.pt` with `torch.load`): a load of a file
# inside one is not linked on its own (it would be an orphan import: only the folder is a snapshot).
# Per thread / async task, like the nested-call flag.
_covered: contextvars.ContextVar[tuple[str, ...]] = contextvars.ContextVar("autolog_covered", default=())


@contextlib.contextmanager
def covering(*folders: str | None) -> Iterator[None]:
    """While the block runs, loads of files inside `folders` are not linked on their own."""
    extra = tuple(os.path.abspath(os.fspath(f)) for f in folders if isinstance(f, (str, os.PathLike)))
    token = _covered.set(_covered.get() + extra)
    try:
        yield
    finally:
        _covered.reset(token)


def _is_covered(path: str) -> bool:
    return any(path.startswith(folder.rstrip(os.sep) + os.sep) for folder in _covered.get())


def _transaction_target(obj: Any) -> Target | None:
    """fsspec's `LocalFileOpener` inside `fs.transaction` (autocommit off) writes `obj.temp`, moved to
    `obj.path` on commit: stage the temporary file now, name the snapshot after the final path."""
    temp, final = getattr(obj, "temp", None), getattr(obj, "path", None)
    if getattr(obj, "autocommit", True) or not isinstance(temp, str) or not isinstance(final, str):
        return None
    if "://" in final or not os.path.exists(temp):
        return None
    return Target(os.path.abspath(temp), from_open_file=True, file_object=obj, final_path=os.path.abspath(final))


def active() -> bool:
    """True when a save or load should be recorded now (a current task, global rank 0)."""
    return current.current_task() is not None and global_rank() == 0


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
        if path.startswith("file://"):
            path = path[len("file://") :]
        if "://" in path or not path:
            return None
        return Target(os.path.abspath(path))
    if type(obj).__name__ == "LocalFileOpener":
        found = _transaction_target(obj)
        if found is None and isinstance(getattr(obj, "path", None), str) and os.path.exists(obj.path):
            found = Target(os.path.abspath(obj.path), from_open_file=True, file_object=obj)
        return found
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
    task = current.current_task()
    if target is not None and task is not None:
        task.protect(target)


def record_save(target: Target | None, framework: str) -> None:
    """After a successful save: register one output snapshot on the current task."""
    task = current.current_task()
    if target is not None and task is not None:
        task.record_output(target, framework)


def record_folder_save(path: str, framework: str) -> None:
    """After a framework wrote a whole folder (a Hugging Face `save_pretrained` or `checkpoint-N/`): one
    snapshot holding every file in it at this moment, even inside a covered folder."""
    task = current.current_task()
    if task is not None and os.path.isdir(path):
        task.record_output(Target(os.path.abspath(path)), framework)


def record_folder_load(path: str, framework: str) -> None:
    """After a framework read a folder (`from_pretrained(local_dir)`, resuming a `checkpoint-N/`)."""
    task = current.current_task()
    if task is not None and os.path.isdir(path):
        task.record_input(Target(os.path.abspath(path)), framework)


def record_remote_save(
    uri: str, data: bytes | memoryview | None, framework: str, *, digest: str | None = None, size: int | None = None
) -> None:
    """After a framework wrote `uri` itself (Lightning to `s3://...` through fsspec): one snapshot recorded at
    that URI, no second copy. Its hash comes from `data`, the bytes still in memory, or is given."""
    task = current.current_task()
    if task is None:
        return
    if digest is None:
        from blake3 import blake3

        if data is None:
            return
        digest, size = blake3(data).hexdigest(), len(data)
    task.record_remote_output(uri, digest, int(size or 0), framework)


def record_remote_folder_save(uri: str, framework: str) -> None:
    """After several processes wrote the folder `uri` themselves (DCP's fsspec writer to `s3://...`): one folder
    snapshot recorded at that URI, no second copy; its hash is read back once in the background."""
    task = current.current_task()
    if task is not None:
        task.record_remote_folder_output(uri, framework)


def record_remote_load(uri: str, framework: str) -> None:
    """After a framework read `uri` itself: link the snapshot recorded at that URI (see `remote_models`)."""
    task = current.current_task()
    if task is not None:
        task.record_remote_input(uri, framework)


def note_progress(
    *,
    step: Any = None,
    epoch: Any = None,
    metrics: Any = None,
    monitor: str | None = None,
    mode: str | None = None,
) -> None:
    """Before a framework saves: its step, epoch, latest metrics and monitored metric (`mode` min or max), which
    the current task's next snapshots record (`autolog.run.progress`). Values that are not numbers are skipped."""
    task = current.current_task()
    if task is None:
        return
    from ..run.progress import to_number

    task.progress.note(
        step=None if to_number(step) is None else int(to_number(step) or 0),
        epoch=to_number(epoch),
        metrics=dict(metrics) if metrics else None,
        monitor=monitor,
        mode=mode,
    )


def record_load(target: Target | None, framework: str) -> None:
    """After a successful load: link the model whose content was read as an input of the current task."""
    task = current.current_task()
    if target is not None and task is not None and not _is_covered(target.path):
        task.record_input(target, framework)
