"""Artifacts: a preprocessing task stores its products; a training task fetches each one by task id.

Run:  python examples/artifacts.py  [OUTPUT_URI]
Needs numpy, pandas and pillow (pip install "autolog[artifacts]"); takes a couple of seconds. With no
OUTPUT_URI the artifacts are copied to the local store in the autolog home (AUTOLOG_HOME); give a folder or
an `s3://bucket/prefix` to copy them there. The second task could run on any machine that shares the
tracking store: it never touches the first task's files.
"""

from __future__ import annotations

import os
import sys
import tempfile

import autolog


def preprocess(workdir: str, output_uri: str | None) -> str:
    import numpy as np
    import pandas as pd
    from PIL import Image

    rng = np.random.default_rng(0)
    raw = pd.DataFrame(
        {
            "age": rng.integers(18, 90, 200),
            "income": rng.normal(50_000, 15_000, 200).round(2),
            "label": rng.integers(0, 2, 200),
        }
    )
    csv_path = os.path.join(workdir, "raw.csv")
    raw.to_csv(csv_path, index=False)
    shards = os.path.join(workdir, "shards")
    os.makedirs(shards, exist_ok=True)
    for i in range(4):
        raw.iloc[i * 50 : (i + 1) * 50].to_csv(os.path.join(shards, f"part-{i}.csv"), index=False)

    with autolog.init(project="examples", task="preprocess", output_uri=output_uri) as task:
        features = (raw[["age", "income"]] - raw[["age", "income"]].mean()) / raw[["age", "income"]].std()
        task.upload_artifact("raw csv", csv_path, metadata={"source": "synthetic"})  # a file
        task.upload_artifact("shards", shards)  # a folder -> zip
        task.upload_artifact("stats", {"rows": len(raw), "mean_age": float(raw.age.mean())})  # JSON
        task.upload_artifact("feature matrix", features.to_numpy(dtype="float32"))  # .npz
        task.upload_artifact("features", features.assign(label=raw.label))  # .csv.gz
        histogram = Image.new("RGB", (64, 32), "white")
        for x, count in enumerate(np.histogram(raw.age, bins=64)[0]):
            for y in range(min(count, 32)):
                histogram.putpixel((x, 31 - y), (30, 90, 200))
        task.upload_artifact("age histogram", histogram)  # .jpg
    for name, artifact in task.artifacts.items():
        print(f"  {name:15} {artifact.type:7} {artifact.size:>7} bytes  {artifact.preview()}")
    return task.id


def train(preprocess_id: str) -> None:
    with autolog.init(project="examples", task="train"):
        products = autolog.Task.get_task(preprocess_id).artifacts
        csv_path = products["raw csv"].get()  # local path of a verified, cached copy
        shard_dir = products["shards"].get()  # the extracted folder
        stats = products["stats"].get()  # the dict
        matrix = products["feature matrix"].get()  # the numpy array
        frame = products["features"].get()  # the DataFrame
        image = products["age histogram"].get()  # the PIL image
        print(
            f"train: {os.path.basename(csv_path)}, {len(os.listdir(shard_dir))} shards, stats {stats}, "
            f"matrix {matrix.shape} {matrix.dtype}, frame {frame.shape}, image {image.size} {image.mode}"
        )
        assert matrix.shape == (stats["rows"], 2) and len(frame) == stats["rows"]


def main() -> None:
    output_uri = sys.argv[1] if len(sys.argv) > 1 else None
    with tempfile.TemporaryDirectory() as workdir:
        task_id = preprocess(workdir, output_uri)
    print(f"preprocess task {task_id} done; its working folder is gone")
    train(task_id)


if __name__ == "__main__":
    main()
