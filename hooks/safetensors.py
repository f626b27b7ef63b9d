"""safetensors: `save_file` registers an output snapshot, `load_file` links an input model.

Watched: `safetensors.torch` and `safetensors.numpy` (each patched when it is imported). Recorded:
`save_file(tensors, filename)` / `load_file(filename)` in both, plus the torch-only `save_model(model,
filename)` / `load_model(model, filename)`, all with framework `safetensors`. Not recorded: the in-memory
`save(tensors) -> bytes` / `load(bytes)`, and `safe_open(...)` used directly (it is a reader handle,
not a load; `load_file` itself is built on it).

Aliases (checked against safetensors 0.8): `save_model` / `load_model` call the module-global
`save_file` / `load_file`, so they would be seen through those alone; they are wrapped as well so that
the outer call is the one recorded: a `load_model(..., strict=True)` that raises on mismatched keys after
`load_file` succeeded is not recorded, and the nested-call flag makes a successful one count once.
`torch.load("x.safetensors")` calls `safetensors.torch.load_file` inside and is recorded once, by the
torch hook. A library that bound `save_file` by name before autolog patched it (`from safetensors.torch
import save_file` at its import time) keeps the original: import autolog before it.
"""

from __future__ import annotations

from types import ModuleType

from autolog.instrumentation import Hook
from autolog.wrappers import arg, load_wrapper, save_wrapper


class SafetensorsHook(Hook):
    name = "safetensors"
    watches = ("safetensors.torch", "safetensors.numpy")
    distribution = "safetensors"
    min_version = (0, 3)
    max_version = (1,)

    def patch(self, module: ModuleType) -> None:
        # save_file(tensors, filename, metadata=None): the only writer of a .safetensors file in each module.
        self.wrap(module, "save_file", save_wrapper(self, target=arg(1, "filename"), framework="safetensors"))
        # load_file(filename, ...): the whole-file reader every loader above it uses.
        self.wrap(module, "load_file", load_wrapper(self, target=arg(0, "filename"), framework="safetensors"))
        if module.__name__ == "safetensors.torch":
            # save_model(model, filename) / load_model(model, filename): the outer call decides success.
            self.wrap(module, "save_model", save_wrapper(self, target=arg(1, "filename"), framework="safetensors"))
            self.wrap(module, "load_model", load_wrapper(self, target=arg(1, "filename"), framework="safetensors"))


HOOK = SafetensorsHook
