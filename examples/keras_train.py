"""Keras: fit with a ModelCheckpoint callback, then evaluate the best model in a second task.

    pip install "autolog[tensorflow]"
    python examples/keras_train.py

Runs in seconds on a CPU. The only autolog lines are `autolog.init(...)` and the look-ups at the end:
every checkpoint Keras writes (`Model.save`, `save_weights`, `export`, here through `ModelCheckpoint`)
becomes a snapshot of the task, and `keras.models.load_model` links the snapshot it read. The callback
overwrites one `best.keras` file each time the validation loss improves; autolog keeps each one as its own
snapshot, copied to `output_uri` (a temporary folder here; `s3://bucket/prefix` in a team).
"""

from __future__ import annotations

import os
import tempfile

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import keras  # noqa: E402
import numpy as np  # noqa: E402

import autolog  # noqa: E402


def make_data(n: int = 512) -> tuple[np.ndarray, np.ndarray]:
    """A synthetic regression problem: y = x @ w + noise."""
    rng = np.random.default_rng(0)
    x = rng.normal(size=(n, 8)).astype("float32")
    w = rng.normal(size=(8, 1)).astype("float32")
    return x, x @ w + 0.1 * rng.normal(size=(n, 1)).astype("float32")


def make_model() -> keras.Model:
    keras.utils.set_random_seed(0)
    model = keras.Sequential([keras.Input((8,)), keras.layers.Dense(16, activation="relu"), keras.layers.Dense(1)])
    model.compile(optimizer=keras.optimizers.SGD(0.05), loss="mse")
    return model


def main() -> None:
    workdir = tempfile.mkdtemp(prefix="autolog-keras-")
    output_uri = os.path.join(workdir, "snapshots")  # any fsspec URI works: s3://..., gs://..., memory://
    best = os.path.join(workdir, "best.keras")
    x, y = make_data()

    print("task 1: train")
    with autolog.init(project="keras-quickstart", task="train", output_uri=output_uri) as train:
        checkpoint = keras.callbacks.ModelCheckpoint(best, monitor="val_loss", save_best_only=True, verbose=0)
        history = make_model().fit(
            x, y, validation_split=0.25, epochs=5, batch_size=64, verbose=0, callbacks=[checkpoint]
        )
        for epoch, loss in enumerate(history.history["val_loss"], 1):
            print(f"  epoch {epoch}: val_loss {loss:.4f}")
    for model in train.models["output"]:
        print(f"  snapshot {model.id} {model.name} ({model.framework}) -> {model.uri}")

    print("task 2: evaluate the best model")
    with autolog.init(project="keras-quickstart", task="evaluate") as evaluate:
        model = keras.models.load_model(best)  # links the latest best.keras snapshot of task 1
        print(f"  mse on the training data: {model.evaluate(x, y, verbose=0):.4f}")

    print("lineage of task 2:")
    for model in evaluate.models["input"]:
        producer = model.task
        made_by = f"task {producer.id} ({producer.project}/{producer.name})" if producer else "outside autolog"
        print(f"  input {model.id} {model.name}, made by {made_by}")
    assert [m.id for m in evaluate.models["input"]] == [train.models["output"][-1].id]


if __name__ == "__main__":
    main()
