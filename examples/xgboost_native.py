"""XGBoost native API: a training task saves a Booster, a second task loads it and predicts.

Run:  python examples/xgboost_native.py  [OUTPUT_DIR]
Needs xgboost (pip install "autolog[xgboost]", or xgboost-cpu); takes a few seconds on a CPU. Snapshots are
copied to OUTPUT_DIR (default: autolog-examples in the temporary folder).
"""

from __future__ import annotations

import os
import sys
import tempfile

import autolog


def _data():
    import numpy as np

    rng = np.random.default_rng(0)
    x = rng.normal(size=(400, 6))
    y = (x[:, 0] + 0.5 * x[:, 1] - x[:, 3] > 0).astype(int)
    return x, y


def train(workdir: str, output_uri: str) -> str:
    import xgboost as xgb

    with autolog.init(project="examples", task="xgboost-train", output_uri=output_uri) as task:
        x, y = _data()
        booster = xgb.train(
            {"objective": "binary:logistic", "max_depth": 3, "eta": 0.3}, xgb.DMatrix(x, label=y), num_boost_round=20
        )
        path = os.path.join(workdir, "booster.ubj")
        booster.save_model(path)  # one registered snapshot
    snapshot = task.models["output"][-1]
    print(
        f"train task {task.id}: saved {snapshot.name} ({snapshot.framework}, {snapshot.size} bytes) -> {snapshot.uri}"
    )
    return path


def predict(path: str) -> None:
    import xgboost as xgb

    with autolog.init(project="examples", task="xgboost-predict") as task:
        booster = xgb.Booster()
        booster.load_model(path)  # linked to the training task's snapshot
        x, y = _data()
        accuracy = float(((booster.predict(xgb.DMatrix(x)) > 0.5) == y).mean())
        print(f"predict task {task.id}: accuracy {accuracy:.3f}")
    model = task.models["input"][0]
    print(
        f"lineage: model {model.id} ({model.name}) produced by task {model.task.id} "
        f"({model.task.project}/{model.task.name}), consumed by {[t.name for t in model.consumers]}"
    )


def main() -> None:
    with tempfile.TemporaryDirectory() as workdir:
        # Snapshots outlive the temporary working folder: they are copied to OUTPUT_DIR.
        default_output = os.path.join(tempfile.gettempdir(), "autolog-examples")
        output_uri = sys.argv[1] if len(sys.argv) > 1 else default_output
        predict(train(workdir, output_uri))


if __name__ == "__main__":
    main()
