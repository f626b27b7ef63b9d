"""scikit-learn + joblib: a training task dumps a forest, an evaluation task loads it; lineage links them.

Run:  python examples/sklearn_joblib.py  [OUTPUT_DIR]
Needs scikit-learn (pip install "autolog[sklearn]"); takes a few seconds on a CPU. Snapshots are copied to
OUTPUT_DIR (default: autolog-examples in the temporary folder), the records go to the autolog home
(AUTOLOG_HOME).
"""

from __future__ import annotations

import os
import sys
import tempfile

import autolog


def train(workdir: str, output_uri: str) -> str:
    import joblib
    from sklearn.datasets import make_classification
    from sklearn.ensemble import RandomForestClassifier

    with autolog.init(project="examples", task="forest-train", output_uri=output_uri) as task:
        x, y = make_classification(n_samples=500, n_features=8, random_state=0)
        forest = RandomForestClassifier(n_estimators=20, max_depth=5, random_state=0).fit(x, y)
        path = os.path.join(workdir, "forest.joblib")
        joblib.dump(forest, path, compress=3)  # one line of user code -> one registered snapshot
    snapshot = task.models["output"][-1]
    print(
        f"train task {task.id}: saved {snapshot.name} ({snapshot.framework}, {snapshot.size} bytes) -> {snapshot.uri}"
    )
    return path


def evaluate(path: str) -> None:
    import joblib
    from sklearn.datasets import make_classification

    with autolog.init(project="examples", task="forest-evaluate") as task:
        forest = joblib.load(path)  # linked to the snapshot the training task produced
        x, y = make_classification(n_samples=500, n_features=8, random_state=0)
        print(f"evaluate task {task.id}: accuracy {forest.score(x, y):.3f}")
    model = task.models["input"][0]
    print(f"lineage: model {model.id} ({model.name}, {model.framework})")
    print(f"  produced by task {model.task.id} ({model.task.project}/{model.task.name})")
    print(f"  consumed by {[f'{t.project}/{t.name}' for t in model.consumers]}")


def main() -> None:
    with tempfile.TemporaryDirectory() as workdir:
        # Snapshots outlive the temporary working folder: they are copied to OUTPUT_DIR.
        default_output = os.path.join(tempfile.gettempdir(), "autolog-examples")
        output_uri = sys.argv[1] if len(sys.argv) > 1 else default_output
        path = train(workdir, output_uri)
        evaluate(path)


if __name__ == "__main__":
    main()
