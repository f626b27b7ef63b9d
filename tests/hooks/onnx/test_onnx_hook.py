"""onnx hook: real `torch.onnx.export` (both exporters), `onnx.save/load` and `onnxruntime.InferenceSession`,
user programs in fresh interpreters; the issue's lineage: checkpoint -> export task -> model.onnx -> serving."""

from __future__ import annotations

import importlib
import os
from pathlib import Path

import pytest

onnx = pytest.importorskip("onnx")
ort = pytest.importorskip("onnxruntime")
torch = pytest.importorskip("torch")
pytest.importorskip("onnxscript")  # the dynamo exporter's translator

from hooks.programs import assert_contained, assert_linked, run_example, run_task  # noqa: E402

import autolog  # noqa: E402

PROJECT = "onnx-hook"
NET = """
import io, os, warnings, numpy as np, torch, onnx, onnxruntime as ort
warnings.simplefilter("ignore", DeprecationWarning)     # the TorchScript-based exporter is deprecated
torch.manual_seed(0)
net = torch.nn.Sequential(torch.nn.Linear(16, 64), torch.nn.ReLU(), torch.nn.Linear(64, 2)).eval()
x = torch.randn(3, 16)
def serve(path):
    session = ort.InferenceSession(path)
    return session.run(None, {session.get_inputs()[0].name: x.numpy()})[0]
"""


def _net():
    torch.manual_seed(0)
    return torch.nn.Sequential(torch.nn.Linear(16, 64), torch.nn.ReLU(), torch.nn.Linear(64, 2)).eval()


def _export(path: Path, net=None, **kwargs):
    return torch.onnx.export(net or _net(), (torch.randn(3, 16),), str(path), verbose=False, **kwargs)


def test_both_exporters_and_onnx_saves_across_programs(run_py, tmp_path: Path):
    producer = run_task(
        run_py,
        PROJECT,
        "export",
        NET
        + """
torch.onnx.export(net, (x,), "dynamo.onnx")                     # default exporter: weights in dynamo.onnx.data
torch.onnx.export(net, (x,), "legacy.onnx", dynamo=False)       # TorchScript-based exporter: one file
torch.onnx.export(net, (x,)).save("program.onnx")               # the tutorials' ONNXProgram.save
proto = onnx.load("legacy.onnx")
onnx.save_model(proto, "external.onnx", save_as_external_data=True, location="weights.bin", size_threshold=0)
torch.onnx.export(net, (x,), io.BytesIO(), dynamo=False)        # no file: not recorded
""",
        output_uri=str(tmp_path / "remote"),
    )
    outputs = producer.models["output"]
    assert [(m.name, m.framework) for m in outputs] == [
        ("dynamo.onnx", "onnx"),
        ("legacy.onnx", "onnx"),
        ("program.onnx", "onnx"),
        ("external.onnx", "onnx"),
    ]
    # A model with external data is one snapshot holding the .onnx file and its data file.
    assert [(m.is_dir, m.members) for m in outputs] == [
        (True, ("dynamo.onnx", "dynamo.onnx.data")),
        (False, None),
        (False, None),
        (True, ("external.onnx", "weights.bin")),
    ]
    consumer = run_task(
        run_py,
        PROJECT,
        "serve",
        NET
        + """
expected = net(x).detach().numpy()
for path in ("dynamo.onnx", "legacy.onnx", "external.onnx"):
    assert np.allclose(serve(path), expected, atol=1e-5), path
with open("program.onnx", "rb") as f:
    onnx.load(f)
onnx.load_model("dynamo.onnx")                                  # the same model again: linked once
ort.InferenceSession(open("legacy.onnx", "rb").read())          # bytes: not recorded
onnx.load_model_from_string(open("legacy.onnx", "rb").read())
""",
    )
    assert_linked(producer, consumer, ["dynamo.onnx", "legacy.onnx", "external.onnx", "program.onnx"])
    folder = outputs[0].get_local_copy()
    assert sorted(os.listdir(folder)) == ["dynamo.onnx", "dynamo.onnx.data"]
    session = ort.InferenceSession(os.path.join(folder, outputs[0].name))
    assert session.run(None, {session.get_inputs()[0].name: torch.randn(3, 16).numpy()})[0].shape == (3, 2)


def test_lineage_checkpoint_to_export_to_served_model(run_py, tmp_path: Path):
    """The issue's genealogy: train -> ckpt.pt -> export task -> model.onnx (and a TorchScript) -> serving task."""
    train = run_task(run_py, PROJECT, "train", NET + 'torch.save(net.state_dict(), "ckpt.pt")')
    export = run_task(
        run_py,
        PROJECT,
        "export-from-checkpoint",
        NET
        + """
net.load_state_dict(torch.load("ckpt.pt"))
torch.onnx.export(net, (x,), "model.onnx")
torch.jit.save(torch.jit.script(net), "model_scripted.pt")
""",
    )
    serve = run_task(
        run_py,
        PROJECT,
        "serving",
        NET
        + """
serve("model.onnx")
torch.jit.load("model_scripted.pt")(x)
""",
    )
    assert_linked(train, export, ["ckpt.pt"])
    assert [(m.name, m.framework) for m in export.models["output"]] == [
        ("model.onnx", "onnx"),
        ("model_scripted.pt", "torchscript"),
    ]
    assert_linked(export, serve, ["model.onnx", "model_scripted.pt"])
    onnx_model = export.models["output"][0]
    assert onnx_model.task.id == export.id and [t.id for t in onnx_model.consumers] == [serve.id]
    assert [t.id for t in train.models["output"][0].consumers] == [export.id]


def test_same_path_exported_twice_keeps_both_snapshots_with_their_data(task, tmp_path: Path):
    path = tmp_path / "model.onnx"
    first_net, second_net = _net(), _net()
    with torch.no_grad():
        second_net[0].weight.mul_(2)
    _export(path, first_net)
    _export(path, second_net)
    task.flush()
    first, second = task.models["output"]
    assert first.members == second.members == ("model.onnx", "model.onnx.data")
    assert first.hash != second.hash
    x = torch.randn(3, 16)
    for snapshot, net in ((first, first_net), (second, second_net)):
        session = ort.InferenceSession(os.path.join(snapshot.get_local_copy(), "model.onnx"))
        got = session.run(None, {session.get_inputs()[0].name: x.numpy()})[0]
        assert torch.allclose(torch.from_numpy(got), net(x), atol=1e-5)


def test_external_data_files_are_found_from_the_protobuf_and_garbage_is_read_safely(tmp_path: Path):
    from onnx import TensorProto, helper
    from onnx.external_data_helper import set_external_data

    hook = importlib.import_module("autolog.hooks.onnx")
    for name in ("weights.bin", "attr.bin", "ghost.bin"):
        (tmp_path / name).write_bytes(b"w")

    def stored_in(location: str, name: str):
        tensor = helper.make_tensor(name, TensorProto.FLOAT, [1], b"\0\0\0\0", raw=True)
        set_external_data(tensor, location=location)
        tensor.data_location = TensorProto.EXTERNAL
        tensor.ClearField("raw_data")
        return tensor

    external = stored_in("weights.bin", "w")
    missing = stored_in("missing.bin", "m")  # named but absent: not a member
    # Inline weights whose bytes happen to spell a location record: skipped by the walk, never a member.
    lookalike = helper.make_tensor("x", TensorProto.UINT8, [21], hook._LOCATION + b"\x09ghost.bin", raw=True)
    constant = stored_in("attr.bin", "c")  # a node attribute (`convert_attribute=True`): found by bytes
    node = helper.make_node("Constant", [], ["c"], value=constant)
    graph = helper.make_graph([node], "g", [], [helper.make_tensor_value_info("c", TensorProto.FLOAT, [1])])
    graph.initializer.extend([lookalike, external, missing])
    model = tmp_path / "model.onnx"
    model.write_bytes(helper.make_model(graph).SerializeToString())
    assert hook.external_files(str(model)) == (str(tmp_path / "attr.bin"), str(tmp_path / "weights.bin"))

    garbage = tmp_path / "garbage.onnx"  # not protobuf: searched by bytes, truncated records skipped
    garbage.write_bytes(b"\xff" * 10 + hook._LOCATION + b"\xff\xff\xff\xff\xff\xff" + hook._LOCATION)
    assert hook.external_files(str(garbage)) == ()
    garbage.write_bytes(b"\x0f" + hook._LOCATION + b"\x09ghost.bin")
    assert hook.external_files(str(garbage)) == (str(tmp_path / "ghost.bin"),)


def test_failing_export_and_load_pass_the_exception_through(task, tmp_path: Path):
    with pytest.raises(Exception) as expected:
        _export(tmp_path / "missing" / "m.onnx", dynamo=False)
    assert not isinstance(expected.value, ZeroDivisionError)
    with pytest.raises(FileNotFoundError):
        onnx.load(str(tmp_path / "nowhere.onnx"))
    with pytest.raises(Exception, match="nowhere"):
        ort.InferenceSession(str(tmp_path / "nowhere.onnx"))
    assert task.models == {"input": [], "output": []}


def test_internal_errors_never_reach_the_user(lenient, tmp_path: Path, monkeypatch, autolog_records):
    hook = importlib.import_module("autolog.hooks.onnx")
    monkeypatch.setattr(hook, "external_files", lambda path: 1 / 0)
    path = tmp_path / "m.onnx"
    with autolog.init(PROJECT, "broken") as task:
        assert _export(path, dynamo=False) is None
        session = ort.InferenceSession(str(path))
        assert session.run(None, {session.get_inputs()[0].name: torch.randn(3, 16).numpy()})[0].shape == (3, 2)
        assert onnx.load(str(path)).graph.node
    assert task.models == {"input": [], "output": []}
    assert_contained(autolog_records, "onnx")


def test_onnx_example_runs(home: Path, tmp_path: Path):
    stdout = run_example("onnx_serving.py", tmp_path)
    (train,) = autolog.Task.query(project="onnx-example", task="train")
    (export,) = autolog.Task.query(project="onnx-example", task="export")
    (serve,) = autolog.Task.query(project="onnx-example", task="serve")
    assert_linked(train, export, ["ckpt.pt"])
    assert_linked(export, serve, ["model.onnx"])
    assert "lineage: serve (task) <- model.onnx (onnx," in stdout and "<- train (task" in stdout
