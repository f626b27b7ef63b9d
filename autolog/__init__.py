"""autolog: ML experiments that keep their own records.

    import autolog
    task = autolog.init("mnist", "train", output_uri="s3://team-models/")

From then on every model saved with PyTorch, TensorFlow, Keras, joblib, XGBoost, safetensors, Lightning,
Hugging Face transformers, LightGBM, CatBoost, TorchScript, torch.export, ONNX or skops is a registered
snapshot, and every load is linked to the task that produced it.
`import autolog` is cheap: it imports no ML framework, numpy, pandas or SQLAlchemy; the public names load on
first use. It does register the hooks' post-import callbacks (wrapt), so a framework imported later is
patched the moment it is imported, and one already imported is patched now, aliases included.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from .version import __version__

_LAZY = {
    "init": "lifecycle",
    "current_task": "lifecycle",
    "Task": "run.task",
    "Model": "run.model",
    "Artifact": "run.artifact",
    "NotFoundError": "errors",
    "IntegrityError": "errors",
    "PrunedError": "errors",
    "log_metrics": "run.progress",
    "ConfigError": "errors",
    "AutologError": "errors",
    "PickleNotAllowedError": "errors",
    "StoreUnavailableError": "errors",
    "instrument": "capture.instrumentation",
    "uninstrument": "capture.instrumentation",
    "load_settings": "config",
    "Settings": "config",
}

__all__ = sorted(_LAZY)

if TYPE_CHECKING:
    from .capture.instrumentation import instrument, uninstrument
    from .config import Settings, load_settings
    from .errors import (
        AutologError,
        ConfigError,
        IntegrityError,
        NotFoundError,
        PickleNotAllowedError,
        PrunedError,
        StoreUnavailableError,
    )
    from .lifecycle import current_task, init
    from .run.artifact import Artifact
    from .run.model import Model
    from .run.progress import log_metrics
    from .run.task import Task


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'autolog' has no attribute {name!r}")
    value = getattr(importlib.import_module(f".{module}", __name__), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(_LAZY))


def _install_import_hooks() -> None:
    from .capture.instrumentation import install_import_hooks

    install_import_hooks()


def _task_class() -> type[Task]:
    """`Task`, for `model` and `artifact` (below it) through `autolog.run.taskref`: imported on first use."""
    from .run.task import Task

    return Task


def _register_task_class() -> None:
    from .run.taskref import register

    register(_task_class)


_register_task_class()
_install_import_hooks()
