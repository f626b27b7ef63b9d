"""Hugging Face transformers: a saved folder is one snapshot, a folder loaded back links it.

Watched: `transformers.modeling_utils`, `transformers.tokenization_utils_base`,
`transformers.configuration_utils`, `transformers.trainer` (each patched when transformers' lazy loader
imports it). Framework name: `transformers`.

Saves, each ONE folder snapshot holding every file in the folder when the call returns (weights, config,
tokenizer files, optimizer and scheduler state, `trainer_state.json`, `training_args.bin`):
- `PreTrainedModel.save_pretrained(dir)`, `PreTrainedTokenizerBase.save_pretrained(dir)`,
  `PretrainedConfig.save_pretrained(dir)`: the folder `dir` (a model's save writes its config inside: once);
- `Trainer._save_checkpoint`: the `checkpoint-N/` folder it just wrote (model, optimizer, scheduler, RNG and
  trainer state are written by separate calls inside it, so the outer call is the one that sees them all);
- `Trainer.save_model(dir)`: `dir` (default `args.output_dir`).
The `safetensors.save_file` / `torch.save` calls inside count once, through the nested-call flag: no
`training_args.bin` "pytorch model", no per-file snapshots.

Loads: `from_pretrained(local_dir)` of a model, tokenizer or config (and the `Auto*` classes, which call
them) links the snapshot whose files the folder holds, including a folder fetched back with
`model.get_local_copy()`; hub ids are not local folders and are not recorded. `Trainer._load_from_checkpoint`
(what `Trainer.train(resume_from_checkpoint=...)` calls, `True` resolved to the last checkpoint) links the
checkpoint folder. While `Trainer.train` runs, loads of single files inside `args.output_dir` or the resume
folder (`optimizer.pt`, `rng_state.pth`, the best model at the end) are Trainer bookkeeping, not linked alone.

Step and metrics: a `Trainer` checkpoint or `save_model` records `state.global_step`, `state.epoch`, the
latest values in `state.log_history` (eval metrics included) and `metric_for_best_model` (as `eval_<name>`,
`greater_is_better` giving max or min).

Aliases: `modeling_utils` binds `from safetensors.torch import save_file as safe_save_file` and
`from safetensors import safe_open` at import; the safetensors hook covers them (early bindings are rebound
by the core's alias pass), and inside these calls they are nested anyway.
"""

from __future__ import annotations

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
    covering,
    folder_load_wrapper,
    folder_save_wrapper,
    guard,
    note_progress,
)

FRAMEWORK = "transformers"


def _folder_save(hook: Hook, folder: Callable[[Any, Any, Args, Kwargs], Any]) -> Callable[..., Any]:
    return folder_save_wrapper(hook, folder=folder, framework=FRAMEWORK)


def _folder_load(hook: Hook, source: Callable[[Any, Args, Kwargs], Any]) -> Callable[..., Any]:
    return folder_load_wrapper(hook, source=source, framework=FRAMEWORK)


def _train_wrapper(hook: Hook) -> Callable[..., Any]:
    """`Trainer.train`: not a captured call (its checkpoints must record), only a covered folder scope."""
    resume = arg(0, "resume_from_checkpoint")

    def wrapper(wrapped: Callable[..., Any], instance: Any, args: Args, kwargs: Kwargs) -> Any:
        if bypassed(hook):
            return wrapped(*args, **kwargs)
        folders: list[Any] = []
        with guard("transformers train"):
            folders = [getattr(getattr(instance, "args", None), "output_dir", None), resume(instance, args, kwargs)]
        with covering(*folders):
            return wrapped(*args, **kwargs)

    return wrapper


def _note_trainer(trainer: Any) -> None:
    """The Trainer's step, epoch, latest logged (eval) metrics and `metric_for_best_model`, for the snapshot."""
    state, args = getattr(trainer, "state", None), getattr(trainer, "args", None)
    metrics: dict[str, Any] = {}
    for entry in getattr(state, "log_history", None) or []:  # oldest first: later values win
        metrics.update({k: v for k, v in entry.items() if k not in ("step", "epoch")})
    monitor = getattr(args, "metric_for_best_model", None)
    if monitor and not str(monitor).startswith("eval_"):
        monitor = f"eval_{monitor}"  # the Trainer reads it with this prefix too
    greater = getattr(args, "greater_is_better", None)
    note_progress(
        step=getattr(state, "global_step", None),
        epoch=getattr(state, "epoch", None),
        metrics=metrics,
        monitor=monitor,
        mode="max" if greater else "min",
    )


def _checkpoint_folder(result: Any, instance: Any, args: Args, kwargs: Kwargs) -> str:
    from transformers.trainer_utils import PREFIX_CHECKPOINT_DIR

    with guard("transformers progress"):
        _note_trainer(instance)
    trial = kwargs.get("trial", args[1] if len(args) > 1 else None)
    return os.path.join(instance._get_output_dir(trial=trial), f"{PREFIX_CHECKPOINT_DIR}-{instance.state.global_step}")


def _save_model_folder(result: Any, instance: Any, args: Args, kwargs: Kwargs) -> Any:
    with guard("transformers progress"):
        _note_trainer(instance)
    output_dir = kwargs.get("output_dir", args[0] if args else None)
    return output_dir if output_dir is not None else instance.args.output_dir


def _first_arg(name: str) -> Callable[[Any, Any, Args, Kwargs], Any]:
    find = arg(0, name)
    return lambda result, instance, args, kwargs: find(instance, args, kwargs)


class TransformersHook(Hook):
    name = "transformers"
    watches = (
        "transformers.configuration_utils",
        "transformers.modeling_utils",
        "transformers.tokenization_utils_base",
        "transformers.trainer",
    )
    distribution = "transformers"
    min_version = (4, 51)
    max_version = (6,)

    def patch(self, module: ModuleType) -> None:
        short = module.__name__.rsplit(".", 1)[-1]
        owner = {
            "configuration_utils": "PretrainedConfig",
            "modeling_utils": "PreTrainedModel",
            "tokenization_utils_base": "PreTrainedTokenizerBase",
        }.get(short)
        if owner is not None:
            cls = getattr(module, owner)
            # save_pretrained(save_directory, ...): writes the whole folder a from_pretrained reads back.
            self.wrap(
                cls,
                "save_pretrained",
                _folder_save(self, _first_arg("save_directory")),
            )
            # from_pretrained(pretrained_model_name_or_path, ...): a classmethod; a local folder is a load.
            self.wrap(
                cls,
                "from_pretrained",
                _folder_load(self, arg(0, "pretrained_model_name_or_path")),
            )
            return
        if short == "trainer":
            trainer = module.Trainer
            # _save_checkpoint(model, trial): the outer call writing every file of one checkpoint-N/ folder.
            self.wrap(trainer, "_save_checkpoint", _folder_save(self, _checkpoint_folder))
            # save_model(output_dir=None): the public "save the final model" call (weights, config, tokenizer).
            self.wrap(trainer, "save_model", _folder_save(self, _save_model_folder))
            # _load_from_checkpoint(resume_from_checkpoint, model=None): the resume load, path already resolved.
            self.wrap(
                trainer,
                "_load_from_checkpoint",
                _folder_load(self, arg(0, "resume_from_checkpoint")),
            )
            # train(resume_from_checkpoint=None, ...): scope in which the Trainer's own file loads are not linked.
            self.wrap(trainer, "train", _train_wrapper(self))


HOOK = TransformersHook
