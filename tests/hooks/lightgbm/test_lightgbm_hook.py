"""lightgbm hook: the real LightGBM, user programs in fresh interpreters, records read back from the home."""

from __future__ import annotations

from pathlib import Path

import pytest

lgb = pytest.importorskip("lightgbm")
np = pytest.importorskip("numpy")

from hooks.programs import assert_contained, assert_linked, break_recording, run_task  # noqa: E402

import autolog  # noqa: E402

PROJECT = "lightgbm-hook"
DATA = """
import numpy as np, lightgbm as lgb
rng = np.random.default_rng(0)
X = rng.normal(size=(200, 4)); y = (X[:, 0] - X[:, 2] > 0).astype(int)
params = {"objective": "binary", "verbose": -1, "num_threads": 1}
"""


def _data():
    rng = np.random.default_rng(0)
    x = rng.normal(size=(200, 4))
    return x, (x[:, 0] - x[:, 2] > 0).astype(int)


def _booster(rounds: int = 3):
    x, y = _data()
    return lgb.train({"objective": "binary", "verbose": -1, "num_threads": 1}, lgb.Dataset(x, y), rounds)


def test_saves_and_loads_across_programs(run_py, tmp_path: Path):
    producer = run_task(
        run_py,
        PROJECT,
        "train",
        DATA
        + """
import joblib
lgb.train(params, lgb.Dataset(X, y), num_boost_round=3).save_model("model.txt")
clf = lgb.LGBMClassifier(n_estimators=3, verbose=-1, n_jobs=1).fit(X, y)
clf.booster_.save_model("clf.txt")
joblib.dump(clf, "clf.joblib")          # the scikit-learn API's usual save: one snapshot, named lightgbm
""",
        output_uri=str(tmp_path / "remote"),
    )
    assert [(m.name, m.framework) for m in producer.models["output"]] == [
        ("model.txt", "lightgbm"),
        ("clf.txt", "lightgbm"),
        ("clf.joblib", "lightgbm"),
    ]
    consumer = run_task(
        run_py,
        PROJECT,
        "serve",
        DATA
        + """
import joblib
assert lgb.Booster(model_file="model.txt").num_trees() == 3
joblib.load("clf.joblib").predict(X)
lgb.train(params, lgb.Dataset(X, y), num_boost_round=2, init_model="clf.txt")   # continued training
lgb.LGBMRegressor(n_estimators=2, verbose=-1).fit(X, y.astype(float), init_model="model.txt")  # loaded again
""",
    )
    assert_linked(producer, consumer, ["model.txt", "clf.joblib", "clf.txt"])
    copy = producer.models["output"][0].get_local_copy()
    assert lgb.Booster(model_file=copy).num_trees() == 3


def test_in_memory_construction_and_training_boosters_are_not_loads(task, tmp_path: Path):
    booster = _booster()
    text = booster.model_to_string()
    lgb.Booster(model_str=text).model_from_string(text)
    x, y = _data()
    lgb.LGBMClassifier(n_estimators=2, verbose=-1).fit(x, y)
    assert task.models == {"input": [], "output": []}


def test_a_pathlib_path_and_a_second_save_to_the_same_path(task, tmp_path: Path):
    path = tmp_path / "model.txt"
    _booster(2).save_model(path)
    _booster(4).save_model(filename=path)
    task.flush()
    first, second = task.models["output"]
    assert first.hash != second.hash
    assert lgb.Booster(model_file=first.get_local_copy()).num_trees() == 2
    assert lgb.Booster(model_file=second.get_local_copy()).num_trees() == 4


def test_failing_save_and_load_raise_lightgbms_own_error_and_record_nothing(task, tmp_path: Path):
    with pytest.raises(lgb.basic.LightGBMError) as raised:
        _booster().save_model(tmp_path / "missing" / "model.txt")
    assert "missing" in str(raised.value)
    with pytest.raises(lgb.basic.LightGBMError):
        lgb.Booster(model_file=str(tmp_path / "nowhere.txt"))
    assert task.models == {"input": [], "output": []}


def test_internal_errors_never_reach_the_user(lenient, tmp_path: Path, monkeypatch, autolog_records):
    break_recording(monkeypatch)
    path = tmp_path / "model.txt"
    with autolog.init(PROJECT, "broken"):
        booster = _booster()
        assert booster.save_model(path) is booster
        assert lgb.Booster(model_file=path).num_trees() == 3
    assert_contained(autolog_records, "lightgbm")
