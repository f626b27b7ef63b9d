"""skops hook: real `skops.io.dump` / `skops.io.load` of scikit-learn models, user programs in fresh interpreters."""

from __future__ import annotations

import fractions
from pathlib import Path

import pytest

sio = pytest.importorskip("skops.io")
pytest.importorskip("sklearn")

from hooks.programs import assert_contained, assert_linked, break_recording, run_task  # noqa: E402

import autolog  # noqa: E402

PROJECT = "skops-hook"
DATA = """
import io, skops.io as sio
from sklearn.datasets import load_iris
from sklearn.linear_model import LogisticRegression
X, y = load_iris(return_X_y=True)
"""


def _model():
    from sklearn.datasets import load_iris
    from sklearn.tree import DecisionTreeClassifier

    return DecisionTreeClassifier(max_depth=2).fit(*load_iris(return_X_y=True))


def test_dumps_and_loads_across_programs(run_py, tmp_path: Path):
    producer = run_task(
        run_py,
        PROJECT,
        "train",
        DATA
        + """
model = LogisticRegression(max_iter=200).fit(X, y)
sio.dump(model, "model.skops")
with open("into-file.skops", "wb") as f:
    sio.dump(model, f)
sio.dumps(model)                                     # bytes: not a file
""",
        output_uri=str(tmp_path / "remote"),
    )
    assert [(m.name, m.framework) for m in producer.models["output"]] == [
        ("model.skops", "skops"),
        ("into-file.skops", "skops"),
    ]
    consumer = run_task(
        run_py,
        PROJECT,
        "serve",
        DATA
        + """
trusted = sio.get_untrusted_types(file="model.skops")   # an audit of the file, not a load
sio.load("model.skops", trusted=trusted).predict(X)
with open("into-file.skops", "rb") as f:
    sio.load(f, trusted=trusted)
sio.loads(open("model.skops", "rb").read(), trusted=trusted)   # bytes: not recorded
""",
    )
    assert_linked(producer, consumer, ["model.skops", "into-file.skops"])
    copy = producer.models["output"][0].get_local_copy()
    assert sio.load(copy, trusted=sio.get_untrusted_types(file=copy)).predict([[5.0, 3.5, 1.4, 0.2]]).shape == (1,)


def test_an_untrusted_load_raises_skops_own_error_and_records_nothing(task, tmp_path: Path):
    path = tmp_path / "model.skops"
    sio.dump.__wrapped__({"weight": fractions.Fraction(1, 3)}, path)  # `fractions.Fraction`: never trusted by default
    with pytest.raises(sio.exceptions.UntrustedTypesFoundException):
        sio.load(path, trusted=[])
    with pytest.raises(FileNotFoundError):
        sio.load(tmp_path / "nowhere.skops")
    assert task.models == {"input": [], "output": []}


def test_internal_errors_never_reach_the_user(lenient, tmp_path: Path, monkeypatch, autolog_records):
    break_recording(monkeypatch)
    path = tmp_path / "m.skops"
    with autolog.init(PROJECT, "broken"):
        assert sio.dump(_model(), path) is None
        assert sio.load(path, trusted=sio.get_untrusted_types(file=path)).get_depth() == 2
    assert_contained(autolog_records, "skops")
