"""xgboost hook: real `save_model` / `load_model` into a temporary home, no mocks."""

from __future__ import annotations

import json
import logging
import os
import shutil
from pathlib import Path

import pytest

xgb = pytest.importorskip("xgboost")
np = pytest.importorskip("numpy")

import autolog  # noqa: E402
import autolog.capture.recording  # noqa: E402
from autolog.capture.instrumentation import patched_hooks  # noqa: E402


def _data(n: int = 60):
    rng = np.random.default_rng(0)
    x = rng.normal(size=(n, 4))
    return x, (x[:, 0] - x[:, 2] > 0).astype(int)


def _booster(rounds: int = 2):
    x, y = _data()
    return xgb.train(
        {"objective": "binary:logistic", "max_depth": 2, "nthread": 1}, xgb.DMatrix(x, label=y), num_boost_round=rounds
    )


def _classifier():
    x, y = _data()
    return xgb.XGBClassifier(n_estimators=2, max_depth=2, n_jobs=1).fit(x, y)


def _last_json(proc) -> dict:
    return json.loads(proc.stdout.strip().splitlines()[-1])


# -- saves --------------------------------------------------------------------------------------------


@pytest.mark.parametrize("name", ["model.json", "model.ubj"])
def test_booster_save_model_records_one_snapshot(tmp_path: Path, name: str) -> None:
    task = autolog.init("p", "booster", output_uri=str(tmp_path / "remote"))
    path = tmp_path / name
    assert _booster().save_model(path) is None
    task.flush()
    [model] = task.models["output"]
    assert (model.name, model.framework, model.local_path) == (name, "xgboost", str(path))
    assert model.size == path.stat().st_size and model.task_id == task.id
    assert xgb.Booster(model_file=model.get_local_copy()).num_boosted_rounds() == 2


def test_sklearn_api_save_and_load_record_once_despite_nesting(tmp_path: Path) -> None:
    task = autolog.init("p", "sklearn-api")
    path = tmp_path / "clf.json"
    classifier = _classifier()
    classifier.save_model(str(path))  # XGBModel.save_model -> Booster.save_model: one snapshot
    assert [(m.name, m.framework) for m in task.models["output"]] == [("clf.json", "xgboost")]

    consumer = autolog.init("p", "sklearn-api-load")
    loaded = xgb.XGBClassifier()
    loaded.load_model(path)  # XGBModel.load_model -> Booster.load_model: one input
    x, _ = _data()
    assert (loaded.predict(x) == classifier.predict(x)).all()
    assert [m.id for m in consumer.models["input"]] == [task.models["output"][0].id]


def test_regressor_and_string_paths(tmp_path: Path) -> None:
    x, y = _data()
    task = autolog.init("p", "regressor")
    xgb.XGBRegressor(n_estimators=2).fit(x, y.astype(float)).save_model(os.fspath(tmp_path / "reg.ubj"))
    _booster().save_model(fname=str(tmp_path / "kw.json"))
    assert [m.name for m in task.models["output"]] == ["reg.ubj", "kw.json"]


def test_tilde_is_expanded_like_xgboost_does(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HOME", str(tmp_path))
    task = autolog.init("p", "tilde")
    _booster().save_model("~/home-model.json")
    assert (tmp_path / "home-model.json").is_file()
    assert task.models["output"][0].local_path == str(tmp_path / "home-model.json")


def test_same_path_saved_twice_keeps_both_snapshots_intact(tmp_path: Path) -> None:
    task = autolog.init("p", "twice", output_uri=str(tmp_path / "remote"))
    path = tmp_path / "model.json"
    _booster(rounds=2).save_model(path)
    _booster(rounds=5).save_model(path)
    task.flush()
    first, second = task.models["output"]
    assert first.id != second.id and first.uri != second.uri and first.hash != second.hash
    assert xgb.Booster(model_file=first.get_local_copy()).num_boosted_rounds() == 2
    assert xgb.Booster(model_file=second.get_local_copy()).num_boosted_rounds() == 5
    task.close()


# -- loads --------------------------------------------------------------------------------------------


def test_load_links_the_producer_across_processes(run_py, tmp_path: Path) -> None:
    path = tmp_path / "booster.json"
    produced = _last_json(
        run_py(f"""
        import json, autolog, numpy as np, xgboost as xgb
        task = autolog.init("p", "train", output_uri={str(tmp_path / "remote")!r})
        x = np.arange(40, dtype=float).reshape(20, 2)
        booster = xgb.train({{"max_depth": 2}}, xgb.DMatrix(x, label=x[:, 0]), num_boost_round=2)
        booster.save_model({str(path)!r})
        task.close()
        print(json.dumps({{"task": task.id, "model": task.models["output"][0].id}}))
    """)
    )
    consumed = _last_json(
        run_py(f"""
        import json, autolog, xgboost as xgb
        task = autolog.init("p", "evaluate")
        booster = xgb.Booster()
        booster.load_model({str(path)!r})
        assert booster.num_boosted_rounds() == 2
        [linked] = task.models["input"]
        print(json.dumps({{"model": linked.id, "producer": linked.task_id, "task": task.id}}))
        task.close()
    """)
    )
    assert consumed["model"] == produced["model"] and consumed["producer"] == produced["task"]
    model = autolog.Model.get(produced["model"])
    assert model.framework == "xgboost" and model.task.id == produced["task"]
    assert [t.id for t in model.consumers] == [consumed["task"]]


def test_load_after_copy_rename_and_download_links_the_same_snapshot(tmp_path: Path) -> None:
    producer = autolog.init("p", "train", output_uri=str(tmp_path / "remote"))
    path = tmp_path / "model.json"
    _booster().save_model(path)
    producer.close()
    [snapshot] = producer.models["output"]

    consumer = autolog.init("p", "consume")
    xgb.Booster(model_file=shutil.copy(path, tmp_path / "copy.json"))  # Booster(model_file=) -> load_model
    renamed = tmp_path / "renamed.json"
    os.rename(path, renamed)
    xgb.Booster().load_model(renamed)
    xgb.XGBClassifier().load_model(autolog.Model.get(snapshot.id).get_local_copy())
    assert [m.id for m in consumer.models["input"]] == [snapshot.id]
    assert consumer.models["input"][0].task_id == producer.id


def test_unknown_file_is_imported_once_and_reused(tmp_path: Path) -> None:
    path = tmp_path / "foreign.ubj"
    _booster().save_model(path)  # no current task: nothing recorded
    first = autolog.init("p", "first")
    xgb.Booster().load_model(path)
    xgb.Booster().load_model(path)
    [imported] = first.models["input"]
    assert imported.task_id is None and imported.framework == "xgboost"
    second = autolog.init("p", "second")
    xgb.Booster(model_file=shutil.copy(path, tmp_path / "other.ubj"))
    assert [m.id for m in second.models["input"]] == [imported.id]


def test_bytearray_round_trip_is_not_recorded() -> None:
    task = autolog.init("p", "raw")
    raw = _booster().save_raw()
    booster = xgb.Booster()
    booster.load_model(raw)
    xgb.XGBClassifier().load_model(_classifier().get_booster().save_raw())
    assert booster.num_boosted_rounds() == 2
    assert task.models == {"input": [], "output": []}


# -- failures pass through ----------------------------------------------------------------------------


def test_save_to_file_object_raises_xgboosts_type_error_and_records_nothing(tmp_path: Path) -> None:
    task = autolog.init("p", "fileobj")
    booster = _booster()
    with open(tmp_path / "m.json", "wb") as fh:
        with pytest.raises(TypeError, match="^fname must be a string or os PathLike$") as raised:
            booster.save_model(fh)
    assert raised.value.__context__ is None and raised.value.__cause__ is None
    with open(tmp_path / "m.json", "wb") as fh, pytest.raises(TypeError):
        _classifier().save_model(fh)
    assert task.models == {"input": [], "output": []}


def test_failed_load_passes_through_and_records_nothing(tmp_path: Path) -> None:
    task = autolog.init("p", "missing")
    with pytest.raises(xgb.core.XGBoostError):
        xgb.Booster().load_model(tmp_path / "missing.json")
    (tmp_path / "garbage.json").write_text("not a model")
    with pytest.raises(xgb.core.XGBoostError):
        xgb.XGBRegressor().load_model(tmp_path / "garbage.json")
    with pytest.raises(xgb.core.XGBoostError):
        _booster().save_model(tmp_path / "no-such-dir" / "m.json")
    assert task.models == {"input": [], "output": []}


class _InternalBoom(RuntimeError):
    pass


def test_internal_errors_never_reach_the_user(
    lenient, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture, tmp_path: Path
) -> None:
    task = autolog.init("p", "contained")

    def boom(*args, **kwargs):
        raise _InternalBoom("broken store")

    monkeypatch.setattr(autolog.capture.recording, "record_save", boom)
    monkeypatch.setattr(autolog.capture.recording, "record_load", boom)
    path = tmp_path / "m.json"
    booster = _booster()
    with caplog.at_level(logging.DEBUG, logger="autolog"):
        assert booster.save_model(path) is None
        assert booster.save_model(path) is None
        assert _classifier().save_model(path) is None
        loaded = xgb.Booster()
        assert loaded.load_model(path) is None
    assert loaded.num_boosted_rounds() == 2
    warnings = [r for r in caplog.records if r.name == "autolog" and r.levelno >= logging.WARNING]
    assert [r.getMessage().count("_InternalBoom") for r in warnings] == [1, 1]  # one per place: save, load
    assert task.models == {"input": [], "output": []}


# -- lifecycle ----------------------------------------------------------------------------------------


@pytest.mark.parametrize("order", ["xgboost-first", "init-first"])
def test_import_order(run_py, order: str, tmp_path: Path) -> None:
    steps = {
        "xgboost-first": ["import xgboost as xgb", "import autolog", "task = autolog.init('p', 'order')"],
        "init-first": ["import autolog", "task = autolog.init('p', 'order')", "import xgboost as xgb"],
    }[order]
    path = str(tmp_path / "m.json")
    code = "\n".join(
        [
            *steps,
            "import numpy as np",
            "x = np.arange(20, dtype=float).reshape(10, 2)",
            "b = xgb.train({}, xgb.DMatrix(x, label=x[:, 0]), num_boost_round=1)",
            f"b.save_model({path!r})",
            f"xgb.XGBRegressor(n_estimators=1).fit(x, x[:, 0]).save_model({path!r})",
            f"xgb.Booster(model_file={path!r})",
            "print(len(task.models['output']), len(task.models['input']))",
        ]
    )
    assert run_py(code).stdout.split() == ["2", "0"]  # the task's own snapshot is not an input


def test_import_autolog_does_not_import_xgboost(run_py) -> None:
    assert run_py("import sys, autolog; print('xgboost' in sys.modules)").stdout.strip() == "False"


def test_version_is_read_from_the_installed_distribution() -> None:
    from autolog.hooks.xgboost import HOOK

    hook = HOOK()
    assert hook.version() == xgb.__version__ and hook.version_supported()


def test_uninstrument_restores_the_originals_and_wrappers_never_stack(tmp_path: Path) -> None:
    from xgboost.core import Booster
    from xgboost.sklearn import XGBClassifier, XGBModel

    task = autolog.init("p", "unpatch")
    autolog.instrument(True)
    autolog.instrument({"xgboost": True})
    assert patched_hooks()["xgboost"]
    originals = {
        owner: {attr: owner.__dict__[attr].__wrapped__ for attr in ("save_model", "load_model")}
        for owner in (Booster, XGBModel)
    }
    for attr_originals in originals.values():
        for original in attr_originals.values():
            assert not hasattr(original, "__wrapped__")  # never a wrapper around a wrapper
    assert "save_model" not in XGBClassifier.__dict__  # the subclass inherits, nothing set on it
    _booster().save_model(tmp_path / "a.json")
    assert len(task.models["output"]) == 1

    autolog.uninstrument()
    assert not patched_hooks()["xgboost"]
    for owner, attr_originals in originals.items():
        for attr, original in attr_originals.items():
            assert owner.__dict__[attr] is original
    _booster().save_model(tmp_path / "b.json")
    _classifier().save_model(tmp_path / "c.json")
    assert len(task.models["output"]) == 1

    autolog.instrument(True)
    _classifier().save_model(tmp_path / "d.json")
    assert len(task.models["output"]) == 2
