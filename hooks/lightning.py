"""Lightning: every checkpoint file is one snapshot named after it, every checkpoint load links its producer.

Watched: `lightning.fabric.utilities.cloud_io` (the `lightning` package) and
`lightning_fabric.utilities.cloud_io` (what `pytorch_lightning` uses). Framework name: `lightning`.

Saves: `_atomic_save(checkpoint, filepath)` is the one function that writes a checkpoint file for
`Trainer.save_checkpoint`, `ModelCheckpoint` (top-k, `last.ckpt`) and `Fabric.save` (through
`TorchCheckpointIO`). It is the right interception point on both releases: 2.6 builds the bytes with
`torch.save(checkpoint, BytesIO())` and writes them through fsspec (a `torch.save` hook sees no path); the
next release streams `torch.save` into an fsspec transaction (a temporary name until commit). Wrapping it,
the snapshot is taken after the transaction committed, at the real path (`epoch=2-step=48.ckpt`), and the
nested `torch.save` counts once. A `filepath` on object storage (`s3://...`) is recorded at that URI without a
second copy: the hash comes from the `BytesIO` that `torch.save` filled (seen through the torch hook), or, when
the torch hook is off, from reading the object back once. `ModelCheckpoint` deleting an older top-k file later
loses nothing: the snapshot's bytes were staged (hard link) when the save returned.

Loads: `_load(path_or_url)` (imported as `pl_load`) is what `LightningModule.load_from_checkpoint`,
`Trainer.fit/validate/test/predict(ckpt_path=...)` (after resolving `"best"`/`"last"`) and `Fabric.load` read
through; it links the snapshot with those bytes. A load inside the task that saved it links nothing.

Sharded checkpoints: the FSDP and ModelParallel strategies (Trainer and Fabric; `state_dict_type="sharded"`, the
default of ModelParallel) write a folder: every rank's DCP shard, `.metadata`, and rank 0's `meta.pt`. Their
`save_checkpoint` is wrapped so that the whole folder is ONE snapshot, recorded on rank 0 after `meta.pt` exists,
and their `load_checkpoint` of a folder links it once.

Step and metrics: `Trainer.save_checkpoint` (what `ModelCheckpoint` and users call) notes the trainer's
`global_step`, `current_epoch`, `callback_metrics` and its `ModelCheckpoint`'s `monitor` and `mode` first, so
each snapshot records them (`note_progress`).

Aliases: `torch_io.py` and `core/saving.py` bind `_atomic_save` / `_load as pl_load` with `from ... import`;
they are rebound by the core's alias pass when imported before the patch, and pick up the wrapper otherwise.
"""

from __future__ import annotations

import contextlib
import io
import os
from collections.abc import Callable
from types import ModuleType
from typing import Any

from autolog.capture.api import (
    Args,
    Hook,
    Kwargs,
    arg,
    bypassed,
    call_once,
    captured,
    guard,
    note_progress,
    observing_nested_saves,
    protect_previous,
    record_folder_load,
    record_folder_save,
    record_load,
    record_remote_load,
    record_remote_save,
    record_save,
    resolve_target,
)

FRAMEWORK = "lightning"
# Packages whose FSDP / ModelParallel strategies write sharded checkpoints (Trainer's and Fabric's, both names).
_STRATEGY_PACKAGES = ("lightning.pytorch", "pytorch_lightning", "lightning.fabric", "lightning_fabric")
_filepath = arg(1, "filepath")
_load_source = arg(0, "path_or_url")


def _remote(path: Any) -> str | None:
    """The URI when `path` is on a non-local fsspec file system, else None."""
    if not isinstance(path, (str, os.PathLike)):
        return None
    text = os.fspath(path)
    if "://" not in text or text.startswith("file://"):
        return None
    return text


def _hash_remote(uri: str) -> tuple[str, int]:
    """Fallback when no in-memory bytes were seen: read the object back once."""
    import fsspec
    from blake3 import blake3

    hasher, size = blake3(), 0
    with fsspec.open(uri, "rb") as f:
        while chunk := f.read(8 << 20):
            hasher.update(chunk)
            size += len(chunk)
    return hasher.hexdigest(), size


class _Destination:
    """Where one `_atomic_save` writes: a local target, or a URI and the `BytesIO`s its nested `torch.save` filled."""

    def __init__(self, destination: Any) -> None:
        self.uri = _remote(destination)
        self.local = resolve_target(destination) if self.uri is None else None
        self.buffers: list[io.BytesIO] = []

    def seen(self, nested_destination: Any) -> None:
        if isinstance(nested_destination, io.BytesIO):
            self.buffers.append(nested_destination)


def _save_wrapper(hook: Hook) -> Callable[..., Any]:
    """`_atomic_save(checkpoint, filepath)`: a local file like any save; a URI hashed from the bytes in memory."""

    def before(instance: Any, args: Args, kwargs: Kwargs) -> _Destination:
        found = _Destination(_filepath(instance, args, kwargs))
        protect_previous(found.local)
        return found

    def around(found: _Destination | None) -> contextlib.AbstractContextManager[Any]:
        if found is None or found.uri is None:
            return contextlib.nullcontext()
        return observing_nested_saves(found.seen)

    def after(found: _Destination | None, result: Any, instance: Any, args: Args, kwargs: Kwargs) -> None:
        if found is None:
            return
        if found.uri is None:
            record_save(found.local, FRAMEWORK)
        elif found.buffers:
            record_remote_save(found.uri, found.buffers[-1].getbuffer(), FRAMEWORK)
        else:
            digest, size = _hash_remote(found.uri)
            record_remote_save(found.uri, None, FRAMEWORK, digest=digest, size=size)

    return captured(hook, "lightning save", before, after, around=around)


def _load_wrapper(hook: Hook) -> Callable[..., Any]:
    """`_load(path_or_url, ...)`: local files link by content, object-storage URIs by location."""

    def before(instance: Any, args: Args, kwargs: Kwargs) -> tuple[str | None, Any]:
        source = _load_source(instance, args, kwargs)
        uri = _remote(source)
        if uri is None or uri.startswith(("http://", "https://")):
            return None, resolve_target(source)
        return uri, None

    def after(found: tuple[str | None, Any] | None, result: Any, instance: Any, args: Args, kwargs: Kwargs) -> None:
        if found is None:
            return
        uri, local = found
        if uri is not None:
            record_remote_load(uri, FRAMEWORK)
        else:
            record_load(local, FRAMEWORK)

    return captured(hook, "lightning load", before, after)


def _sharded(strategy: Any) -> bool:
    """Whether this FSDP / ModelParallel strategy writes a sharded (DCP folder) checkpoint."""
    distributed = getattr(strategy, "_save_distributed_checkpoint", None)  # ModelParallelStrategy
    return bool(distributed) if distributed is not None else getattr(strategy, "_state_dict_type", None) == "sharded"


def _sharded_save_wrapper(hook: Hook, path: Callable[[Any, Args, Kwargs], Any]) -> Callable[..., Any]:
    """`save_checkpoint` of the FSDP / ModelParallel strategies: a sharded checkpoint is a folder that `dcp.save`
    fills on every rank and to which rank 0 then adds `meta.pt` with `torch.save`; the whole folder is ONE
    snapshot, recorded once the call returned (the DCP save and `meta.pt` inside count once). A full
    (single-file) checkpoint goes on through `_atomic_save` as before."""

    def wrapper(wrapped: Callable[..., Any], instance: Any, args: Args, kwargs: Kwargs) -> Any:
        if bypassed(hook):
            return wrapped(*args, **kwargs)
        folder = None
        with guard("lightning sharded save"):
            found = resolve_target(path(instance, args, kwargs)) if _sharded(instance) else None
            if found is not None:
                protect_previous(found)
                folder = found.path
        if folder is None:
            return wrapped(*args, **kwargs)
        result = call_once(wrapped, args, kwargs)
        with guard("lightning sharded save"):
            record_folder_save(folder, FRAMEWORK)
        return result

    return wrapper


def _sharded_load_wrapper(hook: Hook, path: Callable[[Any, Args, Kwargs], Any]) -> Callable[..., Any]:
    """`load_checkpoint` of those strategies: a checkpoint folder links once (its `dcp.load` and the `torch.load`
    of `meta.pt` inside count once); a single file goes on through `_load` as before."""

    def wrapper(wrapped: Callable[..., Any], instance: Any, args: Args, kwargs: Kwargs) -> Any:
        if bypassed(hook):
            return wrapped(*args, **kwargs)
        folder = None
        with guard("lightning sharded load"):
            found = resolve_target(path(instance, args, kwargs))
            folder = found.path if found is not None and os.path.isdir(found.path) else None
        if folder is None:
            return wrapped(*args, **kwargs)
        result = call_once(wrapped, args, kwargs)
        with guard("lightning sharded load"):
            record_folder_load(folder, FRAMEWORK)
        return result

    return wrapper


def _note_trainer(trainer: Any) -> None:
    callback = getattr(trainer, "checkpoint_callback", None)
    note_progress(
        step=getattr(trainer, "global_step", None),
        epoch=getattr(trainer, "current_epoch", None),
        metrics=dict(getattr(trainer, "callback_metrics", None) or {}),
        monitor=getattr(callback, "monitor", None),
        mode=getattr(callback, "mode", None),
    )


def _progress_wrapper(hook: Hook) -> Callable[..., Any]:
    """`Trainer.save_checkpoint`: not a captured call (the `_atomic_save` inside it records), only a note of
    the trainer's progress for that snapshot."""

    def wrapper(wrapped: Callable[..., Any], instance: Any, args: Args, kwargs: Kwargs) -> Any:
        if not bypassed(hook):
            with guard("lightning progress"):
                _note_trainer(instance)
        return wrapped(*args, **kwargs)

    return wrapper


class LightningHook(Hook):
    name = "lightning"
    watches = (
        "lightning.fabric.utilities.cloud_io",
        "lightning_fabric.utilities.cloud_io",
        *(f"{package}.strategies.{name}" for package in _STRATEGY_PACKAGES for name in ("fsdp", "model_parallel")),
        "lightning.pytorch.trainer.trainer",
        "pytorch_lightning.trainer.trainer",
    )
    distribution = ("lightning", "pytorch-lightning", "lightning-fabric")
    min_version = (2, 4)
    max_version = (3,)

    def patch(self, module: ModuleType) -> None:
        package, _, short = module.__name__.rpartition(".strategies.")
        if short in ("fsdp", "model_parallel"):
            cls = module.FSDPStrategy if short == "fsdp" else module.ModelParallelStrategy
            fabric = "fabric" in package
            # Trainer: save_checkpoint(checkpoint, filepath) / load_checkpoint(checkpoint_path);
            # Fabric: save_checkpoint(path, state, ...) / load_checkpoint(path, state, ...).
            save_path = arg(0, "path") if fabric else arg(1, "filepath")
            load_path = arg(0, "path") if fabric else arg(0, "checkpoint_path")
            self.wrap(cls, "save_checkpoint", _sharded_save_wrapper(self, save_path))
            self.wrap(cls, "load_checkpoint", _sharded_load_wrapper(self, load_path))
            return
        if module.__name__.endswith("trainer.trainer"):
            # save_checkpoint(filepath, weights_only=False): every checkpoint a Trainer writes goes through it.
            self.wrap(module.Trainer, "save_checkpoint", _progress_wrapper(self))
            return
        # _atomic_save(checkpoint, filepath): the single writer of checkpoint files (Trainer, ModelCheckpoint,
        # Fabric); after it returns the file exists under its final name, transaction committed.
        self.wrap(module, "_atomic_save", _save_wrapper(self))
        # _load(path_or_url, map_location=None, ...): the single reader of checkpoint files (pl_load).
        self.wrap(module, "_load", _load_wrapper(self))


HOOK = LightningHook
