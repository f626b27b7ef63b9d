"""catboost hook: the real CatBoost, user programs in fresh interpreters, records read back from the home."""

from __future__ import annotations

import importlib
import importlib.util
from pathlib import Path

import pytest

cb = pytest.importorskip("catboost")
np = pytest.importorskip("numpy")

from hooks.programs import assert_contained, assert_linked, break_recording, run_example, run_task  # noqa: E402

import autolog  # noqa: E402

PROJECT = "catboost-hook"
DATA = """
import numpy as np, catboost as cb
rng = np.random.default_rng(0)
X = rng.normal(size=(100, 4)); y = (X[:, 0] - X[:, 2] > 0).astype(int)
small = dict(iterations=5, depth=2, verbose=False, thread_count=1, allow_writing_files=False)
"""
FORMATS = ["cbm", "json", "onnx", "cpp", "python", "coreml", "pmml"]


def _data():
    rng = np.random.default_rng(0)
    x = rng.normal(size=(100, 4))
    return x, (x[:, 0] - x[:, 2] > 0).astype(int)


def _classifier():
    x, y = _data()
    return cb.CatBoostClassifier(iterations=5, depth=2, verbose=False, thread_count=1, allow_writing_files=False).fit(
        x, y
    )


def test_every_format_and_every_class_across_programs(run_py, tmp_path: Path):
    producer = run_task(
        run_py,
        PROJECT,
        "train",
        DATA
        + f"""
clf = cb.CatBoostClassifier(**small).fit(X, y)
for fmt in {FORMATS!r}:
    clf.save_model("clf." + fmt, format=fmt)
cb.CatBoostRegressor(**small).fit(X, y.astype(float)).save_model("reg.cbm")
cb.CatBoostRanker(**small).fit(X, y.astype(float), group_id=np.arange(100) // 10).save_model("rank.cbm")
cb.CatBoost(dict(small, loss_function="Logloss")).fit(X, y).save_model("base.cbm")
""",
        output_uri=str(tmp_path / "remote"),
    )
    outputs = producer.models["output"]
    # format="onnx" is ONE catboost snapshot: CatBoost's C++ writes it, no ONNX save happens inside.
    assert [(m.name, m.framework) for m in outputs] == [(f"clf.{fmt}", "catboost") for fmt in FORMATS] + [
        ("reg.cbm", "catboost"),
        ("rank.cbm", "catboost"),
        ("base.cbm", "catboost"),
    ]
    consumer = run_task(
        run_py,
        PROJECT,
        "serve",
        DATA
        + """
cb.CatBoostClassifier().load_model("clf.cbm").predict(X)
cb.CatBoostClassifier().load_model("clf.json", format="json")
cb.CatBoostRegressor().load_model(fname="reg.cbm")
cb.CatBoostRanker().load_model("rank.cbm")
with open("base.cbm", "rb") as f:
    cb.CatBoost().load_model(stream=f)                      # an open file with a path
blob = open("reg.cbm", "rb").read()
cb.CatBoostRegressor().load_model(blob=blob)                 # bytes: not a file, not recorded
cb.CatBoostClassifier(**small).fit(X, y, init_model="clf.cbm")   # continued training: already linked, once
""",
    )
    assert_linked(producer, consumer, ["clf.cbm", "clf.json", "reg.cbm", "rank.cbm", "base.cbm"])
    copy = outputs[0].get_local_copy()
    assert cb.CatBoostClassifier().load_model(copy).tree_count_ == 5


@pytest.mark.skipif(importlib.util.find_spec("onnxruntime") is None, reason="onnxruntime is not installed")
def test_a_catboost_onnx_export_served_by_onnxruntime_links_the_catboost_snapshot(run_py, tmp_path: Path):
    producer = run_task(
        run_py, PROJECT, "export", DATA + 'cb.CatBoostClassifier(**small).fit(X, y).save_model("m.onnx", format="onnx")'
    )
    consumer = run_task(
        run_py,
        PROJECT,
        "onnx-serve",
        DATA
        + """
import onnxruntime as ort
session = ort.InferenceSession("m.onnx")
session.run(None, {session.get_inputs()[0].name: X.astype(np.float32)})
""",
    )
    assert [(m.name, m.framework) for m in producer.models["output"]] == [("m.onnx", "catboost")]
    assert_linked(producer, consumer, ["m.onnx"])


@pytest.mark.skipif(not hasattr(cb, "sample_gaussian_process"), reason="this CatBoost has no sample_gaussian_process")
def test_sample_gaussian_process_scratch_file_is_not_a_snapshot(task, tmp_path: Path, monkeypatch):
    monkeypatch.chdir(tmp_path)  # it writes CatBoost's `catboost_info/` training logs into the working folder
    x, y = _data()
    cb.sample_gaussian_process(
        x, y.astype(float), samples=1, prior_iterations=3, posterior_iterations=3, depth=2, verbose=False
    )
    assert task.models == {"input": [], "output": []}


def test_failing_save_and_load_raise_catboosts_own_error_and_record_nothing(task, tmp_path: Path):
    with pytest.raises(cb.CatBoostError, match="no trained model"):
        cb.CatBoostClassifier().save_model(str(tmp_path / "unfitted.cbm"))
    with pytest.raises(cb.CatBoostError):
        cb.CatBoostClassifier().load_model(str(tmp_path / "nowhere.cbm"))
    with pytest.raises(cb.CatBoostError, match="one of fname/stream/blob"):
        cb.CatBoost().load_model()
    assert task.models == {"input": [], "output": []}


def test_internal_errors_never_reach_the_user(lenient, tmp_path: Path, monkeypatch, autolog_records):
    break_recording(monkeypatch)
    path = str(tmp_path / "model.cbm")
    with autolog.init(PROJECT, "broken"):
        assert _classifier().save_model(path) is None
        loaded = cb.CatBoostClassifier()
        assert loaded.load_model(path) is loaded and loaded.tree_count_ == 5
    assert_contained(autolog_records, "catboost")


def test_trees_example_runs(home: Path, tmp_path: Path):
    pytest.importorskip("lightgbm")
    run_example("trees.py", tmp_path)
    (train,) = autolog.Task.query(project="trees-example", task="train")
    (score,) = autolog.Task.query(project="trees-example", task="score")
    assert [(m.name, m.framework) for m in train.models["output"]] == [
        ("lgbm.txt", "lightgbm"),
        ("catboost.cbm", "catboost"),
        ("catboost.onnx", "catboost"),
    ]
    assert_linked(train, score, ["lgbm.txt", "catboost.cbm"])
