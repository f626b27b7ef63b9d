"""Keras `ModelCheckpoint`: each checkpoint it writes records the epoch (as in its file names), the logs and its
monitor, so `best` and retention can rank by them. Real Keras 3 `fit`."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
keras = pytest.importorskip("keras")

import numpy as np  # noqa: E402

import autolog  # noqa: E402


def test_model_checkpoint_records_epoch_logs_and_monitor(tmp_path: Path) -> None:
    x = np.linspace(-1, 1, 64, dtype="float32").reshape(16, 4)
    y = x.sum(axis=1, keepdims=True)
    keras.utils.set_random_seed(0)
    model = keras.Sequential([keras.Input((4,)), keras.layers.Dense(3), keras.layers.Dense(1)])
    model.compile(optimizer="adam", loss="mse")
    with autolog.init("keras-progress", "fit", output_uri=str(tmp_path / "out")) as task:
        checkpoint = keras.callbacks.ModelCheckpoint(
            str(tmp_path / "ep{epoch}.keras"), monitor="val_loss", mode="min", save_best_only=False
        )
        model.fit(x, y, validation_data=(x, y), epochs=3, callbacks=[checkpoint], verbose=0)
    outputs = task.models["output"]
    assert [m.name for m in outputs] == ["ep1.keras", "ep2.keras", "ep3.keras"]
    assert [m.epoch for m in outputs] == [1, 2, 3]
    assert all({"loss", "val_loss"} <= set(m.metrics) for m in outputs)
    assert {(m.monitor, m.monitor_mode) for m in outputs} == {("val_loss", "min")}
    best = autolog.Model.get(alias="best", task_id=task.id)
    assert best.metrics["val_loss"] == min(m.metrics["val_loss"] for m in outputs)
