"""The torch hook end to end: real `torch.save` / `torch.load` into a temporary autolog home, no mocks."""

from __future__ import annotations

import importlib
import io
import json
import os
import shutil
import sys
from pathlib import Path

import pytest

torch = pytest.importorskip("torch")

import fsspec  # noqa: E402
import wrapt  # noqa: E402
from hooks.conftest import ids, warnings_in  # noqa: E402

import autolog  # noqa: E402
from autolog.capture.instrumentation import patched_hooks  # noqa: E402

PROJECT = "torch-hook"  # the project of the `task` fixture (tests/hooks/conftest.py)


# -- helpers -----------------------------------------------------------------------------------------
def state(seed: float = 1.0) -> dict:
    return {"weight": torch.full((16, 16), seed), "step": int(seed)}


def produce(tmp_path: Path, name: str = "ckpt.pt", seed: float = 1.0, **init):
    """A closed task that saved one checkpoint; returns (task, model, path)."""
    path = tmp_path / name
    with autolog.init("torch-hook", "produce", output_uri=str(tmp_path / "remote"), **init) as producer:
        torch.save(state(seed), path)
    (model,) = producer.models["output"]
    return producer, model, path


# -- saves -------------------------------------------------------------------------------------------
@pytest.mark.parametrize("kind", ["str", "pathlib", "keyword", "serialization.save"])
def test_save_to_a_path_registers_one_snapshot(task, tmp_path: Path, kind: str):
    path = tmp_path / "ckpt.pt"
    if kind == "str":
        torch.save(state(), str(path))
    elif kind == "pathlib":
        torch.save(state(), path)
    elif kind == "keyword":
        torch.save(state(), f=path)
    else:
        torch.serialization.save(state(), path)
    task.flush()
    (model,) = task.models["output"]
    assert model.name == "ckpt.pt"
    assert model.framework == "pytorch"
    assert model.task_id == task.id
    assert model.local_path == str(path)
    model = autolog.Model.get(model.id)
    assert model.size == path.stat().st_size
    assert model.hash and model.uri
    assert task.models["input"] == []


def test_save_to_an_open_file_registers_its_path(task, tmp_path: Path):
    path = tmp_path / "opened.pt"
    with open(path, "wb") as fh:
        torch.save(state(), fh)
    expected = path.read_bytes()
    task.flush()
    (model,) = task.models["output"]
    assert model.local_path == str(path)
    assert Path(autolog.Model.get(model.id).get_local_copy()).read_bytes() == expected


def test_save_into_bytesio_is_skipped_quietly(task, autolog_records):
    buffer = io.BytesIO()
    assert torch.save(state(), buffer) is None
    buffer.seek(0)
    assert torch.load(buffer)["step"] == 1
    assert task.models == {"input": [], "output": []}
    assert warnings_in(autolog_records) == []


def test_snapshots_follow_call_order(task, tmp_path: Path):
    for name in ("a.pt", "b.pt", "c.pt"):
        torch.save(state(), tmp_path / name)
    assert [m.name for m in task.models["output"]] == ["a.pt", "b.pt", "c.pt"]


def test_same_path_twice_keeps_both_snapshots(task, tmp_path: Path):
    path = tmp_path / "ckpt.pt"
    written = []
    for epoch in (1.0, 2.0):
        torch.save(state(epoch), path)  # the second save comes before the first upload can finish
        written.append(path.read_bytes())
    task.flush()
    first, second = (autolog.Model.get(m.id) for m in task.models["output"])
    assert first.id != second.id
    assert first.hash != second.hash
    assert first.uri != second.uri
    for model, content in zip((first, second), written, strict=True):
        with fsspec.open(model.uri, "rb") as fh:
            assert fh.read() == content
        assert Path(model.get_local_copy()).read_bytes() == content
    assert path.read_bytes() == written[1]  # the user's file is the last save


# -- loads -------------------------------------------------------------------------------------------
@pytest.mark.parametrize("kind", ["str", "pathlib", "open file", "serialization.load"])
def test_load_links_the_producer(tmp_path: Path, kind: str):
    producer, model, path = produce(tmp_path)
    with autolog.init("torch-hook", "consume") as consumer:
        if kind == "str":
            loaded = torch.load(str(path))
        elif kind == "pathlib":
            loaded = torch.load(path)
        elif kind == "open file":
            with open(path, "rb") as fh:
                loaded = torch.load(fh)
        else:
            loaded = torch.serialization.load(path)
        assert torch.equal(loaded["weight"], state()["weight"])
        assert ids(consumer.models["input"]) == [model.id]
        assert consumer.models["output"] == []
    linked = autolog.Model.get(model.id)
    assert linked.task.id == producer.id
    assert ids(linked.consumers) == [consumer.id]


@pytest.mark.parametrize("move", [shutil.copyfile, os.replace], ids=["copied", "renamed"])
def test_load_finds_the_snapshot_by_content(tmp_path: Path, move):
    producer, model, path = produce(tmp_path)
    other = tmp_path / "elsewhere" / "renamed.bin"
    other.parent.mkdir()
    move(path, other)
    with autolog.init("torch-hook", "consume") as consumer:
        torch.load(other)
    (linked,) = consumer.models["input"]
    assert linked.id == model.id
    assert linked.task_id == producer.id


def test_load_of_a_downloaded_copy_links_the_producer(tmp_path: Path):
    producer, model, path = produce(tmp_path)
    path.unlink()  # only the remote copy is left
    with autolog.init("torch-hook", "consume") as consumer:
        local = autolog.Model.get(model.id).get_local_copy()
        assert torch.load(local)["step"] == 1
    assert ids(consumer.models["input"]) == [model.id]
    assert consumer.models["input"][0].task_id == producer.id


def test_loading_twice_links_once(tmp_path: Path):
    _, model, path = produce(tmp_path)
    with autolog.init("torch-hook", "consume") as consumer:
        torch.load(path)
        torch.load(path)
    assert ids(consumer.models["input"]) == [model.id]


def test_unknown_file_is_imported_once(tmp_path: Path):
    path = tmp_path / "downloaded.pt"
    torch.save(state(), path)  # no current task: not recorded
    with autolog.init("torch-hook", "first") as first:
        torch.load(path)
    (imported,) = first.models["input"]
    assert imported.task_id is None
    assert imported.task is None
    assert imported.framework == "pytorch"
    assert imported.name == "downloaded.pt"
    copy = tmp_path / "again.pt"
    shutil.copyfile(path, copy)
    with autolog.init("torch-hook", "second") as second:
        torch.load(copy)
    assert ids(second.models["input"]) == [imported.id]
    assert len(autolog.Model.query(name="downloaded.pt")) == 1
    assert autolog.Model.query(name="again.pt") == []
    assert sorted(ids(autolog.Model.get(imported.id).consumers)) == sorted([first.id, second.id])


def test_a_task_is_not_an_input_of_itself(task, tmp_path: Path):
    path = tmp_path / "own.pt"
    torch.save(state(), path)
    torch.load(path)
    assert task.models["input"] == []
    assert len(task.models["output"]) == 1


def test_lineage_across_processes(run_py, tmp_path: Path):
    path = tmp_path / "shared.pt"
    remote = tmp_path / "remote"
    producer_id = (
        run_py(f"""
        import autolog, torch
        with autolog.init("torch-hook", "produce", output_uri={str(remote)!r}) as task:
            torch.save({{"w": torch.ones(4)}}, {str(path)!r})
        print(task.id)
    """)
        .stdout.strip()
        .splitlines()[-1]
    )
    out = (
        run_py(f"""
        import json, torch, autolog
        with autolog.init("torch-hook", "consume") as task:
            torch.load({str(path)!r})
        print(json.dumps({{"id": task.id, "inputs": [[m.id, m.task_id] for m in task.models["input"]]}}))
    """)
        .stdout.strip()
        .splitlines()[-1]
    )
    consumer = json.loads(out)
    (model,) = autolog.Model.query(task_id=producer_id)
    assert consumer["inputs"] == [[model.id, producer_id]]
    assert ids(model.consumers) == [consumer["id"]]


# -- import order (fresh interpreters) ------------------------------------------------------------------
def test_torch_imported_before_autolog(run_py, tmp_path: Path):
    run_py(f"""
        import torch
        import autolog
        with autolog.init("torch-hook", "early") as task:
            torch.save({{"w": torch.ones(2)}}, {str(tmp_path / "early.pt")!r})
            assert [m.name for m in task.models["output"]] == ["early.pt"], task.models
    """)


def test_torch_imported_after_init(run_py, tmp_path: Path):
    source = tmp_path / "src.pt"
    torch.save(state(), source)
    run_py(f"""
        import sys
        import autolog
        assert "torch" not in sys.modules and "numpy" not in sys.modules
        task = autolog.init("torch-hook", "late")
        assert "torch" not in sys.modules
        import torch
        torch.save({{"w": torch.ones(2)}}, {str(tmp_path / "late.pt")!r})
        torch.load({str(source)!r})
        assert [m.name for m in task.models["output"]] == ["late.pt"], task.models
        assert [m.name for m in task.models["input"]] == ["src.pt"], task.models
        task.close()
    """)


# -- the host program is never broken -----------------------------------------------------------------
def test_failing_save_passes_the_exception_through_and_records_nothing(task, tmp_path: Path):
    target = tmp_path / "missing-dir" / "x.pt"
    original = torch.save.__wrapped__
    with pytest.raises(Exception) as expected:
        original(state(), target)
    with pytest.raises(Exception) as raised:
        torch.save(state(), target)
    assert type(raised.value) is type(expected.value)
    assert str(raised.value) == str(expected.value)
    assert type(raised.value.__context__) is type(expected.value.__context__)
    assert raised.value.__cause__ is None or type(raised.value.__cause__) is type(expected.value.__cause__)
    with pytest.raises(FileNotFoundError):
        torch.load(tmp_path / "nowhere.pt")
    assert task.models == {"input": [], "output": []}


def test_failing_load_records_nothing(task, tmp_path: Path):
    garbage = tmp_path / "garbage.pt"
    garbage.write_bytes(b"not a checkpoint")
    with pytest.raises(Exception) as expected:
        torch.load.__wrapped__(garbage)
    with pytest.raises(type(expected.value)) as raised:
        torch.load(garbage)
    assert str(raised.value) == str(expected.value)
    assert task.models["input"] == []


def test_internal_error_on_save_is_contained(lenient, task, tmp_path: Path, monkeypatch, autolog_records):
    def broken(*args, **kwargs):
        raise RuntimeError("store unavailable")

    monkeypatch.setattr(task, "_record_output", broken)
    path = tmp_path / "still-saved.pt"
    assert torch.save(state(), path) is None
    assert torch.load(path)["step"] == 1
    torch.save(state(2.0), path)  # the same failure again: not a second warning
    assert torch.load(path)["step"] == 2
    (warning,) = warnings_in(autolog_records)
    assert warning.name == "autolog"
    assert "store unavailable" in warning.getMessage()


def test_internal_error_on_load_is_contained(lenient, tmp_path: Path, monkeypatch, autolog_records):
    _, _, path = produce(tmp_path)
    monkeypatch.setattr(importlib.import_module("autolog.capture.recording"), "record_load", lambda *a, **k: 1 / 0)
    with autolog.init("torch-hook", "consume") as consumer:
        assert torch.load(path)["step"] == 1
        assert torch.load(path)["step"] == 1
    assert consumer.models["input"] == []
    (warning,) = warnings_in(autolog_records)
    assert "ZeroDivisionError" in warning.getMessage()


def test_internal_error_before_save_is_contained(lenient, task, tmp_path: Path, monkeypatch, autolog_records):
    monkeypatch.setattr(importlib.import_module("autolog.capture.recording"), "resolve_target", lambda *a, **k: 1 / 0)
    path = tmp_path / "before.pt"
    torch.save(state(), path)
    torch.save(state(2.0), path)
    assert torch.load(path)["step"] == 2
    assert [r.getMessage().split(" (")[0] for r in warnings_in(autolog_records)] == [
        "autolog: internal error in torch save",
        "autolog: internal error in torch load",
    ]
    assert task.models["output"] == []


# -- switches --------------------------------------------------------------------------------------
def test_torch_hook_switched_off(tmp_path: Path):
    with autolog.init("torch-hook", "off", frameworks={"torch": False}) as task:
        assert not isinstance(torch.save, wrapt.FunctionWrapper)
        torch.save(state(), tmp_path / "x.pt")
        torch.load(tmp_path / "x.pt")
    assert task.models == {"input": [], "output": []}


def test_autolog_disable(monkeypatch, tmp_path: Path):
    monkeypatch.setenv("AUTOLOG_DISABLE", "1")
    with autolog.init("torch-hook", "disabled") as task:
        assert not isinstance(torch.save, wrapt.FunctionWrapper)
        torch.save(state(), tmp_path / "x.pt")
        torch.load(tmp_path / "x.pt")
    assert task.models == {"input": [], "output": []}


def test_uninstrument_restores_the_exact_originals(task, tmp_path: Path):
    original_save, original_load = torch.save.__wrapped__, torch.load.__wrapped__
    assert original_save.__module__ == "torch.serialization"
    assert not isinstance(original_save, wrapt.ObjectProxy)
    assert patched_hooks()["torch"]
    autolog.uninstrument()
    assert torch.save is original_save and torch.serialization.save is original_save
    assert torch.load is original_load and torch.serialization.load is original_load
    assert not patched_hooks()["torch"]
    torch.save(state(), tmp_path / "unrecorded.pt")
    assert task.models["output"] == []
    autolog.instrument()
    assert torch.save.__wrapped__ is original_save
    assert torch.serialization.save.__wrapped__ is original_save
    torch.save(state(), tmp_path / "recorded.pt")
    assert [m.name for m in task.models["output"]] == ["recorded.pt"]


def test_ignore_patterns(tmp_path: Path):
    with autolog.init("torch-hook", "ignore", ignore=["*.tmp.pt"]) as task:
        torch.save(state(), tmp_path / "scratch.tmp.pt")
        torch.save(state(2.0), tmp_path / "keep.pt")
        torch.load(tmp_path / "scratch.tmp.pt")
    assert [m.name for m in task.models["output"]] == ["keep.pt"]
    assert task.models["input"] == []


def test_nonzero_rank_records_nothing(monkeypatch, tmp_path: Path):
    _, _, path = produce(tmp_path)
    monkeypatch.setenv("RANK", "1")
    with autolog.init("torch-hook", "rank1") as task:
        torch.save(state(), tmp_path / "worker.pt")
        torch.load(path)
    assert task.models == {"input": [], "output": []}


def test_no_current_task_records_nothing(tmp_path: Path):
    autolog.instrument()  # patched, but no task
    assert autolog.current_task() is None
    assert isinstance(torch.save, wrapt.FunctionWrapper)
    torch.save(state(), tmp_path / "orphan.pt")
    torch.load(tmp_path / "orphan.pt")
    assert autolog.current_task() is None
    with autolog.init("torch-hook", "later"):
        assert autolog.Model.query(name="orphan.pt") == []


# -- the README quickstart ---------------------------------------------------------------------------
def test_quickstart_example_runs(home: Path, tmp_path: Path):
    import subprocess

    example = Path(__file__).resolve().parents[3] / "examples" / "pytorch_train.py"
    if not example.is_file():
        pytest.skip("examples/ is not part of this checkout")
    proc = subprocess.run([sys.executable, str(example)], capture_output=True, text=True, cwd=tmp_path, timeout=300)
    assert proc.returncode == 0, proc.stderr
    assert "resuming from epoch 3" in proc.stdout
    (train,) = autolog.Task.query(project="quickstart", task="train")
    (fine_tune,) = autolog.Task.query(project="quickstart", task="fine-tune")
    assert len(train.models["output"]) == 3
    (source,) = fine_tune.models["input"]
    assert source.id == train.models["output"][-1].id
    assert f"made by task {train.id}" in proc.stdout
