"""LightGBM: `Booster.save_model` registers an output snapshot; a model file read back links an input model.

Recorded saves (framework `lightgbm`): `Booster.save_model(path)` (str or PathLike), so also the scikit-learn
API's `model.booster_.save_model(path)`. Pickling a model with `joblib.dump` (the scikit-learn API's usual way,
`LGBMClassifier`, `LGBMRegressor`, `LGBMRanker`) is the joblib hook's ONE snapshot, named `lightgbm` from the
object: pickling goes through `Booster.__getstate__` -> `model_to_string`, never `save_model`.
Recorded loads: `lgb.Booster(model_file=path)`, and `init_model=path` given to `lgb.train`, `lgb.cv` or the
scikit-learn API's `fit` (continued training reads the file through `_InnerPredictor.from_model_file`, or
`_InnerPredictor(model_file=...)` in LightGBM 4.0).
Not recorded: `Booster(model_str=...)` and `model_from_string` (a string, not a file), a `Booster` built
for training (`train_set=`), `model_to_string` / `dump_model` (no file).

Aliases: `lightgbm.Booster is lightgbm.basic.Booster`: patching the class's own methods covers every binding.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from types import ModuleType
from typing import Any

from autolog.capture.api import Args, Hook, Kwargs, arg, load_wrapper, save_wrapper

FRAMEWORK = "lightgbm"

_train_set = arg(1, "train_set")
_model_file = arg(2, "model_file")


def _init_source(instance: Any, args: Args, kwargs: Kwargs) -> Any:
    """`Booster(params, train_set, model_file, model_str)`: a load only when no training set comes first."""
    return None if _train_set(instance, args, kwargs) is not None else _model_file(instance, args, kwargs)


def _file_constructor(hook: Hook, source: Callable[[Any, Args, Kwargs], Any]) -> Callable[..., Any]:
    """An `__init__` that reads a model file only sometimes: a construction from a file goes through the load
    wrapper; every other one (each `lgb.train` builds a Booster around its training set) runs untouched."""
    load = load_wrapper(hook, target=source, framework=FRAMEWORK)

    def wrapper(wrapped: Callable[..., Any], instance: Any, args: Args, kwargs: Kwargs) -> Any:
        if source(instance, args, kwargs) is None:
            return wrapped(*args, **kwargs)
        return load(wrapped, instance, args, kwargs)

    return wrapper


class LightGBMHook(Hook):
    name = "lightgbm"
    watches = ("lightgbm",)
    distribution = "lightgbm"
    min_version = (4, 0)
    max_version = (5,)

    def patch(self, module: ModuleType) -> None:
        basic = importlib.import_module("lightgbm.basic")
        # Booster.save_model(filename, ...): the one function that writes a LightGBM model file (the C call
        # LGBM_BoosterSaveModel, then the pandas categories appended to the same file).
        self.wrap(basic.Booster, "save_model", save_wrapper(self, target=arg(0, "filename"), framework=FRAMEWORK))
        # Booster.__init__(model_file=...): LightGBM's documented way to read a model file back (C call
        # LGBM_BoosterCreateFromModelfile made inline, no method of its own to wrap).
        self.wrap(basic.Booster, "__init__", _file_constructor(self, _init_source))
        # Where `init_model=path` of lgb.train / lgb.cv / LGBMModel.fit reads the file (continued training):
        # the classmethod _InnerPredictor.from_model_file(model_file, ...) since LightGBM 4.1, the constructor
        # _InnerPredictor(model_file=...) in 4.0.
        predictor = basic._InnerPredictor
        if "from_model_file" in predictor.__dict__:
            self.wrap(
                predictor, "from_model_file", load_wrapper(self, target=arg(0, "model_file"), framework=FRAMEWORK)
            )
        else:
            self.wrap(predictor, "__init__", _file_constructor(self, arg(0, "model_file")))


HOOK = LightGBMHook
