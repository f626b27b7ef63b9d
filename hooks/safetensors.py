"""safetensors: `save_file` registers an output snapshot, `load_file` links an input model.

Watched: `safetensors`, `safetensors.torch` and `safetensors.numpy` (each patched when it is imported).
Recorded: `save_file(tensors, filename)` / `load_file(filename)` in both, plus the torch-only `save_model(model,
filename)` / `load_model(model, filename)`, all with framework `safetensors`, and `safetensors.safe_open(
filename, ...)`: opening a file is a load (Hugging Face `from_pretrained` reads weights this way), linked
once per file per task however many tensors are then read from the handle. Not recorded: the in-memory
`save(tensors) -> bytes` / `load(bytes)`. `load_file` is built on `safe_open`: one load, through the
nested-call flag.

Aliases (checked against safetensors 0.8): `save_model` / `load_model` call the module-global
`save_file` / `load_file`, so they would be seen through those alone; they are wrapped as well so that
the outer call is the one recorded: a `load_model(..., strict=True)` that raises on mismatched keys after
`load_file` succeeded is not recorded, and the nested-call flag makes a successful one count once.
`torch.load("x.safetensors")` calls `safetensors.torch.load_file` inside and is recorded once, by the
torch hook. `safe_open` is a class (Rust): the module binding is wrapped (calling the wrapper constructs the
real handle); `from safetensors import safe_open` bindings made earlier, such as transformers'
`from safetensors.torch import save_file as safe_save_file`, are rebound by the core's alias pass.
"""

from __future__ import annotations

from types import ModuleType

from autolog.capture.api import Hook, arg, load_wrapper, save_wrapper


class SafetensorsHook(Hook):
    name = "safetensors"
    watches = ("safetensors", "safetensors.torch", "safetensors.numpy")
    distribution = "safetensors"
    min_version = (0, 3)
    max_version = (1,)

    def patch(self, module: ModuleType) -> None:
        if module.__name__ == "safetensors":
            # safe_open(filename, framework, device="cpu"): the lazy reader from_pretrained uses; opening is the load.
            self.wrap(module, "safe_open", load_wrapper(self, target=arg(0, "filename"), framework="safetensors"))
            return
        # save_file(tensors, filename, metadata=None): the only writer of a .safetensors file in each module.
        self.wrap(module, "save_file", save_wrapper(self, target=arg(1, "filename"), framework="safetensors"))
        # load_file(filename, ...): the whole-file reader every loader above it uses.
        self.wrap(module, "load_file", load_wrapper(self, target=arg(0, "filename"), framework="safetensors"))
        if module.__name__ == "safetensors.torch":
            # save_model(model, filename) / load_model(model, filename): the outer call decides success.
            self.wrap(module, "save_model", save_wrapper(self, target=arg(1, "filename"), framework="safetensors"))
            self.wrap(module, "load_model", load_wrapper(self, target=arg(1, "filename"), framework="safetensors"))


HOOK = SafetensorsHook
