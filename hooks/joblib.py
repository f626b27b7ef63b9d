"""joblib: `joblib.dump` registers an output snapshot, `joblib.load` links an input model.

Recorded: dumps to a path (str / PathLike) or to an open file that has a path, with or without
compression (joblib writes exactly the file it was given: `compress=` and a `.z`/`.gz`/`.bz2`/`.xz`/
`.lzma` extension change the bytes, never the file name); loads likewise.
Not recorded: dumps into `BytesIO` or other pathless buffers.

Framework of a snapshot: `scikit-learn` when the dumped object's type comes from `sklearn`, `xgboost`
for xgboost objects (`XGBClassifier`, `Booster`, ...), `lightgbm` (`LGBMClassifier`, `Booster`, ...) and
`catboost` (`CatBoostClassifier`, ...) likewise, else `joblib`. Pickling those models never calls their own
`save_model` (they serialize to memory), so such a dump is this hook's one snapshot. A load names the framework the
same way from the object it returned (used when the file is unknown and becomes an imported model).

Aliases, decided: only the public bindings `joblib.dump` and `joblib.load` are wrapped.
`joblib.numpy_pickle.dump/load` are left alone on purpose: joblib's own machinery calls them
(`Memory` writes and reads its cache through `numpy_pickle.dump/load`; `Parallel`'s memmapping of large
arrays uses `_memmapping_reducer`'s own `dump` binding), and that traffic is cache, not models.
A user calling `joblib.numpy_pickle.dump` directly is therefore not recorded, and the core's alias pass
leaves every binding inside the `joblib` package alone (`keep_aliases_in`); a user module's early
`from joblib import dump, load` is rebound. scikit-learn's dataset
fetchers (`fetch_20newsgroups`, `fetch_covtype`, ...) cache their downloads with `joblib.dump/load`: a call
made from `sklearn.datasets` is not recorded either (one look at the calling frame).
"""

from __future__ import annotations

import sys
from types import FrameType, ModuleType
from typing import Any

from autolog.capture.api import Args, Hook, Kwargs, arg, load_wrapper, save_wrapper

_destination = arg(1, "filename")
_source = arg(0, "filename")


def _called_from_dataset_cache() -> bool:
    """True when the code calling joblib is scikit-learn's dataset fetchers (a download cache, not a model)."""
    frame: FrameType | None = sys._getframe(1)
    while frame is not None and (frame.f_globals.get("__name__") or "").startswith(("autolog", "wrapt")):
        frame = frame.f_back
    return frame is not None and (frame.f_globals.get("__name__") or "").startswith("sklearn.datasets")


def _dump_target(instance: Any, args: Args, kwargs: Kwargs) -> Any:
    return None if _called_from_dataset_cache() else _destination(instance, args, kwargs)


def _load_target(instance: Any, args: Args, kwargs: Kwargs) -> Any:
    return None if _called_from_dataset_cache() else _source(instance, args, kwargs)


# Top-level package of an object's type -> the framework its joblib file is recorded as.
_FRAMEWORKS = {"sklearn": "scikit-learn", "xgboost": "xgboost", "lightgbm": "lightgbm", "catboost": "catboost"}


def framework_of(obj: Any) -> str:
    """`scikit-learn`, `xgboost`, `lightgbm`, `catboost` or `joblib`, from the package that defines the
    object's type."""
    root = (getattr(type(obj), "__module__", None) or "").split(".")[0]
    return _FRAMEWORKS.get(root, "joblib")


def _dumped(instance: Any, args: Args, kwargs: Kwargs) -> str:
    return framework_of(kwargs["value"] if "value" in kwargs else args[0] if args else None)


class JoblibHook(Hook):
    name = "joblib"
    watches = ("joblib",)
    distribution = "joblib"
    keep_aliases_in = ("joblib",)
    min_version = (1, 0)
    max_version = (2,)

    def patch(self, module: ModuleType) -> None:
        # joblib.dump(value, filename, compress=0, protocol=None): the public persistence entry point;
        # joblib's Memory/Parallel internals write through other bindings and stay unrecorded.
        self.wrap(module, "dump", save_wrapper(self, target=_dump_target, framework=_dumped))
        # joblib.load(filename, mmap_mode=None, ...): the public counterpart; the model is the returned object.
        self.wrap(
            module,
            "load",
            load_wrapper(self, target=_load_target, framework="joblib", framework_from_result=framework_of),
        )


HOOK = JoblibHook
