"""Hugging Face accelerate: a `save_state` folder is ONE snapshot, `load_state` links it once.

Watched: `accelerate.accelerator`. Framework name: `accelerate`.

Saves, each one folder snapshot holding every file in the folder when the call returns:
- `Accelerator.save_state(output_dir)`: model weights (`model.safetensors`, through safetensors), `optimizer.bin`,
  `scheduler.bin`, `random_states_0.pkl`, sampler and custom states (through `torch.save`), with
  `ProjectConfiguration(automatic_checkpoint_naming=True)` the `checkpoints/checkpoint_N` folder it returns.
  The `save_file` / `torch.save` calls inside count once, through the nested-call flag: no "pytorch model"
  named `optimizer.bin` or `random_states_0.pkl`.
- `Accelerator.save_model(model, save_directory)`: the folder of weights (sharded or not).

Loads: `Accelerator.load_state(input_dir)` (or, with automatic naming, the latest `checkpoint_N`, found the way
accelerate finds it) links that folder: one input, not four. In a multi-process run every process writes its
own `random_states_<i>.pkl` after rank 0's model files and accelerate does not wait for them at the end of
`save_state`: rank 0 records the folder as it is when its call returns.
"""

from __future__ import annotations

import os
import re
from types import ModuleType
from typing import Any

from autolog.capture.api import Args, Hook, Kwargs, arg, folder_load_wrapper, folder_save_wrapper

FRAMEWORK = "accelerate"
_input_dir = arg(0, "input_dir")


def _saved_folder(result: Any, instance: Any, args: Args, kwargs: Kwargs) -> Any:
    """`save_state` returns the folder it wrote (also when automatic naming chose it)."""
    return result if isinstance(result, (str, os.PathLike)) else arg(0, "output_dir")(instance, args, kwargs)


def _model_folder(result: Any, instance: Any, args: Args, kwargs: Kwargs) -> Any:
    return arg(1, "save_directory")(instance, args, kwargs)


def _load_folder(instance: Any, args: Args, kwargs: Kwargs) -> Any:
    """`load_state(input_dir=None)`: the folder given, or the latest automatically named checkpoint."""
    given = _input_dir(instance, args, kwargs)
    if isinstance(given, (str, os.PathLike)):
        return os.path.expanduser(os.fspath(given))
    config = getattr(instance, "project_configuration", None)
    if not getattr(config, "automatic_checkpoint_naming", False):
        return None
    parent = os.path.join(instance.project_dir, "checkpoints")
    numbered = []
    for name in os.listdir(parent):
        found = re.findall(r"([0-9]+)(?=[^/]*$)", name)
        if found:
            numbered.append((int(found[0]), os.path.join(parent, name)))
    return max(numbered)[1] if numbered else None


class AccelerateHook(Hook):
    name = "accelerate"
    watches = ("accelerate.accelerator",)
    distribution = "accelerate"
    min_version = (0, 30)
    max_version = (2,)

    def patch(self, module: ModuleType) -> None:
        accelerator = module.Accelerator
        # save_state(output_dir=None, ...) -> str: the outer call writing every file of one checkpoint folder.
        self.wrap(accelerator, "save_state", folder_save_wrapper(self, folder=_saved_folder, framework=FRAMEWORK))
        # save_model(model, save_directory, ...): the unwrapped model's weights into one folder.
        self.wrap(accelerator, "save_model", folder_save_wrapper(self, folder=_model_folder, framework=FRAMEWORK))
        # load_state(input_dir=None, ...): reads the whole folder back (models, optimizers, RNG states).
        self.wrap(accelerator, "load_state", folder_load_wrapper(self, source=_load_folder, framework=FRAMEWORK))


HOOK = AccelerateHook
