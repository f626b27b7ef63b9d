"""Step, epoch and metrics known at each save: what the next snapshots of a task record.

Frameworks report theirs from their hooks (Lightning's `global_step`, `current_epoch`, `callback_metrics` and
`ModelCheckpoint` monitor; the Hugging Face `Trainer`'s state and `metric_for_best_model`; Keras
`ModelCheckpoint`'s epoch and logs) through `autolog.capture.api.note_progress`. A plain loop calls the public
`autolog.log_metrics(step=..., **metrics)`, named like `mlflow.log_metrics` and `wandb.log(..., step=)`.
"""

from __future__ import annotations

import json
import math
import operator
import threading
from collections.abc import Mapping
from typing import Any

from . import current


class Progress:
    """One task's current step, epoch, metrics and monitored metric (thread-safe)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.step: int | None = None
        self.epoch: float | None = None
        self.metrics: dict[str, float] = {}
        self.monitor: str | None = None
        self.mode: str | None = None

    def note(
        self,
        *,
        step: int | None = None,
        epoch: float | None = None,
        metrics: Mapping[str, Any] | None = None,
        monitor: str | None = None,
        mode: str | None = None,
    ) -> None:
        with self._lock:
            if step is not None:
                self.step = int(step)
            if epoch is not None:
                self.epoch = float(epoch)
            for name, value in (metrics or {}).items():
                number = to_number(value)
                if number is not None:
                    self.metrics[str(name)] = number
            if monitor:
                self.monitor, self.mode = str(monitor), mode if mode in ("min", "max") else "min"

    def columns(self) -> dict[str, Any]:
        """The `models` columns of a snapshot saved now."""
        with self._lock:
            return {
                "step": self.step,
                "epoch": self.epoch,
                "metrics": json.dumps(self.metrics, sort_keys=True) if self.metrics else None,
                "monitor": self.monitor,
                "monitor_mode": self.mode if self.monitor else None,
            }


def to_number(value: Any) -> float | None:
    """A finite float from a Python number, a 0-d numpy/torch value; None for anything else (never raises)."""
    try:
        if hasattr(value, "item") and callable(value.item):
            value = value.item()
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            return None
        number = float(value)
    except Exception:  # noqa: BLE001 - a metric we cannot read is skipped, never an error in a save
        return None
    return number if math.isfinite(number) else None


def log_metrics(
    metrics: Mapping[str, Any] | None = None, /, *, step: int | None = None, epoch: float | None = None, **values: Any
) -> None:
    """Set the current step (and epoch) and metric values; the next saves of the current task record them.

        autolog.log_metrics(step=step, val_loss=val_loss)
        autolog.log_metrics({"val/loss": 0.31, "acc": 0.9}, step=1200, epoch=3)

    Values are numbers (Python, numpy or 0-d torch values); each name keeps its latest value. With no current
    task nothing happens. A value that is not a number is a `TypeError` naming it, and nothing is set.
    """
    merged = {**(metrics or {}), **values}
    for name, value in merged.items():
        if to_number(value) is None and not (isinstance(value, float) and not math.isfinite(value)):
            raise TypeError(f"log_metrics: {name!r} must be a number, got {type(value).__name__}")
    if step is not None:
        try:
            step = operator.index(step)  # an int, a numpy integer, a 0-d integer tensor
        except TypeError:
            raise TypeError(f"log_metrics: step must be an integer, got {type(step).__name__}") from None
    task = current.current_task()
    if task is not None:
        task.progress.note(step=step, epoch=epoch, metrics=merged)
