"""TensorFlow: a custom training loop with tf.train.Checkpoint + CheckpointManager, resumed in a second task.

    pip install "autolog[tensorflow]"
    python examples/tf_checkpoint.py

Runs in seconds on a CPU. Every `CheckpointManager.save` (and `Checkpoint.save/write`,
`tf.saved_model.save`) becomes one snapshot holding all of that checkpoint's files (`ckpt-3.index`,
`ckpt-3.data-...`); `Checkpoint.restore` links the snapshot it read. The manager keeps only the last
checkpoint on disk (`max_to_keep=1`), yet every earlier snapshot stays whole in `output_uri`.
A snapshot fetched back with `get_local_copy()` is a folder: restore `os.path.join(folder, model.name)`.
"""

from __future__ import annotations

import os
import tempfile

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import tensorflow as tf  # noqa: E402

import autolog  # noqa: E402


class Linear(tf.Module):
    def __init__(self) -> None:
        super().__init__()
        self.w = tf.Variable(tf.zeros([4, 1]))
        self.b = tf.Variable(0.0)

    def __call__(self, x: tf.Tensor) -> tf.Tensor:
        return x @ self.w + self.b


def make_data(n: int = 256) -> tuple[tf.Tensor, tf.Tensor]:
    x = tf.random.stateless_normal([n, 4], seed=[0, 1])
    noise = 0.1 * tf.random.stateless_normal([n, 1], seed=[2, 3])
    return x, x @ tf.constant([[1.0], [-2.0], [0.5], [3.0]]) + 0.7 + noise


def train(model: Linear, optimizer: tf.optimizers.Optimizer, manager: tf.train.CheckpointManager, steps: int) -> None:
    x, y = make_data()
    for _ in range(steps):
        with tf.GradientTape() as tape:
            loss = tf.reduce_mean((model(x) - y) ** 2)
        optimizer.apply_gradients(zip(tape.gradient(loss, model.trainable_variables), model.trainable_variables))
        if int(optimizer.iterations) % 20 == 0:
            path = manager.save()
            print(f"  step {int(optimizer.iterations)}: loss {float(loss):.4f} -> {os.path.basename(path)}")


def main() -> None:
    workdir = tempfile.mkdtemp(prefix="autolog-tf-")
    output_uri = os.path.join(workdir, "snapshots")  # any fsspec URI works: s3://..., gs://..., memory://
    directory = os.path.join(workdir, "ckpts")

    print("task 1: train")
    with autolog.init(project="tf-quickstart", task="train", output_uri=output_uri) as first:
        model, optimizer = Linear(), tf.keras.optimizers.SGD(0.1)
        ckpt = tf.train.Checkpoint(model=model, optimizer=optimizer)
        train(model, optimizer, tf.train.CheckpointManager(ckpt, directory, max_to_keep=1), steps=60)
    print(f"  on disk: {sorted(os.listdir(directory))}")
    for snapshot in first.models["output"]:
        print(f"  snapshot {snapshot.id} {snapshot.name} ({snapshot.framework}) -> {snapshot.uri}")

    print("task 2: resume from task 1's first snapshot (gone from disk, fetched from output_uri)")
    with autolog.init(project="tf-quickstart", task="resume", output_uri=output_uri) as second:
        folder = first.models["output"][0].get_local_copy()  # a folder holding that checkpoint's files
        model, optimizer = Linear(), tf.keras.optimizers.SGD(0.1)
        ckpt = tf.train.Checkpoint(model=model, optimizer=optimizer)
        ckpt.restore(os.path.join(folder, first.models["output"][0].name))  # links that snapshot
        print(f"  resumed at step {int(optimizer.iterations)}")
        train(
            model,
            optimizer,
            tf.train.CheckpointManager(ckpt, os.path.join(workdir, "resumed"), max_to_keep=1),
            steps=20,
        )

    print("lineage of task 2:")
    for snapshot in second.models["input"]:
        producer = snapshot.task
        made_by = f"task {producer.id} ({producer.project}/{producer.name})" if producer else "outside autolog"
        print(f"  input {snapshot.id} {snapshot.name}, made by {made_by}")
    for snapshot in second.models["output"]:
        print(f"  output {snapshot.id} {snapshot.name}")
    assert [m.id for m in second.models["input"]] == [first.models["output"][0].id]


if __name__ == "__main__":
    main()
