"""CatBoost: `save_model` registers an output snapshot, `load_model` links an input model.

Recorded saves (framework `catboost`): `save_model(path, format=...)` on `CatBoost`, `CatBoostClassifier`,
`CatBoostRegressor` and `CatBoostRanker` (they inherit it from `CatBoost`), in every format: `cbm`, `json`,
`onnx`, `coreml`, `pmml`, `cpp`, `python`. CatBoost writes each format itself (C++), so
`save_model(format="onnx")` is one `catboost` snapshot: no ONNX library call happens inside it.
Recorded loads: `load_model(path)` on the same four classes (`CatBoostClassifier().load_model(path)`), and
`load_model(stream=f)` of an open file that has a path; `fit(init_model=path)` reads the file through
`CatBoost().load_model`, so continued training links the model it started from.
Not recorded: `load_model(blob=...)` (bytes), pickling (`joblib.dump` of a CatBoost model is the joblib hook's
snapshot, named `catboost` from the object), the training snapshots CatBoost's C++ writes itself
(`save_snapshot=True`), and the temporary file `catboost.sample_gaussian_process` writes and reads back
internally (not a model the user saved).
"""

from __future__ import annotations

import importlib
import sys
from types import FrameType, ModuleType
from typing import Any

from autolog.capture.api import Args, Hook, Kwargs, arg, load_wrapper, save_wrapper

FRAMEWORK = "catboost"

_fname = arg(0, "fname")
_stream = arg(2, "stream")


def _internal_scratch() -> bool:
    """True when CatBoost itself calls save_model/load_model on a temporary file (`sample_gaussian_process`
    round-trips its prior through JSON): one look at the calling frame, past autolog's and wrapt's own."""
    frame: FrameType | None = sys._getframe(1)
    while frame is not None and (frame.f_globals.get("__name__") or "").startswith(("autolog", "wrapt")):
        frame = frame.f_back
    return frame is not None and frame.f_code.co_name == "sample_gaussian_process"


def _save_target(instance: Any, args: Args, kwargs: Kwargs) -> Any:
    return None if _internal_scratch() else _fname(instance, args, kwargs)


def _load_source(instance: Any, args: Args, kwargs: Kwargs) -> Any:
    """A path (`fname`), else an open file with a path (`stream`); `blob` bytes are not a file."""
    if _internal_scratch():
        return None
    fname = _fname(instance, args, kwargs)
    return fname if fname is not None else _stream(instance, args, kwargs)


class CatBoostHook(Hook):
    name = "catboost"
    watches = ("catboost",)
    distribution = "catboost"
    min_version = (1, 2)
    max_version = (2,)

    def patch(self, module: ModuleType) -> None:
        core = importlib.import_module("catboost.core")
        # CatBoost.save_model(fname, format, ...): the public save of every model class (the subclasses
        # inherit it; none overrides it), every format written by the C++ library under it.
        self.wrap(core.CatBoost, "save_model", save_wrapper(self, target=_save_target, framework=FRAMEWORK))
        # CatBoost.load_model(fname=None, format, stream=None, blob=None): the public load of every model class,
        # and what `fit(init_model=path)` calls; one wrapper on the base class, so each load counts once.
        self.wrap(core.CatBoost, "load_model", load_wrapper(self, target=_load_source, framework=FRAMEWORK))


HOOK = CatBoostHook
