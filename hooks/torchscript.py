"""TorchScript: `torch.jit.save` registers an output snapshot, `torch.jit.load` links an input model.

Recorded saves (framework `torchscript`): `torch.jit.save(scripted, path)` and `torch.jit.save(scripted, f)`
into an open file that has a path; `module.save(path)` on a scripted or traced module (the PyTorch tutorials'
`model_scripted.save("model_scripted.pt")`), which `torch.jit.save` calls inside: counted once.
Recorded loads: `torch.jit.load(path)` or of an open file that has a path. `torch.load` of a TorchScript
archive calls `torch.jit.load` inside: the torch hook records that one load (as `torchscript`, from the
object it returned), this hook's nested call counts once; with the torch hook off, this hook records it.
Not recorded: saves into and loads from `BytesIO`, `save_to_buffer`, `ScriptFunction.save` called directly (a
C++ method; `torch.jit.save(function, path)` is recorded), the deprecated lite-interpreter saves.

Aliases (torch 2.13): `torch.jit.save is torch.jit._serialization.save` and the same for `load`: both
bindings are wrapped around the same original, as the torch hook does for `torch.save`; likewise
`RecursiveScriptModule.save is ScriptModule.save` (torch copies the method onto the base class).
"""

from __future__ import annotations

import importlib
from types import ModuleType

from autolog.capture.api import Hook, arg, load_wrapper, save_wrapper

FRAMEWORK = "torchscript"


class TorchScriptHook(Hook):
    name = "torchscript"
    watches = ("torch.jit",)
    distribution = "torch"
    min_version = (2, 0)
    max_version = (3,)

    def patch(self, module: ModuleType) -> None:
        serialization = importlib.import_module("torch.jit._serialization")
        script = importlib.import_module("torch.jit._script")
        # torch.jit.save(m, f): the public entry point; a path goes to `m.save(f)`, a file object gets
        # `m.save_to_buffer()` written into it (so wrapping `ScriptModule.save` alone would miss it).
        save = save_wrapper(self, target=arg(1, "f"), framework=FRAMEWORK)
        # torch.jit.load(f, ...): every TorchScript read from Python goes through it (torch.load included).
        load = load_wrapper(self, target=arg(0, "f"), framework=FRAMEWORK)
        for owner in (serialization, module):
            self.wrap(owner, "save", save)
            self.wrap(owner, "load", load)
        # ScriptModule.save(f): the method users call on a scripted or traced module; it writes the archive itself
        # (`self._c.save(str(f))`), without `torch.jit.save`. Defined on RecursiveScriptModule (scripted) and
        # copied by torch onto ScriptModule (what traced modules inherit): two bindings of one function.
        method = save_wrapper(self, target=arg(0, "f"), framework=FRAMEWORK)
        for cls in (script.RecursiveScriptModule, script.ScriptModule):
            self.wrap(cls, "save", method)


HOOK = TorchScriptHook
