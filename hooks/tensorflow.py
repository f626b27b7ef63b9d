"""TensorFlow: checkpoints and SavedModels become snapshots; restores and loads link them back.

Recorded saves (framework "tensorflow"):
- `tf.train.Checkpoint.save` / `.write` and `tf.train.CheckpointManager.save`: ONE snapshot per call,
  named after the checkpoint prefix (`ckpt-3`) and holding exactly the files of that prefix
  (`ckpt-3.index`, `ckpt-3.data-00000-of-00001`, ... every shard). The directory's `checkpoint` state file
  is deliberately left out: it is shared by every checkpoint of the directory and rewritten (and swept) by
  each later save, so it is not part of any one checkpoint's content, and leaving it out is what lets a
  restore of the same prefix match the snapshot by content. A snapshot fetched back with
  `model.get_local_copy()` is a folder holding those files: restore it with
  `ckpt.restore(os.path.join(folder, model.name))` (`tf.train.latest_checkpoint(folder)` is None there).
- `tf.saved_model.save` (and `tf.compat.v1.saved_model.save`, same function): one snapshot of the
  export directory.
Recorded loads: `Checkpoint.restore` / `.read` of a prefix (or of a SavedModel directory, which `restore`
accepts), `CheckpointManager.restore_or_initialize` (through `restore`), `tf.saved_model.load` (and
`keras.layers.TFSMLayer`, which calls it).
Not recorded: URIs (`gs://...`), `restore(None)`, a `CheckpointManager.save` skipped by its
`checkpoint_interval` (it returns None), the v1 `tf.compat.v1.train.Checkpoint` / `Saver`.

Nesting: `Checkpoint.restore` calls `read`, and `keras.Model.export` calls `tf.saved_model.save`; the
nested call counts once (the outer one). With the keras hook off, an export is recorded here instead.
Async checkpoints (`CheckpointOptions(experimental_enable_async_checkpoint=True)`) return before their
files are written; the hook then waits for that write (`Checkpoint.sync()`) before recording, since a
snapshot of a half-written checkpoint would be worthless: with autolog on, an async save costs its write.
"""

from __future__ import annotations

import glob
import os
from types import ModuleType
from typing import Any

from autolog.capture.api import Args, Hook, Kwargs, Target, arg, load_wrapper, save_wrapper

FRAMEWORK = "tensorflow"


def _local(path: Any) -> str | None:
    """An absolute local path from what TF was given (str, bytes, PathLike, tensor), or None."""
    if path is None:
        return None
    if hasattr(path, "numpy"):  # a scalar string tensor
        path = path.numpy()
    if not isinstance(path, (str, bytes, os.PathLike)):
        return None
    text: str = os.fsdecode(path)
    if not text or "://" in text:
        return None
    return os.path.abspath(text)


def checkpoint_target(prefix: Any) -> Target | str | None:
    """The files of the checkpoint at `prefix` as one Target; a SavedModel directory as itself."""
    path = _local(prefix)
    if path is None:
        return None
    if os.path.isdir(path):
        return path  # Checkpoint.restore also accepts a SavedModel directory
    index = path + ".index"
    if not os.path.exists(index):
        return None  # nothing written there (yet): a failed read raised already, so nothing to record
    shards = sorted(glob.glob(glob.escape(path) + ".data-?????-of-?????"))
    return Target(path, files=(index, *shards))


def _settled(checkpoint: Any, prefix: Any) -> Target | str | None:
    """After a save: wait for an async write of `prefix` to finish (its files may exist half-written), then
    find them. A synchronous checkpoint has no async helper: no wait."""
    if getattr(checkpoint, "_async_checkpointer_impl", None) is not None and hasattr(checkpoint, "sync"):
        checkpoint.sync()
    return checkpoint_target(prefix)


def _in_async_writer() -> bool:
    """True in TF's background async-checkpoint thread, which calls Checkpoint.save again: the call the
    user made is recorded in their thread, and a contextvar does not follow TF into its own thread."""
    from tensorflow.python.checkpoint import checkpoint_context

    return bool(checkpoint_context.in_async_metrics_context())


def _saved(result: Any, instance: Any, args: Args, kwargs: Kwargs) -> Target | str | None:
    # Checkpoint.save / .write return the prefix they wrote.
    return None if _in_async_writer() else _settled(instance, result)


def _manager_saved(result: Any, instance: Any, args: Args, kwargs: Kwargs) -> Target | str | None:
    # CheckpointManager.save returns the new prefix, or None when `checkpoint_interval` skipped it.
    return _settled(getattr(instance, "checkpoint", None), result) if result is not None else None


def _next_number(checkpoint: Any, given: Any = None) -> int | None:
    """The number the coming `save` will give its checkpoint (eager mode only; None when unknown)."""
    import tensorflow as tf

    if not tf.executing_eagerly():
        return None
    if given is not None:
        return int(given.numpy() if hasattr(given, "numpy") else given)
    counter = getattr(checkpoint, "_save_counter", None)  # not the property: that would create it
    return 1 if counter is None else int(counter.numpy()) + 1


def _to_write(instance: Any, args: Args, kwargs: Kwargs) -> Target | str | None:
    # Before write(prefix): an earlier snapshot of the same prefix must not be rewritten in place
    # (TF rewrites `.index` files in place), so the core protects the files about to be replaced.
    return None if _in_async_writer() else checkpoint_target(arg(0, "file_prefix")(instance, args, kwargs))


def _to_save(instance: Any, args: Args, kwargs: Kwargs) -> Target | str | None:
    if _in_async_writer():
        return None
    prefix: Any = arg(0, "file_prefix")(instance, args, kwargs)  # str, bytes, PathLike or a string tensor
    number = _next_number(instance)
    return None if prefix is None or number is None else checkpoint_target(f"{os.fsdecode(prefix)}-{number}")


def _manager_to_save(instance: Any, args: Args, kwargs: Kwargs) -> Target | str | None:
    number = _next_number(instance.checkpoint, arg(0, "checkpoint_number")(instance, args, kwargs))
    return None if number is None else checkpoint_target(f"{instance._prefix}-{number}")


def _restored(instance: Any, args: Args, kwargs: Kwargs) -> Target | str | None:
    return checkpoint_target(kwargs["save_path"] if "save_path" in kwargs else (args[0] if args else None))


def _export_dir(position: int) -> Any:
    def find(instance: Any, args: Args, kwargs: Kwargs) -> str | None:
        return _local(
            kwargs["export_dir"] if "export_dir" in kwargs else (args[position] if len(args) > position else None)
        )

    return find


class TensorFlowHook(Hook):
    name = "tensorflow"
    watches = ("tensorflow",)
    distribution = ("tensorflow", "tensorflow-cpu")  # either wheel provides the same import package
    min_version = (2, 13)
    max_version = (3,)

    def patch(self, module: ModuleType) -> None:
        from tensorflow.python.checkpoint import checkpoint, checkpoint_management
        from tensorflow.python.saved_model import load, save

        # Methods of the class that defines them: every instance and subclass sees the wrapper.
        # save() and write() each call the private _write (not each other): both are entry points.
        # Before the call: the prefix about to be (re)written; after it: the prefix returned, with its files.
        self.wrap(
            checkpoint.Checkpoint, "save", save_wrapper(self, target=_to_save, framework=FRAMEWORK, from_result=_saved)
        )
        self.wrap(
            checkpoint.Checkpoint,
            "write",
            save_wrapper(self, target=_to_write, framework=FRAMEWORK, from_result=_saved),
        )
        # The manager calls Checkpoint._write directly, and deletes old checkpoints inside the call.
        self.wrap(
            checkpoint_management.CheckpointManager,
            "save",
            save_wrapper(self, target=_manager_to_save, framework=FRAMEWORK, from_result=_manager_saved),
        )
        # restore() calls read(); restore_or_initialize() calls restore(): one load each.
        restore = load_wrapper(self, target=_restored, framework=FRAMEWORK)
        self.wrap(checkpoint.Checkpoint, "restore", restore)
        self.wrap(checkpoint.Checkpoint, "read", restore)
        # tf.saved_model.save/load are bound by value in several lazily (re)created API modules
        # (tf.saved_model, tensorflow.saved_model, compat.v1/v2): a patch there is lost when TF replaces
        # the module. Both public functions look up these helpers in their defining module at call time.
        self.wrap(save, "save_and_return_nodes", save_wrapper(self, target=_export_dir(1), framework=FRAMEWORK))
        self.wrap(load, "load_partial", load_wrapper(self, target=_export_dir(0), framework=FRAMEWORK))


HOOK = TensorFlowHook
