"""The tensorflow hook end to end: real checkpoints and SavedModels into a temporary autolog home, no mocks."""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

import pytest

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
tf = pytest.importorskip("tensorflow")

import wrapt  # noqa: E402
from hooks.conftest import ids, warnings_in  # noqa: E402
from tensorflow.python.checkpoint import checkpoint as checkpoint_module  # noqa: E402
from tensorflow.python.checkpoint import checkpoint_management  # noqa: E402
from tensorflow.python.saved_model import load as load_module  # noqa: E402
from tensorflow.python.saved_model import save as save_module  # noqa: E402

import autolog  # noqa: E402
from autolog.capture.instrumentation import patched_hooks  # noqa: E402

PROJECT = "tf-hook"  # the project of the `task` fixture (tests/hooks/conftest.py)

CHILD_ENV = {"TF_CPP_MIN_LOG_LEVEL": "2"}


# -- helpers -----------------------------------------------------------------------------------------
def checkpoint(*values: float) -> tf.train.Checkpoint:
    return tf.train.Checkpoint(v=tf.Variable(list(values) or [1.0, 2.0]))


def restored(path: str) -> list[float]:
    """What a checkpoint at `path` holds, read with the original (unrecorded) Checkpoint.read."""
    fresh, read = checkpoint(0.0, 0.0), checkpoint_module.Checkpoint.__dict__["read"]
    getattr(read, "__wrapped__", read)(fresh, path)
    return fresh.v.numpy().tolist()


def files_under(folder) -> list[str]:
    return sorted(str(p.relative_to(folder)) for p in Path(folder).rglob("*") if p.is_file())


def produce(tmp_path: Path, *values: float):
    """A closed task that saved one checkpoint; returns (task, model, prefix)."""
    with autolog.init("tf-hook", "produce", output_uri=str(tmp_path / "remote")) as producer:
        prefix = checkpoint(*values).save(str(tmp_path / "ckpts" / "ckpt"))
    (model,) = producer.models["output"]
    return producer, model, prefix


# -- saves -------------------------------------------------------------------------------------------
def test_checkpoint_save_is_one_snapshot_of_the_prefix_files(task, tmp_path: Path):
    prefix = checkpoint(3.0, 4.0).save(str(tmp_path / "ckpts" / "ckpt"))
    assert prefix == str(tmp_path / "ckpts" / "ckpt-1")
    task.flush()
    (model,) = task.models["output"]
    model = autolog.Model.get(model.id)
    assert (model.name, model.framework, model.task_id) == ("ckpt-1", "tensorflow", task.id)
    assert model.local_path == prefix
    assert model.uri and model.hash
    files = sorted(os.listdir(model.get_local_copy()))
    assert files == ["ckpt-1.data-00000-of-00001", "ckpt-1.index"]  # not the directory's `checkpoint` file
    assert model.size == sum(os.path.getsize(f"{prefix}{f[len('ckpt-1') :]}") for f in files)
    assert restored(os.path.join(model.get_local_copy(), model.name)) == [3.0, 4.0]


def test_write_and_saved_model_save_record_one_snapshot_each(task, tmp_path: Path):
    ckpt = checkpoint()
    assert ckpt.write(str(tmp_path / "w")) == str(tmp_path / "w")
    tf.saved_model.save(ckpt, str(tmp_path / "exported"))
    task.flush()
    written, exported = (autolog.Model.get(m.id) for m in task.models["output"])
    assert (written.name, exported.name) == ("w", "exported")
    assert {written.framework, exported.framework} == {"tensorflow"}
    copy = exported.get_local_copy()
    assert files_under(copy) == files_under(tmp_path / "exported")  # (an empty `assets/` is not kept)
    assert tf.saved_model.load(copy).v.numpy().tolist() == [1.0, 2.0]


def test_same_prefix_rewritten_keeps_both_snapshots(task, tmp_path: Path):
    """TF rewrites a prefix's `.index` file in place: the earlier snapshot must survive it."""
    ckpt, prefix = checkpoint(1.0, 1.0), str(tmp_path / "same")
    ckpt.write(prefix)
    ckpt.v.assign([2.0, 2.0])
    ckpt.write(prefix)
    task.flush()
    first, second = (autolog.Model.get(m.id) for m in task.models["output"])
    assert first.hash != second.hash and first.uri != second.uri
    assert restored(os.path.join(first.get_local_copy(), "same")) == [1.0, 1.0]
    assert restored(os.path.join(second.get_local_copy(), "same")) == [2.0, 2.0]
    assert restored(prefix) == [2.0, 2.0]


def test_checkpoint_manager_sweeping_old_checkpoints_loses_no_snapshot(task, tmp_path: Path):
    ckpt = checkpoint(0.0, 0.0)
    manager = tf.train.CheckpointManager(ckpt, str(tmp_path / "managed"), max_to_keep=1)
    for step in (1.0, 2.0, 3.0):
        ckpt.v.assign([step, step])
        manager.save()  # deletes the previous checkpoint inside the call
    assert sorted(os.listdir(tmp_path / "managed")) == ["checkpoint", "ckpt-3.data-00000-of-00001", "ckpt-3.index"]
    task.flush()
    models = [autolog.Model.get(m.id) for m in task.models["output"]]
    assert [m.name for m in models] == ["ckpt-1", "ckpt-2", "ckpt-3"]  # one each: manager -> _write, once
    for step, model in zip((1.0, 2.0, 3.0), models):
        # stored by content (docs/storage.md): the folder snapshot's manifest names its members
        manifest = json.loads(Path(model.uri.removeprefix("file://")).read_text())
        assert sorted(m["name"] for m in manifest["members"]) == [
            f"{model.name}.data-00000-of-00001",
            f"{model.name}.index",
        ]
        assert restored(os.path.join(model.get_local_copy(), model.name)) == [step, step]


def test_saved_model_save_after_keras_export_is_still_recorded(task, tmp_path: Path):
    """keras' export imports `tensorflow.saved_model` again, replacing the `tf.saved_model` module."""
    keras = pytest.importorskip("keras")
    model = keras.Sequential([keras.Input((2,)), keras.layers.Dense(1)])
    model.export(str(tmp_path / "by-keras"), verbose=False)
    tf.saved_model.save(checkpoint(), str(tmp_path / "by-tf"))
    assert [(m.name, m.framework) for m in task.models["output"]] == [("by-keras", "keras"), ("by-tf", "tensorflow")]


# -- loads -------------------------------------------------------------------------------------------
@pytest.mark.parametrize("method", ["restore", "read"])
def test_restore_links_the_producer_once(tmp_path: Path, method: str):
    producer, model, prefix = produce(tmp_path, 5.0, 6.0)
    with autolog.init("tf-hook", "consume") as consumer:
        fresh = checkpoint(0.0, 0.0)
        getattr(fresh, method)(prefix)  # restore() calls read(): still one load
        getattr(fresh, method)(prefix)
        assert fresh.v.numpy().tolist() == [5.0, 6.0]
    assert ids(consumer.models["input"]) == [model.id]
    assert autolog.Model.get(model.id).task.id == producer.id
    assert ids(autolog.Model.get(model.id).consumers) == [consumer.id]


def test_restore_from_the_local_copy_folder_links_the_snapshot(tmp_path: Path):
    producer, model, prefix = produce(tmp_path, 7.0, 8.0)
    shutil.rmtree(tmp_path / "ckpts")  # only the remote copy is left
    with autolog.init("tf-hook", "consume") as consumer:
        folder = autolog.Model.get(model.id).get_local_copy()
        fresh = checkpoint(0.0, 0.0)
        fresh.restore(os.path.join(folder, model.name)).assert_consumed()
        assert fresh.v.numpy().tolist() == [7.0, 8.0]
    (linked,) = consumer.models["input"]
    assert (linked.id, linked.task_id) == (model.id, producer.id)


def test_saved_model_load_links_the_export(tmp_path: Path):
    with autolog.init("tf-hook", "export") as producer:
        tf.saved_model.save(checkpoint(), str(tmp_path / "sm"))
    (model,) = producer.models["output"]
    with autolog.init("tf-hook", "serve") as consumer:
        assert tf.saved_model.load(str(tmp_path / "sm")).v.numpy().tolist() == [1.0, 2.0]
        checkpoint(0.0, 0.0).restore(str(tmp_path / "sm"))  # restore() accepts a SavedModel directory
    assert ids(consumer.models["input"]) == [model.id]


def test_restore_links_across_processes(run_py, tmp_path: Path):
    out = (
        run_py(
            f"""
        import json, autolog, tensorflow as tf
        with autolog.init("tf-hook", "produce", output_uri={str(tmp_path / "remote")!r}) as task:
            ckpt = tf.train.Checkpoint(v=tf.Variable([9.0]))
            manager = tf.train.CheckpointManager(ckpt, {str(tmp_path / "run")!r}, max_to_keep=2)
            manager.save()
        print(json.dumps([task.id, manager.latest_checkpoint]))
    """,
            env=CHILD_ENV,
        )
        .stdout.strip()
        .splitlines()[-1]
    )
    producer_id, prefix = json.loads(out)
    assert tf.train.latest_checkpoint(str(tmp_path / "run")) == prefix
    with autolog.init("tf-hook", "consume") as consumer:
        fresh = tf.train.Checkpoint(v=tf.Variable([0.0]))
        fresh.restore(tf.train.latest_checkpoint(str(tmp_path / "run")))
        assert fresh.v.numpy().tolist() == [9.0]
    (linked,) = consumer.models["input"]
    assert (linked.task_id, linked.name, linked.framework) == (producer_id, "ckpt-1", "tensorflow")


# -- the host program is never broken -----------------------------------------------------------------
def test_failing_calls_raise_the_framework_error_and_record_nothing(task, tmp_path: Path):
    missing = str(tmp_path / "nowhere" / "ckpt-1")
    with pytest.raises(tf.errors.NotFoundError) as expected:
        checkpoint_module.Checkpoint.restore.__wrapped__(checkpoint(), missing)
    with pytest.raises(tf.errors.NotFoundError) as raised:
        checkpoint().restore(missing)
    assert str(raised.value) == str(expected.value)
    with pytest.raises(OSError) as expected:
        load_module.load_partial.__wrapped__(str(tmp_path / "no"), None)
    with pytest.raises(type(expected.value)) as raised:
        tf.saved_model.load(str(tmp_path / "no"))
    assert str(raised.value) == str(expected.value)
    blocker = tmp_path / "a-file"
    blocker.write_text("not a directory")
    with pytest.raises(Exception) as raised:
        checkpoint().write(str(blocker / "ckpt"))
    assert type(raised.value).__module__.startswith("tensorflow")
    assert task.models == {"input": [], "output": []}


def test_internal_errors_are_contained(lenient, task, tmp_path: Path, monkeypatch, autolog_records):
    monkeypatch.setattr(task, "_record_output", lambda *a, **k: 1 / 0)
    monkeypatch.setattr(task, "_record_input", lambda *a, **k: 1 / 0)
    ckpt = checkpoint(4.0, 4.0)
    prefix = ckpt.save(str(tmp_path / "ckpt"))
    assert prefix == str(tmp_path / "ckpt-1")
    assert tf.train.CheckpointManager(ckpt, str(tmp_path / "m"), max_to_keep=1).save().endswith("ckpt-2")
    fresh = checkpoint(0.0, 0.0)
    fresh.restore(prefix).assert_consumed()
    assert fresh.v.numpy().tolist() == [4.0, 4.0]
    monkeypatch.undo()
    assert task.models == {"input": [], "output": []}
    assert {r.name for r in warnings_in(autolog_records)} == {"autolog"}
    assert len(warnings_in(autolog_records)) == 2  # one per place (save, load), repeats at DEBUG


# -- import order, switches, unpatching ----------------------------------------------------------------
def test_tensorflow_imported_before_autolog(run_py, tmp_path: Path):
    run_py(
        f"""
        import tensorflow as tf
        import autolog
        with autolog.init("tf-hook", "early") as task:
            tf.train.Checkpoint(v=tf.Variable([1.0])).save({str(tmp_path / "early")!r})
            assert [m.name for m in task.models["output"]] == ["early-1"], task.models
    """,
        env=CHILD_ENV,
    )


def test_tensorflow_imported_after_init(run_py, tmp_path: Path):
    run_py(
        f"""
        import sys
        import autolog
        task = autolog.init("tf-hook", "late")
        assert "tensorflow" not in sys.modules
        import tensorflow as tf
        ckpt = tf.train.Checkpoint(v=tf.Variable([1.0]))
        tf.saved_model.save(ckpt, {str(tmp_path / "late-sm")!r})
        prefix = ckpt.save({str(tmp_path / "late")!r})
        tf.train.Checkpoint(v=tf.Variable([0.0])).restore(prefix)
        assert [m.name for m in task.models["output"]] == ["late-sm", "late-1"], task.models
        assert task.models["input"] == []  # its own checkpoint: not an input of itself
        task.close()
    """,
        env=CHILD_ENV,
    )


def test_switched_off(tmp_path: Path):
    with autolog.init("tf-hook", "off", frameworks={"tensorflow": False}) as task:
        assert not isinstance(checkpoint_module.Checkpoint.__dict__["save"], wrapt.ObjectProxy)
        checkpoint().save(str(tmp_path / "off"))
    assert task.models == {"input": [], "output": []}


def test_uninstrument_restores_the_exact_originals(task, tmp_path: Path):
    owners = [(checkpoint_module.Checkpoint, a) for a in ("save", "write", "restore", "read")]
    owners += [
        (checkpoint_management.CheckpointManager, "save"),
        (save_module, "save_and_return_nodes"),
        (load_module, "load_partial"),
    ]
    originals = {(o, a): o.__dict__[a].__wrapped__ for o, a in owners}
    assert all(not isinstance(f, wrapt.ObjectProxy) for f in originals.values())
    assert patched_hooks()["tensorflow"]
    autolog.uninstrument()
    assert not patched_hooks()["tensorflow"]
    for (owner, attr), original in originals.items():
        assert owner.__dict__[attr] is original
    checkpoint().save(str(tmp_path / "unrecorded"))
    assert task.models["output"] == []
    autolog.instrument()
    assert (
        checkpoint_module.Checkpoint.__dict__["save"].__wrapped__ is originals[(checkpoint_module.Checkpoint, "save")]
    )
    checkpoint().save(str(tmp_path / "recorded"))
    assert [m.name for m in task.models["output"]] == ["recorded-1"]


def test_async_checkpoint_is_recorded_once_when_written(task, tmp_path: Path):
    """TF writes async checkpoints from its own thread, calling Checkpoint.save again there."""
    options = tf.train.CheckpointOptions(experimental_enable_async_checkpoint=True)
    ckpt = checkpoint(1.0, 1.0)
    first = ckpt.save(str(tmp_path / "async"), options=options)
    ckpt.v.assign([2.0, 2.0])
    second = ckpt.save(str(tmp_path / "async"), options=options)
    ckpt.sync()
    task.flush()
    models = [autolog.Model.get(m.id) for m in task.models["output"]]
    assert [m.local_path for m in models] == [first, second]
    for value, model in zip((1.0, 2.0), models):
        assert restored(os.path.join(model.get_local_copy(), model.name)) == [value, value]


def test_tf_checkpoint_example_runs(run_py, tmp_path: Path):
    example = Path(__file__).resolve().parents[3] / "examples" / "tf_checkpoint.py"
    if not example.is_file():
        pytest.skip("examples/ is not part of this checkout")
    proc = run_py(f"import runpy; runpy.run_path({str(example)!r}, run_name='__main__')", env=CHILD_ENV)
    assert "resumed at step 20" in proc.stdout
    (train,) = autolog.Task.query(project="tf-quickstart", task="train")
    (resume,) = autolog.Task.query(project="tf-quickstart", task="resume")
    assert [m.name for m in train.models["output"]] == ["ckpt-1", "ckpt-2", "ckpt-3"]
    assert [m.id for m in resume.models["input"]] == [train.models["output"][0].id]
    assert f"made by task {train.id}" in proc.stdout
