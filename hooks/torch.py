"""PyTorch: `torch.save` registers an output snapshot, `torch.load` links an input model.

Recorded: saves to a path (str / PathLike) or to an open file that has a path; loads likewise
(state dicts, whole pickled modules, `weights_only` loads, TorchScript archives that `torch.load`
hands to `torch.jit.load`, and `.safetensors` files that it hands to `safetensors.torch.load_file`).
A TorchScript archive read through `torch.load` is one load, framework `torchscript` (from the object it
returned); the torchscript hook's nested `torch.jit.load` counts once.
A save streamed into an fsspec transaction (`with fs.transaction: with fs.open(p, "wb") as f: torch.save(x, f)`)
is staged from the transaction's temporary file and named and recorded after the final path `p`.
Not recorded: saves into `BytesIO` or other pathless buffers, which have no file to snapshot (Lightning
writes checkpoints that way: the lightning hook records them, and the nested `torch.save` counts once);
`torch.jit.save` / a direct `torch.jit.load` (the torchscript hook's), `torch.export.save/load` (torch_export).

Aliases (checked against torch 2.13): `torch.save is torch.serialization.save` and
`torch.load is torch.serialization.load` — one function each, two module bindings, and no other torch
module binds them. Both bindings are wrapped, each wrapper around the same original, so a call through
either records and unpatching restores both. Internal callers (`torch.hub`, `torch.distributed.checkpoint`)
go through these bindings. `torch.load` of a `.safetensors` file calls `safetensors.torch.load_file`
inside: the nested-call flag makes that one load, recorded here with framework `safetensors`.
"""

from __future__ import annotations

import os
from types import ModuleType
from typing import Any

from autolog.capture.api import Args, Hook, Kwargs, arg, load_wrapper, save_wrapper

_load_source = arg(0, "f")


def _load_framework(instance: Any, args: Args, kwargs: Kwargs) -> str:
    """`torch.load` reads `.safetensors` files with safetensors (torch >= 2.7); name the format honestly."""
    source = _load_source(instance, args, kwargs)
    if isinstance(source, (str, os.PathLike)) and os.fspath(source).endswith(".safetensors"):
        return "safetensors"
    return "pytorch"


def _loaded_framework(result: Any) -> str | None:
    """`torchscript` for a TorchScript module or function (`torch.load` handed the archive to `torch.jit.load`)."""
    import torch.jit

    return "torchscript" if isinstance(result, (torch.jit.ScriptModule, torch.jit.ScriptFunction)) else None


class TorchHook(Hook):
    name = "torch"
    watches = ("torch",)
    distribution = "torch"
    min_version = (1, 13)
    max_version = (3,)

    def patch(self, module: ModuleType) -> None:
        import torch.serialization as serialization

        # torch.save(obj, f, ...): `f` is the destination; the public entry point every caller uses.
        save = save_wrapper(self, target=arg(1, "f"), framework="pytorch")
        # torch.load(f, map_location=None, ...): `f` is the source; every format torch.load reads goes through it.
        load = load_wrapper(
            self, target=_load_source, framework=_load_framework, framework_from_result=_loaded_framework
        )
        # `torch.save` and `torch.serialization.save` are two bindings of one function: wrap both.
        for owner in (module, serialization):
            self.wrap(owner, "save", save)
            self.wrap(owner, "load", load)


HOOK = TorchHook
