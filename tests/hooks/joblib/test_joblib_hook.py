"""joblib hook: real `joblib.dump` / `joblib.load` into a temporary home, no mocks."""

from __future__ import annotations

import io
import json
import logging
import os
import shutil
import sys
from pathlib import Path

import pytest

joblib = pytest.importorskip("joblib")
np = pytest.importorskip("numpy")

import autolog  # noqa: E402
import autolog.capture.recording  # noqa: E402
from autolog.capture.instrumentation import patched_hooks  # noqa: E402


def _forest():
    from sklearn.ensemble import RandomForestClassifier

    rng = np.random.default_rng(0)
    x = rng.normal(size=(60, 4))
    y = (x[:, 0] + x[:, 1] > 0).astype(int)
    return RandomForestClassifier(n_estimators=3, max_depth=3, random_state=0).fit(x, y)


def _outputs(task):
    return task.models["output"]


def _inputs(task):
    return task.models["input"]


def _last_json(proc) -> dict:
    return json.loads(proc.stdout.strip().splitlines()[-1])


# -- saves --------------------------------------------------------------------------------------------


def test_dump_to_str_path_and_open_file_each_record_one_snapshot(tmp_path: Path) -> None:
    task = autolog.init("p", "dump", output_uri=str(tmp_path / "remote"))
    a, b, c = tmp_path / "a.pkl", tmp_path / "b.pkl", tmp_path / "c.pkl"
    assert joblib.dump({"w": [1, 2]}, str(a)) == [str(a)]
    assert joblib.dump({"w": [3]}, b) == [str(b)]
    with open(c, "wb") as fh:
        assert joblib.dump({"w": [4]}, fh) is None
    task.flush()
    out = _outputs(task)
    assert [m.name for m in out] == ["a.pkl", "b.pkl", "c.pkl"]
    assert [m.local_path for m in out] == [str(a), str(b), str(c)]
    assert all(m.framework == "joblib" and m.task_id == task.id for m in out)
    # The open-file snapshot holds the whole dump, not a prefix still sitting in the file's buffer.
    assert joblib.load(out[2].get_local_copy()) == {"w": [4]}
    assert out[2].size == c.stat().st_size
    task.close()


def test_framework_follows_the_dumped_object(tmp_path: Path) -> None:
    task = autolog.init("p", "frameworks")
    joblib.dump(_forest(), tmp_path / "forest.joblib")
    joblib.dump(np.arange(5), tmp_path / "array.joblib")
    joblib.dump(value={"plain": True}, filename=tmp_path / "kw.joblib")
    assert [m.framework for m in _outputs(task)] == ["scikit-learn", "joblib", "joblib"]


def test_xgboost_object_dumped_with_joblib_is_one_xgboost_snapshot(tmp_path: Path) -> None:
    xgb = pytest.importorskip("xgboost")
    rng = np.random.default_rng(0)
    x, y = rng.normal(size=(40, 3)), rng.normal(size=40)
    model = xgb.XGBRegressor(n_estimators=2, max_depth=2).fit(x, y)
    task = autolog.init("p", "xgb-joblib")
    joblib.dump(model, tmp_path / "xgb.joblib")
    joblib.dump(model.get_booster(), tmp_path / "booster.joblib")
    assert [(m.name, m.framework) for m in _outputs(task)] == [("xgb.joblib", "xgboost"), ("booster.joblib", "xgboost")]


@pytest.mark.parametrize(
    ("name", "compress"),
    [
        ("m.pkl", 3),
        ("m.pkl", True),
        ("m.pkl", ("gzip", 3)),
        ("m.pkl", "lzma"),
        ("m.pkl.z", 0),
        ("m.pkl.gz", 0),
        ("m.pkl.bz2", 0),
        ("m.pkl.xz", 0),
        ("m.pkl.lzma", 0),
    ],
)
def test_compressed_dump_records_the_file_it_wrote(tmp_path: Path, name: str, compress) -> None:
    task = autolog.init("p", "compress", output_uri=str(tmp_path / "remote"))
    path = tmp_path / name
    written = joblib.dump(_forest(), path, compress=compress)
    assert written == [str(path)]  # compression never changes the file name
    task.flush()
    [model] = _outputs(task)
    assert (model.name, model.local_path, model.size) == (name, str(path), path.stat().st_size)
    assert type(joblib.load(model.get_local_copy())).__name__ == "RandomForestClassifier"


def test_pathless_buffer_is_not_recorded() -> None:
    task = autolog.init("p", "buffer")
    buf = io.BytesIO()
    joblib.dump({"a": 1}, buf)
    buf.seek(0)
    assert joblib.load(buf) == {"a": 1}
    assert task.models == {"input": [], "output": []}


def test_same_path_dumped_twice_keeps_both_snapshots_intact(tmp_path: Path) -> None:
    task = autolog.init("p", "twice", output_uri=str(tmp_path / "remote"))
    path = tmp_path / "model.pkl"
    joblib.dump({"version": 1}, path)
    joblib.dump({"version": 2, "pad": "x" * 1000}, path)
    task.flush()
    first, second = _outputs(task)
    assert first.id != second.id and first.uri != second.uri and first.hash != second.hash
    assert joblib.load(first.get_local_copy()) == {"version": 1}
    assert joblib.load(second.get_local_copy())["version"] == 2
    task.close()


# -- joblib's own traffic -----------------------------------------------------------------------------


def _square(x):
    return x * x


def test_memory_cache_traffic_is_not_recorded(tmp_path: Path) -> None:
    task = autolog.init("p", "memory", output_uri=str(tmp_path / "remote"))
    memory = joblib.Memory(location=tmp_path / "cache", verbose=0)
    cached = memory.cache(_square)
    big = np.arange(10_000, dtype=np.float64)
    assert cached(big).sum() == (big * big).sum()  # computed, written to the cache
    assert cached(big).sum() == (big * big).sum()  # read back from the cache
    assert any((tmp_path / "cache").rglob("output.pkl"))
    memory.clear(warn=False)
    assert task.models == {"input": [], "output": []}


def test_parallel_memmapping_is_not_recorded(tmp_path: Path) -> None:
    task = autolog.init("p", "parallel")
    big = np.ones(200_000)  # 1.6 MB, above max_nbytes: joblib dumps it to a memmap for the workers
    results = joblib.Parallel(n_jobs=2, backend="loky", max_nbytes="1K", temp_folder=str(tmp_path / "mm"))(
        joblib.delayed(np.sum)(big) for _ in range(4)
    )
    assert results == [200_000.0] * 4
    assert task.models == {"input": [], "output": []}


def test_numpy_pickle_bindings_are_left_alone(tmp_path: Path) -> None:
    from joblib import numpy_pickle

    task = autolog.init("p", "internal")
    assert patched_hooks()["joblib"]
    numpy_pickle.dump({"a": 1}, tmp_path / "internal.pkl")
    assert numpy_pickle.load(tmp_path / "internal.pkl") == {"a": 1}
    assert task.models == {"input": [], "output": []}


def test_scikit_learn_dataset_cache_is_not_recorded(tmp_path: Path) -> None:
    datasets = pytest.importorskip("sklearn.datasets")
    from sklearn.datasets._base import _pkl_filepath

    faces = np.random.default_rng(0).integers(0, 255, size=(400, 4096), dtype=np.uint8)
    joblib.dump(faces, _pkl_filepath(str(tmp_path), "olivetti.pkz"), compress=6)  # the fetcher's cache file
    task = autolog.init("p", "datasets")
    bunch = datasets.fetch_olivetti_faces(data_home=str(tmp_path), download_if_missing=False)
    assert bunch.images.shape == (400, 64, 64)
    assert task.models == {"input": [], "output": []}


# -- loads --------------------------------------------------------------------------------------------


def test_load_links_the_producer_across_processes(run_py, tmp_path: Path) -> None:
    path = tmp_path / "forest.joblib"
    produced = _last_json(
        run_py(f"""
        import json, autolog, joblib
        from sklearn.linear_model import LinearRegression
        task = autolog.init("p", "train", output_uri={str(tmp_path / "remote")!r})
        joblib.dump(LinearRegression().fit([[0], [1], [2]], [0, 1, 2]), {str(path)!r})
        task.close()
        print(json.dumps({{"task": task.id, "model": task.models["output"][0].id}}))
    """)
    )
    consumed = _last_json(
        run_py(f"""
        import json, shutil, autolog, joblib
        task = autolog.init("p", "evaluate")
        model = joblib.load({str(path)!r})
        assert model.predict([[3]])[0] > 2.9
        [linked] = task.models["input"]
        print(json.dumps({{"model": linked.id, "producer": linked.task_id, "framework": linked.framework,
                          "task": task.id}}))
        task.close()
    """)
    )
    assert consumed["model"] == produced["model"]
    assert consumed["producer"] == produced["task"]
    assert consumed["framework"] == "scikit-learn"
    model = autolog.Model.get(produced["model"])
    assert model.task.id == produced["task"]
    assert [t.id for t in model.consumers] == [consumed["task"]]


def test_load_after_copy_rename_and_download_links_the_same_snapshot(tmp_path: Path) -> None:
    producer = autolog.init("p", "train", output_uri=str(tmp_path / "remote"))
    path = tmp_path / "model.pkl"
    joblib.dump(_forest(), path)
    producer.close()
    [snapshot] = _outputs(producer)

    consumer = autolog.init("p", "consume")
    copy = shutil.copy(path, tmp_path / "copy.pkl")
    joblib.load(copy)
    renamed = tmp_path / "renamed.bin"
    os.rename(path, renamed)
    joblib.load(renamed)
    with open(renamed, "rb") as fh:
        joblib.load(fh)
    joblib.load(autolog.Model.get(snapshot.id).get_local_copy())
    assert [m.id for m in _inputs(consumer)] == [snapshot.id]  # one model, linked once
    assert _inputs(consumer)[0].task_id == producer.id


def test_unknown_file_is_imported_once_and_reused(tmp_path: Path) -> None:
    path = tmp_path / "foreign.pkl"
    joblib.dump(_forest(), path)  # no current task: nothing recorded, nothing raised
    first = autolog.init("p", "first")
    joblib.load(path)
    joblib.load(path)
    [imported] = _inputs(first)
    assert imported.task_id is None and imported.framework == "scikit-learn"
    second = autolog.init("p", "second")
    joblib.load(shutil.copy(path, tmp_path / "elsewhere.pkl"))
    assert [m.id for m in _inputs(second)] == [imported.id]
    assert len(autolog.Model.query(name="foreign.pkl")) == 1


def test_a_task_is_not_an_input_of_itself(tmp_path: Path) -> None:
    task = autolog.init("p", "self")
    joblib.dump({"a": 1}, tmp_path / "m.pkl")
    joblib.load(tmp_path / "m.pkl")
    assert len(_outputs(task)) == 1 and _inputs(task) == []


# -- failures pass through ----------------------------------------------------------------------------


def test_exceptions_pass_through_unchanged_and_record_nothing(tmp_path: Path) -> None:
    task = autolog.init("p", "errors")
    with pytest.raises(FileNotFoundError) as missing:
        joblib.load(tmp_path / "missing.pkl")
    assert missing.value.__context__ is None and missing.value.__cause__ is None
    with pytest.raises(ValueError, match="Second argument should be a filename or a file-like object"):
        joblib.dump({"a": 1}, 123)
    with pytest.raises(ValueError, match="Non valid compress level"):
        joblib.dump({"a": 1}, tmp_path / "bad.pkl", compress=42)
    with pytest.raises(Exception) as unpicklable:  # pickle.PicklingError or AttributeError by version
        joblib.dump(lambda: 1, tmp_path / "lambda.pkl")
    assert "autolog" not in type(unpicklable.value).__module__
    assert task.models == {"input": [], "output": []}


class _InternalSaveBoom(RuntimeError):
    pass


class _InternalLoadBoom(RuntimeError):
    pass


def test_internal_errors_never_reach_the_user(
    lenient, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture, tmp_path: Path
) -> None:
    task = autolog.init("p", "contained")
    path = tmp_path / "m.pkl"

    def save_boom(*args, **kwargs):
        raise _InternalSaveBoom("broken store")

    def load_boom(*args, **kwargs):
        raise _InternalLoadBoom("broken store")

    monkeypatch.setattr(autolog.capture.recording, "record_save", save_boom)
    monkeypatch.setattr(autolog.capture.recording, "record_load", load_boom)
    with caplog.at_level(logging.DEBUG, logger="autolog"):
        assert joblib.dump({"a": 1}, path) == [str(path)]
        assert joblib.dump({"a": 2}, path) == [str(path)]
        assert joblib.load(path) == {"a": 2}
        assert joblib.load(path) == {"a": 2}
    warnings = [r for r in caplog.records if r.name == "autolog" and r.levelno >= logging.WARNING]
    assert len([r for r in warnings if "_InternalSaveBoom" in r.getMessage()]) == 1
    assert len([r for r in warnings if "_InternalLoadBoom" in r.getMessage()]) == 1
    assert task.models == {"input": [], "output": []}


def test_internal_error_before_the_call_is_contained(
    lenient, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture, tmp_path: Path
) -> None:
    class _ResolveBoom(RuntimeError):
        pass

    autolog.init("p", "contained-before")

    def boom(obj):
        raise _ResolveBoom("cannot resolve")

    monkeypatch.setattr(autolog.capture.recording, "resolve_target", boom)
    with caplog.at_level(logging.WARNING, logger="autolog"):
        assert joblib.dump([1, 2], tmp_path / "m.pkl") == [str(tmp_path / "m.pkl")]
        assert joblib.load(tmp_path / "m.pkl") == [1, 2]
    assert [r.name for r in caplog.records if "_ResolveBoom" in r.getMessage()] == ["autolog"] * 2  # save, load


# -- lifecycle ----------------------------------------------------------------------------------------


@pytest.mark.parametrize("order", ["joblib-first", "init-first", "autolog-then-joblib-then-init"])
def test_import_order(run_py, order: str, tmp_path: Path) -> None:
    steps = {
        "joblib-first": ["import joblib", "import autolog", "task = autolog.init('p', 'order')"],
        "init-first": ["import autolog", "task = autolog.init('p', 'order')", "import joblib"],
        "autolog-then-joblib-then-init": ["import autolog", "import joblib", "task = autolog.init('p', 'order')"],
    }[order]
    code = "\n".join(
        [
            *steps,
            f"joblib.dump({{'a': 1}}, {str(tmp_path / 'm.pkl')!r})",
            f"joblib.load({str(tmp_path / 'm.pkl')!r})",
            "print(len(task.models['output']), len(task.models['input']))",
        ]
    )
    assert run_py(code).stdout.split() == ["1", "0"]


def test_import_autolog_does_not_import_joblib(run_py) -> None:
    out = run_py("import sys, autolog; print(sorted(m for m in ('joblib', 'sklearn', 'numpy') if m in sys.modules))")
    assert out.stdout.strip() == "[]"


def test_disabled_by_frameworks_mapping(tmp_path: Path) -> None:
    task = autolog.init("p", "off", frameworks={"joblib": False})
    joblib.dump({"a": 1}, tmp_path / "m.pkl")
    joblib.load(tmp_path / "m.pkl")
    assert task.models == {"input": [], "output": []}
    assert not patched_hooks()["joblib"]


def test_uninstrument_restores_the_originals_and_wrappers_never_stack(tmp_path: Path) -> None:
    from joblib import numpy_pickle

    original_dump, original_load = numpy_pickle.__dict__["dump"], numpy_pickle.__dict__["load"]
    task = autolog.init("p", "unpatch")
    autolog.instrument(True)
    autolog.instrument({"joblib": True})
    assert patched_hooks()["joblib"]
    assert joblib.dump.__wrapped__ is original_dump and joblib.load.__wrapped__ is original_load
    joblib.dump({"a": 1}, tmp_path / "m.pkl")
    assert len(_outputs(task)) == 1

    autolog.uninstrument()
    assert joblib.__dict__["dump"] is original_dump and joblib.__dict__["load"] is original_load
    assert not patched_hooks()["joblib"]
    joblib.dump({"a": 1}, tmp_path / "n.pkl")
    assert len(_outputs(task)) == 1

    autolog.instrument(True)
    assert joblib.dump.__wrapped__ is original_dump
    joblib.dump({"a": 1}, tmp_path / "o.pkl")
    assert len(_outputs(task)) == 2


def test_no_current_task_records_nothing(tmp_path: Path) -> None:
    task = autolog.init("p", "closed")
    task.close()
    assert joblib.dump({"a": 1}, tmp_path / "m.pkl") == [str(tmp_path / "m.pkl")]
    assert joblib.load(tmp_path / "m.pkl") == {"a": 1}
    assert task.models == {"input": [], "output": []}
    assert "joblib" in sys.modules
