"""torch.export: `torch.export.save` registers an output snapshot, `torch.export.load` links an input model.

Hook name `torch_export` (a module name cannot hold the dot); framework of its snapshots `torch.export`.
Recorded: `torch.export.save(exported_program, "model.pt2")` to a path (str / PathLike) or into an open file
that has a path, and `torch.export.load` of the same. Both write and read the `.pt2` zip archive themselves
(`torch.export.pt2_archive`), without `torch.save` / `torch.load`; any such call inside counts once anyway.
Not recorded: `BytesIO` targets; AOTInductor packages (`torch._inductor.aoti_compile_and_package`), which are
compiled artifacts written by a private API.
"""

from __future__ import annotations

from types import ModuleType

from autolog.capture.api import Hook, arg, load_wrapper, save_wrapper

FRAMEWORK = "torch.export"


class TorchExportHook(Hook):
    name = "torch_export"
    watches = ("torch.export",)
    distribution = "torch"
    min_version = (2, 3)
    max_version = (3,)

    def patch(self, module: ModuleType) -> None:
        # torch.export.save(ep, f, ...): the public writer of `.pt2` (defined in torch/export/__init__.py, the
        # only binding); it packages the archive with `package_pt2`.
        self.wrap(module, "save", save_wrapper(self, target=arg(1, "f"), framework=FRAMEWORK))
        # torch.export.load(f, ...): the public reader of the same archive.
        self.wrap(module, "load", load_wrapper(self, target=arg(0, "f"), framework=FRAMEWORK))


HOOK = TorchExportHook
