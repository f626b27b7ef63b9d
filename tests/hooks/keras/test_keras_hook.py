"""The keras hook end to end: real Keras 3 saves and loads into a temporary autolog home, no mocks."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
keras = pytest.importorskip("keras")

import numpy as np  # noqa: E402
import wrapt  # noqa: E402
from hooks.conftest import ids, warnings_in  # noqa: E402
from keras.src.models.model import Model as ModelClass  # noqa: E402
from keras.src.saving import saving_api  # noqa: E402

import autolog  # noqa: E402
from autolog.capture.instrumentation import patched_hooks  # noqa: E402

PROJECT = "keras-hook"  # the project of the `task` fixture (tests/hooks/conftest.py)

CHILD_ENV = {"TF_CPP_MIN_LOG_LEVEL": "2"}
X = np.linspace(-1, 1, 64, dtype="float32").reshape(16, 4)
Y = X.sum(axis=1, keepdims=True)


# -- helpers -----------------------------------------------------------------------------------------
def tiny(seed: int = 0, *, compiled: bool = False) -> keras.Model:
    keras.utils.set_random_seed(seed)
    model = keras.Sequential([keras.Input((4,)), keras.layers.Dense(3, activation="relu"), keras.layers.Dense(1)])
    if compiled:
        model.compile(optimizer="adam", loss="mse")
    return model


def same_weights(a: keras.Model, b: keras.Model) -> bool:
    return all(np.array_equal(x, y) for x, y in zip(a.get_weights(), b.get_weights()))


SAVES = {
    "save .keras": (lambda m, d: m.save(d / "m.keras"), "m.keras"),
    "save .h5": (lambda m, d: m.save(str(d / "m.h5")), "m.h5"),
    "save_weights": (lambda m, d: m.save_weights(d / "m.weights.h5"), "m.weights.h5"),
    "export": (lambda m, d: m.export(str(d / "exported"), verbose=False), "exported"),
    "saving.save_model": (lambda m, d: keras.saving.save_model(m, d / "f.keras"), "f.keras"),
}


# -- saves -------------------------------------------------------------------------------------------
@pytest.mark.parametrize("kind", list(SAVES))
def test_each_save_is_exactly_one_snapshot(task, tmp_path: Path, kind: str):
    save, name = SAVES[kind]
    save(tiny(), tmp_path)  # Keras -> TF code inside (export -> tf.saved_model.save) counts once
    task.flush()
    (model,) = task.models["output"]
    model = autolog.Model.get(model.id)
    assert (model.name, model.framework, model.task_id) == (name, "keras", task.id)
    assert model.local_path == str(tmp_path / name)
    assert model.uri and model.hash and model.size
    assert task.models["input"] == []


def test_model_checkpoint_callback_records_every_checkpoint(task, tmp_path: Path):
    model, path = tiny(compiled=True), tmp_path / "best.keras"
    callback = keras.callbacks.ModelCheckpoint(str(path), save_best_only=False)
    model.fit(X, Y, epochs=3, batch_size=8, verbose=0, callbacks=[callback])
    task.flush()
    snapshots = [autolog.Model.get(m.id) for m in task.models["output"]]
    assert [m.name for m in snapshots] == ["best.keras"] * 3  # one per epoch, the same path each time
    assert len({m.hash for m in snapshots}) == 3 and len({m.uri for m in snapshots}) == 3
    for snapshot in snapshots:  # every remote copy intact, though the file was overwritten twice
        assert isinstance(keras.models.load_model(snapshot.get_local_copy()), keras.Model)
    assert same_weights(keras.models.load_model(snapshots[-1].get_local_copy()), model)


def test_weights_only_checkpoints_per_epoch(task, tmp_path: Path):
    callback = keras.callbacks.ModelCheckpoint(str(tmp_path / "e{epoch}.weights.h5"), save_weights_only=True)
    tiny(compiled=True).fit(X, Y, epochs=2, batch_size=8, verbose=0, callbacks=[callback])
    assert [m.name for m in task.models["output"]] == ["e1.weights.h5", "e2.weights.h5"]


def test_sharded_weights_are_one_snapshot_with_all_shards(task, tmp_path: Path):
    model = keras.Sequential([keras.Input((4,)), *(keras.layers.Dense(100) for _ in range(3))])
    model.save_weights(tmp_path / "big.weights.json", max_shard_size=0.00005)  # 50 kB: a layer a shard
    shards = sorted(p.name for p in tmp_path.glob("big_*.weights.h5"))
    assert len(shards) > 1
    task.flush()
    (snapshot,) = task.models["output"]
    assert sorted(os.listdir(autolog.Model.get(snapshot.id).get_local_copy())) == sorted(["big.weights.json", *shards])
    with autolog.init("keras-hook", "consume") as consumer:
        model.load_weights(tmp_path / "big.weights.json")
    assert ids(consumer.models["input"]) == [snapshot.id]


# -- loads -------------------------------------------------------------------------------------------
def test_load_model_is_one_object_under_every_alias():
    import tensorflow as tf

    autolog.instrument()
    loader = keras.models.load_model
    assert isinstance(loader, wrapt.FunctionWrapper)
    assert loader is keras.saving.load_model is tf.keras.models.load_model is saving_api.load_model
    assert keras.models.save_model is keras.saving.save_model is saving_api.save_model


@pytest.mark.parametrize("alias", ["keras.models", "keras.saving", "tf.keras.models"])
def test_load_model_links_the_producer(tmp_path: Path, alias: str):
    import tensorflow as tf

    with autolog.init("keras-hook", "produce") as producer:
        model = tiny()
        model.save(tmp_path / "m.keras")
    (snapshot,) = producer.models["output"]
    load = {
        "keras.models": lambda p: keras.models.load_model(p),
        "keras.saving": lambda p: keras.saving.load_model(p),
        "tf.keras.models": lambda p: tf.keras.models.load_model(p),
    }[alias]
    with autolog.init("keras-hook", "consume") as consumer:
        assert same_weights(load(tmp_path / "m.keras"), model)
        load(str(tmp_path / "m.keras"))  # twice: linked once
    assert ids(consumer.models["input"]) == [snapshot.id]
    assert autolog.Model.get(snapshot.id).task.id == producer.id


def test_h5_and_weights_loads_link_their_snapshots(tmp_path: Path):
    with autolog.init("keras-hook", "produce") as producer:
        model = tiny(compiled=True)
        model.save(tmp_path / "m.h5")
        model.save_weights(tmp_path / "m.weights.h5")
    h5, weights = producer.models["output"]
    with autolog.init("keras-hook", "consume") as consumer:
        restored = keras.models.load_model(tmp_path / "m.h5", compile=False)  # Keras 3: "mse" needs this
        fresh = tiny(seed=1)
        fresh.load_weights(tmp_path / "m.weights.h5")
        assert same_weights(restored, model) and same_weights(fresh, model)
    assert ids(consumer.models["input"]) == [h5.id, weights.id]


def test_loads_of_local_copies_link_the_snapshots(tmp_path: Path):
    import tensorflow as tf

    with autolog.init("keras-hook", "produce", output_uri=str(tmp_path / "remote")) as producer:
        model = tiny()
        model.save(tmp_path / "m.keras")
        model.export(str(tmp_path / "served"), verbose=False)
    saved, exported = producer.models["output"]
    os.remove(tmp_path / "m.keras")
    with autolog.init("keras-hook", "consume") as consumer:
        copy = autolog.Model.get(saved.id).get_local_copy()
        assert same_weights(keras.models.load_model(copy), model)
        served = tf.saved_model.load(autolog.Model.get(exported.id).get_local_copy())
        np.testing.assert_allclose(served.serve(X).numpy(), model.predict(X, verbose=0), rtol=1e-5)
    assert ids(consumer.models["input"]) == [saved.id, exported.id]


def test_best_model_of_a_training_process_links_back(run_py, tmp_path: Path):
    best = tmp_path / "best.keras"
    producer_id = (
        run_py(
            f"""
        import autolog, keras, numpy as np
        x = np.random.rand(32, 4).astype("float32")
        with autolog.init("keras-hook", "fit", output_uri={str(tmp_path / "remote")!r}) as task:
            model = keras.Sequential([keras.Input((4,)), keras.layers.Dense(1)])
            model.compile(optimizer="sgd", loss="mse")
            ckpt = keras.callbacks.ModelCheckpoint({str(best)!r}, monitor="loss", save_best_only=True)
            model.fit(x, x.sum(1), epochs=2, verbose=0, callbacks=[ckpt])
        print(task.id)
    """,
            env=CHILD_ENV,
        )
        .stdout.strip()
        .splitlines()[-1]
    )
    with autolog.init("keras-hook", "evaluate") as consumer:
        keras.models.load_model(best)
    (linked,) = consumer.models["input"]
    assert linked.task_id == producer_id
    assert linked.id == autolog.Model.query(task_id=producer_id)[0].id  # the latest "best" snapshot


# -- the host program is never broken -----------------------------------------------------------------
def test_failing_calls_raise_the_keras_error_and_record_nothing(task, tmp_path: Path):
    missing = tmp_path / "missing.keras"
    with pytest.raises(Exception) as expected:
        saving_api.load_model.__wrapped__(missing)
    with pytest.raises(type(expected.value)) as raised:
        keras.models.load_model(missing)
    assert str(raised.value) == str(expected.value)
    assert raised.value.__cause__ is None and raised.value.__context__ is None
    with pytest.raises(ValueError, match=r"\.weights\.h5"):
        tiny().save_weights(tmp_path / "wrong-suffix.h5")
    with pytest.raises(FileNotFoundError):
        tiny().load_weights(tmp_path / "absent.weights.h5")
    assert not (tmp_path / "wrong-suffix.h5").exists()
    assert task.models == {"input": [], "output": []}


def test_internal_errors_are_contained(lenient, task, tmp_path: Path, monkeypatch, autolog_records):
    monkeypatch.setattr(task, "_record_output", lambda *a, **k: 1 / 0)
    model = tiny()
    assert model.save(tmp_path / "m.keras") is None
    assert model.save(tmp_path / "m.keras") is None  # the same failure again: no second warning
    assert same_weights(keras.models.load_model(tmp_path / "m.keras"), model)
    monkeypatch.undo()
    assert task.models["output"] == []
    (warning,) = warnings_in(autolog_records)
    assert warning.name == "autolog" and "ZeroDivisionError" in warning.getMessage()


# -- import order, switches, unpatching ----------------------------------------------------------------
def test_keras_imported_before_autolog(run_py, tmp_path: Path):
    run_py(
        f"""
        import keras
        import autolog
        with autolog.init("keras-hook", "early") as task:
            model = keras.Sequential([keras.Input((2,)), keras.layers.Dense(1)])
            model.save({str(tmp_path / "early.keras")!r})
            keras.saving.load_model({str(tmp_path / "early.keras")!r})
            assert [m.name for m in task.models["output"]] == ["early.keras"], task.models
    """,
        env=CHILD_ENV,
    )


def test_tf_keras_reached_after_init(run_py, tmp_path: Path):
    source = tmp_path / "src.keras"
    tiny().save(source)  # no current task: not recorded
    run_py(
        f"""
        import sys
        import autolog
        task = autolog.init("keras-hook", "late")
        assert "keras" not in sys.modules and "tensorflow" not in sys.modules
        import tensorflow as tf
        model = tf.keras.models.load_model({str(source)!r})
        model.save_weights({str(tmp_path / "late.weights.h5")!r})
        assert [m.name for m in task.models["input"]] == ["src.keras"], task.models
        assert [(m.name, m.framework) for m in task.models["output"]] == [("late.weights.h5", "keras")]
        task.close()
    """,
        env=CHILD_ENV,
    )


def test_export_with_the_keras_hook_off_is_one_tensorflow_snapshot(tmp_path: Path):
    with autolog.init("keras-hook", "off", frameworks={"keras": False}) as task:
        assert not isinstance(ModelClass.__dict__["save"], wrapt.ObjectProxy)
        model = tiny()
        model.save(tmp_path / "m.keras")
        model.export(str(tmp_path / "exported"), verbose=False)
    assert [(m.name, m.framework) for m in task.models["output"]] == [("exported", "tensorflow")]


def test_uninstrument_restores_the_exact_originals(task, tmp_path: Path):
    import tensorflow as tf

    methods = {a: ModelClass.__dict__[a].__wrapped__ for a in ("save", "save_weights", "export", "load_weights")}
    loader = saving_api.__dict__["load_model"].__wrapped__
    assert not isinstance(loader, wrapt.ObjectProxy) and patched_hooks()["keras"]
    autolog.uninstrument()
    assert not patched_hooks()["keras"]
    for attr, original in methods.items():
        assert ModelClass.__dict__[attr] is original
    assert keras.models.load_model is keras.saving.load_model is tf.keras.models.load_model is loader
    tiny().save(tmp_path / "unrecorded.keras")
    assert task.models["output"] == []
    autolog.instrument()
    assert keras.models.load_model.__wrapped__ is loader
    tiny().save(tmp_path / "recorded.keras")
    assert [m.name for m in task.models["output"]] == ["recorded.keras"]


def test_keras_example_runs(run_py, tmp_path: Path):
    example = Path(__file__).resolve().parents[3] / "examples" / "keras_train.py"
    if not example.is_file():
        pytest.skip("examples/ is not part of this checkout")
    proc = run_py(f"import runpy; runpy.run_path({str(example)!r}, run_name='__main__')", env=CHILD_ENV)
    (train,) = autolog.Task.query(project="keras-quickstart", task="train")
    (evaluate,) = autolog.Task.query(project="keras-quickstart", task="evaluate")
    assert len(train.models["output"]) >= 1
    assert [m.id for m in evaluate.models["input"]] == [train.models["output"][-1].id]
    assert f"made by task {train.id}" in proc.stdout
