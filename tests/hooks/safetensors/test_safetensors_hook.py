"""The safetensors hook end to end: real `save_file` / `load_file` (torch and numpy flavours), no mocks."""

from __future__ import annotations

import importlib
import logging
import re
from pathlib import Path

import pytest

pytest.importorskip("safetensors")
np = pytest.importorskip("numpy")

import safetensors.numpy as st_numpy  # noqa: E402
import wrapt  # noqa: E402
from hooks.conftest import ids  # noqa: E402

import autolog  # noqa: E402

PROJECT = "safetensors-hook"  # the project of the `task` fixture (tests/hooks/conftest.py)

try:
    import safetensors.torch as st_torch
    import torch
except ImportError:  # the numpy half runs without torch
    torch = st_torch = None

needs_torch = pytest.mark.skipif(torch is None, reason="torch is not installed")


def tensors(seed: float = 1.0) -> dict:
    return {"weight": torch.full((8, 8), seed), "bias": torch.zeros(8)}


def arrays(seed: float = 1.0) -> dict:
    return {"weight": np.full((8, 8), seed, dtype=np.float32)}


def produce(tmp_path: Path, save, payload, name: str = "model.safetensors"):
    """A closed task that saved one file with `save(payload, path)`; `save` must look the function up at
    call time (a lambda): a reference taken before `init` patched the module is the unrecorded original."""
    path = tmp_path / name
    with autolog.init("safetensors-hook", "produce", output_uri=str(tmp_path / "remote")) as producer:
        save(payload, path)
    (model,) = producer.models["output"]
    return producer, model, path


# -- torch flavour -------------------------------------------------------------------------------------
@needs_torch
@pytest.mark.parametrize("as_str", [True, False], ids=["str", "pathlib"])
def test_torch_save_file_and_load_file(tmp_path: Path, as_str: bool):
    path = tmp_path / "model.safetensors"
    target = str(path) if as_str else path
    with autolog.init("safetensors-hook", "produce", output_uri=str(tmp_path / "remote")) as producer:
        assert st_torch.save_file(tensors(), target) is None
        st_torch.save_file(tensors(2.0), filename=target)  # same path again: a second snapshot
    first, second = (autolog.Model.get(m.id) for m in producer.models["output"])
    assert [first.framework, second.framework] == ["safetensors", "safetensors"]
    assert first.name == "model.safetensors" and first.local_path == str(path)
    assert first.hash != second.hash
    assert torch.equal(st_torch.load_file(first.get_local_copy())["weight"], tensors(1.0)["weight"])
    with autolog.init("safetensors-hook", "consume") as consumer:
        loaded = st_torch.load_file(target)
    assert torch.equal(loaded["weight"], tensors(2.0)["weight"])
    assert ids(consumer.models["input"]) == [second.id]
    assert consumer.models["input"][0].task_id == producer.id


@needs_torch
def test_save_model_and_load_model_count_once(tmp_path: Path):
    net = torch.nn.Linear(4, 2)
    path = tmp_path / "net.safetensors"
    with autolog.init("safetensors-hook", "produce") as producer:
        st_torch.save_model(net, path)
    (model,) = producer.models["output"]
    assert model.framework == "safetensors"
    with autolog.init("safetensors-hook", "consume") as consumer:
        missing, unexpected = st_torch.load_model(torch.nn.Linear(4, 2), path)
    assert (list(missing), list(unexpected)) == ([], [])
    assert ids(consumer.models["input"]) == [model.id]


@needs_torch
def test_load_model_that_raises_is_not_recorded(tmp_path: Path):
    _, _, path = produce(tmp_path, lambda p, f: st_torch.save_model(torch.nn.Linear(4, 2), f), None)
    with autolog.init("safetensors-hook", "consume") as consumer:
        with pytest.raises(RuntimeError, match="Missing key"):
            st_torch.load_model(torch.nn.Sequential(torch.nn.Linear(4, 2)), path)  # keys "0.weight"...
    assert consumer.models["input"] == []


@needs_torch
def test_torch_load_of_a_safetensors_file_counts_once(tmp_path: Path):
    _, model, path = produce(tmp_path, lambda t, p: st_torch.save_file(t, p), tensors())
    with autolog.init("safetensors-hook", "consume") as consumer:
        loaded = torch.load(path)  # torch.load hands .safetensors files to safetensors.torch.load_file
    assert torch.equal(loaded["weight"], tensors()["weight"])
    assert ids(consumer.models["input"]) == [model.id]


@needs_torch
def test_torch_load_imports_an_unknown_safetensors_file_as_safetensors(tmp_path: Path):
    path = tmp_path / "foreign.safetensors"
    st_torch.save_file(tensors(), path)  # no current task
    with autolog.init("safetensors-hook", "consume") as consumer:
        torch.load(path)
    (imported,) = consumer.models["input"]
    assert imported.task_id is None
    assert imported.framework == "safetensors"


# -- numpy flavour -------------------------------------------------------------------------------------
def test_numpy_save_file_and_load_file(tmp_path: Path):
    save = lambda a, p: st_numpy.save_file(a, p)  # noqa: E731
    producer, model, path = produce(tmp_path, save, arrays(), name="arrays.safetensors")
    assert model.framework == "safetensors"
    assert model.task_id == producer.id
    with autolog.init("safetensors-hook", "consume") as consumer:
        loaded = st_numpy.load_file(str(path))
        st_numpy.load_file(path)  # twice: linked once
    np.testing.assert_array_equal(loaded["weight"], arrays()["weight"])
    assert ids(consumer.models["input"]) == [model.id]


def test_in_memory_save_and_load_are_not_recorded(task):
    data = st_numpy.save(arrays())
    assert isinstance(data, bytes)
    st_numpy.load(data)
    assert task.models == {"input": [], "output": []}


def test_failing_save_passes_the_exception_through(task, tmp_path: Path):
    target = tmp_path / "missing-dir" / "x.safetensors"
    with pytest.raises(Exception) as expected:
        st_numpy.save_file.__wrapped__(arrays(), target)
    with pytest.raises(type(expected.value)) as raised:
        st_numpy.save_file(arrays(), target)
    # safetensors names a random temporary file in its message: compare the rest
    assert re.sub(r"\.tmp\w+", "", str(raised.value)) == re.sub(r"\.tmp\w+", "", str(expected.value))
    assert raised.value.__context__ is None and raised.value.__cause__ is None
    with pytest.raises(FileNotFoundError):
        st_numpy.load_file(tmp_path / "nowhere.safetensors")
    assert task.models == {"input": [], "output": []}


def test_internal_error_is_contained(lenient, task, tmp_path: Path, monkeypatch):
    records: list[logging.LogRecord] = []
    handler = logging.Handler(level=logging.DEBUG)
    handler.emit = records.append  # type: ignore[method-assign]
    logger = logging.getLogger("autolog")
    logger.addHandler(handler)
    monkeypatch.setattr(logger, "level", logging.DEBUG)
    monkeypatch.setattr(importlib.import_module("autolog.system.log"), "_seen", set())
    monkeypatch.setattr(importlib.import_module("autolog.capture.recording"), "record_save", lambda *a, **k: 1 / 0)
    try:
        path = tmp_path / "a.safetensors"
        assert st_numpy.save_file(arrays(), path) is None
        st_numpy.save_file(arrays(2.0), path)
    finally:
        logger.removeHandler(handler)
    np.testing.assert_array_equal(st_numpy.load_file(path)["weight"], arrays(2.0)["weight"])
    assert len([r for r in records if r.levelno >= logging.WARNING]) == 1


def test_switched_off_and_uninstrumented(tmp_path: Path):
    original = st_numpy.__dict__["save_file"]
    if isinstance(original, wrapt.FunctionWrapper):
        original = original.__wrapped__
    with autolog.init("safetensors-hook", "off", frameworks={"safetensors": False}) as task:
        assert st_numpy.save_file is original
        st_numpy.save_file(arrays(), tmp_path / "off.safetensors")
    assert task.models["output"] == []
    with autolog.init("safetensors-hook", "on") as task:
        assert st_numpy.save_file.__wrapped__ is original
        autolog.uninstrument()
        assert st_numpy.save_file is original
        st_numpy.save_file(arrays(), tmp_path / "uninstrumented.safetensors")
    assert task.models["output"] == []


# -- safe_open: the lazy reader (Hugging Face from_pretrained) -----------------------------------------------
def test_safe_open_links_once_per_file_however_many_tensors_are_read(tmp_path: Path):
    path = tmp_path / "weights.safetensors"
    with autolog.init("safetensors", "produce") as producer:
        st_numpy.save_file({"a": np.ones(3, dtype=np.float32), "b": np.zeros(2, dtype=np.float32)}, path)
    with autolog.init("safetensors", "consume") as consumer:
        from safetensors import safe_open  # after init: the previous test's uninstrument() restored the original

        for _ in range(2):
            with safe_open(str(path), framework="numpy") as f:
                assert sorted(f.keys()) == ["a", "b"]
                assert f.get_tensor("a").sum() == 3 and f.get_tensor("b").sum() == 0
        assert [m.name for m in consumer.models["input"]] == ["weights.safetensors"]
        st_numpy.load_file(path)  # load_file is built on safe_open: still the same single link
    (linked,) = consumer.models["input"]
    assert (linked.task_id, linked.name) == (producer.id, "weights.safetensors")
