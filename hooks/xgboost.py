"""XGBoost: `save_model` registers an output snapshot, `load_model` links an input model.

Recorded: `Booster.save_model(path)` and `XGBModel.save_model(path)` (every sklearn-API class,
`XGBClassifier`, `XGBRegressor`, `XGBRanker`, ..., inherits it), and the matching `load_model(path)`;
`~` in a path is expanded as XGBoost does. `Booster(model_file=path)` loads through `Booster.load_model`
and is recorded too; so is each file the `TrainingCheckPoint` callback writes. Framework: `xgboost`.
Not recorded: `load_model(bytearray)` and `save_raw()` (memory buffers, no file); a file object given to
`Booster.save_model` raises XGBoost's own `TypeError` (paths only) and records nothing.

Nesting: `XGBModel.save_model` calls `Booster.save_model` and `XGBModel.load_model` calls
`Booster.load_model`; the nested-call flag records each once, at the outer call. Pickling an XGBoost
model (`joblib.dump`) goes through `save_raw`, never `save_model`: it is the joblib hook's snapshot.
"""

from __future__ import annotations

import importlib
import importlib.metadata
import os
from types import ModuleType
from typing import Any

from autolog.capture.api import Args, Hook, Kwargs, arg, load_wrapper, save_wrapper

_fname = arg(0, "fname")


def _model_file(instance: Any, args: Args, kwargs: Kwargs) -> Any:
    """The file a save_model/load_model call names, `~` expanded; None for an in-memory bytearray."""
    fname = _fname(instance, args, kwargs)
    if isinstance(fname, (str, os.PathLike)):
        return os.path.expanduser(os.fspath(fname))
    return None


class XGBoostHook(Hook):
    name = "xgboost"
    watches = ("xgboost",)
    distribution = "xgboost"
    min_version = (1, 7)
    max_version = (4,)

    def version(self) -> str:
        # The CPU-only wheel is published as `xgboost-cpu`; it installs the same `xgboost` package.
        for dist in ("xgboost", "xgboost-cpu"):
            try:
                return importlib.metadata.version(dist)
            except importlib.metadata.PackageNotFoundError:
                continue
        return "unknown"

    def patch(self, module: ModuleType) -> None:
        core = importlib.import_module("xgboost.core")
        sklearn_api = importlib.import_module("xgboost.sklearn")
        save = save_wrapper(self, target=_model_file, framework="xgboost")
        load = load_wrapper(self, target=_model_file, framework="xgboost")
        # Booster.save_model/load_model: the only functions that write/read an XGBoost model file;
        # xgb.train's callbacks and Booster(model_file=...) go through them.
        self.wrap(core.Booster, "save_model", save)
        self.wrap(core.Booster, "load_model", load)
        # XGBModel.save_model/load_model: the sklearn API's entry points (they add estimator metadata
        # around the Booster call); wrapped on XGBModel, whose subclasses inherit them.
        self.wrap(sklearn_api.XGBModel, "save_model", save)
        self.wrap(sklearn_api.XGBModel, "load_model", load)


HOOK = XGBoostHook
