"""PyTorch distributed checkpoints (`torch.distributed.checkpoint`, DCP): one checkpoint folder is ONE snapshot.

Watched: `torch.distributed.checkpoint` (the package and its `state_dict_saver` / `state_dict_loader` modules)
and `torch.distributed.checkpoint.format_utils`. Framework name: `pytorch`. Hook name: `dcp`.

Saves: `dcp.save(state, checkpoint_id=dir)` (or `storage_writer=FileSystemWriter(dir)`) is called by every rank;
each writes its `__<rank>_<n>.distcp` shard, and the coordinator (rank 0) writes `.metadata` once every rank's
write came back (the collective at the end of the save). So when the call returns on global rank 0 the folder
is complete, and rank 0 records it as one folder snapshot holding every rank's shard and the metadata (the other
ranks record nothing: `active()` checks the rank). A folder without `.metadata` after the call (a custom writer,
`use_collectives=False`) is not a complete checkpoint and is not recorded. DCP's inner `torch.save` calls are
nested: no file snapshots. `dcp.async_save` returns once the state is staged in memory; the snapshot is recorded
by a callback when its future completes, never on the training thread (the `save` that torch's thread executor
runs inside is part of it, not a second snapshot). A checkpoint written through DCP's fsspec writer to
`s3://...` is recorded at its URI without a second copy (its hash read back once in the background).
`format_utils.torch_save_to_dcp(file, dir)` records the DCP folder (the `torch.load` inside links the file).
The deprecated `save_state_dict` counts like `save`.

Loads: `dcp.load(state, checkpoint_id=dir)` links the folder on rank 0, at any world size (a checkpoint saved
by 4 ranks and resharded into 1 process links the same snapshot). `format_utils.dcp_to_torch_save(dir, file)`
links the folder (the `torch.save` inside records the file). The state-dict helpers around them
(`torch.distributed.checkpoint.state_dict.get_state_dict` / `set_state_dict`) touch no file: nothing to record.

Aliases: the package binds `save`, `async_save`, `load` from its submodules with `from .x import ...`: both
bindings are wrapped. torch's thread executor for `async_save` imports `state_dict_saver.save` at call time.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Callable
from types import ModuleType, TracebackType
from typing import Any

from autolog.capture.api import (
    Args,
    Hook,
    Kwargs,
    arg,
    bypassed,
    captured,
    guard,
    protect_previous,
    record_folder_load,
    record_folder_save,
    record_remote_folder_save,
    record_remote_load,
    resolve_target,
)

FRAMEWORK = "pytorch"
_METADATA = ".metadata"

# Checkpoints an `async_save` of this process is writing: the `save` torch runs for it in a worker thread is
# part of that call (a worker thread does not inherit the nested-call flag).
_async_lock = threading.Lock()
_async_pending: set[str] = set()


class _Checkpoint:
    """Where one DCP call writes or reads: a local folder or a URI (DCP's fsspec storage)."""

    def __init__(self, location: Any) -> None:
        text = os.fspath(location) if isinstance(location, (str, os.PathLike)) else None
        self.uri = text if text is not None and "://" in text and not text.startswith("file://") else None
        local = resolve_target(text) if text is not None and self.uri is None else None
        self.local = local.path if local is not None else None

    @property
    def key(self) -> str | None:
        return self.uri or self.local


def _finder(
    storage_keyword: str, storage_position: int | None = None
) -> Callable[[Any, Args, Kwargs], _Checkpoint | None]:
    """`checkpoint_id=` when given (DCP resets the storage to it), else the storage writer's or reader's `path`
    (keyword-only in `save`/`load`; second positional argument of the deprecated `*_state_dict` forms)."""

    def storage(instance: Any, args: Args, kwargs: Kwargs) -> Any:
        if storage_position is None:
            return kwargs.get(storage_keyword)
        return arg(storage_position, storage_keyword)(instance, args, kwargs)

    def find(instance: Any, args: Args, kwargs: Kwargs) -> _Checkpoint | None:
        location = kwargs.get("checkpoint_id")
        if location is None:
            location = getattr(storage(instance, args, kwargs), "path", None)
        found = _Checkpoint(location)
        return found if found.key is not None else None

    return find


def _record_save(found: _Checkpoint | None) -> None:
    if found is None:
        return
    if found.uri is not None:
        record_remote_folder_save(found.uri, FRAMEWORK)
    elif found.local is not None and os.path.isfile(os.path.join(found.local, _METADATA)):
        record_folder_save(found.local, FRAMEWORK)


def _save_wrapper(hook: Hook, find: Callable[[Any, Args, Kwargs], _Checkpoint | None]) -> Callable[..., Any]:
    """`save(state_dict, *, checkpoint_id=None, storage_writer=None, ...)` on every rank; rank 0 records."""

    def before(instance: Any, args: Args, kwargs: Kwargs) -> _Checkpoint | None:
        found = find(instance, args, kwargs)
        if found is None:
            return None
        with _async_lock:
            if found.key in _async_pending:
                return None  # the `save` an `async_save` runs in torch's worker thread: recorded by that call
        protect_previous(resolve_target(found.local))
        return found

    def after(found: _Checkpoint | None, result: Any, instance: Any, args: Args, kwargs: Kwargs) -> None:
        _record_save(found)

    return captured(hook, "dcp save", before, after)


class _Pending:
    """Around the user's `async_save` call: a call that raises leaves no pending checkpoint behind."""

    def __init__(self, found: _Checkpoint | None) -> None:
        self.key = found.key if found is not None else None

    def __enter__(self) -> None:
        return None

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        if exc_type is not None and self.key is not None:
            with _async_lock:
                _async_pending.discard(self.key)


def _async_save_wrapper(hook: Hook) -> Callable[..., Any]:
    """`async_save(...)`: returns once the state is staged; the snapshot is recorded when the upload completes."""
    find = _finder("storage_writer")

    def before(instance: Any, args: Args, kwargs: Kwargs) -> _Checkpoint | None:
        found = find(instance, args, kwargs)
        if found is not None:
            protect_previous(resolve_target(found.local))
            with _async_lock:
                _async_pending.add(found.key or "")
        return found

    def after(found: _Checkpoint | None, result: Any, instance: Any, args: Args, kwargs: Kwargs) -> None:
        if found is None:
            return
        # torch >= 2.9 returns an `AsyncSaveResponse` when the stager itself is asynchronous.
        future = getattr(result, "upload_completion", result)

        def completed(done: Any) -> None:
            with guard("dcp async save"):
                with _async_lock:
                    _async_pending.discard(found.key or "")
                if not done.cancelled() and done.exception() is None:
                    _record_save(found)

        future.add_done_callback(completed)

    return captured(hook, "dcp async save", before, after, around=_Pending)


def _load_wrapper(hook: Hook, find: Callable[[Any, Args, Kwargs], _Checkpoint | None]) -> Callable[..., Any]:
    """`load(state_dict, *, checkpoint_id=None, storage_reader=None, ...)`: rank 0 links the folder it read."""

    def after(found: _Checkpoint | None, result: Any, instance: Any, args: Args, kwargs: Kwargs) -> None:
        if found is None:
            return
        if found.uri is not None:
            record_remote_load(found.uri.rstrip("/"), FRAMEWORK)
        elif found.local is not None:
            record_folder_load(found.local, FRAMEWORK)

    return captured(hook, "dcp load", find, after)


def _conversion_wrapper(hook: Hook, *, folder_at: int, folder_is_output: bool) -> Callable[..., Any]:
    """`dcp_to_torch_save(dir, file)` / `torch_save_to_dcp(file, dir)`: not a nested scope (the torch hook records
    the file side); this wrapper records the folder side once the call returned."""
    folder = arg(folder_at, "dcp_checkpoint_dir")

    def wrapper(wrapped: Callable[..., Any], instance: Any, args: Args, kwargs: Kwargs) -> Any:
        if bypassed(hook):
            return wrapped(*args, **kwargs)
        found = None
        with guard("dcp conversion"):
            found = _Checkpoint(folder(instance, args, kwargs))
        result = wrapped(*args, **kwargs)
        with guard("dcp conversion"):
            if found is not None and found.local is not None:
                if folder_is_output:
                    _record_save(found)
                else:
                    record_folder_load(found.local, FRAMEWORK)
        return result

    return wrapper


class DcpHook(Hook):
    name = "dcp"
    watches = ("torch.distributed.checkpoint", "torch.distributed.checkpoint.format_utils")
    distribution = "torch"
    min_version = (2, 2)  # `checkpoint_id=` and `dcp.save/load` (the non-deprecated names) arrived in 2.2
    max_version = (3,)

    def patch(self, module: ModuleType) -> None:
        if module.__name__.endswith(".format_utils"):
            # The offline converters between a DCP folder and one torch.save file.
            self.wrap(module, "dcp_to_torch_save", _conversion_wrapper(self, folder_at=0, folder_is_output=False))
            self.wrap(module, "torch_save_to_dcp", _conversion_wrapper(self, folder_at=1, folder_is_output=True))
            return
        from torch.distributed.checkpoint import state_dict_loader, state_dict_saver

        # save(state_dict, *, checkpoint_id, storage_writer, ...): every rank; returns on rank 0 after .metadata.
        save = _save_wrapper(self, _finder("storage_writer"))
        # save_state_dict(state_dict, storage_writer, ...): the deprecated positional form.
        legacy_save = _save_wrapper(self, _finder("storage_writer", 1))
        async_save = _async_save_wrapper(self)
        # load(state_dict, *, checkpoint_id, storage_reader, ...) and the deprecated load_state_dict(sd, reader).
        load = _load_wrapper(self, _finder("storage_reader"))
        legacy_load = _load_wrapper(self, _finder("storage_reader", 1))
        for owner in (module, state_dict_saver):
            self.wrap(owner, "save", save)
            self.wrap(owner, "async_save", async_save)
            self.wrap(owner, "save_state_dict", legacy_save)
        for owner in (module, state_dict_loader):
            self.wrap(owner, "load", load)
            self.wrap(owner, "load_state_dict", legacy_load)


HOOK = DcpHook
