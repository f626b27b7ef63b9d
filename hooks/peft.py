"""PEFT adapters: `save_pretrained` of an adapter is ONE folder snapshot that reloads, `from_pretrained` links it.

Watched: `peft.peft_model`. Framework name: `peft`.

Saves: `PeftModel.save_pretrained(dir)` writes `adapter_model.safetensors` (through safetensors' `save_file`)
and `adapter_config.json` (and one subfolder per extra adapter): the folder is recorded once the call returns,
config included, so the snapshot fetched back with `get_local_copy()` loads with `PeftModel.from_pretrained`.
The `save_file` inside counts once (nested-call flag): no lone `adapter_model.safetensors` snapshot.

Loads: `PeftModel.from_pretrained(model, dir)` and `PeftModel.load_adapter(dir, adapter_name)` of a local
folder link the adapter folder; hub ids are not local folders and are not recorded. The base model's own
`from_pretrained` is recorded by the transformers hook, as before.
"""

from __future__ import annotations

from types import ModuleType
from typing import Any

from autolog.capture.api import Args, Hook, Kwargs, arg, folder_load_wrapper, folder_save_wrapper

FRAMEWORK = "peft"
_save_directory = arg(0, "save_directory")


def _saved_folder(result: Any, instance: Any, args: Args, kwargs: Kwargs) -> Any:
    return _save_directory(instance, args, kwargs)


class PeftHook(Hook):
    name = "peft"
    watches = ("peft.peft_model",)
    distribution = "peft"
    min_version = (0, 10)
    max_version = (1,)

    def patch(self, module: ModuleType) -> None:
        peft_model = module.PeftModel
        # save_pretrained(save_directory, ...): weights and adapter_config.json of every adapter, one folder.
        self.wrap(peft_model, "save_pretrained", folder_save_wrapper(self, folder=_saved_folder, framework=FRAMEWORK))
        # from_pretrained(model, model_id, ...): a classmethod; model_id a local folder or a hub id.
        self.wrap(
            peft_model, "from_pretrained", folder_load_wrapper(self, source=arg(1, "model_id"), framework=FRAMEWORK)
        )
        # load_adapter(model_id, adapter_name, ...): a further adapter into a PeftModel (from_pretrained calls it).
        self.wrap(peft_model, "load_adapter", folder_load_wrapper(self, source=arg(0, "model_id"), framework=FRAMEWORK))


HOOK = PeftHook
