"""Gradient-boosted trees: LightGBM and CatBoost models saved by a training task, loaded by a scoring task.

Run:  python examples/trees.py  [OUTPUT_DIR]
Needs lightgbm and catboost (pip install lightgbm catboost); takes a few seconds on a CPU.
  train  fits a LightGBM booster (`save_model("lgbm.txt")`) and a CatBoost classifier
         (`save_model("catboost.cbm")`, and `save_model("catboost.onnx", format="onnx")`: one catboost snapshot)
  score  loads both back (`lgb.Booster(model_file=...)`, `CatBoostClassifier().load_model(...)`)
Snapshots are copied to OUTPUT_DIR (default: autolog-examples in the temporary folder).
"""

from __future__ import annotations

import os
import sys
import tempfile

import autolog


def _data():
    import numpy as np

    rng = np.random.default_rng(0)
    x = rng.normal(size=(1000, 6))
    return x, (x[:, 0] + 0.5 * x[:, 1] - x[:, 3] > 0).astype(int)


def train(workdir: str, output_uri: str) -> None:
    import catboost
    import lightgbm

    x, y = _data()
    with autolog.init(project="trees-example", task="train", output_uri=output_uri) as task:
        params = {"objective": "binary", "num_leaves": 15, "verbose": -1}
        lightgbm.train(params, lightgbm.Dataset(x, y), num_boost_round=30).save_model(os.path.join(workdir, "lgbm.txt"))
        model = catboost.CatBoostClassifier(iterations=30, depth=4, verbose=False, allow_writing_files=False)
        model.fit(x, y)
        model.save_model(os.path.join(workdir, "catboost.cbm"))
        model.save_model(os.path.join(workdir, "catboost.onnx"), format="onnx")
    for snapshot in task.models["output"]:
        print(f"train: {snapshot.name} ({snapshot.framework}, {snapshot.size} bytes) -> {snapshot.uri}")


def score(workdir: str) -> None:
    import catboost
    import lightgbm

    x, y = _data()
    with autolog.init(project="trees-example", task="score") as task:
        booster = lightgbm.Booster(model_file=os.path.join(workdir, "lgbm.txt"))
        classifier = catboost.CatBoostClassifier().load_model(os.path.join(workdir, "catboost.cbm"))
        lgbm_accuracy = float(((booster.predict(x) > 0.5) == y).mean())
        catboost_accuracy = float((classifier.predict(x) == y).mean())
        print(f"score: LightGBM accuracy {lgbm_accuracy:.3f}, CatBoost accuracy {catboost_accuracy:.3f}")
    for model in task.models["input"]:
        producer = model.task
        print(
            f"lineage: {task.name} <- {model.name} ({model.framework}) <- {producer.name if producer else 'imported'}"
        )


def main() -> None:
    with tempfile.TemporaryDirectory() as workdir:
        output_uri = sys.argv[1] if len(sys.argv) > 1 else os.path.join(tempfile.gettempdir(), "autolog-examples")
        train(workdir, output_uri)
        score(workdir)


if __name__ == "__main__":
    main()
