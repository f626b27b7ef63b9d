"""Keras 3 (also what `tf.keras` is): every model file Keras writes is a snapshot; loads link it back.

Recorded saves (framework "keras"), one snapshot per call:
- `Model.save` (`.keras` zip, or legacy `.h5`) and `keras.saving.save_model` (= `keras.models.save_model`),
  which `Model.save` calls: counted once.
- `Model.save_weights` (`.weights.h5`; with `max_shard_size`, the `.weights.json` index and all its shard
  files as one snapshot).
- `Model.export` (a SavedModel directory, or the file of another `format=`): the `tf.saved_model.save`
  inside it is part of this one snapshot.
- `keras.callbacks.ModelCheckpoint` goes through `Model.save` / `Model.save_weights`: one snapshot per
  checkpoint it writes.
Recorded loads: `keras.models.load_model` (= `keras.saving.load_model` = `tf.keras.models.load_model`, one
function object; it stays one object while patched) and `Model.load_weights`.
Step and metrics: `ModelCheckpoint._save_model(epoch, batch, logs)` notes the epoch (counted from 1, as in its
file names), the `logs` and its `monitor` / `mode` before it saves, so the snapshot records them.
Not recorded: URIs (`hf://`, `gs://`), pathless file objects.

Interception points: the methods on `keras.src.models.model.Model`, the class that defines them (every
subclass and `Sequential` inherit the wrapper); `load_model`/`save_model` in `keras.src.saving.saving_api`,
where they are defined (and where `Model.save` looks `save_model` up at call time), with every public
re-export pointed at that same wrapper. The `keras._tf_keras` re-exports are imported lazily, so they are
watched and aliased when they appear.
"""

from __future__ import annotations

import json
import os
import sys
from collections.abc import Callable
from types import ModuleType
from typing import Any

from autolog.capture.api import (
    Args,
    Hook,
    Kwargs,
    Target,
    arg,
    bypassed,
    guard,
    load_wrapper,
    note_progress,
    save_wrapper,
)

FRAMEWORK = "keras"

# Modules that re-export saving_api's load_model / save_model by value (`from ... import load_model`).
_ALIAS_MODULES = (
    "keras.src.saving",
    "keras.saving",
    "keras.models",
    "keras._tf_keras.keras.saving",
    "keras._tf_keras.keras.models",
)


def weights_target(path: Any) -> Any:
    """A weights file; a sharded `.weights.json` index together with the shard files it names."""
    if not isinstance(path, (str, os.PathLike)):
        return path
    path = os.fsdecode(path)
    if "://" in path or not path.endswith(".json") or not os.path.isfile(path):
        return path
    path = os.path.abspath(path)
    with open(path, encoding="utf-8") as index:
        weight_map = json.load(index).get("weight_map", {})
    names = {
        name
        for value in weight_map.values()
        for name in (value if isinstance(value, list) else [value])
        if isinstance(name, str)
    }
    folder = os.path.dirname(path)
    return Target(path, files=(path, *sorted(os.path.join(folder, name) for name in names)))


def _weights_arg(instance: Any, args: Args, kwargs: Kwargs) -> Any:
    return weights_target(arg(0, "filepath")(instance, args, kwargs))


def _weights_written(result: Any, instance: Any, args: Args, kwargs: Kwargs) -> Any:
    return _weights_arg(instance, args, kwargs)  # after the call: the shards now exist


def _mode(callback: Any) -> str:
    mode = getattr(callback, "mode", None)
    if mode in ("min", "max"):
        return str(mode)
    name = getattr(getattr(callback, "monitor_op", None), "__name__", "")
    return "max" if "greater" in name else "min"


def _checkpoint_progress(hook: Hook) -> Callable[..., Any]:
    """`ModelCheckpoint._save_model(epoch, batch, logs)`: not a captured call (the `Model.save` inside records)."""
    epoch_of, logs_of = arg(0, "epoch"), arg(2, "logs")

    def wrapper(wrapped: Callable[..., Any], instance: Any, args: Args, kwargs: Kwargs) -> Any:
        if not bypassed(hook):
            with guard("keras progress"):
                epoch: Any = epoch_of(instance, args, kwargs)
                logs: Any = logs_of(instance, args, kwargs)
                note_progress(
                    epoch=None if epoch is None else int(epoch) + 1,
                    metrics=dict(logs or {}),
                    monitor=getattr(instance, "monitor", None),
                    mode=_mode(instance),
                )
        return wrapped(*args, **kwargs)

    return wrapper


class KerasHook(Hook):
    name = "keras"
    watches = ("keras", "keras._tf_keras.keras.saving", "keras._tf_keras.keras.models")
    distribution = "keras"
    min_version = (3, 0)
    max_version = (4,)

    def patch(self, module: ModuleType) -> None:
        from keras.src.callbacks import model_checkpoint
        from keras.src.models import model
        from keras.src.saving import saving_api

        # ModelCheckpoint._save_model(epoch, batch, logs): the one place it decides to save, logs in hand.
        self.wrap(model_checkpoint.ModelCheckpoint, "_save_model", _checkpoint_progress(self))
        # Model.save -> saving_api.save_model (Keras 3 writes .keras / .h5 itself, no TF checkpoint).
        self.wrap(model.Model, "save", save_wrapper(self, target=arg(0, "filepath"), framework=FRAMEWORK))
        # Model.save_weights -> saving_lib.save_weights_only; shards exist only after the call.
        self.wrap(
            model.Model,
            "save_weights",
            save_wrapper(self, target=arg(0, "filepath"), framework=FRAMEWORK, from_result=_weights_written),
        )
        # Model.export -> tf.saved_model.save: the export is the snapshot, the TF save nested in it.
        self.wrap(model.Model, "export", save_wrapper(self, target=arg(0, "filepath"), framework=FRAMEWORK))
        self.wrap(model.Model, "load_weights", load_wrapper(self, target=_weights_arg, framework=FRAMEWORK))
        # The functional entry points, where they are defined; Model.save looks save_model up here.
        self.wrap(saving_api, "save_model", save_wrapper(self, target=arg(1, "filepath"), framework=FRAMEWORK))
        self.wrap(saving_api, "load_model", load_wrapper(self, target=arg(0, "filepath"), framework=FRAMEWORK))
        for name in _ALIAS_MODULES:
            alias = sys.modules.get(name)
            if alias is not None:
                self.alias(saving_api, alias, ("load_model", "save_model"))


HOOK = KerasHook
